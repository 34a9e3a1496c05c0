//! Peak heap memory of a run, counted by a wrapper around the system allocator.
//!
//! Invariant: `CURRENT` is the number of bytes the program holds from the system allocator right now
//! (as far as the wrapper has seen: it counts only while it is installed as the global allocator), and
//! `PEAK` is at least `CURRENT` at all times, since every allocation raises it to the new current value.
//!
//! The binary installs [`CountingAllocator`] with `#[global_allocator]`; the harness calls
//! [`start_peak_window`] before each run and [`peak_since_window`] after it. Every implementation pays
//! the same two relaxed atomic operations per allocation, so the counting itself shifts all rows alike
//! per allocation made; an implementation that allocates more pays more, as it would pay more to
//! `malloc` anyway.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes currently allocated through the counting allocator.
static CURRENT: AtomicUsize = AtomicUsize::new(0);
/// The highest value `CURRENT` reached since the last [`start_peak_window`].
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// The value of `CURRENT` when the window opened, so that a run is charged only for what it added.
static WINDOW_BASE: AtomicUsize = AtomicUsize::new(0);

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
/// The counters are relaxed atomics: they order nothing else, and a peak read while another thread
/// allocates may miss that thread's last allocation, which is noise the harness does not care about
/// (it reads the peak after a run has joined all its threads).
pub struct CountingAllocator;

impl CountingAllocator {
    fn added(size: usize) {
        let now = CURRENT.fetch_add(size, Ordering::Relaxed) + size;
        PEAK.fetch_max(now, Ordering::Relaxed);
    }

    fn removed(size: usize) {
        CURRENT.fetch_sub(size, Ordering::Relaxed);
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
    let now = CURRENT.load(Ordering::Relaxed);
    WINDOW_BASE.store(now, Ordering::Relaxed);
    PEAK.store(now, Ordering::Relaxed);
}

/// The most bytes that were allocated at once since [`start_peak_window`], beyond what was allocated
/// when the window opened; 0 when [`CountingAllocator`] is not the global allocator.
///
/// ```
/// janitor_bench::memory::start_peak_window();
/// assert!(janitor_bench::memory::peak_since_window() < 1 << 30);
/// ```
pub fn peak_since_window() -> usize {
    PEAK.load(Ordering::Relaxed)
        .saturating_sub(WINDOW_BASE.load(Ordering::Relaxed))
}
