//! Peak heap memory of a run, counted by a wrapper around the system allocator, in two measures.
//!
//! * *Requested* bytes: the sizes the program asked for (`Layout::size`). This is what a program
//!   controls, but it hides the allocator's own rounding: glibc hands a 16-byte `Box` a block with 24
//!   usable bytes (and an 8-byte size word before it), while an implementation with its own slab
//!   allocator asks for whole slabs and pays its rounding inside them, where this measure sees it.
//! * *Reserved* bytes: what the system allocator set aside for each block (`malloc_usable_size`),
//!   which puts both on the same footing: every implementation is charged for the rounding of
//!   whichever allocator serves its objects. It still leaves out glibc's size word, so it favours
//!   implementations that make many small allocations.
//!
//! The report shows both; neither is the process's resident memory, which depends on when the
//! allocator returns pages to the system and cannot be windowed per run.
//!
//! Invariant: for each measure, `CURRENT` plus every thread's unpublished bytes is the number of bytes
//! the program holds from the system allocator (as far as the wrapper has seen: it counts only while
//! it is installed as the global allocator), and `PEAK` is at least `CURRENT` at all times, since
//! every publication raises it to the new current value.
//!
//! The counting must not change the times it sits beside: a shared atomic counter costs every
//! allocation and every free a few atomic read-modify-writes, which is a large part of what a small
//! `Box` or `Rc` allocation costs, while an implementation with its own slab allocator would pay it
//! once per slab. So each thread adds its allocations and frees to a thread-local balance, and publishes
//! it to the shared counters only when it passes [`BATCH`] bytes either way: an allocation costs a
//! thread-local addition, a comparison, and (for the reserved measure) glibc reading the block's size
//! word. The price is precision: a peak may be under-counted by up to [`BATCH`] bytes per thread,
//! which is why the report shows peaks in KiB and MiB.
//!
//! The binary installs [`CountingAllocator`] with `#[global_allocator]`; the harness calls
//! [`start_peak_window`] before each run and [`peak_since_window`] after it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, Ordering};

/// The bytes a thread allocates or frees, net, before it publishes them to the shared counters.
pub const BATCH: isize = 16 << 10;

/// The shared counters of one measure.
struct Counter {
    /// Published bytes currently allocated (signed: a thread may publish frees of blocks whose
    /// allocation another thread has not published yet).
    current: AtomicIsize,
    /// The highest value `current` reached since the last [`start_peak_window`].
    peak: AtomicIsize,
    /// The value of `current` when the window opened, so that a run is charged only for what it added.
    window_base: AtomicIsize,
}

impl Counter {
    const fn new() -> Counter {
        Counter {
            current: AtomicIsize::new(0),
            peak: AtomicIsize::new(0),
            window_base: AtomicIsize::new(0),
        }
    }

    fn publish(&self, bytes: isize) {
        if bytes != 0 {
            let now = self.current.fetch_add(bytes, Ordering::Relaxed) + bytes;
            self.peak.fetch_max(now, Ordering::Relaxed);
        }
    }

    fn open_window(&self) {
        let now = self.current.load(Ordering::Relaxed);
        self.window_base.store(now, Ordering::Relaxed);
        self.peak.store(now, Ordering::Relaxed);
    }

    fn peak_in_window(&self) -> usize {
        let peak = self.peak.load(Ordering::Relaxed) - self.window_base.load(Ordering::Relaxed);
        peak.max(0) as usize
    }
}

static REQUESTED: Counter = Counter::new();
static RESERVED: Counter = Counter::new();

thread_local! {
    /// This thread's allocations minus its frees since it last published, requested and reserved.
    /// A `const` initializer and no destructor: touching it never allocates, which an allocator
    /// must not do.
    static UNPUBLISHED: Cell<(isize, isize)> = const { Cell::new((0, 0)) };
}

/// Adds `requested` and `reserved` bytes (negative for a free) to this thread's balances,
/// publishing both when either passes [`BATCH`].
fn record(requested: isize, reserved: isize) {
    let publish = UNPUBLISHED
        .try_with(|balance| {
            let (now_requested, now_reserved) = balance.get();
            let now = (now_requested + requested, now_reserved + reserved);
            if now.0.abs() >= BATCH || now.1.abs() >= BATCH {
                balance.set((0, 0));
                now
            } else {
                balance.set(now);
                (0, 0)
            }
        })
        .unwrap_or((requested, reserved));
    REQUESTED.publish(publish.0);
    RESERVED.publish(publish.1);
}

/// Moves this thread's whole balances to the shared counters.
fn publish_balance() {
    let (requested, reserved) = UNPUBLISHED
        .try_with(|balance| balance.replace((0, 0)))
        .unwrap_or((0, 0));
    REQUESTED.publish(requested);
    RESERVED.publish(reserved);
}

/// The bytes the system allocator set aside for the block at `ptr`.
///
/// # Safety
/// `ptr` is a live block that `System` returned.
#[cfg(target_os = "linux")]
unsafe fn reserved_size(ptr: *mut u8, _layout: Layout) -> usize {
    // SAFETY: `System` is malloc on Linux (also for over-aligned layouts, through
    // `posix_memalign`), and the caller passes a live block it returned.
    unsafe { libc::malloc_usable_size(ptr.cast()) }
}

/// Without `malloc_usable_size`, the reserved measure falls back to the requested size.
///
/// # Safety
/// None beyond the signature's; kept `unsafe` to match the Linux version.
#[cfg(not(target_os = "linux"))]
unsafe fn reserved_size(_ptr: *mut u8, layout: Layout) -> usize {
    layout.size()
}

/// The system allocator, counting current and peak bytes, requested and reserved.
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
    /// Counts a block `System` just returned.
    ///
    /// # Safety
    /// `ptr` is that block, live, allocated with `layout`.
    unsafe fn added(ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract.
        let reserved = unsafe { reserved_size(ptr, layout) };
        record(layout.size() as isize, reserved as isize);
    }

    /// Counts a block about to be given back to `System`.
    ///
    /// # Safety
    /// `ptr` is that block, still live, allocated with `layout`.
    unsafe fn removed(ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract.
        let reserved = unsafe { reserved_size(ptr, layout) };
        record(-(layout.size() as isize), -(reserved as isize));
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the allocator
// contract (`GlobalAlloc`'s safety section) is `System`'s; the counters only observe sizes, reading
// a block's size before it is freed and after it is allocated.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which is `System::alloc`'s.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            // SAFETY: `System` just returned this live block for `layout`.
            unsafe { Self::added(ptr, layout) };
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            // SAFETY: `System` just returned this live block for `layout`.
            unsafe { Self::added(ptr, layout) };
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller passes a live block `System` returned, with its layout; it is counted
        // before it is freed.
        unsafe { Self::removed(ptr, layout) };
        // SAFETY: the caller passes a block this allocator (that is, `System`) returned, with its layout.
        unsafe { System.dealloc(ptr, layout) };
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller passes a live block `System` returned, with its layout.
        let old_reserved = unsafe { reserved_size(ptr, layout) };
        // SAFETY: the caller passes a block `System` returned, its layout and a valid new size.
        let moved = unsafe { System.realloc(ptr, layout, new_size) };
        if !moved.is_null() {
            // SAFETY: `new_size` with the old alignment is a valid layout (`realloc`'s contract).
            let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
            record(-(layout.size() as isize), -(old_reserved as isize));
            // SAFETY: `System` just returned this live block for `new_layout`.
            unsafe { Self::added(moved, new_layout) };
        }
        moved
    }
}

/// The most bytes held at once during a window, in both measures (see the module's text).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Peak {
    /// The sizes the program asked for.
    pub requested: usize,
    /// What the system allocator set aside for them.
    pub reserved: usize,
}

impl Peak {
    /// The larger of two peaks, measure by measure.
    ///
    /// ```
    /// use janitor_bench::memory::Peak;
    /// let a = Peak { requested: 10, reserved: 40 };
    /// let b = Peak { requested: 20, reserved: 30 };
    /// assert_eq!(a.max(b), Peak { requested: 20, reserved: 40 });
    /// ```
    pub fn max(self, other: Peak) -> Peak {
        Peak {
            requested: self.requested.max(other.requested),
            reserved: self.reserved.max(other.reserved),
        }
    }
}

/// Starts measuring a run: the peaks are reset to what is allocated now.
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
    REQUESTED.open_window();
    RESERVED.open_window();
}

/// The most bytes that were allocated at once since [`start_peak_window`], beyond what was allocated
/// when the window opened (to within [`BATCH`] bytes per thread), requested and reserved; zeros when
/// [`CountingAllocator`] is not the global allocator.
///
/// ```
/// janitor_bench::memory::start_peak_window();
/// assert!(janitor_bench::memory::peak_since_window().requested < 1 << 30);
/// ```
pub fn peak_since_window() -> Peak {
    publish_balance();
    Peak {
        requested: REQUESTED.peak_in_window(),
        reserved: RESERVED.peak_in_window(),
    }
}
