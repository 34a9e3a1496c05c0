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
