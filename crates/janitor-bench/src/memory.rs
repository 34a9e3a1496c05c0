//! Peak heap memory of a run, counted by a wrapper around the system allocator.
//!
//! Invariant: `CURRENT` plus every thread's unpublished bytes is the number of bytes the program holds
//! from the system allocator (as far as the wrapper has seen: it counts only while it is installed as
//! the global allocator), and `PEAK` is at least `CURRENT` at all times, since every publication raises
//! it to the new current value.
//!
//! The counting must not change the times it sits beside: a shared atomic counter costs every
//! allocation and every free a few atomic read-modify-writes, which is a large part of what a small
//! `Box` or `Rc` allocation costs, while an implementation with its own slab allocator would pay it
//! once per slab. So each thread adds its allocations and frees to a thread-local balance, and publishes
//! it to the shared counters only when it passes [`BATCH`] bytes either way: an allocation costs a
//! thread-local addition and a comparison. The price is precision: a peak may be under-counted by up
//! to [`BATCH`] bytes per thread, which is why the report shows peaks in KiB and MiB.
//!
//! The binary installs [`CountingAllocator`] with `#[global_allocator]`; the harness calls
//! [`start_peak_window`] before each run and [`peak_since_window`] after it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, Ordering};

/// The bytes a thread allocates or frees, net, before it publishes them to the shared counters.
pub const BATCH: isize = 16 << 10;

/// Published bytes currently allocated (signed: a thread may publish frees of blocks whose
/// allocation another thread has not published yet).
static CURRENT: AtomicIsize = AtomicIsize::new(0);
/// The highest value `CURRENT` reached since the last [`start_peak_window`].
static PEAK: AtomicIsize = AtomicIsize::new(0);
/// The value of `CURRENT` when the window opened, so that a run is charged only for what it added.
static WINDOW_BASE: AtomicIsize = AtomicIsize::new(0);

thread_local! {
    /// This thread's allocations minus its frees since it last published. A `const` initializer
    /// and no destructor: touching it never allocates, which an allocator must not do.
    static UNPUBLISHED: Cell<isize> = const { Cell::new(0) };
}

/// Adds `bytes` (negative for a free) to this thread's balance, publishing it past [`BATCH`].
fn record(bytes: isize) {
    let publish = UNPUBLISHED
        .try_with(|balance| {
            let now = balance.get() + bytes;
            if now.abs() >= BATCH {
                balance.set(0);
                now
            } else {
                balance.set(now);
                0
            }
        })
        .unwrap_or(bytes);
    if publish != 0 {
        publish_bytes(publish);
    }
}

/// Moves this thread's whole balance to the shared counters.
fn publish_balance() {
    let pending = UNPUBLISHED
        .try_with(|balance| balance.replace(0))
        .unwrap_or(0);
    publish_bytes(pending);
}

fn publish_bytes(bytes: isize) {
    let now = CURRENT.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

/// The system allocator, counting current and peak bytes.
///
/// Install it in a binary to make [`peak_since_window`] meaningful:
///
/// ```
/// use janitor_bench::memory::CountingAllocator;
///
/// #[global_allocator]
/// static ALLOCATOR: CountingAllocator = CountingAllocator;
/// # fn main() {}
/// ```
///
/// The shared counters are relaxed atomics: they order nothing else, and a peak read while another
/// thread allocates may miss that thread's unpublished balance, which is noise the harness does not
/// care about (it reads the peak after a run has joined all its threads).
pub struct CountingAllocator;

impl CountingAllocator {
    fn added(size: usize) {
        record(size as isize);
    }

    fn removed(size: usize) {
        record(-(size as isize));
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the allocator
// contract (`GlobalAlloc`'s safety section) is `System`'s; the counters only observe sizes.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which is `System::alloc`'s.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            Self::added(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            Self::added(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller passes a block this allocator (that is, `System`) returned, with its layout.
        unsafe { System.dealloc(ptr, layout) };
        Self::removed(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller passes a block `System` returned, its layout and a valid new size.
        let moved = unsafe { System.realloc(ptr, layout, new_size) };
        if !moved.is_null() {
            Self::removed(layout.size());
            Self::added(new_size);
        }
        moved
    }
}

/// Starts measuring a run: the peak is reset to what is allocated now.
///
/// ```
/// janitor_bench::memory::start_peak_window();
/// let block = vec![0u8; 1 << 20];
/// std::hint::black_box(&block);
/// // Without the counting allocator installed (as in this doc test) the window reads 0.
/// let _peak = janitor_bench::memory::peak_since_window();
/// ```
pub fn start_peak_window() {
    publish_balance();
    let now = CURRENT.load(Ordering::Relaxed);
    WINDOW_BASE.store(now, Ordering::Relaxed);
    PEAK.store(now, Ordering::Relaxed);
}

/// The most bytes that were allocated at once since [`start_peak_window`], beyond what was allocated
/// when the window opened (to within [`BATCH`] bytes per thread); 0 when [`CountingAllocator`] is not
/// the global allocator.
///
/// ```
/// janitor_bench::memory::start_peak_window();
/// assert!(janitor_bench::memory::peak_since_window() < 1 << 30);
/// ```
pub fn peak_since_window() -> usize {
    publish_balance();
    let peak = PEAK.load(Ordering::Relaxed) - WINDOW_BASE.load(Ordering::Relaxed);
    peak.max(0) as usize
}
