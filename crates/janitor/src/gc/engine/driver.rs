//! The collection driver: every collection, whatever triggered it, runs through [`run`].
//!
//! Invariant owned here: collections are serialized on the heap's collection turn, and only a
//! thread that holds nothing a collection's garbage `Drop` could need waits for it: an induced
//! collection's caller, or the background collector (`background.rs`), which runs the
//! collections allocations make due. One due to memory pressure starts inside
//! `add_memory_pressure`, on a thread that may hold any lock, so it only tries the turn, and
//! leaves its full collection to the holder when the turn is taken.

use crate::gc::core::heap::{Heap, OLDEST, Trigger};
use crate::gc::engine::collector::{self, Examine};
use crate::gc::engine::pacer;
use crate::gc::engine::reclaim;
use crate::gc::side::queue;
use crate::sync::IgnorePoison;
use crate::sync::MutexGuard;
use std::sync::TryLockError;

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
/// Only an induced collection waits for the turn (issue 11, defect 4), once the aftermaths
/// handed to the reclaimer before it are finished ([`take_turn_after_the_reclaimer`]), and it
/// finishes its own aftermath within it. An automatic one only tries the turn: one due to
/// allocation that finds it taken does not run (nor while the reclaimer is behind), one due to
/// memory pressure leaves its full collection owed to the holder ([`try_turn_or_owe`]); it hands
/// its aftermath to the reclaimer (`reclaim.rs`). A collection started from inside one on the same
/// thread runs inside the outer one's turn, and, like one started by a `Drop` on the reclaimer,
/// hands its aftermath to the reclaimer: its garbage is dropped after the `Drop` that asked for
/// it returns, never inside it. Why: `docs/gc-soundness.md#the-collection-turn` and
/// `#the-aftermath-and-the-reclaimer`.
pub(crate) fn run(generation: u8, trigger: Trigger) {
    run_and_settle(Examine::UpTo(generation), trigger);
}

/// Runs the collection the allocation budgets make due, waiting for the turn: only the background
/// collector calls it, which holds nothing a collection's drops could need.
pub(crate) fn collect_due() {
    run_and_settle(Examine::Due, Trigger::Allocation);
}

/// One collection, then the full collection memory pressure left to it, if any.
fn run_and_settle(examine: Examine, trigger: Trigger) {
    if run_once(examine, trigger, Debt::Collect) == Owed::FullCollection {
        run_once(Examine::UpTo(OLDEST), Trigger::MemoryPressure, Debt::Leave);
    }
}

/// What [`run_once`] leaves its caller to run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Owed {
    /// Nothing: the collection ran, or did not (the turn was taken: memory pressure's
    /// collection, or one inside a collection's drops).
    Nothing,
    /// The full collection that memory pressure owed, which the collection took on as it gave
    /// the turn back.
    FullCollection,
}

/// Whether a collection giving the turn back takes on the full collection memory pressure owes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Debt {
    Collect,
    Leave,
}

/// One collection (see [`run`]).
fn run_once(examine: Examine, trigger: Trigger, debt: Debt) -> Owed {
    let heap = Heap::global();
    let induced = trigger == Trigger::Induced;
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
    let inside_drops = collector::is_finishing();
    if inside_drops && !collector::take_collection_in_drops() {
        return Owed::Nothing;
    }
    let on_reclaimer = reclaim::is_reclaimer_thread();
    // On the reclaimer, while an induced collection lends it the turn, it runs under that turn.
    let borrowing = outermost && induced && on_reclaimer && heap.is_turn_lent_to_reclaimer();
    let turn = if outermost && !borrowing {
        let turn = match trigger {
            // The reclaimer never waits for the turn: its holder may be a `collect` waiting for
            // the reclaimer, which lends the turn only after four waits
            // ([`take_turn_after_the_reclaimer`]); a reclaimer blocked on the turn just before the
            // lending would never see it. Held by another thread, the turn's holder is collecting,
            // and this `collect` (called by a `Drop` here) returns without a collection.
            Trigger::Induced if on_reclaimer => try_turn(heap),
            Trigger::Induced => Some(take_turn_after_the_reclaimer(heap)),
            // The background collector, which holds nothing the holder's drops could need.
            Trigger::Allocation => Some(heap.collection.lock().ignore_poison()),
            Trigger::MemoryPressure => try_turn_or_owe(heap),
        };
        match turn {
            Some(turn) => Some(turn),
            // Lent between the check above and the try.
            None if trigger == Trigger::Induced && heap.is_turn_lent_to_reclaimer() => None,
            None => return Owed::Nothing,
        }
    } else {
        None
    };
    // Objects that died before this call and wait in their threads' buffers reach the queue
    // first, so that `collect` + `wait_for_pending_finalizers` covers them too.
    if outermost {
        queue::hand_over_all();
    }
    // A collection inside an aftermath's drops (a garbage `Drop` that collects, here or on the
    // reclaimer) hands its garbage to the reclaimer too: dropping it here would nest one
    // collection's drops inside the next, without bound when each finds another such `Drop`.
    let reservation = (!induced || inside_drops).then(reclaim::reserve);
    let aftermath = collector::collect(heap, examine, trigger);
    pacer::examination_ended();
    if let Some(reservation) = reservation {
        reservation.hand_over(aftermath);
    } else if let Err((_, panic)) = aftermath.finish() {
        // The turn goes back on the way out; a debt stays for the next holder.
        std::panic::resume_unwind(panic);
    }
    let owed = match turn {
        Some(turn) if debt == Debt::Collect => give_back_turn(heap, turn),
        _ => false,
    };
    if owed {
        Owed::FullCollection
    } else {
        Owed::Nothing
    }
}

/// The collection turn, held.
type Turn = MutexGuard<'static, ()>;

/// Takes the turn, waiting for it, once no aftermath handed to the reclaimer is unfinished. Only
/// an induced collection waits for the turn. The first [`MAX_WAITS_FOR_THE_RECLAIMER`] waits are
/// made without the turn; later ones hold it and lend it to the reclaimer
/// ([`Heap::lend_turn_to_reclaimer`]). A turn given back for a wait settles no debt: this thread
/// settles when it gives the turn back for good. Why this keeps `collect`'s promise:
/// `docs/gc-soundness.md#the-aftermath-and-the-reclaimer`.
fn take_turn_after_the_reclaimer(heap: &'static Heap) -> Turn {
    let take_turn = || heap.collection.lock().ignore_poison();
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
/// run once it gives the turn back. Tried under the debt's lock, under which every holder that
/// settles gives the turn back ([`give_back_turn`]); why no debt is then lost:
/// `docs/gc-soundness.md#the-collection-turn`.
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
    heap.pressure_owed.lock().ignore_poison()
}

/// How many times an induced collection gives the turn back to wait for the reclaimer before it
/// waits holding it (see [`take_turn_after_the_reclaimer`]).
const MAX_WAITS_FOR_THE_RECLAIMER: u32 = 4;
