//! The GC API, named after .NET's `System.GC`: collections, counts, generations, memory.
//!
//! Every collection these functions ask for runs through the collection driver
//! (`engine/driver.rs`), which owns the rules of the collection turn.

use crate::gc::core::alloc;
use crate::gc::core::heap::{Heap, OLDEST, Trigger};
use crate::gc::engine::driver::run;
use crate::gc::engine::finalizer_thread;
use crate::gc::face::ptr::Gc;
use crate::gc::face::weak::WeakGc;

/// The oldest generation, as .NET's `GC.MaxGeneration`.
///
/// ```
/// assert_eq!(janitor::gc::MAX_GENERATION, 2);
/// ```
pub const MAX_GENERATION: u8 = OLDEST;

/// Collects every generation, blocking until the garbage cycles found are freed, as .NET's
/// `GC.Collect()`.
///
/// Acyclic garbage never waits for a collection: it is freed when its last `Gc` drops (or, if
/// a collection running on another thread is examining it at that moment, when that collection
/// lets it go; [`wait_for_pending_finalizers`](crate::gc::wait_for_pending_finalizers) waits for
/// that). A collection finds the cycles. It runs on the calling thread while other threads keep working;
/// it panics only if the `Drop` of a cycle's object panics (after freeing the whole cycle).
///
/// Collections also start on their own, when the tracked objects grow by a budget (what was
/// allocated minus what counting freed: acyclic garbage never starts one) or
/// [`add_memory_pressure`] passes its own. An allocation never collects itself: it asks the
/// `janitor-collector` thread, and goes on (one that finds the heap a whole budget past due waits
/// for that collection, at most 10 ms). Memory pressure collects on the calling thread if no
/// collection is running, and otherwise leaves its full collection to the thread collecting,
/// which runs it before it returns (so `collect` may run one more, automatic, collection after
/// its own). Neither runs a destructor on the thread that collects (which may hold any lock): the
/// garbage they find is dropped on the `janitor-reclaimer` thread.
/// `collect` first waits until the reclaimer has dropped what earlier automatic collections
/// found, so when it returns, every cycle that was garbage when it was called is freed. It is the
/// one collection that waits for another to finish: calling it while holding a lock that a
/// garbage `Drop` takes can deadlock with a `collect` on another thread, as `GC.Collect` followed
/// by `GC.WaitForPendingFinalizers` can with a finalizer in .NET.
///
/// Called from the `Drop` of an object a collection found to be garbage, `collect` keeps a weaker
/// promise. The first such call of that collection's drops examines the heap before it returns;
/// later ones return at once (one collection examines what all of them left, instead of one
/// collection of the whole heap per member). The garbage it finds is dropped on the reclaimer
/// after the `Drop` returns: dropping it inside would nest collections without bound when its own
/// objects' `Drop`s collect too. On the `janitor-reclaimer` thread, where the garbage of
/// automatic collections is dropped, it collects only if no other thread is collecting (that
/// thread may be waiting for the reclaimer).
///
/// ```
/// use janitor::gc::{Gc, GcCell, Trace, collect, collection_count};
///
/// #[derive(Trace)]
/// struct Node(GcCell<Option<Gc<Node>>>);
///
/// let node = Gc::new(Node(GcCell::new(None)));
/// *node.0.borrow_mut() = Some(node.clone()); // a self-loop
/// drop(node);
/// let before = collection_count(2);
/// collect();
/// assert!(collection_count(2) > before);
/// ```
pub fn collect() {
    run(OLDEST, Trigger::Induced);
}

/// Collects generations `0..=generation`, as .NET's `GC.Collect(int)`; a generation above
/// [`MAX_GENERATION`] means all of them.
///
/// References from older generations into the examined ones count as held from outside, so a
/// young collection never frees what an old object still uses; it only leaves cycles that reach
/// into older generations to a later, older collection. Survivors are promoted one generation.
///
/// ```
/// use janitor::gc::{collect_generation, collection_count};
///
/// let before = collection_count(0);
/// collect_generation(0);
/// assert!(collection_count(0) > before);
/// collect_generation(200); // clamps to MAX_GENERATION
/// ```
pub fn collect_generation(generation: u8) {
    run(generation, Trigger::Induced);
}

/// How many collections of `generation` have run, as .NET's `GC.CollectionCount`: a collection of
/// generation N counts for every generation up to N. Generations above [`MAX_GENERATION`] read
/// as the oldest.
///
/// ```
/// use janitor::gc::{collect, collection_count};
///
/// let (young, old) = (collection_count(0), collection_count(2));
/// collect();
/// assert!(collection_count(0) > young && collection_count(2) > old);
/// ```
pub fn collection_count(generation: u8) -> u64 {
    Heap::global().collection_count(generation)
}

/// The generation of `object`, as .NET's `GC.GetGeneration`.
///
/// A tracked object (one that can be part of a cycle) starts in generation 0 and moves up one
/// generation each time it survives a collection of its generation. An object that can never be
/// part of a cycle is not tracked: no collection examines it, counting alone frees it, and it
/// reports [`MAX_GENERATION`]: no collection will ever examine it, as if it were as old as can be.
///
/// ```
/// use janitor::gc::{Gc, GcCell, collect_generation, generation, MAX_GENERATION};
///
/// let tracked = Gc::new(GcCell::new(None::<Gc<u8>>));
/// assert_eq!(generation(&tracked), 0);
/// collect_generation(0);
/// assert_eq!(generation(&tracked), 1);
/// assert_eq!(generation(&Gc::new(5)), MAX_GENERATION);
/// ```
pub fn generation<T: ?Sized>(object: &Gc<T>) -> u8 {
    let header = object.header();
    // SAFETY: `object` holds a count: the object is live.
    if unsafe { header.as_ref() }.vtable().tracked {
        // SAFETY: live and tracked.
        unsafe { Heap::global().generation_of(header) }
    } else {
        OLDEST
    }
}

/// The generation of a weak reference's object, as .NET's `GC.GetGeneration(WeakReference)`;
/// an error once the reference is dead (what .NET reports with an `ArgumentNullException`).
///
/// A short weak reference dies when its object becomes unreachable, a long one when its memory is
/// reclaimed (see [`WeakGc`]); the generation is the object's, as [`generation`] reports it.
///
/// ```
/// use janitor::gc::{Gc, GcCell, collect, generation, weak_generation};
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

/// [`weak_generation`] was asked about a weak reference whose object is gone.
///
/// ```
/// let message = janitor::gc::WeakTargetCollected.to_string();
/// assert!(message.contains("upgrade"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the weak reference's object has been collected, so it has no generation: check that \
     `upgrade()` succeeds before asking for the generation"
)]
pub struct WeakTargetCollected;

/// The bytes of all live heap objects now, without a collection (.NET's
/// `GC.GetTotalMemory(false)`). [`total_memory_after_collection`] first collects and waits for
/// pending finalizers, repeatedly. .NET waits, then collects; janitor waits after each
/// collection, so that what the finalizers of the objects it found release is already counted
/// when the figure first barely moves. (On the finalizer thread the wait returns at once, so there
/// it only collects.)
///
/// The figure counts every object's allocation (header and value), tracked or not; each thread
/// batches its changes, so it can lag by up to 256 KiB per thread.
///
/// ```
/// use janitor::gc::{Gc, total_memory};
///
/// let blocks: Vec<_> = (0..1000).map(|_| Gc::new([0_u64; 64])).collect();
/// assert!(total_memory() >= 1000 * 512);
/// drop(blocks);
/// ```
pub fn total_memory() -> usize {
    alloc::total_bytes()
}

/// Bytes of all live objects after collections (.NET's `GC.GetTotalMemory(true)`): collects and
/// waits for pending finalizers, repeating (at most 20 times, as .NET) until the figure changes
/// by less than 5%; see [`total_memory`] for the figure and the order of the waits.
///
/// ```
/// use janitor::gc::{Gc, total_memory, total_memory_after_collection};
///
/// let blocks: Vec<_> = (0..1000).map(|_| Gc::new([0_u64; 64])).collect();
/// let before = total_memory();
/// drop(blocks);
/// assert!(total_memory_after_collection() < before);
/// ```
pub fn total_memory_after_collection() -> usize {
    let mut total = alloc::total_bytes();
    for _ in 0..20 {
        collect();
        finalizer_thread::wait_for_pending_finalizers();
        let after = alloc::total_bytes();
        let changed = total.abs_diff(after);
        total = after;
        if changed * 20 < after.max(1) {
            break;
        }
    }
    total
}

/// `add_memory_pressure` or `remove_memory_pressure` was given zero bytes.
///
/// ```
/// let error = janitor::gc::add_memory_pressure(0).unwrap_err();
/// assert!(error.to_string().contains("positive"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "memory pressure must be a positive number of bytes: pass the size of the unmanaged memory the object holds"
)]
pub struct ZeroMemoryPressure;

/// Tells the collector that live objects hold `bytes` of memory it does not see (native buffers,
/// mapped files), as .NET's `GC.AddMemoryPressure`. When the pressure added since the last full
/// collection passes its budget (4 MiB, or a third of the heap if larger), a full collection runs.
/// Zero is an error, as in .NET.
///
/// The call never waits for a collection, nor runs a destructor: the caller may hold a lock that
/// a garbage `Drop` needs. If no collection is running, the full collection runs on the calling
/// thread, as an automatic one (it decides here; the garbage's `Drop`s run on the
/// `janitor-reclaimer` thread). If one is running, the call records that a full collection is
/// owed and returns; the thread collecting runs it as soon as it is done with its own, before it
/// returns (the running collection may be a young one, or may have scanned the heap before the
/// pressure came, so it does not serve as the full collection). A thread runs at most one owed
/// collection per collection of its own, so pressure that other threads keep adding never keeps one thread collecting; a
/// debt that comes due while that owed collection runs goes to the next collection that ends,
/// or to the next `add_memory_pressure`, which finds the budget still passed until a full
/// collection has run.
///
/// ```
/// use janitor::gc::{add_memory_pressure, remove_memory_pressure};
///
/// add_memory_pressure(1 << 20)?;    // an object took a 1 MiB native buffer
/// remove_memory_pressure(1 << 20)?; // and gave it back
/// # Ok::<(), janitor::gc::ZeroMemoryPressure>(())
/// ```
pub fn add_memory_pressure(bytes: usize) -> Result<(), ZeroMemoryPressure> {
    if bytes == 0 {
        return Err(ZeroMemoryPressure);
    }
    if let Some(due) = Heap::global().add_pressure(bytes) {
        tracing::debug!(
            added = bytes,
            since_full_collection = due.since_full,
            budget = due.budget,
            declared = Heap::global().pressure(),
            "janitor: memory pressure passed its budget, collecting every generation"
        );
        run(OLDEST, Trigger::MemoryPressure);
    }
    Ok(())
}

/// Withdraws memory pressure declared with [`add_memory_pressure`], as .NET's
/// `GC.RemoveMemoryPressure`. Zero is an error, as in .NET.
///
/// ```
/// assert!(janitor::gc::remove_memory_pressure(0).is_err());
/// janitor::gc::remove_memory_pressure(4096).unwrap();
/// ```
pub fn remove_memory_pressure(bytes: usize) -> Result<(), ZeroMemoryPressure> {
    if bytes == 0 {
        return Err(ZeroMemoryPressure);
    }
    Heap::global().remove_pressure(bytes);
    Ok(())
}
