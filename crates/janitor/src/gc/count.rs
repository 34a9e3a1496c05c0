//! The versioned count word: an object's strong count, its modification version and its
//! condemned bit, in one 64-bit atomic.
//!
//! Invariant owned here: every clone and every drop of a `Gc` changes the word's version in the
//! same read-modify-write that changes the count, so the collector can tell, with one
//! compare-and-swap, whether any clone or drop happened on an object since it read the word.
//!
//! ```text
//!  63                                 33   32   31                      0
//! +-------------------------------------+----+---------------------------+
//! | version (31 bits, wraps)            | C  | strong count (32 bits)    |
//! +-------------------------------------+----+---------------------------+
//! ```
//!
//! * A clone is one `fetch_add(1 + VERSION_ONE)`, a drop one `fetch_add(VERSION_ONE - 1)`: in two's
//!   complement that adds one to the version and subtracts one from the count, which cannot
//!   borrow from the bits above because a dropped `Gc` always holds a count of at least one. The
//!   version's carry leaves the word at bit 63: the version wraps, nothing else changes.
//! * The count never reaches bit 32: a clone that finds it above [`MAX_COUNT`] aborts the process,
//!   as `Arc` does, long before 2^32.
//! * `C`, the condemned bit, is set by the collector with a single compare-and-swap from exactly
//!   the word it read when it pinned the object (see `collector.rs`). It is never set on an
//!   object that a thread can still reach, so only the dropping of a garbage cycle's members can
//!   observe it.
//!
//! Orderings. Clone is `Relaxed` (as in `Arc`): a thread that clones already holds a count, so
//! nothing needs to be published. Drop is `Release`, and the drop that reaches zero follows with an
//! `Acquire` fence before freeing, so that every use of the object by other threads happens
//! before it is freed (as in `Arc`). The drop of an untracked object's only reference skips the
//! read-modify-write: an `Acquire` load that reads a count of one proves the reference unique
//! (see [`CountWord::is_unique`]). The collector's pin and condemn are `AcqRel` read-modify-writes:
//! they are links in the per-object modification order that the soundness argument reasons
//! about, and `Acquire` lets the collector see the value as published by the last thread that
//! dropped a reference. Modification order is what the argument needs: every read-modify-write on
//! one word is totally ordered, whatever its ordering, and a compare-and-swap reads the latest
//! value in that order.

use crate::sync::{AtomicU64, Ordering, fence};

/// The count bits.
const COUNT_MASK: u64 = 0xFFFF_FFFF;
/// Set on the members of a garbage isolate while they are being dropped.
const CONDEMNED: u64 = 1 << 32;
/// One step of the version.
const VERSION_ONE: u64 = 1 << 33;
/// The largest count a clone may start from; above it the process aborts (a count that wrapped
/// would free a live object).
const MAX_COUNT: u64 = i32::MAX as u64;

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
}

impl CountWord {
    /// The word of a new object: one count (the `Gc` that `Gc::new` returns), version zero.
    pub(crate) fn new() -> Self {
        Self(AtomicU64::new(1))
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

    /// Whether the caller holds the only reference, for an object the collector never pins (an
    /// untracked one): then its drop frees the object without a read-modify-write.
    ///
    /// Sound because a count of one, read by a holder, is final: nobody else holds a reference
    /// from which to clone, the collector never touches an untracked object, and the holder's own
    /// earlier clones precede this load, so it cannot read a value from before them. The load is
    /// `Acquire`: a count of one was written by the `Release` drop of the last other holder, so
    /// all of that holder's uses happen before the caller frees.
    #[inline]
    pub(crate) fn is_unique(&self) -> bool {
        self.0.load(Ordering::Acquire) & COUNT_MASK == 1
    }

    /// The current strong count (a moment's view: other threads may change it at once).
    pub(crate) fn strong_count(&self) -> u64 {
        self.0.load(Ordering::Relaxed) & COUNT_MASK
    }

    /// Whether the object is condemned. Only the thread dropping a garbage isolate can reach a
    /// condemned object, and it set the bit itself, so `Relaxed` sees it.
    #[inline]
    pub(crate) fn is_condemned(&self) -> bool {
        self.0.load(Ordering::Relaxed) & CONDEMNED != 0
    }

    /// The collector's pin: adds one reference unless the count is already zero (the object is
    /// being freed by the thread that dropped its last reference, and must not be examined).
    /// Returns the word as it stands after the pin.
    pub(crate) fn pin(&self) -> Option<Snapshot> {
        let mut current = self.0.load(Ordering::Relaxed);
        loop {
            if current & COUNT_MASK == 0 {
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

    /// Whether the word still is exactly `snapshot`: no clone or drop since the pin (up to the
    /// version's wrap, quantified in ARCHITECTURE.md).
    pub(crate) fn unchanged_since(&self, snapshot: Snapshot) -> bool {
        self.0.load(Ordering::Acquire) == snapshot.0
    }

    /// Condemns the object if its word is still exactly `snapshot`: one compare-and-swap that both
    /// validates (no clone or drop since the pin) and condemns.
    pub(crate) fn condemn(&self, snapshot: Snapshot) -> bool {
        self.0
            .compare_exchange(
                snapshot.0,
                snapshot.0 | CONDEMNED,
                Ordering::AcqRel,
                Ordering::Relaxed,
            )
            .is_ok()
    }

    /// Takes the condemned bit back, when a later member of the same isolate failed validation.
    pub(crate) fn uncondemn(&self) {
        self.0.fetch_and(!CONDEMNED, Ordering::AcqRel);
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
        assert!(!word.unchanged_since(before));
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
    fn condemn_fails_after_a_clone_and_a_drop_that_restore_the_count() {
        let word = CountWord::new();
        let snapshot = word.pin().unwrap();
        word.increment();
        word.decrement();
        assert_eq!(word.strong_count(), snapshot.count());
        assert!(!word.condemn(snapshot));
        assert!(!word.is_condemned());
    }

    #[test]
    fn condemn_succeeds_on_an_untouched_word_and_can_be_taken_back() {
        let word = CountWord::new();
        let snapshot = word.pin().unwrap();
        assert!(word.condemn(snapshot));
        assert!(word.is_condemned());
        word.uncondemn();
        assert!(!word.is_condemned());
    }

    #[test]
    fn the_version_wraps_without_touching_count_or_condemned_bit() {
        let word = CountWord(AtomicU64::new((!CONDEMNED & !COUNT_MASK) | 5));
        word.increment();
        assert_eq!(word.strong_count(), 6);
        assert!(!word.is_condemned());
        assert!(!word.decrement());
        assert_eq!(word.strong_count(), 5);
    }
}
