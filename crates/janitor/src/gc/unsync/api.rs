//! The thread-local heap's .NET-named functions: collections, counts, and snapshots.
//!
//! The snapshots reuse the shared heap's types ([`GcStats`], [`MemoryInfo`]), and the errors its
//! functions' ([`WeakTargetCollected`], [`ZeroMemoryPressure`]), so that code and dashboards read
//! both heaps alike.
//!
//! Every memory function of the shared heap has its counterpart here, over this thread's heap:
//! [`total_memory`], [`total_memory_after_collection`], [`add_memory_pressure`],
//! [`remove_memory_pressure`], [`weak_generation`]. None needed leaving out: what the shared heap
//! does across threads (batched byte counts, owed collections, waiting for the finalizer thread)
//! is simply immediate on one.

use super::object::TRACKED;
use super::ptr::Gc;
use super::weak::WeakGc;
use super::{collector, heap};
use crate::gc::{
    GcStats, GenerationInfo, MAX_GENERATION, MemoryInfo, WeakTargetCollected, ZeroMemoryPressure,
};

/// The memory pressure added since the last full collection that makes one due, at least.
const PRESSURE_BUDGET: usize = 4 << 20;

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

/// The generation of a weak reference's object, as .NET's `GC.GetGeneration(WeakReference)`; an
/// error once the reference is dead (see [`WeakGc`] for when a short and a long one die).
///
/// ```
/// use janitor::gc::unsync::{Gc, GcCell, collect, generation, weak_generation};
///
/// let object = Gc::new(GcCell::new(None::<Gc<u8>>));
/// let weak = Gc::downgrade(&object);
/// assert_eq!(weak_generation(&weak), Ok(generation(&object)));
/// drop(object);
/// collect();
/// assert!(weak_generation(&weak).is_err());
/// ```
pub fn weak_generation<T: ?Sized>(weak: &WeakGc<T>) -> Result<u8, WeakTargetCollected> {
    weak.upgrade()
        .map(|object| generation(&object))
        .ok_or(WeakTargetCollected)
}

/// The bytes of all live objects of this thread's heap now, without a collection (.NET's
/// `GC.GetTotalMemory(false)`): every object's allocation (node, header and value), tracked or
/// not, exact at every moment.
///
/// ```
/// use janitor::gc::unsync::{Gc, total_memory};
///
/// let before = total_memory();
/// let blocks: Vec<_> = (0..1000).map(|_| Gc::new([0_u64; 64])).collect();
/// assert!(total_memory() >= before + 1000 * 512);
/// drop(blocks);
/// assert_eq!(total_memory(), before);
/// ```
#[must_use]
pub fn total_memory() -> usize {
    heap::with(|heap| heap.bytes.get())
}

/// The bytes of all live objects of this thread's heap after collections (.NET's
/// `GC.GetTotalMemory(true)`): collects and runs the pending finalizers, repeating (at most 20
/// times, as .NET) until the figure changes by less than 5%, so that what the finalizers release
/// is counted. Inside a `Drop` or a finalizer the heap is running, it collects but runs no
/// finalizer (as [`collect`]).
///
/// ```
/// use janitor::gc::Trace;
/// use janitor::gc::unsync::{Gc, GcCell, total_memory, total_memory_after_collection};
///
/// #[derive(Trace)]
/// struct Node(GcCell<Option<Gc<Node>>>);
///
/// let node = Gc::new(Node(GcCell::new(None)));
/// *node.0.borrow_mut() = Some(node.clone()); // a cycle: only a collection frees it
/// let before = total_memory();
/// drop(node);
/// assert!(total_memory_after_collection() < before);
/// ```
pub fn total_memory_after_collection() -> usize {
    let mut total = total_memory();
    for _ in 0..20 {
        collect();
        let after = total_memory();
        let changed = total.abs_diff(after);
        total = after;
        if changed * 20 < after.max(1) {
            break;
        }
    }
    total
}

/// Tells this thread's collector that its live objects hold `bytes` of memory it does not see
/// (native buffers, mapped files), as .NET's `GC.AddMemoryPressure`. When the pressure added since
/// the last full collection passes its budget (4 MiB, or a third of the heap if larger), a full
/// collection runs before the call returns, then the finalizers it queued: so the call runs other
/// objects' `Drop`s and finalizers, as [`collect`] does. Inside a `Drop` or a finalizer the heap is
/// running, it records the pressure and does not collect; the budget stays passed, and the next
/// call outside collects. Zero is an error, as in .NET.
///
/// ```
/// use janitor::gc::unsync::{add_memory_pressure, memory_info, remove_memory_pressure};
///
/// add_memory_pressure(1 << 20)?; // an object took a 1 MiB native buffer
/// assert_eq!(memory_info().memory_pressure, 1 << 20);
/// remove_memory_pressure(1 << 20)?; // and gave it back
/// assert_eq!(memory_info().memory_pressure, 0);
/// # Ok::<(), janitor::gc::ZeroMemoryPressure>(())
/// ```
pub fn add_memory_pressure(bytes: usize) -> Result<(), ZeroMemoryPressure> {
    if bytes == 0 {
        return Err(ZeroMemoryPressure);
    }
    heap::with(|heap| {
        heap.pressure.set(heap.pressure.get().saturating_add(bytes));
        let since_full = heap.pressure_since_full.get().saturating_add(bytes);
        heap.pressure_since_full.set(since_full);
        let budget = PRESSURE_BUDGET.max(heap.bytes.get() / 3);
        if since_full >= budget && heap.busy.get() == 0 && !heap.closed.get() {
            heap.update_counters(|counters| counters.pressure += 1);
            collector::collect_generation(heap, MAX_GENERATION);
            heap.run_finalizers();
        }
    });
    Ok(())
}

/// Withdraws memory pressure declared with [`add_memory_pressure`], as .NET's
/// `GC.RemoveMemoryPressure` (never below zero). Zero is an error, as in .NET.
///
/// ```
/// assert!(janitor::gc::unsync::remove_memory_pressure(0).is_err());
/// janitor::gc::unsync::remove_memory_pressure(4096).unwrap();
/// ```
pub fn remove_memory_pressure(bytes: usize) -> Result<(), ZeroMemoryPressure> {
    if bytes == 0 {
        return Err(ZeroMemoryPressure);
    }
    heap::with(|heap| heap.pressure.set(heap.pressure.get().saturating_sub(bytes)));
    Ok(())
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
            memory_pressure: heap.pressure.get(),
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
/// assert_eq!(
///     stats.induced_collections + stats.allocation_collections + stats.pressure_collections,
///     stats.collections[0]
/// );
/// ```
#[must_use]
pub fn stats() -> GcStats {
    heap::with(|heap| {
        let counters = heap.counters.get();
        GcStats {
            collections: counters.collections,
            induced_collections: counters.induced,
            allocation_collections: counters.automatic,
            pressure_collections: counters.pressure,
            examined_objects: counters.examined,
            freed_objects: counters.freed,
            heap_bytes: heap.bytes.get(),
            tracked_objects: heap.generations.iter().map(|list| list.len.get()).sum(),
            last_pause: counters.last_pause,
            total_pause: counters.total_pause,
            pending_finalizers: heap.pending_finalizers(),
            finalized_objects: counters.finalized,
            memory_pressure: heap.pressure.get(),
            ..GcStats::default()
        }
    })
}
