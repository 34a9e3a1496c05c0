//! The versioned count word: an object's strong count, its modification version and its state
//! bits, in one 64-bit atomic.
//!
//! Invariant owned here: every clone and every drop of a `Gc` changes the word's version in the
//! same read-modify-write that changes the count, so the collector can tell, with one
//! compare-and-swap, whether any clone or drop happened on an object since it read the word.
//!
//! ```text
//!  63                      37   36   35   34   33   32   31                      0
//! +--------------------------+----+----+----+----+----+---------------------------+
//! | version (27 bits, wraps) | R  | S  | W  | F  | C  | strong count (32 bits)    |
//! +--------------------------+----+----+----+----+----+---------------------------+
//! ```
//!
//! The bits: `C` condemned, `F` frozen, `W` weakened, `S` short-cleared, `R` registered for
//! finalization (`ARCHITECTURE.md`, the heap's words). What each bit means to the count, why a
//! clone or drop cannot disturb the bits above the count, and the orderings:
//! `docs/gc-soundness.md#the-count-word` and `#orderings`; why the unique-holder shortcuts
//! ([`CountWord::is_unique`]) may skip the read-modify-write: `#unique-holder-drops`.

use crate::sync::{AtomicU64, Ordering, fence, yield_now};

/// The count bits.
const COUNT_MASK: u64 = 0xFFFF_FFFF;
/// Set on the members of a garbage isolate while they are being dropped.
const CONDEMNED: u64 = 1 << 32;
/// Set on the members of a candidate isolate between the collector's two condemn phases.
const FROZEN: u64 = 1 << 33;
/// Set once a weak reference to the object was made.
const WEAKENED: u64 = 1 << 34;
/// Set when a registered object became unreachable: short weak references are dead.
const SHORT_CLEARED: u64 = 1 << 35;
/// Set while the object is registered for finalization.
const REGISTERED: u64 = 1 << 36;
/// One step of the version.
const VERSION_ONE: u64 = 1 << 37;
/// The largest count a clone may start from; above it the process aborts (a count that wrapped
/// would free a live object).
const MAX_COUNT: u64 = i32::MAX as u64;

/// A weak reference's kind (.NET's `trackResurrection`): a short one is cleared when its object
/// is found unreachable, before a finalizer could resurrect it; a long one follows the object
/// until it is freed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Strength {
    Short,
    Long,
}

/// The count word of one object.
pub(crate) struct CountWord(AtomicU64);

/// A value of the count word, as the collector read it when it pinned an object.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Snapshot(u64);

impl Snapshot {
    /// The strong count in this snapshot.
    pub(crate) fn count(self) -> u64 {
        self.0 & COUNT_MASK
    }

    /// Whether the object was registered for finalization.
    pub(crate) fn is_registered(self) -> bool {
        self.0 & REGISTERED != 0
    }

    /// Whether the object had weak references.
    pub(crate) fn is_weakened(self) -> bool {
        self.0 & WEAKENED != 0
    }
}

/// What a drop of a registered-type object's reference did.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Dropped {
    /// Other references remain.
    Shared,
    /// That was the last reference: free the object.
    Last,
    /// That was the last reference of a registered object: it kept its count, which now belongs
    /// to the finalizer queue.
    Finalize,
}

impl CountWord {
    /// The word of a new object: one count (the `Gc` that `Gc::new` returns), version zero.
    pub(crate) fn new() -> Self {
        Self(AtomicU64::new(1))
    }

    /// The word of a new object whose type has a finalizer: as [`CountWord::new`], registered.
    pub(crate) fn new_registered() -> Self {
        Self(AtomicU64::new(1 | REGISTERED))
    }

    /// Adds one reference. Aborts if the count would pass [`MAX_COUNT`].
    #[inline]
    pub(crate) fn increment(&self) {
        let old = self.0.fetch_add(1 + VERSION_ONE, Ordering::Relaxed);
        if old & COUNT_MASK > MAX_COUNT {
            std::process::abort();
        }
    }

    /// Removes one reference; returns true when it was the last one, after an `Acquire` fence
    /// that orders every earlier use of the object before the caller frees it.
    #[inline]
    pub(crate) fn decrement(&self) -> bool {
        let old = self
            .0
            .fetch_add(VERSION_ONE.wrapping_sub(1), Ordering::Release);
        if old & COUNT_MASK != 1 {
            return false;
        }
        fence(Ordering::Acquire);
        true
    }

    /// Removes one reference unless it is the last: returns false, with the word unchanged, when
    /// the count is one. A caller that must not run the object's destructor here (the collector
    /// unpinning a survivor for an automatic collection) keeps that last count and gives it back
    /// elsewhere; keeping a count longer is always sound.
    pub(crate) fn decrement_unless_last(&self) -> bool {
        let mut current = self.0.load(Ordering::Relaxed);
        loop {
            if current & COUNT_MASK == 1 {
                return false;
            }
            // `Release`, as `decrement`: this holder's uses happen before whoever frees. Not the
            // last, so no `Acquire`: this thread destroys nothing.
            match self.0.compare_exchange_weak(
                current,
                current.wrapping_add(VERSION_ONE.wrapping_sub(1)),
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(actual) => current = actual,
            }
        }
    }

    /// Removes one reference of an object whose type has a finalizer: the last one of a
    /// registered object is not given back but handed to the finalizer queue, in the same
    /// compare-and-swap that clears its short weak references (it stays registered until the
    /// finalizer thread claims the run: [`CountWord::claim_finalizer`]). Why a racing weak upgrade
    /// is never lost: `docs/gc-soundness.md#finalization`.
    pub(crate) fn decrement_or_finalize(&self) -> Dropped {
        let mut current = self.0.load(Ordering::Relaxed);
        loop {
            let last = current & COUNT_MASK == 1;
            // A condemned object's value is gone: whatever its registration says (a `Drop` of its
            // isolate may have re-registered a clone before `reregister` refused it), its last
            // count frees it.
            let next = if last && current & (REGISTERED | CONDEMNED) == REGISTERED {
                current.wrapping_add(VERSION_ONE) | SHORT_CLEARED
            } else {
                current.wrapping_add(VERSION_ONE.wrapping_sub(1))
            };
            match self
                .0
                .compare_exchange_weak(current, next, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) if !last => return Dropped::Shared,
                Ok(_) => {
                    fence(Ordering::Acquire);
                    return if next & COUNT_MASK == 1 {
                        Dropped::Finalize
                    } else {
                        Dropped::Last
                    };
                }
                Err(actual) => current = actual,
            }
        }
    }

    /// The last drop of a registered object that the caller holds the only reference to, when the
    /// collector never pins it on its own (the caller checked it is untracked): hands the count to the
    /// finalizer queue, clearing short weak references, with a plain store instead of a
    /// read-modify-write. Returns false, changing nothing, unless the word shows exactly one
    /// reference, `R`, no `W` and no `C`. Why no other thread writes the word between the load and
    /// the store: `docs/gc-soundness.md#unique-holder-drops`.
    #[inline]
    pub(crate) fn finalize_unique(&self) -> bool {
        let current = self.0.load(Ordering::Acquire);
        if current & (COUNT_MASK | WEAKENED | REGISTERED | CONDEMNED) != 1 | REGISTERED {
            return false;
        }
        self.0.store(
            current.wrapping_add(VERSION_ONE) | SHORT_CLEARED,
            Ordering::Relaxed,
        );
        true
    }

    /// The finalizer thread's claim on a queued object's finalizer, just before running it:
    /// unregisters the object and returns whether it was registered. `false` means
    /// `suppress_finalize` cancelled the finalizer while the object waited (a thread reached it
    /// through a long weak reference): it is skipped, as .NET's finalizer thread skips objects
    /// whose finalizer-run bit is set.
    #[inline]
    pub(crate) fn claim_finalizer(&self) -> bool {
        self.suppress()
    }

    /// [`CountWord::claim_finalizer`] for an untracked object: a word showing only the queue's
    /// count and no `W` is changed with a plain store, as in [`CountWord::finalize_unique`] (the
    /// queue's count is the only reference, so nothing else can suppress or re-register).
    #[inline]
    pub(crate) fn claim_finalizer_of_untracked(&self) -> bool {
        let current = self.0.load(Ordering::Acquire);
        if current & (COUNT_MASK | WEAKENED) == 1 {
            self.0.store(current & !REGISTERED, Ordering::Relaxed);
            return current & REGISTERED != 0;
        }
        self.claim_finalizer()
    }

    /// Whether the caller holds the only reference, for an object the collector never pins (an
    /// untracked one) and nobody can upgrade to (never weakened), and that is not registered for
    /// finalization: then its drop frees the object without a read-modify-write. Why a count of
    /// one, read by a holder, is final: `docs/gc-soundness.md#unique-holder-drops`.
    #[inline]
    pub(crate) fn is_unique(&self) -> bool {
        self.0.load(Ordering::Acquire) & (COUNT_MASK | WEAKENED | REGISTERED) == 1
    }

    /// Whether the caller's reference is the only way to the object's value, for `Gc::get_mut`:
    /// one reference (no other `Gc`, no collection's pin, no finalizer queue's count), no weak
    /// reference ever made, not condemned. A count of one read by a holder is final for the
    /// reasons [`CountWord::is_unique`] gives (a pin or a queued count would show in it, and
    /// nothing can upgrade an object that was never weakened); later pins come only through
    /// another reference held in place, which the caller's exclusive borrow rules out. `Acquire`:
    /// every other holder's uses, published by its `Release` drop, happen before the caller's
    /// writes.
    #[inline]
    pub(crate) fn is_exclusive(&self) -> bool {
        self.0.load(Ordering::Acquire) & (COUNT_MASK | WEAKENED | CONDEMNED) == 1
    }

    /// Takes the caller's reference, the only one, and the value with it (`Gc::try_unwrap`):
    /// moves the count from one to zero unless the object is registered for finalization or
    /// condemned; returns whether it did. A weak upgrade or a collection's pin is a
    /// read-modify-write on this word: one ordered before this compare-and-swap shows in the
    /// count (then this fails), one ordered after finds a count of zero and refuses. `Acquire` on
    /// success, as the drop that reaches zero: every other holder's uses happen before the value
    /// is moved out.
    pub(crate) fn take_unique(&self) -> bool {
        let mut current = self.0.load(Ordering::Relaxed);
        loop {
            if current & (COUNT_MASK | REGISTERED | CONDEMNED) != 1 {
                return false;
            }
            match self.0.compare_exchange_weak(
                current,
                current.wrapping_add(VERSION_ONE.wrapping_sub(1)),
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(actual) => current = actual,
            }
        }
    }

    /// Takes back the count of a new object that no other thread knows yet, for `Gc::new_cyclic`:
    /// while the value is being built, the object has no strong reference, so weak upgrades (and
    /// pins) refuse it. A plain store: nobody else can reach the word.
    pub(crate) fn unborn(&self) {
        let current = self.0.load(Ordering::Relaxed);
        self.0.store(current & !COUNT_MASK, Ordering::Relaxed);
    }

    /// Gives an [`unborn`](CountWord::unborn) object its first reference once its value is
    /// written. `Release`: a weak upgrade that finds the count (an `Acquire` compare-and-swap
    /// reading this write or a later one) sees the value.
    pub(crate) fn publish(&self) {
        self.0.fetch_add(1 + VERSION_ONE, Ordering::Release);
    }

    /// The current strong count (a moment's view: other threads may change it at once).
    pub(crate) fn strong_count(&self) -> u64 {
        self.0.load(Ordering::Relaxed) & COUNT_MASK
    }

    /// Whether the object is condemned. A thread reaches a condemned object only through the
    /// isolate's own references (on the thread that condemned it, after setting the bit) or
    /// through a clone a `Drop` of the isolate made after the bit was set and published from
    /// there; either way the bit's read-modify-write happens before the load, so `Relaxed` sees
    /// it (read-read coherence).
    #[inline]
    pub(crate) fn is_condemned(&self) -> bool {
        self.0.load(Ordering::Relaxed) & CONDEMNED != 0
    }

    /// Marks the object as having weak references; the caller holds a reference. Returns nothing:
    /// the bit is never cleared.
    pub(crate) fn mark_weakened(&self) {
        if self.0.load(Ordering::Relaxed) & WEAKENED == 0 {
            self.0.fetch_or(WEAKENED, Ordering::Relaxed);
        }
    }

    /// The word now, as a snapshot to validate a later freeze against (the caller keeps the
    /// object live by other means than a pin).
    pub(crate) fn read(&self) -> Snapshot {
        Snapshot(self.0.load(Ordering::Acquire))
    }

    /// Whether a weak reference was ever made. Read by whoever frees the object, after its count
    /// reached zero: the bit was set before the last reference went, by a read-modify-write that
    /// precedes the last one in the word's modification order, so any load after it sees it.
    pub(crate) fn is_weakened(&self) -> bool {
        self.0.load(Ordering::Relaxed) & WEAKENED != 0
    }

    /// Whether the object is registered for finalization (a moment's view).
    pub(crate) fn is_registered(&self) -> bool {
        self.0.load(Ordering::Relaxed) & REGISTERED != 0
    }

    /// Unregisters the object for finalization; returns whether it was registered. A condemned
    /// object is never registered (see [`CountWord::reregister`]), so this changes nothing there.
    pub(crate) fn suppress(&self) -> bool {
        self.0.fetch_and(!REGISTERED, Ordering::AcqRel) & REGISTERED != 0
    }

    /// Registers the object for finalization again; returns whether it was unregistered. Refuses
    /// a condemned object (returns false, changing nothing): its value is dropped, or being
    /// dropped, by its isolate. Why the refusal is needed and never misses the bit:
    /// `docs/gc-soundness.md#freeze-and-validation`.
    pub(crate) fn reregister(&self) -> bool {
        let mut current = self.0.load(Ordering::Relaxed);
        loop {
            if current & (REGISTERED | CONDEMNED) != 0 {
                return false;
            }
            match self.0.compare_exchange_weak(
                current,
                current | REGISTERED,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(actual) => current = actual,
            }
        }
    }

    /// A weak upgrade: adds one reference unless the object is dead (count zero), condemned, or,
    /// for a short reference, short-cleared. Waits while the object is frozen by a collection
    /// deciding its fate.
    pub(crate) fn upgrade(&self, strength: Strength) -> bool {
        let refused = match strength {
            Strength::Long => CONDEMNED,
            Strength::Short => CONDEMNED | SHORT_CLEARED,
        };
        let mut current = self.0.load(Ordering::Relaxed);
        loop {
            if current & COUNT_MASK == 0 || current & refused != 0 {
                return false;
            }
            if current & FROZEN != 0 {
                yield_now();
                current = self.0.load(Ordering::Relaxed);
                continue;
            }
            if current & COUNT_MASK > MAX_COUNT {
                std::process::abort();
            }
            match self.0.compare_exchange_weak(
                current,
                current.wrapping_add(1 + VERSION_ONE),
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(actual) => current = actual,
            }
        }
    }

    /// The collector's pin: adds one reference unless the count is already zero (the object is
    /// being freed by the thread that dropped its last reference) or the object is condemned (its
    /// value was dropped by its isolate; a `Drop` there may have cloned it out to where an
    /// examiner meets it): neither must be examined. Returns the word as it stands after the pin.
    pub(crate) fn pin(&self) -> Option<Snapshot> {
        let mut current = self.0.load(Ordering::Relaxed);
        loop {
            if current & COUNT_MASK == 0 || current & CONDEMNED != 0 {
                return None;
            }
            if current & COUNT_MASK > MAX_COUNT {
                std::process::abort();
            }
            let pinned = current.wrapping_add(1 + VERSION_ONE);
            match self
                .0
                .compare_exchange_weak(current, pinned, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return Some(Snapshot(pinned)),
                Err(actual) => current = actual,
            }
        }
    }

    /// The first condemn phase: freezes the object if its word is still exactly `snapshot` (no
    /// clone, drop or upgrade since the pin, up to the version's wrap, quantified in
    /// `docs/gc-soundness.md#wrap-around`). From then on weak upgrades wait.
    pub(crate) fn freeze(&self, snapshot: Snapshot) -> bool {
        self.0
            .compare_exchange(
                snapshot.0,
                snapshot.0 | FROZEN,
                Ordering::AcqRel,
                Ordering::Relaxed,
            )
            .is_ok()
    }

    /// Takes the frozen bit back (the object survives); waiting upgrades proceed.
    pub(crate) fn thaw(&self) {
        self.0.fetch_and(!FROZEN, Ordering::AcqRel);
    }

    /// [`CountWord::thaw`] for an object kept only for a finalizer: its short weak references die
    /// first, so a waiting short upgrade fails and a long one proceeds.
    pub(crate) fn thaw_with_short_cleared(&self) {
        self.0.fetch_or(SHORT_CLEARED, Ordering::AcqRel);
        self.thaw();
    }

    /// The second condemn phase: a frozen object becomes condemned; waiting upgrades fail.
    pub(crate) fn condemn_frozen(&self) {
        self.0.fetch_xor(FROZEN | CONDEMNED, Ordering::AcqRel);
    }

    /// The second phase for a registered member of a garbage isolate: it takes one more count,
    /// for the finalizer queue, and its short weak references die; waiting long upgrades then
    /// succeed. It stays registered until the finalizer thread claims the run.
    pub(crate) fn queue_frozen(&self) {
        let mut current = self.0.load(Ordering::Relaxed);
        loop {
            let next = (current.wrapping_add(1 + VERSION_ONE) & !FROZEN) | SHORT_CLEARED;
            match self
                .0
                .compare_exchange_weak(current, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(actual) => current = actual,
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn increment_and_decrement_move_the_count_and_the_version() {
        let word = CountWord::new();
        let before = word.pin().unwrap();
        word.increment();
        assert_eq!(word.strong_count(), 3);
        assert!(!word.freeze(before));
        assert!(!word.decrement());
        assert!(!word.decrement());
        assert!(word.decrement());
        assert_eq!(word.strong_count(), 0);
    }

    #[test]
    fn pin_refuses_an_object_whose_count_reached_zero() {
        let word = CountWord::new();
        assert!(word.decrement());
        assert!(word.pin().is_none());
    }

    #[test]
    fn decrement_unless_last_keeps_the_last_count() {
        let word = CountWord::new();
        word.increment();
        assert!(word.decrement_unless_last());
        assert_eq!(word.strong_count(), 1);
        assert!(!word.decrement_unless_last());
        assert_eq!(word.strong_count(), 1);
        assert!(word.decrement());
    }

    #[test]
    fn freeze_fails_after_a_clone_and_a_drop_that_restore_the_count() {
        let word = CountWord::new();
        let snapshot = word.pin().unwrap();
        word.increment();
        word.decrement();
        assert_eq!(word.strong_count(), snapshot.count());
        assert!(!word.freeze(snapshot));
    }

    #[test]
    fn a_frozen_word_thaws_unchanged_or_becomes_condemned() {
        let word = CountWord::new();
        let snapshot = word.pin().unwrap();
        assert!(word.freeze(snapshot));
        word.thaw();
        assert!(word.freeze(snapshot));
        word.condemn_frozen();
        assert!(word.is_condemned());
        assert!(!word.upgrade(Strength::Long));
    }

    #[test]
    fn a_condemned_object_refuses_pins_and_registration_and_its_last_count_frees_it() {
        let word = CountWord::new();
        let snapshot = word.pin().unwrap();
        assert!(word.freeze(snapshot));
        word.condemn_frozen();
        word.increment(); // a `Drop` of the isolate clones it out
        assert!(
            word.pin().is_none(),
            "its value is gone: never examined again"
        );
        assert!(!word.reregister());
        assert!(!word.is_registered());
        assert_eq!(
            word.decrement_or_finalize(),
            Dropped::Shared,
            "a member's edge"
        );
        assert_eq!(word.decrement_or_finalize(), Dropped::Shared, "the pin");
        assert_eq!(
            word.decrement_or_finalize(),
            Dropped::Last,
            "the clone frees it"
        );
    }

    #[test]
    fn the_last_drop_of_a_condemned_object_frees_it_whatever_its_registration() {
        let word = CountWord::new_registered();
        let snapshot = word.pin().unwrap();
        assert!(word.freeze(snapshot));
        word.condemn_frozen();
        assert!(word.is_registered());
        assert!(!word.finalize_unique());
        assert_eq!(word.decrement_or_finalize(), Dropped::Shared);
        assert_eq!(word.decrement_or_finalize(), Dropped::Last);
    }

    #[test]
    fn the_last_drop_of_a_registered_object_keeps_its_count_for_the_queue() {
        let word = CountWord::new_registered();
        word.increment();
        assert_eq!(word.decrement_or_finalize(), Dropped::Shared);
        assert_eq!(word.decrement_or_finalize(), Dropped::Finalize);
        assert_eq!(word.strong_count(), 1);
        assert!(word.is_registered(), "registered until the finalizer runs");
        assert!(
            !word.upgrade(Strength::Short),
            "short weak references are cleared"
        );
        assert!(word.upgrade(Strength::Long), "long ones still upgrade");
        assert_eq!(word.decrement_or_finalize(), Dropped::Shared);
        assert!(word.claim_finalizer());
        assert_eq!(word.decrement_or_finalize(), Dropped::Last);
    }

    #[test]
    fn a_finalizer_suppressed_while_queued_is_not_claimed() {
        let word = CountWord::new_registered();
        assert_eq!(word.decrement_or_finalize(), Dropped::Finalize);
        assert!(word.upgrade(Strength::Long));
        assert!(word.suppress());
        assert_eq!(word.decrement_or_finalize(), Dropped::Shared);
        assert!(!word.claim_finalizer_of_untracked());
        assert!(word.decrement());
    }

    #[test]
    fn the_unique_last_drop_hands_the_count_over_without_a_read_modify_write() {
        let word = CountWord::new_registered();
        word.increment();
        assert!(!word.finalize_unique(), "two references");
        assert_eq!(word.decrement_or_finalize(), Dropped::Shared);
        assert!(word.finalize_unique());
        assert_eq!(word.strong_count(), 1);
        assert!(
            !word.upgrade(Strength::Short),
            "short weak references are cleared"
        );
        assert!(word.claim_finalizer_of_untracked());
        assert!(!word.is_registered());
        assert!(!word.finalize_unique(), "unregistered: an ordinary drop");
    }

    #[test]
    fn a_weakened_object_is_never_unique() {
        let word = CountWord::new();
        assert!(word.is_unique());
        word.mark_weakened();
        assert!(!word.is_unique());
    }

    #[test]
    fn the_version_wraps_without_touching_count_or_condemned_bit() {
        let word = CountWord(AtomicU64::new(
            !(COUNT_MASK | CONDEMNED | FROZEN | WEAKENED | SHORT_CLEARED | REGISTERED) | 5,
        ));
        word.increment();
        assert_eq!(word.strong_count(), 6);
        assert!(!word.is_condemned());
        assert!(!word.decrement());
        assert_eq!(word.strong_count(), 5);
    }
}

/// Loom models of the finalization transitions on the count word: the last drop of a registered
/// object hands its count to the finalizer queue in one compare-and-swap, racing weak upgrades.
#[cfg(all(test, loom))]
mod loom {
    use super::{CountWord, Dropped, Strength};
    use ::loom::sync::Arc;

    /// A long upgrade racing the last drop always succeeds: before the drop, the dropper still
    /// holds its count; after it, the queue holds one. Exactly one drop hands the object to the
    /// queue, and only the queue's own drop, after the finalizer, frees it.
    #[test]
    fn loom_a_long_upgrade_racing_the_last_drop_succeeds_and_one_drop_queues() {
        ::loom::model(|| {
            let word = Arc::new(CountWord::new_registered());
            let upgrader = {
                let word = word.clone();
                ::loom::thread::spawn(move || {
                    assert!(
                        word.upgrade(Strength::Long),
                        "pending finalization: still upgradable"
                    );
                    word.decrement_or_finalize()
                })
            };
            let dropped = word.decrement_or_finalize();
            let upgrader_dropped = upgrader.join().unwrap();
            let queued = [dropped, upgrader_dropped]
                .iter()
                .filter(|&&outcome| outcome == Dropped::Finalize)
                .count();
            assert_eq!(queued, 1, "queued exactly once");
            assert!(!dropped.eq(&Dropped::Last) && upgrader_dropped != Dropped::Last);
            assert!(word.claim_finalizer(), "the finalizer runs once");
            assert_eq!(
                word.decrement_or_finalize(),
                Dropped::Last,
                "the queue's drop frees"
            );
        });
    }

    /// A short upgrade racing the last drop either comes first (then whichever of the two drops
    /// is last queues the object) or fails, and fails forever after the object was queued.
    #[test]
    fn loom_a_short_upgrade_racing_the_last_drop_wins_first_or_fails_forever() {
        ::loom::model(|| {
            let word = Arc::new(CountWord::new_registered());
            let upgrader = {
                let word = word.clone();
                ::loom::thread::spawn(move || {
                    word.upgrade(Strength::Short)
                        .then(|| word.decrement_or_finalize())
                })
            };
            let dropped = word.decrement_or_finalize();
            match upgrader.join().unwrap() {
                Some(upgrader_dropped) => {
                    let mut outcomes = [dropped, upgrader_dropped];
                    outcomes.sort_by_key(|outcome| *outcome == Dropped::Finalize);
                    assert_eq!(outcomes, [Dropped::Shared, Dropped::Finalize]);
                }
                None => assert_eq!(dropped, Dropped::Finalize),
            }
            assert!(
                !word.upgrade(Strength::Short),
                "short references stay cleared"
            );
            assert!(word.upgrade(Strength::Long), "long ones track resurrection");
        });
    }

    /// The collector unpinning a survivor for an automatic collection races the holder's drop:
    /// whatever the interleaving, the unpin never gives back the last count (it keeps it for the
    /// reclaimer instead), exactly one of the two gives back the last one, and the word never
    /// reaches zero before both are done.
    #[test]
    fn loom_an_unpin_that_keeps_the_last_count_races_the_holders_drop() {
        ::loom::model(|| {
            let word = Arc::new(CountWord::new());
            assert!(word.pin().is_some());
            let holder = {
                let word = word.clone();
                ::loom::thread::spawn(move || word.decrement())
            };
            let unpinned = word.decrement_unless_last();
            let holder_was_last = holder.join().unwrap();
            if unpinned {
                assert!(holder_was_last, "the unpin left the holder the last count");
            } else {
                assert!(!holder_was_last, "the unpin kept the last count");
                assert_eq!(word.strong_count(), 1);
                assert!(
                    word.decrement(),
                    "the kept count is the last, given back later"
                );
            }
        });
    }

    /// `suppress_finalize` by a thread that reached a queued object through a long weak
    /// reference races the finalizer thread's claim: exactly one of them finds the object
    /// registered, so the finalizer runs if and only if the suppression came too late.
    #[test]
    fn loom_a_suppress_racing_the_claim_cancels_the_finalizer_or_comes_too_late() {
        ::loom::model(|| {
            let word = Arc::new(CountWord::new_registered());
            word.mark_weakened(); // the long weak reference, made while it was reachable
            assert_eq!(word.decrement_or_finalize(), Dropped::Finalize);
            let suppressor = {
                let word = word.clone();
                ::loom::thread::spawn(move || {
                    assert!(word.upgrade(Strength::Long));
                    let suppressed = word.suppress();
                    assert_ne!(word.decrement_or_finalize(), Dropped::Finalize);
                    suppressed
                })
            };
            let runs = word.claim_finalizer_of_untracked();
            let suppressed = suppressor.join().unwrap();
            assert!(runs != suppressed, "exactly one saw the registration");
        });
    }

    /// A condemned member's clone, smuggled out by a `Drop` of its isolate to another thread, meets
    /// `reregister_for_finalize` and then its last drop there, while the condemning thread gives
    /// back the collector's pin. Whatever the interleaving, the registration is refused, nothing
    /// hands the object to the finalizer queue, and exactly one of the two drops frees it.
    #[test]
    fn loom_a_condemned_object_smuggled_to_another_thread_is_never_reregistered_or_queued() {
        ::loom::model(|| {
            let word = Arc::new(CountWord::new());
            let snapshot = word.pin().unwrap();
            assert!(word.freeze(snapshot));
            word.condemn_frozen();
            assert_eq!(
                word.decrement_or_finalize(),
                Dropped::Shared,
                "the member's edge"
            );
            word.increment(); // the `Drop` clones it out
            let smuggled = {
                let word = word.clone();
                ::loom::thread::spawn(move || {
                    assert!(!word.reregister(), "a condemned object is never registered");
                    word.decrement_or_finalize()
                })
            };
            let pin = word.decrement_or_finalize();
            let clone = smuggled.join().unwrap();
            let mut outcomes = [pin, clone];
            outcomes.sort_by_key(|outcome| *outcome == Dropped::Last);
            assert_eq!(outcomes, [Dropped::Shared, Dropped::Last]);
            assert!(!word.is_registered());
        });
    }

    /// The drop path of an untracked registered object: the plain-store hand-over
    /// (`finalize_unique`) first, the compare-and-swap loop when it refuses.
    fn drop_untracked_registered(word: &CountWord) -> Dropped {
        if word.finalize_unique() {
            Dropped::Finalize
        } else {
            word.decrement_or_finalize()
        }
    }

    /// The last holder's plain-store hand-over races a long weak upgrade: the store must never
    /// overwrite the count the upgrade added. Whatever the interleaving, exactly one drop hands
    /// the object to the queue, and the queue's count is the only one left. (A `finalize_unique`
    /// that ignored `W` would let the upgrader's count be lost: two hand-overs, and the count
    /// the queue gives back would free an object the upgrader still uses.)
    #[test]
    fn loom_the_plain_store_hand_over_never_loses_a_racing_upgrade() {
        ::loom::model(|| {
            let word = Arc::new(CountWord::new_registered());
            word.mark_weakened(); // a long weak reference exists
            let upgrader = {
                let word = word.clone();
                ::loom::thread::spawn(move || {
                    word.upgrade(Strength::Long)
                        .then(|| drop_untracked_registered(&word))
                })
            };
            let dropped = drop_untracked_registered(&word);
            let upgrader_dropped = upgrader.join().unwrap();
            let handed_over = [Some(dropped), upgrader_dropped]
                .into_iter()
                .flatten()
                .filter(|outcome| *outcome == Dropped::Finalize)
                .count();
            assert_eq!(handed_over, 1, "handed to the queue exactly once");
            assert_eq!(word.strong_count(), 1, "only the queue's count is left");
        });
    }
}
