//! The state word of a [`SafeHandle`](super::SafeHandle): one atomic `usize` that decides, for every
//! thread at once, whether a use may start and who releases the handle.
//!
//! # Layout
//!
//! ```text
//!   bit 0      CLOSED    set by `close_early` (`set_handle_as_invalid`): no use may start, and the
//!                        final transition must not release
//!   bit 1      DISPOSED  the one dispose that balances creation has happened
//!   bits 2..   count     creation's count (until dispose) + one per use in flight
//! ```
//!
//! As in .NET's `SafeHandle._state`, creation holds one count and dispose gives it back, so the
//! count reaches zero exactly when the handle is disposed and no use is in flight.
//!
//! # Invariants
//!
//! 1. **Zero is final.** Once the count is zero it never rises again: [`StateWord::try_begin_use`]
//!    refuses a zero count. So exactly one atomic operation takes the count from one to zero (the
//!    *final transition*), and only its caller may release the handle.
//! 2. **Closed means "no use may start"**: the `CLOSED` bit or a zero count. Closed by count is set
//!    on the final transition (or when `try_take` hands the raw value out) and by nothing else;
//!    closed by bit is set by `close_early`, which, like .NET's `SetHandleAsInvalid`, may happen
//!    while uses are still in flight.
//! 3. **One dispose.** Dispose is a CAS that decrements and sets `DISPOSED` in one step, and does
//!    nothing once `DISPOSED` is set: exactly one dispose balances creation. Dispose does not stop
//!    a use from starting while other uses keep the count above zero (.NET's `DangerousAddRef` does
//!    not look at the disposed bit either); the last of them performs the final transition.
//! 4. **No release after `close_early`.** The final transition reports whether `CLOSED` was set in
//!    the value it replaced; all operations are read-modify-writes of the one word, so a
//!    `close_early` that precedes the final transition in the word's modification order is seen by it.
//! 5. **An unbalanced end of use is refused, not wrapped.** [`StateWord::try_end_use`] (the
//!    `dangerous_release` path) refuses a zero count. The guard's [`StateWord::end_use`] cannot see
//!    zero: its guard holds a count that only an unbalanced `dangerous_release` (an `unsafe` contract
//!    breach) could steal.
//!
//! # Orderings
//!
//! - **Begin use: `Relaxed` CAS.** Starting a use publishes nothing, and needs to see nothing but
//!   the word itself: the raw handle is immutable and reached through the shared `SafeHandle`,
//!   whose publication already happened-before. Mutual exclusion with the final transition does
//!   not need ordering either: both are read-modify-writes of one location, so either the CAS comes
//!   first in modification order (and the final transition counts it) or it reads zero and fails.
//!   This is `Arc::clone`'s argument.
//! - **End use, dispose, unbalanced end: `Release` on the decrement; `Acquire` fence on the final
//!   transition only.** Every use's accesses to the resource must happen-before the release of the
//!   resource. Each decrement is a release operation; every later operation on the word is a
//!   read-modify-write and so continues its release sequence; the final transition's acquire fence
//!   therefore synchronizes with every earlier decrement. Non-final decrements skip the fence, as in
//!   `Arc::drop`.
//! - **`close_early`: `Relaxed` `fetch_or`.** It publishes no data; its effect (no release, no new
//!   use) is carried by the word's modification order, which every operation here reads through a
//!   read-modify-write.
//! - **Taking sole ownership: `Acquire` CAS** from "count one, no bits": it is a final transition
//!   (the caller walks away with the resource), so it synchronizes with every earlier decrement.
//! - **Queries (`is_closed`, ...): `Relaxed` loads.** They are snapshots that may be stale the
//!   moment they return; no caller may rely on them for exclusion (that is what a use is for).

use crate::sync::{AtomicUsize, Ordering, fence};

const CLOSED: usize = 0b01;
const DISPOSED: usize = 0b10;
const ONE_USE: usize = 0b100;
const COUNT_MASK: usize = !(CLOSED | DISPOSED);
/// Far below the wrap-around of the count; reaching it takes `usize::MAX / 8` leaked uses.
const COUNT_LIMIT: usize = COUNT_MASK / 2;

/// What a decrement of the count did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "the final transition obliges its caller to release the handle"]
pub(crate) enum Decrement {
    /// Other counts remain: someone else will make the final transition.
    StillInUse,
    /// This decrement took the count to zero: its caller, and no one else, releases the handle,
    /// unless it was closed early (`set_handle_as_invalid`).
    Final {
        /// Whether `close_early` happened before the final transition.
        closed_early: bool,
    },
}

impl Decrement {
    fn of(previous: usize) -> Self {
        if previous & COUNT_MASK == ONE_USE {
            // Pairs with the `Release` half of every earlier decrement (see the module docs): all
            // uses of the resource happen-before the caller releases it.
            fence(Ordering::Acquire);
            Self::Final {
                closed_early: previous & CLOSED != 0,
            }
        } else {
            Self::StillInUse
        }
    }
}

/// Why sole ownership could not be taken out of the word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TakeRefused {
    /// The handle is closed or disposed.
    Closed,
    /// This many uses, besides creation's count, are in flight.
    UsesInFlight(usize),
}

/// The atomic word described in the module documentation.
#[derive(Debug)]
pub(crate) struct StateWord {
    bits: AtomicUsize,
}

impl StateWord {
    /// A live handle: creation holds one count.
    pub(crate) fn new() -> Self {
        Self {
            bits: AtomicUsize::new(ONE_USE),
        }
    }

    /// Starts a use: `false` once closed (invariants 1 and 2).
    #[inline]
    pub(crate) fn try_begin_use(&self) -> bool {
        let mut current = self.bits.load(Ordering::Relaxed);
        loop {
            if is_closed(current) {
                return false;
            }
            if current >= COUNT_LIMIT {
                count_overflow();
            }
            match self.bits.compare_exchange_weak(
                current,
                current + ONE_USE,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(actual) => current = actual,
            }
        }
    }

    /// Ends a use its caller holds (a guard's count, which cannot be zero).
    #[inline]
    pub(crate) fn end_use(&self) -> Decrement {
        let previous = self.bits.fetch_sub(ONE_USE, Ordering::Release);
        debug_assert!(
            previous & COUNT_MASK != 0,
            "a guard ended a use it did not hold"
        );
        Decrement::of(previous)
    }

    /// Ends a use the caller claims to hold (`dangerous_release`): `None`, and no change, if the
    /// count is already zero.
    pub(crate) fn try_end_use(&self) -> Option<Decrement> {
        self.decrement_if(
            |current| current & COUNT_MASK != 0,
            |current| current - ONE_USE,
        )
    }

    /// The dispose transition: gives back creation's count and sets `DISPOSED`, once. `None` if
    /// already disposed (or if unbalanced releases already took the count to zero).
    pub(crate) fn dispose(&self) -> Option<Decrement> {
        self.decrement_if(
            |current| current & DISPOSED == 0 && current & COUNT_MASK != 0,
            |current| (current - ONE_USE) | DISPOSED,
        )
    }

    /// Closes the handle ahead of the count (`set_handle_as_invalid`). Returns whether the handle
    /// was still open by count, that is whether this call came before the final transition and so
    /// prevents the release.
    pub(crate) fn close_early(&self) -> bool {
        self.bits.fetch_or(CLOSED, Ordering::Relaxed) & COUNT_MASK != 0
    }

    /// Takes the whole handle out of the word (disposed, count zero) if creation's count is the only
    /// one and it is neither closed nor disposed; from then on the caller owns the resource.
    pub(crate) fn try_take(&self) -> Result<(), TakeRefused> {
        self.bits
            .compare_exchange(ONE_USE, DISPOSED, Ordering::Acquire, Ordering::Relaxed)
            .map(drop)
            .map_err(|actual| {
                if is_closed(actual) || actual & DISPOSED != 0 {
                    TakeRefused::Closed
                } else {
                    TakeRefused::UsesInFlight((actual & COUNT_MASK) / ONE_USE - 1)
                }
            })
    }

    /// Whether no use may start any more.
    pub(crate) fn is_closed(&self) -> bool {
        is_closed(self.bits.load(Ordering::Relaxed))
    }

    /// Whether the dispose that balances creation has happened.
    pub(crate) fn is_disposed(&self) -> bool {
        self.bits.load(Ordering::Relaxed) & DISPOSED != 0
    }

    /// Whether `close_early` has happened.
    pub(crate) fn is_closed_early(&self) -> bool {
        self.bits.load(Ordering::Relaxed) & CLOSED != 0
    }

    /// The counts currently held: creation's (until dispose) plus one per use in flight.
    pub(crate) fn count(&self) -> usize {
        (self.bits.load(Ordering::Relaxed) & COUNT_MASK) / ONE_USE
    }

    fn decrement_if(
        &self,
        allowed: impl Fn(usize) -> bool,
        next: impl Fn(usize) -> usize,
    ) -> Option<Decrement> {
        let mut current = self.bits.load(Ordering::Relaxed);
        loop {
            if !allowed(current) {
                return None;
            }
            match self.bits.compare_exchange_weak(
                current,
                next(current),
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(previous) => return Some(Decrement::of(previous)),
                Err(actual) => current = actual,
            }
        }
    }
}

fn is_closed(bits: usize) -> bool {
    bits & CLOSED != 0 || bits & COUNT_MASK == 0
}

#[cold]
#[inline(never)]
fn count_overflow() -> ! {
    panic!(
        "SafeHandle use count overflow: uses are being started and never ended \
         (leaked guards or dangerous_add_ref without dangerous_release)"
    )
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn creation_holds_one_count_and_dispose_makes_the_final_transition() {
        let state = StateWord::new();
        assert_eq!(state.count(), 1);
        assert_eq!(
            state.dispose(),
            Some(Decrement::Final {
                closed_early: false
            })
        );
        assert!(state.is_closed());
        assert!(state.is_disposed());
    }

    #[test]
    fn second_dispose_does_nothing() {
        let state = StateWord::new();
        assert!(state.try_begin_use());
        assert_eq!(state.dispose(), Some(Decrement::StillInUse));
        assert_eq!(state.dispose(), None);
        assert_eq!(state.count(), 1);
    }

    #[test]
    fn a_use_may_start_after_dispose_while_another_is_in_flight() {
        let state = StateWord::new();
        assert!(state.try_begin_use());
        assert_eq!(state.dispose(), Some(Decrement::StillInUse));
        assert!(state.try_begin_use());
        assert_eq!(state.end_use(), Decrement::StillInUse);
        assert_eq!(
            state.end_use(),
            Decrement::Final {
                closed_early: false
            }
        );
        assert!(!state.try_begin_use());
    }

    #[test]
    fn close_early_refuses_new_uses_and_is_reported_by_the_final_transition() {
        let state = StateWord::new();
        assert!(state.try_begin_use());
        assert!(state.close_early());
        assert!(state.is_closed());
        assert!(!state.try_begin_use());
        assert_eq!(state.dispose(), Some(Decrement::StillInUse));
        assert_eq!(state.end_use(), Decrement::Final { closed_early: true });
    }

    #[test]
    fn close_early_after_the_final_transition_comes_too_late() {
        let state = StateWord::new();
        assert_eq!(
            state.dispose(),
            Some(Decrement::Final {
                closed_early: false
            })
        );
        assert!(!state.close_early());
    }

    #[test]
    fn unbalanced_end_of_use_at_zero_is_refused() {
        let state = StateWord::new();
        assert_eq!(
            state.try_end_use(),
            Some(Decrement::Final {
                closed_early: false
            })
        );
        assert_eq!(state.try_end_use(), None);
        assert_eq!(state.dispose(), None);
        assert_eq!(state.count(), 0);
    }

    #[test]
    fn take_succeeds_only_with_creations_count_alone() {
        let state = StateWord::new();
        assert!(state.try_begin_use());
        assert_eq!(state.try_take(), Err(TakeRefused::UsesInFlight(1)));
        assert_eq!(state.end_use(), Decrement::StillInUse);
        assert_eq!(state.try_take(), Ok(()));
        assert!(state.is_closed() && state.is_disposed());
        assert_eq!(state.try_take(), Err(TakeRefused::Closed));
    }
}

#[cfg(all(test, loom))]
mod loom {
    //! Every interleaving of begin/end use, dispose, unbalanced end and close-early, against a
    //! model resource: an `UnsafeCell` that uses read and the release writes, so loom reports any
    //! release that is not ordered after every use, and a release counter.

    use super::{Decrement, StateWord};
    use loom::cell::UnsafeCell;
    use loom::sync::Arc;
    use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use loom::thread;

    const OPEN: u32 = 1;
    const RELEASED: u32 = 0;

    struct Model {
        state: StateWord,
        resource: UnsafeCell<u32>,
        releases: AtomicUsize,
        close_early_prevented_release: AtomicBool,
    }

    impl Model {
        fn new() -> Arc<Self> {
            Arc::new(Self {
                state: StateWord::new(),
                resource: UnsafeCell::new(OPEN),
                releases: AtomicUsize::new(0),
                close_early_prevented_release: AtomicBool::new(false),
            })
        }

        fn finish(&self, decrement: Decrement) {
            if let Decrement::Final {
                closed_early: false,
            } = decrement
            {
                // SAFETY: (model) loom checks that this write is ordered after every use's read.
                self.resource.with_mut(|resource| unsafe {
                    assert_eq!(*resource, OPEN, "released twice");
                    *resource = RELEASED;
                });
                self.releases.fetch_add(1, Ordering::Relaxed);
            }
        }

        /// One guarded use: returns whether it started.
        fn use_once(&self) -> bool {
            if !self.state.try_begin_use() {
                return false;
            }
            // SAFETY: (model) loom checks that this read is ordered before the release's write.
            self.resource.with(|resource| unsafe {
                assert_eq!(*resource, OPEN, "a use saw a released resource");
            });
            self.finish(self.state.end_use());
            true
        }

        fn dispose(&self) {
            if let Some(decrement) = self.state.dispose() {
                self.finish(decrement);
            }
        }

        fn close_early(&self) {
            if self.state.close_early() {
                self.close_early_prevented_release
                    .store(true, Ordering::Relaxed);
            }
        }

        /// After every thread is joined: released exactly once unless closed early in time.
        fn assert_settled(&self) {
            assert!(self.state.is_closed());
            let expected = if self.close_early_prevented_release.load(Ordering::Relaxed) {
                0
            } else {
                1
            };
            assert_eq!(self.releases.load(Ordering::Relaxed), expected);
        }
    }

    #[test]
    fn loom_release_happens_once_and_after_every_use() {
        loom::model(|| {
            let model = Model::new();
            let users: Vec<_> = (0..2)
                .map(|_| {
                    let model = model.clone();
                    thread::spawn(move || {
                        model.use_once();
                    })
                })
                .collect();
            model.dispose();
            for user in users {
                user.join().unwrap();
            }
            assert!(
                !model.use_once(),
                "a use started after the final transition"
            );
            model.assert_settled();
        });
    }

    #[test]
    fn loom_racing_disposes_balance_creation_once() {
        loom::model(|| {
            let model = Model::new();
            let disposers: Vec<_> = (0..2)
                .map(|_| {
                    let model = model.clone();
                    thread::spawn(move || model.dispose())
                })
                .collect();
            model.use_once();
            for disposer in disposers {
                disposer.join().unwrap();
            }
            model.assert_settled();
        });
    }

    #[test]
    fn loom_close_early_prevents_every_later_release() {
        loom::model(|| {
            let model = Model::new();
            let user = {
                let model = model.clone();
                thread::spawn(move || {
                    model.use_once();
                })
            };
            let closer = {
                let model = model.clone();
                thread::spawn(move || {
                    model.close_early();
                    assert!(
                        !model.use_once(),
                        "a use started after set_handle_as_invalid"
                    );
                })
            };
            model.dispose();
            user.join().unwrap();
            closer.join().unwrap();
            model.assert_settled();
        });
    }

    #[test]
    fn loom_dangerous_pair_defers_the_release_to_its_end() {
        loom::model(|| {
            let model = Model::new();
            assert!(model.state.try_begin_use());
            let holder = {
                let model = model.clone();
                thread::spawn(move || {
                    // SAFETY: (model) the use begun above is still in flight.
                    model
                        .resource
                        .with(|resource| unsafe { assert_eq!(*resource, OPEN) });
                    let decrement = model.state.try_end_use().expect("the use is held");
                    model.finish(decrement);
                })
            };
            let disposer = {
                let model = model.clone();
                thread::spawn(move || model.dispose())
            };
            holder.join().unwrap();
            disposer.join().unwrap();
            assert_eq!(
                model.state.try_end_use(),
                None,
                "an unbalanced end is refused at zero"
            );
            model.assert_settled();
        });
    }

    #[test]
    fn loom_taking_ownership_excludes_uses_and_release() {
        loom::model(|| {
            let model = Model::new();
            let user = {
                let model = model.clone();
                thread::spawn(move || {
                    model.use_once();
                })
            };
            let taken = model.state.try_take().is_ok();
            if taken {
                // Before the join, whose own synchronization would hide a missing `Acquire` on
                // the take: only the take orders the user's read before the taker's release.
                // SAFETY: (model) the taker now owns the resource; loom checks the use is ordered
                // before this write.
                model.resource.with_mut(|resource| unsafe {
                    assert_eq!(*resource, OPEN);
                    *resource = RELEASED;
                });
            }
            user.join().unwrap();
            if taken {
                assert_eq!(model.releases.load(Ordering::Relaxed), 0);
                assert!(
                    model.state.dispose().is_none(),
                    "dispose after take does nothing"
                );
            } else {
                model.dispose();
                model.assert_settled();
            }
        });
    }
}
