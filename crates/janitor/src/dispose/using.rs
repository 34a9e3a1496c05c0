//! C#'s `using`: a resource disposed when its scope ends, however it ends.
//!
//! The invariant: once a resource is handed to [`Using`] (or [`using`]), it is disposed exactly
//! when the guard goes out of scope: on the normal path, on an early `return` or `?`, and while
//! unwinding from a panic. A dispose that itself panics during that unwinding is caught and
//! reported instead of resumed, since a second panic would abort the process.

use std::ops::{Deref, DerefMut};
use std::panic::{self, AssertUnwindSafe};

use crate::Dispose;
use crate::dispose::failure::panic_message;

/// Owns a resource and disposes it when dropped: the guard form of C#'s `using var`.
///
/// It dereferences to the resource, so the resource is used through the guard.
///
/// ```
/// use janitor::dispose::Using;
/// use janitor::{Dispose, DisposeFlag};
///
/// struct Lease {
///     disposed: DisposeFlag,
/// }
///
/// impl Dispose for Lease {
///     fn dispose(&self) {
///         self.disposed.try_begin();
///     }
/// }
///
/// fn renew(lease: &Lease, fail: bool) -> Result<(), &'static str> {
///     if fail { Err("renewal refused") } else { Ok(()) }
/// }
///
/// fn work(lease: &Lease, fail: bool) -> Result<(), &'static str> {
///     let lease = Using::new(lease);
///     renew(&lease, fail)?; // an early return disposes the lease too
///     Ok(())
/// }
///
/// let lease = Lease { disposed: DisposeFlag::new() };
/// assert!(work(&lease, true).is_err());
/// assert!(lease.disposed.is_disposed());
/// ```
///
/// On a panic the resource is disposed during unwinding:
///
/// ```
/// # use janitor::dispose::Using;
/// # use janitor::{Dispose, DisposeFlag};
/// # struct Lease { disposed: DisposeFlag }
/// # impl Dispose for Lease { fn dispose(&self) { self.disposed.try_begin(); } }
/// let lease = Lease { disposed: DisposeFlag::new() };
/// let outcome = std::panic::catch_unwind(|| {
///     let _guard = Using::new(&lease);
///     panic!("the body failed");
/// });
/// assert!(outcome.is_err());
/// assert!(lease.disposed.is_disposed());
/// ```
#[derive(Debug)]
#[must_use = "the resource is disposed as soon as the guard is dropped"]
pub struct Using<T: Dispose> {
    resource: T,
}

impl<T: Dispose> Using<T> {
    /// Takes charge of `resource`: it is disposed when the guard is dropped.
    ///
    /// `T` can be a borrow (`&R`) when the caller keeps the resource itself, or the resource,
    /// which the guard then owns.
    ///
    /// ```
    /// use janitor::{Dispose, dispose::Using};
    /// use std::cell::Cell;
    ///
    /// struct Counter<'a>(&'a Cell<u32>);
    /// impl Dispose for Counter<'_> {
    ///     fn dispose(&self) { self.0.set(self.0.get() + 1); }
    /// }
    ///
    /// let disposals = Cell::new(0);
    /// {
    ///     let _counter = Using::new(Counter(&disposals));
    ///     assert_eq!(disposals.get(), 0);
    /// }
    /// assert_eq!(disposals.get(), 1);
    /// ```
    pub fn new(resource: T) -> Self {
        Self { resource }
    }
}

impl<T: Dispose> Deref for Using<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.resource
    }
}

impl<T: Dispose> DerefMut for Using<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.resource
    }
}

impl<T: Dispose> Drop for Using<T> {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.resource.dispose();
            return;
        }
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| self.resource.dispose())) {
            tracing::error!(
                resource = std::any::type_name::<T>(),
                panic = panic_message(&*payload),
                "dispose panicked while unwinding from another panic; not resumed, to keep the \
                 process alive"
            );
        }
    }
}

/// Runs `body` with `resource`, then disposes the resource, on every exit from `body`: its
/// return, an early `return` or `?` inside it, and a panic. C#'s `using (var r = ...) { ... }`.
///
/// Returns what `body` returns.
///
/// ```
/// use janitor::dispose::using;
/// use janitor::{Dispose, DisposeFlag};
///
/// struct Session {
///     disposed: DisposeFlag,
/// }
///
/// impl Dispose for Session {
///     fn dispose(&self) {
///         self.disposed.try_begin();
///     }
/// }
///
/// let session = Session { disposed: DisposeFlag::new() };
/// let answer = using(&session, |session| {
///     assert!(!session.disposed.is_disposed());
///     42
/// });
/// assert_eq!(answer, 42);
/// assert!(session.disposed.is_disposed());
///
/// // A panicking body still disposes.
/// let other = Session { disposed: DisposeFlag::new() };
/// let outcome = std::panic::catch_unwind(|| using(&other, |_| panic!("body failed")));
/// assert!(outcome.is_err());
/// assert!(other.disposed.is_disposed());
/// ```
pub fn using<T: Dispose, R>(resource: T, body: impl FnOnce(&T) -> R) -> R {
    let guard = Using::new(resource);
    body(&guard)
}
