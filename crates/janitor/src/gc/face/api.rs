//! The GC API, named after .NET's `System.GC`: collections, counts, generations, memory.
//!
//! Invariant owned here: every collection goes through [`run`], which serializes it on the
//! heap's collection turn, whatever triggered it. Only an induced collection waits for the turn:
//! an automatic one starts inside an allocation or `add_memory_pressure`, on a thread that may
//! hold a lock a running collection's garbage `Drop` needs, so it only tries the turn, and goes
//! on without it (an allocation) or leaves its full collection to the holder (memory pressure).

use crate::gc::core::alloc;
use crate::gc::core::heap::{Heap, OLDEST, Trigger};
use crate::gc::engine::collector;
use crate::gc::engine::reclaim;
use crate::gc::face::ptr::Gc;
use crate::gc::face::weak::WeakGc;
use crate::sync::MutexGuard;
use std::sync::TryLockError;
use std::time::Duration;

/// The oldest generation, as .NET's `GC.MaxGeneration`.
///
/// ```
/// assert_eq!(janitor::gc::MAX_GENERATION, 2);
/// ```
pub const MAX_GENERATION: u8 = OLDEST;

/// The heap, made on first use. From then on a leak check ends only once the garbage cycles and
/// the objects waiting for their finalizer have reported the leaks they hold.
fn new_heap() -> Heap {
    crate::leak::settle_before_checks_end(|| {
        collect();
        crate::gc::engine::finalizer::wait_for_pending_finalizers();
    });
    Heap::new()
}

#[cfg(not(loom))]
pub(crate) fn heap() -> &'static Heap {
    static HEAP: std::sync::OnceLock<Heap> = std::sync::OnceLock::new();
    HEAP.get_or_init(new_heap)
}

#[cfg(loom)]
loom::lazy_static! {
    static ref HEAP: Heap = new_heap();
}

#[cfg(loom)]
pub(crate) fn heap() -> &'static Heap {
    &HEAP
}

crate::sync::thread_local! {
    // Not `const`: loom's `thread_local!` has no const form.
    #[allow(clippy::missing_const_for_thread_local)]
    static COLLECTING: std::cell::Cell<bool> = std::cell::Cell::new(false);
}

/// Whether this thread is running a collection's drops: inside one, or on the reclaimer, which
/// runs nothing else. Waiting for finalizers there could deadlock with a finalizer that collects.
pub(crate) fn is_collecting() -> bool {
    COLLECTING.try_with(std::cell::Cell::get).unwrap_or(false) || reclaim::is_reclaimer_thread()
}

/// Runs one collection, then the full collection memory pressure left to this one, if any.
///
/// Collections are serialized on the heap's collection turn, but only an induced collection
/// waits for it: the holder may be running the garbage's `Drop`s (an induced collection finishes
/// its own), and an allocation or `add_memory_pressure` that waited could hold a lock such a
/// `Drop` needs (issue 11, defect 4). So an automatic collection only tries the turn. One due to
/// allocation that finds it taken does not run: the collection running is the one it wanted, and
/// the budget stays spent, so the next tracked allocation tries again. One due to memory pressure
/// that finds it taken records that a full collection is owed (see [`try_turn_or_owe`]); the
/// holder, once it gives the turn back, runs it (on its thread, as an automatic collection: its
/// drops go to the reclaimer). A holder runs at most one owed collection per call, so a thread
/// is never kept collecting by pressure other threads keep adding; a debt left by the owed
/// collection itself goes to the next collection to give the turn back, or to the next
/// `add_memory_pressure`, which finds its budget still passed unless a full collection ran.
///
/// An induced collection takes the turn, and if aftermaths of earlier automatic collections are
/// still with the reclaimer, gives it back, waits for them and takes it again, until none is left
/// while it holds the turn (only a turn holder hands aftermaths over, so none can arrive after the
/// check; and it never waits while holding the turn, which a reclaiming `Drop` may need). It then
/// finishes its own within its turn, from the pins to the last unpin (which may queue an
/// object for its finalizer): so when `collect` returns, every collection that ran before it has
/// freed and queued what it found. It also first takes every thread's buffer of dead registered
/// objects into the queue, so everything that died before the call is queued too (except what
/// the collection's own unpins and drops hand over, which waits in this thread's buffer), and
/// `collect` + `wait_for_pending_finalizers` (which takes the buffers again) finalizes all of it.
/// An automatic collection hands its aftermath to the reclaimer (`reclaim.rs`); one started by an
/// allocation is postponed while the reclaimer is behind (one started by memory pressure is not:
/// the program declared that memory is short). A collection started from inside one on the same
/// thread (by a `Drop` of the isolate, or an allocation there) runs inside the outer one's turn.
fn run(generation: u8, trigger: Trigger) {
    if run_once(generation, trigger, Debt::Collect) {
        run_once(OLDEST, Trigger::MemoryPressure, Debt::Leave);
    }
}

/// Whether a collection giving the turn back takes on the full collection memory pressure owes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Debt {
    Collect,
    Leave,
}

/// One collection (see [`run`]); returns whether it took on an owed full collection.
fn run_once(generation: u8, trigger: Trigger, debt: Debt) -> bool {
    let heap = heap();
    let induced = trigger == Trigger::Induced;
    if trigger == Trigger::Allocation && reclaim::is_behind() {
        return false;
    }
    let outermost = matches!(
        COLLECTING.try_with(|collecting| collecting.replace(true)),
        Ok(false)
    );
    struct Done(bool);
    impl Drop for Done {
        fn drop(&mut self) {
            if self.0 {
                let _ = COLLECTING.try_with(|collecting| collecting.set(false));
            }
        }
    }
    let _done = Done(outermost);
    // On the reclaimer, while an induced collection lends it the turn, it runs under that turn.
    let borrowing =
        outermost && induced && reclaim::is_reclaimer_thread() && heap.is_turn_lent_to_reclaimer();
    let turn = if outermost && !borrowing {
        let turn = match trigger {
            Trigger::Induced => Some(take_turn_after_the_reclaimer(heap)),
            Trigger::Allocation => try_turn(heap),
            Trigger::MemoryPressure => try_turn_or_owe(heap),
        };
        if turn.is_none() {
            return false;
        }
        turn
    } else {
        None
    };
    // Objects that died before this call and wait in their threads' buffers reach the queue
    // first, so that `collect` + `wait_for_pending_finalizers` covers them too.
    if outermost {
        crate::gc::engine::finalizer::hand_over_all();
    }
    let reservation = (!induced).then(reclaim::reserve);
    let aftermath = collector::collect(heap, generation.min(OLDEST), trigger);
    if let Some(reservation) = reservation {
        reservation.hand_over(aftermath.unpin_shared_survivors());
    } else if let Err((_, panic)) = aftermath.finish(heap) {
        // The turn goes back on the way out; a debt stays for the next holder.
        std::panic::resume_unwind(panic);
    }
    match turn {
        Some(turn) if debt == Debt::Collect => give_back_turn(heap, turn),
        _ => false,
    }
}

/// The collection turn, held.
type Turn = MutexGuard<'static, ()>;

/// Takes the turn, waiting for it, once no aftermath handed to the reclaimer is unfinished. Only
/// an induced collection waits for the turn.
///
/// Checked with the turn held: only a turn holder hands aftermaths over, so every collection that
/// could still hand garbage over has done so. The first [`MAX_WAITS_FOR_THE_RECLAIMER`] waits are
/// made without the turn, so that automatic collections keep running meanwhile (threads that
/// allocate beside a `collect` pay for their own garbage). But each of them may hand over more
/// (even the very garbage this `collect` must free), so after those rounds it waits holding the
/// turn: then nothing new can arrive, and when the wait ends every aftermath is finished, so a
/// cycle that was garbage at the call is freed by this collection or already was. A reclaiming
/// `Drop` that collects must not wait for the turn it holds meanwhile: it is lent to the reclaimer
/// for the wait ([`Heap::lend_turn_to_reclaimer`]), and a collection induced on the reclaimer runs
/// under it, as a nested one runs under its outer one. The turn is dropped here without settling
/// a debt: this thread gives it back for good later, and settles then.
fn take_turn_after_the_reclaimer(heap: &'static Heap) -> Turn {
    let take_turn = || {
        heap.collection
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    let mut turn = take_turn();
    let mut rounds = 0;
    while let Some(target) = reclaim::unfinished() {
        if rounds == MAX_WAITS_FOR_THE_RECLAIMER {
            heap.lend_turn_to_reclaimer(|| reclaim::wait_until_finished(target));
            break;
        }
        drop(turn);
        reclaim::wait_until_finished(target);
        turn = take_turn();
        rounds += 1;
    }
    turn
}

/// The turn if it is free. A poisoned turn is taken as is: nothing it guards can be
/// half-updated (the collection state it serializes lives under the heap lock).
fn try_turn(heap: &'static Heap) -> Option<Turn> {
    match heap.collection.try_lock() {
        Ok(turn) => Some(turn),
        Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
        Err(TryLockError::WouldBlock) => None,
    }
}

/// The turn if it is free; otherwise records that a full collection is owed, for the holder to
/// run once it gives the turn back. Tried under the debt's lock, and every holder that settles
/// gives the turn back under it too ([`give_back_turn`]), so the debt is never recorded just
/// after the holder looked: either the try comes first, the turn is still held and the holder
/// finds the debt, or the give-back comes first, and the try finds the turn free or held by a
/// later holder, whose give-back finds the debt (or, if that holder is running an owed
/// collection itself, the give-back of the next collection to end, see [`run`]).
fn try_turn_or_owe(heap: &'static Heap) -> Option<Turn> {
    let mut owed = lock_debt(heap);
    let turn = try_turn(heap);
    if turn.is_none() {
        *owed = true;
    }
    turn
}

/// Gives the turn back; returns whether a full collection was owed, which the caller now runs.
fn give_back_turn(heap: &'static Heap, turn: Turn) -> bool {
    let mut owed = lock_debt(heap);
    drop(turn);
    std::mem::take(&mut *owed)
}

/// The debt's lock. Nothing is waited for while it is held (the turn is only tried or given back
/// under it) and no user code runs under it, so a poisoned one is taken as is.
fn lock_debt(heap: &'static Heap) -> MutexGuard<'static, bool> {
    heap.pressure_owed
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// How many times an induced collection gives the turn back to wait for the reclaimer before it
/// waits holding it (see [`take_turn_after_the_reclaimer`]).
const MAX_WAITS_FOR_THE_RECLAIMER: u32 = 4;

/// Runs the collection an allocation found due.
pub(crate) fn collect_automatically(generation: u8) {
    run(generation, Trigger::Allocation);
}

/// Collects every generation, blocking until the garbage cycles found are freed, as .NET's
/// `GC.Collect()`.
///
/// Acyclic garbage never waits for a collection: it is freed when its last `Gc` drops. A
/// collection finds the cycles. It runs on the calling thread while other threads keep working;
/// it panics only if the `Drop` of a cycle's object panics (after freeing the whole cycle).
///
/// Collections also start on their own, when tracked allocations spend a budget or
/// [`add_memory_pressure`] passes its own. Those never run a destructor on the allocating thread
/// (which may hold any lock): the garbage they find is dropped on the `janitor-reclaimer` thread.
/// Nor do they wait for a collection running on another thread (whose garbage `Drop`s may need
/// a lock the allocating thread holds): an allocation goes on without its collection, and memory
/// pressure leaves its full collection to the thread collecting, which runs it before it returns
/// (so `collect` may run one more, automatic, collection after its own).
/// `collect` first waits until the reclaimer has dropped what earlier automatic collections
/// found, so when it returns, every cycle that was garbage when it was called is freed. It is the
/// one collection that waits for another to finish: calling it while holding a lock that a
/// garbage `Drop` takes can deadlock with a `collect` on another thread, as `GC.Collect` followed
/// by `GC.WaitForPendingFinalizers` can with a finalizer in .NET.
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
    heap().collection_count(generation)
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
    if unsafe { header.as_ref() }.vtable.tracked {
        // SAFETY: live and tracked.
        unsafe { heap().generation_of(header) }
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
    alloc::total_bytes(heap())
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
    let mut total = alloc::total_bytes(heap());
    for _ in 0..20 {
        collect();
        crate::gc::engine::finalizer::wait_for_pending_finalizers();
        let after = alloc::total_bytes(heap());
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
    if let Some(due) = heap().add_pressure(bytes) {
        tracing::debug!(
            added = bytes,
            since_full_collection = due.since_full,
            budget = due.budget,
            declared = heap().pressure(),
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
    heap().remove_pressure(bytes);
    Ok(())
}

/// The size of one generation, in [`MemoryInfo`].
///
/// ```
/// let gen0: janitor::gc::GenerationInfo = janitor::gc::memory_info().generations[0];
/// let _ = (gen0.objects, gen0.bytes);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct GenerationInfo {
    /// Tracked objects in the generation.
    pub objects: usize,
    /// Their bytes.
    pub bytes: usize,
}

/// A snapshot of the heap, as .NET's `GC.GetGCMemoryInfo`.
///
/// ```
/// use janitor::gc::{Gc, GcCell, collect, memory_info};
///
/// let kept = Gc::new(GcCell::new(Vec::<Gc<u8>>::new()));
/// collect();
/// let info = memory_info();
/// assert!(info.heap_bytes > 0);
/// assert!(info.generations[1].objects + info.generations[2].objects >= 1);
/// assert!(info.collections[2] >= 1);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct MemoryInfo {
    /// Bytes of all live objects, tracked or not (see [`total_memory`] for the precision).
    pub heap_bytes: usize,
    /// Tracked objects and bytes per generation.
    pub generations: [GenerationInfo; MAX_GENERATION as usize + 1],
    /// Memory pressure declared and not withdrawn.
    pub memory_pressure: usize,
    /// The pause of the last collection (the time it held the heap lock).
    pub last_pause: Duration,
    /// The pauses of all collections so far, summed.
    pub total_pause: Duration,
    /// Collections per generation, as [`collection_count`].
    pub collections: [u64; MAX_GENERATION as usize + 1],
    /// Objects the last collection promoted to an older generation.
    pub promoted_objects: usize,
    /// Their bytes.
    pub promoted_bytes: usize,
    /// Objects waiting in the f-reachable queue for their finalizer (.NET's
    /// `FinalizationPendingCount`).
    pub pending_finalizers: usize,
}

/// The state of the heap now.
///
/// ```
/// let info = janitor::gc::memory_info();
/// assert!(info.total_pause >= info.last_pause);
/// ```
pub fn memory_info() -> MemoryInfo {
    crate::gc::face::stats::read().1
}
