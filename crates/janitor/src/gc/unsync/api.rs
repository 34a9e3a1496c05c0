//! The thread-local heap's .NET-named functions: collections, counts, and snapshots.
//!
//! The snapshots reuse the shared heap's types ([`GcStats`], [`MemoryInfo`]), so that code and
//! dashboards read both heaps alike; the fields the thread-local heap has no use for (memory
//! pressure) read zero.

use super::object::TRACKED;
use super::ptr::Gc;
use super::{collector, heap};
use crate::gc::{GcStats, GenerationInfo, MAX_GENERATION, MemoryInfo};

/// Collects this thread's heap, every generation, then runs the finalizers that queued (see
/// [`Finalize`](super::Finalize)); .NET's `GC.Collect()` followed by one pass of the finalizer
/// queue. Inside a `Drop` or a finalizer the heap is running, it collects but leaves the
/// finalizers to the call that is running them.
///
/// ```
/// use janitor::gc::Trace;
/// use janitor::gc::unsync::{Gc, GcCell, collect, collection_count};
///
/// #[derive(Trace)]
/// struct Node(GcCell<Option<Gc<Node>>>);
///
/// let node = Gc::new(Node(GcCell::new(None)));
/// *node.0.borrow_mut() = Some(node.clone());
/// drop(node);
/// let before = collection_count(2);
/// collect();
/// assert_eq!(collection_count(2), before + 1);
/// ```
pub fn collect() {
    collect_generation(MAX_GENERATION);
}

/// Collects generations `0..=generation` of this thread's heap (a generation above
/// [`MAX_GENERATION`] means all of them), then runs the finalizers queued, as [`collect`] does.
/// References from older generations count as held from outside; survivors move one generation
/// up.
///
/// ```
/// use janitor::gc::unsync::{collect_generation, collection_count};
/// let before = collection_count(0);
/// collect_generation(0);
/// assert_eq!(collection_count(0), before + 1);
/// ```
pub fn collect_generation(generation: u8) {
    heap::with(|heap| {
        heap.update_counters(|counters| counters.induced += 1);
        collector::collect_generation(heap, generation.min(MAX_GENERATION));
        heap.run_finalizers();
    })
}

/// How many collections of `generation` this thread's heap has run: a collection of generation N
/// counts for every generation up to N. Generations above [`MAX_GENERATION`] read as the oldest.
///
/// ```
/// use janitor::gc::unsync::{collect, collection_count};
/// let young = collection_count(0);
/// collect();
/// assert!(collection_count(0) > young);
/// ```
#[must_use]
pub fn collection_count(generation: u8) -> u64 {
    heap::with(|heap| heap.counters.get().collections[generation.min(MAX_GENERATION) as usize])
}

/// The generation of `object`: 0 to [`MAX_GENERATION`] for a tracked object, and
/// [`MAX_GENERATION`] for one that can never be on a cycle (no collection examines it).
///
/// ```
/// use janitor::gc::unsync::{Gc, GcCell, collect_generation, generation};
/// let tracked = Gc::new(GcCell::new(None::<Gc<u8>>));
/// assert_eq!(generation(&tracked), 0);
/// collect_generation(0);
/// assert_eq!(generation(&tracked), 1);
/// assert_eq!(generation(&Gc::new(5)), janitor::gc::MAX_GENERATION);
/// ```
#[must_use]
pub fn generation<T: ?Sized>(object: &Gc<T>) -> u8 {
    let header = object.header();
    if header.has(TRACKED) {
        header.generation()
    } else {
        MAX_GENERATION
    }
}

/// Runs one pass of this thread's finalizer queue: every finalizer queued before the call (all
/// normal ones, then the critical ones). It does not collect: objects in garbage cycles are
/// queued by a collection. Returns at once inside a finalizer or a `Drop` the heap is running.
/// The thread-local counterpart of [`gc::wait_for_pending_finalizers`](crate::gc::wait_for_pending_finalizers):
/// nothing needs waiting for, since finalizers run on this thread.
///
/// ```
/// use janitor::gc::unsync::{memory_info, wait_for_pending_finalizers};
/// wait_for_pending_finalizers();
/// assert_eq!(memory_info().pending_finalizers, 0);
/// ```
pub fn wait_for_pending_finalizers() {
    heap::with(|heap| heap.run_finalizers())
}

/// A snapshot of this thread's heap, in the shared heap's type.
///
/// ```
/// use janitor::gc::unsync::{Gc, GcCell, collect, memory_info};
/// let kept = Gc::new(GcCell::new(Vec::<Gc<u8>>::new()));
/// collect();
/// let info = memory_info();
/// assert!(info.heap_bytes > 0);
/// assert_eq!(info.generations[1].objects, 1);
/// # drop(kept);
/// ```
#[must_use]
pub fn memory_info() -> MemoryInfo {
    heap::with(|heap| {
        let counters = heap.counters.get();
        let mut generations = [GenerationInfo::default(); MAX_GENERATION as usize + 1];
        for (index, info) in generations.iter_mut().enumerate() {
            info.objects = heap.generations[index].len.get();
            info.bytes = heap
                .objects_of(index as u8)
                .iter()
                // SAFETY: listed objects are live.
                .map(|header| super::object::size(unsafe { header.as_ref() }))
                .sum();
        }
        MemoryInfo {
            heap_bytes: heap.bytes.get(),
            generations,
            last_pause: counters.last_pause,
            total_pause: counters.total_pause,
            collections: counters.collections,
            promoted_objects: counters.promoted_objects,
            promoted_bytes: counters.promoted_bytes,
            pending_finalizers: heap.pending_finalizers(),
            ..MemoryInfo::default()
        }
    })
}

/// This thread's collector statistics, in the shared heap's type.
///
/// ```
/// use janitor::gc::unsync::{collect, stats};
/// collect();
/// let stats = stats();
/// assert!(stats.induced_collections >= 1);
/// assert_eq!(stats.induced_collections + stats.allocation_collections, stats.collections[0]);
/// ```
#[must_use]
pub fn stats() -> GcStats {
    heap::with(|heap| {
        let counters = heap.counters.get();
        GcStats {
            collections: counters.collections,
            induced_collections: counters.induced,
            allocation_collections: counters.automatic,
            examined_objects: counters.examined,
            freed_objects: counters.freed,
            heap_bytes: heap.bytes.get(),
            tracked_objects: heap.generations.iter().map(|list| list.len.get()).sum(),
            last_pause: counters.last_pause,
            total_pause: counters.total_pause,
            pending_finalizers: heap.pending_finalizers(),
            finalized_objects: counters.finalized,
            ..GcStats::default()
        }
    })
}
