//! The atomic "disposed" flag: a two-state machine, `live -> disposed`, that never goes back.
//!
//! Ordering: `try_begin` is a `swap` with `AcqRel`. The winner's release half publishes
//! everything the value did before it was disposed; a loser's acquire half (and `is_disposed`'s
//! `Acquire` load) sees that the value is disposed together with the writes that preceded the
//! winning swap. The cleanup itself runs after the swap, so "disposed" means "cleanup started",
//! which is the moment from which new operations must be refused.

use crate::dispose::ObjectDisposed;
use crate::sync::{AtomicBool, Ordering};

/// An atomic "disposed" flag: the building block of an idempotent, thread-safe [`Dispose`].
///
/// [`try_begin`](Self::try_begin) returns `true` to exactly one caller, the one that must do the
/// cleanup, however many threads call it at once. [`check`](Self::check) is the one-line guard
/// for methods that cannot run after dispose.
///
/// ```
/// use janitor::{Dispose, DisposeFlag, ObjectDisposed};
///
/// struct Port {
///     disposed: DisposeFlag,
/// }
///
/// impl Port {
///     fn send(&self, _byte: u8) -> Result<(), ObjectDisposed> {
///         self.disposed.check::<Self>()?;
///         Ok(())
///     }
/// }
///
/// impl Dispose for Port {
///     fn dispose(&self) {
///         if self.disposed.try_begin() {
///             // release the port here
///         }
///     }
/// }
///
/// let port = Port { disposed: DisposeFlag::new() };
/// port.send(1).unwrap();
/// port.dispose();
/// assert!(port.disposed.is_disposed());
/// assert!(port.send(2).is_err());
/// ```
///
/// [`Dispose`]: crate::Dispose
#[derive(Debug, Default)]
pub struct DisposeFlag {
    disposed: AtomicBool,
}

impl DisposeFlag {
    /// A flag in the "not disposed" state.
    ///
    /// ```
    /// assert!(!janitor::DisposeFlag::new().is_disposed());
    /// ```
    #[cfg(not(loom))]
    pub const fn new() -> Self {
        Self {
            disposed: AtomicBool::new(false),
        }
    }

    /// A flag in the "not disposed" state (loom's atomics have no `const` constructor).
    #[cfg(loom)]
    pub fn new() -> Self {
        Self {
            disposed: AtomicBool::new(false),
        }
    }

    /// Marks the value disposed. Returns `true` to the one caller that made the transition, which
    /// must now do the cleanup, and `false` to every other caller, before or after.
    ///
    /// ```
    /// let flag = janitor::DisposeFlag::new();
    /// assert!(flag.try_begin());
    /// assert!(!flag.try_begin());
    /// ```
    pub fn try_begin(&self) -> bool {
        !self.disposed.swap(true, Ordering::AcqRel)
    }

    /// Whether dispose has begun.
    ///
    /// ```
    /// let flag = janitor::DisposeFlag::new();
    /// flag.try_begin();
    /// assert!(flag.is_disposed());
    /// ```
    pub fn is_disposed(&self) -> bool {
        self.disposed.load(Ordering::Acquire)
    }

    /// `Err(ObjectDisposed)` naming `T` once disposed, `Ok(())` before: the first line of a
    /// method that cannot run after dispose (.NET's `ObjectDisposedException.ThrowIf`).
    ///
    /// ```
    /// struct Reader;
    /// let flag = janitor::DisposeFlag::new();
    /// assert!(flag.check::<Reader>().is_ok());
    /// flag.try_begin();
    /// assert!(flag.check::<Reader>().unwrap_err().object_name().ends_with("Reader"));
    /// ```
    pub fn check<T: ?Sized>(&self) -> Result<(), ObjectDisposed> {
        if self.is_disposed() {
            Err(ObjectDisposed::of::<T>())
        } else {
            Ok(())
        }
    }
}

#[cfg(all(test, loom))]
mod loom {
    use super::DisposeFlag;
    use ::loom::cell::UnsafeCell;
    use ::loom::sync::Arc;
    use ::loom::thread;

    /// Two threads race `try_begin`: in every interleaving exactly one wins, and the flag ends
    /// disposed.
    #[test]
    fn racing_try_begin_has_exactly_one_winner() {
        ::loom::model(|| {
            let flag = Arc::new(DisposeFlag::new());
            let other = {
                let flag = Arc::clone(&flag);
                thread::spawn(move || flag.try_begin())
            };
            let here = flag.try_begin();
            let there = other.join().unwrap();
            assert!(
                here != there,
                "exactly one caller must win (here: {here}, there: {there})"
            );
            assert!(flag.is_disposed());
        });
    }

    /// What a value wrote before its winning `try_begin` is visible to a thread that then sees
    /// the flag disposed (the release half of the swap pairs with `is_disposed`'s acquire), so a
    /// caller told "disposed" never reads state older than the dispose. With `Relaxed` orderings
    /// this model fails: loom reports the read as racing with the write.
    #[test]
    fn writes_before_the_winning_swap_are_visible_to_whoever_sees_it_disposed() {
        ::loom::model(|| {
            let shared = Arc::new((DisposeFlag::new(), UnsafeCell::new(0_u32)));
            let disposer = {
                let shared = Arc::clone(&shared);
                thread::spawn(move || {
                    // SAFETY: the only write to the cell, made before the flag is published;
                    // the reader touches the cell only after it observed the flag, which
                    // happens-after this write through the swap's release.
                    shared.1.with_mut(|value| unsafe { *value = 42 });
                    assert!(shared.0.try_begin());
                })
            };
            if shared.0.is_disposed() {
                // SAFETY: the acquire load saw the winning swap, which was sequenced after the
                // write, so the write happens-before this read and nothing writes after it.
                let value = shared.1.with(|value| unsafe { *value });
                assert_eq!(value, 42);
            }
            disposer.join().unwrap();
        });
    }
}
