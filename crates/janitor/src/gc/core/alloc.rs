//! Object memory: size classes with per-thread magazines, and the byte count of live objects.
//!
//! Invariants owned here:
//! * every block of a size class is in exactly one place: a live object, one magazine of one
//!   thread's cache, or the global depot. A block freed on another thread than the one that
//!   allocated it simply joins the freeing thread's cache: blocks have no owner thread;
//! * the global byte count plus every thread's unflushed delta is the number of bytes of live
//!   objects of the shared heap. A thread flushes its delta when it passes [`FLUSH_AT`] either way
//!   and when it exits. The thread-local heap (`gc::unsync`) takes blocks from the same classes and
//!   caches ([`allocate_local`]) and counts its bytes itself.
//!
//! Objects up to [`LARGEST`] bytes come from 16-byte size classes kept in per-thread magazines and
//! a global depot; larger ones, and every object when `JANITOR_GC_ALLOCATOR=system` is set before
//! the first allocation, use the global allocator. How the magazines trade with the depot, and why:
//! `docs/gc-soundness.md#the-allocator`.
//!
//! Under loom every object uses the global allocator and the global byte count directly: loom
//! tears its statics down before the thread-locals that would flush into them.

#[cfg(not(loom))]
use crate::sync::IgnorePoison;
use std::alloc::Layout;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicIsize, Ordering};

#[cfg(not(loom))]
/// The size-class granule.
const GRANULE: usize = 16;
#[cfg(not(loom))]
/// The largest object served from size classes.
const LARGEST: usize = 512;
#[cfg(not(loom))]
const CLASSES: usize = LARGEST / GRANULE;
#[cfg(not(loom))]
/// The bytes of one full magazine, and of the slab a new one is cut from. A slab is one magazine,
/// not several: a class that runs out holds one more magazine's worth of memory, not four. Slabs
/// are never returned, so each carved is a high-water mark of the class: with 64 KiB slabs the
/// thread-local heap's first round of `closures` peaked at 309 KB, with these at 205 KB.
const MAGAZINE_BYTES: usize = 16 << 10;
/// The most a thread's byte delta drifts before it is added to the global count.
#[cfg(not(loom))]
const FLUSH_AT: isize = 256 << 10;

#[cfg(not(loom))]
#[inline]
fn class_of(layout: Layout) -> Option<usize> {
    (layout.size() <= LARGEST && layout.align() <= GRANULE && uses_classes())
        .then(|| layout.size().div_ceil(GRANULE).max(1) - 1)
}

#[cfg(not(loom))]
#[inline]
fn block_size(class: usize) -> usize {
    (class + 1) * GRANULE
}

/// The blocks a full magazine of each class holds (32 of the largest class): a table, because the
/// division it stands for was on every free's path (a tenth of the thread-local heap's `free` in
/// `perf`).
#[cfg(not(loom))]
const MAGAZINE_CAPACITY: [usize; CLASSES] = {
    let mut capacity = [0; CLASSES];
    let mut class = 0;
    while class < CLASSES {
        capacity[class] = MAGAZINE_BYTES / ((class + 1) * GRANULE);
        class += 1;
    }
    capacity
};

#[cfg(not(loom))]
#[inline]
fn magazine_capacity(class: usize) -> usize {
    MAGAZINE_CAPACITY[class]
}

#[cfg(not(loom))]
static ALLOCATOR_CHOICE: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

#[cfg(not(loom))]
#[inline]
fn uses_classes() -> bool {
    match ALLOCATOR_CHOICE.load(Ordering::Relaxed) {
        1 => true,
        2 => false,
        _ => choose_allocator(),
    }
}

/// Reads `JANITOR_GC_ALLOCATOR` once; every later call of `uses_classes` sees the same answer.
#[cfg(not(loom))]
#[cold]
fn choose_allocator() -> bool {
    let classes = std::env::var_os("JANITOR_GC_ALLOCATOR").is_none_or(|value| value != "system");
    let choice = if classes { 1 } else { 2 };
    match ALLOCATOR_CHOICE.compare_exchange(0, choice, Ordering::Relaxed, Ordering::Relaxed) {
        Ok(_) => classes,
        Err(chosen) => chosen == 1,
    }
}

#[cfg(not(loom))]
/// A free block: its first word links to the next free block of the same magazine.
struct FreeBlock {
    next: *mut FreeBlock,
}

#[cfg(not(loom))]
/// The free blocks of one class: a stack of blocks that were used and freed, then a run of blocks
/// never used, the rest of the slab the magazine was cut from, taken in address order. The run is
/// what lets a new slab cost one `malloc` and nothing else. Writing a link into each of its blocks
/// when it was cut touched all its pages at once, a page fault each when the memory was new: on a
/// heap that only grows (`alloc-latency`'s `growing` row, full size) the allocation that cut a
/// 16 KiB slab waited for four, and those allocations set the p99.9 (15 to 19 µs in four runs,
/// against 5.4 to 7.4 µs in five now); with 64 KiB slabs the maximum was 126 to 778 µs in five
/// runs, against 56 to 95 µs now. Each page is touched by the first object placed in it, as with
/// `malloc`.
#[derive(Clone, Copy)]
struct Magazine {
    top: *mut FreeBlock,
    /// The blocks the magazine holds: those on the stack and those of the run.
    len: usize,
    /// The next block of the run; the run's blocks are a block size of the class apart.
    fresh: *mut u8,
    fresh_left: usize,
}

#[cfg(not(loom))]
// SAFETY: a magazine is a list of free blocks and a run of unused ones that nobody else
// references; moving it between threads (through the depot) moves their ownership.
unsafe impl Send for Magazine {}

#[cfg(not(loom))]
impl Magazine {
    const EMPTY: Magazine = Magazine {
        top: std::ptr::null_mut(),
        len: 0,
        fresh: std::ptr::null_mut(),
        fresh_left: 0,
    };

    /// A magazine of the never-used blocks of a new slab of `blocks` blocks.
    fn fresh(slab: NonNull<u8>, blocks: usize) -> Magazine {
        Magazine {
            top: std::ptr::null_mut(),
            len: blocks,
            fresh: slab.as_ptr(),
            fresh_left: blocks,
        }
    }

    /// # Safety
    /// `block` is a free block of this magazine's class, owned by the caller.
    #[inline]
    unsafe fn push(&mut self, block: NonNull<u8>) {
        let block = block.cast::<FreeBlock>();
        // SAFETY: the block is free, at least 16 bytes and 16-aligned: it holds the link.
        unsafe { block.write(FreeBlock { next: self.top }) };
        self.top = block.as_ptr();
        self.len += 1;
    }

    /// A block of `size` bytes, the magazine's class's; a freed block first: it was used lately,
    /// and may still be in the cache.
    #[inline]
    fn pop(&mut self, size: usize) -> Option<NonNull<u8>> {
        if let Some(top) = NonNull::new(self.top) {
            // SAFETY: blocks on the stack are free and hold their link.
            self.top = unsafe { top.read() }.next;
            self.len -= 1;
            return Some(top.cast());
        }
        if self.fresh_left == 0 {
            return None;
        }
        let block = NonNull::new(self.fresh)?;
        // The next block of the run, or the slab's end: `wrapping_add` because no object is read
        // through it before `fresh_left` says it is in the slab.
        self.fresh = self.fresh.wrapping_add(size);
        self.fresh_left -= 1;
        self.len -= 1;
        Some(block)
    }
}

/// Full magazines no thread holds, per class.
#[cfg(not(loom))]
static DEPOT: [std::sync::Mutex<Vec<Magazine>>; CLASSES] =
    [const { std::sync::Mutex::new(Vec::new()) }; CLASSES];

#[cfg(not(loom))]
fn depot(class: usize) -> std::sync::MutexGuard<'static, Vec<Magazine>> {
    DEPOT[class].lock().ignore_poison()
}

/// One thread's magazines and byte delta.
#[cfg(not(loom))]
struct Cache {
    loaded: [Magazine; CLASSES],
    spare: [Magazine; CLASSES],
    delta: isize,
}

#[cfg(not(loom))]
struct ThreadCache(std::cell::UnsafeCell<Cache>);

#[cfg(not(loom))]
impl Drop for ThreadCache {
    fn drop(&mut self) {
        let cache = self.0.get_mut();
        for class in 0..CLASSES {
            for magazine in [&mut cache.loaded[class], &mut cache.spare[class]] {
                if magazine.len > 0 {
                    depot(class).push(std::mem::replace(magazine, Magazine::EMPTY));
                }
            }
        }
        flush(std::mem::take(&mut cache.delta));
    }
}

#[cfg(not(loom))]
std::thread_local! {
    static CACHE: ThreadCache = const {
        ThreadCache(std::cell::UnsafeCell::new(Cache {
            loaded: [Magazine::EMPTY; CLASSES],
            spare: [Magazine::EMPTY; CLASSES],
            delta: 0,
        }))
    };
}

/// Runs `body` on this thread's cache; `None` once the thread-local is gone (thread exit).
#[cfg(not(loom))]
#[inline]
fn with_cache<R>(body: impl FnOnce(&mut Cache) -> R) -> Option<R> {
    // SAFETY: the cache is only reached through this function, whose callers never re-enter it
    // (no user code runs inside), so the mutable borrow is unique.
    CACHE
        .try_with(|cache| body(unsafe { &mut *cache.0.get() }))
        .ok()
}

/// The published byte count of live objects: every thread's flushed deltas.
///
/// A std atomic even under loom: it is a statistic that decides when collections are due, never
/// part of a protocol a model checks, and loom's atomics cannot live in a plain `static`.
static BYTES: AtomicIsize = AtomicIsize::new(0);

/// Adds a thread's balance to the published count.
pub(crate) fn flush(delta: isize) {
    BYTES.fetch_add(delta, Ordering::Relaxed);
}

/// The byte count every thread has flushed so far. Each thread flushes its own balance, so while
/// one thread holds allocations not yet flushed, another's flushed frees of them (the
/// reclaimer's, or any thread dropping what another built) can take the sum below zero: the
/// count is signed, and callers clamp.
pub(crate) fn published_bytes() -> isize {
    BYTES.load(Ordering::Relaxed)
}

#[cfg(not(loom))]
impl Cache {
    #[inline]
    fn record(&mut self, change: isize) {
        self.delta += change;
        if self.delta.abs() >= FLUSH_AT {
            flush(std::mem::take(&mut self.delta));
        }
    }

    #[inline]
    fn allocate(&mut self, class: usize) -> NonNull<u8> {
        if let Some(block) = self.loaded[class].pop(block_size(class)) {
            return block;
        }
        self.loaded[class] = if self.spare[class].len > 0 {
            std::mem::replace(&mut self.spare[class], Magazine::EMPTY)
        } else {
            refill(class)
        };
        self.loaded[class]
            .pop(block_size(class))
            .expect("a refilled magazine holds blocks")
    }

    /// # Safety
    /// `block` is a block of `class` that no live object uses any more.
    #[inline]
    unsafe fn deallocate(&mut self, class: usize, block: NonNull<u8>) {
        if self.loaded[class].len >= magazine_capacity(class) {
            let full = std::mem::replace(&mut self.loaded[class], Magazine::EMPTY);
            let older = std::mem::replace(&mut self.spare[class], full);
            if older.len > 0 {
                depot(class).push(older);
            }
        }
        // SAFETY: the caller gives the block up.
        unsafe { self.loaded[class].push(block) };
    }
}

/// A full magazine from the depot, or else one cut from a new slab.
#[cfg(not(loom))]
fn refill(class: usize) -> Magazine {
    // The depot's lock is released before carving, which takes it again.
    let stored = depot(class).pop();
    stored.unwrap_or_else(|| carve(class))
}

/// A magazine of the blocks of a new slab of [`MAGAZINE_BYTES`], none of them touched yet.
#[cfg(not(loom))]
fn carve(class: usize) -> Magazine {
    let layout = Layout::from_size_align(MAGAZINE_BYTES, GRANULE).expect("a valid slab layout");
    // SAFETY: the layout has a non-zero size.
    let Some(slab) = NonNull::new(unsafe { std::alloc::alloc(layout) }) else {
        std::alloc::handle_alloc_error(layout)
    };
    // The capacity is the number of blocks of the class that fit in the slab.
    Magazine::fresh(slab, magazine_capacity(class))
}

/// Allocates memory for an object with this layout and counts its bytes.
#[inline]
pub(crate) fn allocate(layout: Layout) -> NonNull<u8> {
    #[cfg(not(loom))]
    if let Some(class) = class_of(layout) {
        let change = layout.size() as isize;
        let block = with_cache(|cache| {
            cache.record(change);
            cache.allocate(class)
        });
        return block.unwrap_or_else(|| {
            // The thread is exiting and its cache is gone: take one block, give the rest back.
            flush(change);
            let mut magazine = refill(class);
            let block = magazine
                .pop(block_size(class))
                .expect("a refilled magazine holds blocks");
            if magazine.len > 0 {
                depot(class).push(magazine);
            }
            block
        });
    }
    flush_or_record(layout.size() as isize);
    // SAFETY: the layout has a non-zero size: an object holds at least a header.
    let start = unsafe { std::alloc::alloc(layout) };
    NonNull::new(start).unwrap_or_else(|| std::alloc::handle_alloc_error(layout))
}

/// Frees the memory of an object with this layout and uncounts its bytes.
///
/// # Safety
/// `start` came from [`allocate`] with the same layout, and no object uses it any more.
#[inline]
pub(crate) unsafe fn deallocate(start: NonNull<u8>, layout: Layout) {
    #[cfg(not(loom))]
    if let Some(class) = class_of(layout) {
        let change = -(layout.size() as isize);
        let cached = with_cache(|cache| {
            cache.record(change);
            // SAFETY: the caller gives the block up.
            unsafe { cache.deallocate(class, start) };
        });
        if cached.is_none() {
            flush(change);
            let mut single = Magazine::EMPTY;
            // SAFETY: as above.
            unsafe { single.push(start) };
            depot(class).push(single);
        }
        return;
    }
    flush_or_record(-(layout.size() as isize));
    // SAFETY: the caller's contract: allocated by the global allocator with this layout.
    unsafe { std::alloc::dealloc(start.as_ptr(), layout) }
}

#[cfg(not(loom))]
fn flush_or_record(change: isize) {
    if with_cache(|cache| cache.record(change)).is_none() {
        flush(change);
    }
}

#[cfg(loom)]
fn flush_or_record(change: isize) {
    flush(change);
}

/// Memory for an object of the thread-local heap (`gc::unsync`): the same classes and thread
/// cache as [`allocate`], without the shared heap's byte count (the thread-local heap keeps its
/// own, with no atomic on the way).
#[inline]
pub(crate) fn allocate_local(layout: Layout) -> NonNull<u8> {
    #[cfg(not(loom))]
    if let Some(class) = class_of(layout) {
        return with_cache(|cache| cache.allocate(class)).unwrap_or_else(|| {
            // The thread is exiting and its cache is gone: take one block, give the rest back.
            let mut magazine = refill(class);
            let block = magazine
                .pop(block_size(class))
                .expect("a refilled magazine holds blocks");
            if magazine.len > 0 {
                depot(class).push(magazine);
            }
            block
        });
    }
    // SAFETY: the layout has a non-zero size: an object holds at least a header.
    let start = unsafe { std::alloc::alloc(layout) };
    NonNull::new(start).unwrap_or_else(|| std::alloc::handle_alloc_error(layout))
}

/// Frees memory from [`allocate_local`].
///
/// # Safety
/// `start` came from [`allocate_local`] with the same layout, and no object uses it any more.
#[inline]
pub(crate) unsafe fn deallocate_local(start: NonNull<u8>, layout: Layout) {
    #[cfg(not(loom))]
    if let Some(class) = class_of(layout) {
        // SAFETY: the caller gives the block up.
        let cached = with_cache(|cache| unsafe { cache.deallocate(class, start) });
        if cached.is_none() {
            let mut single = Magazine::EMPTY;
            // SAFETY: as above.
            unsafe { single.push(start) };
            depot(class).push(single);
        }
        return;
    }
    // SAFETY: the caller's contract: allocated by the global allocator with this layout.
    unsafe { std::alloc::dealloc(start.as_ptr(), layout) }
}

/// The bytes of live objects, including this thread's unflushed delta.
pub(crate) fn total_bytes() -> usize {
    #[cfg(not(loom))]
    let local = with_cache(|cache| cache.delta).unwrap_or(0);
    #[cfg(loom)]
    let local = 0;
    (published_bytes() + local).max(0).unsigned_abs()
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn small_layouts_map_to_the_smallest_class_that_fits() {
        if !uses_classes() {
            return;
        }
        assert_eq!(class_of(Layout::from_size_align(1, 1).unwrap()), Some(0));
        assert_eq!(class_of(Layout::from_size_align(32, 8).unwrap()), Some(1));
        assert_eq!(class_of(Layout::from_size_align(33, 8).unwrap()), Some(2));
        assert_eq!(class_of(Layout::from_size_align(513, 8).unwrap()), None);
        assert_eq!(class_of(Layout::from_size_align(64, 64).unwrap()), None);
    }

    #[test]
    fn no_two_blocks_overlap_and_a_freed_block_comes_back_before_unused_ones() {
        if !uses_classes() {
            return;
        }
        let layout = Layout::from_size_align(48, 8).unwrap();
        // Three slabs' worth and more: the runs of unused blocks of several new slabs.
        let count = 3 * magazine_capacity(class_of(layout).unwrap()) + 5;
        std::thread::spawn(move || {
            let blocks: Vec<NonNull<u8>> = (0..count).map(|_| allocate(layout)).collect();
            let mut addresses: Vec<usize> =
                blocks.iter().map(|block| block.as_ptr() as usize).collect();
            addresses.sort_unstable();
            for pair in addresses.windows(2) {
                assert!(
                    pair[1] - pair[0] >= 48,
                    "blocks at {:#x} and {:#x} overlap",
                    pair[0],
                    pair[1]
                );
            }
            let freed = blocks[count / 2];
            // SAFETY: the block came from `allocate` with this layout and is unused.
            unsafe { deallocate(freed, layout) };
            let again = allocate(layout);
            assert_eq!(again, freed);
            for block in blocks {
                // SAFETY: as above; `again` is `freed`, given back once here.
                unsafe { deallocate(block, layout) };
            }
        })
        .join()
        .unwrap();
    }

    #[test]
    fn blocks_freed_on_another_thread_are_reused_and_never_handed_out_twice() {
        let layout = Layout::from_size_align(48, 8).unwrap();
        let blocks: Vec<usize> = (0..5000)
            .map(|_| allocate(layout).as_ptr() as usize)
            .collect();
        let mut unique = blocks.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), blocks.len());
        std::thread::spawn(move || {
            for block in blocks {
                // SAFETY: each block came from `allocate` with this layout and is unused.
                unsafe { deallocate(NonNull::new(block as *mut u8).unwrap(), layout) };
            }
        })
        .join()
        .unwrap();
        let again: Vec<usize> = (0..5000)
            .map(|_| allocate(layout).as_ptr() as usize)
            .collect();
        let mut unique = again.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), again.len());
        for block in again {
            // SAFETY: as above.
            unsafe { deallocate(NonNull::new(block as *mut u8).unwrap(), layout) };
        }
    }
}
