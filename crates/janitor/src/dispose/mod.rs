//! Deterministic disposal: the Dispose pattern of .NET, in Rust.
//!
//! A type that owns something which must be released at a known moment (a descriptor, a lock, a
//! connection, a registration) implements [`Dispose`]. `Drop` already gives Rust scope-bound
//! cleanup; `Dispose` adds what `Drop` cannot: release while the value is still shared
//! (`&self`, through an `Arc` or a `Gc`), release that is safe to request twice or from several
//! threads, and a value that answers "already disposed" afterwards instead of vanishing.
//!
//! The invariant this module owns: **a dispose does its work at most once**, however many
//! callers race to it, and **nothing registered for disposal is lost**: it is released, in the
//! reverse of the order it was acquired in, and every failure on the way reaches someone.
//!
//! | .NET | here |
//! |---|---|
//! | `IDisposable` | [`Dispose`], made idempotent by a [`DisposeFlag`] |
//! | `ObjectDisposedException`, `ThrowIf` | [`ObjectDisposed`], [`DisposeFlag::check`] |
//! | `Dispose(bool disposing)` | one cleanup taking a [`DisposeMode`] |
//! | `using` | [`using`], [`Using`] |
//! | `DisposableStack` (TC39) | [`DisposeStack`], failures chained in a [`DisposeError`] |
//! | `IAsyncDisposable`, `await using`, `AsyncDisposableStack` | [`AsyncDispose`], [`using_async`], [`AsyncDisposeStack`] |
//! | CA2213 (dispose your disposable fields) | `#[derive(Dispose)]` (see [`macro@crate::Dispose`]) |
//!
//! Each piece lives in its own file, which states the invariant it owns.

mod async_dispose;
mod async_stack;
mod cascade;
mod entries;
mod error;
mod failure;
mod flag;
mod mode;
mod stack;
mod using;

pub use async_dispose::{AsyncDispose, DisposeFuture, DynAsyncDispose, using_async};
pub use async_stack::AsyncDisposeStack;
pub use error::ObjectDisposed;
pub use failure::{BoxError, DisposeError, DisposeOutcome};
pub use flag::DisposeFlag;
pub use mode::DisposeMode;
pub use stack::DisposeStack;
pub use using::{Using, using};

/// What `#[derive(Dispose)]` expands to uses; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use super::cascade::{Cascade, DisposableField};
}

/// A value that releases what it owns when told to, exactly once.
///
/// `dispose` takes `&self` so that a shared value (behind an `Arc`, a `Gc`, or simply borrowed)
/// can be disposed by whoever holds it. Implementations must be **idempotent** and
/// **thread-safe**: the first call does the work, every later or concurrent call returns without
/// doing anything. The usual way to get both is a [`DisposeFlag`] field.
///
/// `dispose` does not return an error: like .NET's `Dispose`, it is called on cleanup paths
/// (scope exit, unwinding, container shutdown) where nobody could act on one. A resource whose
/// release can fail in a way the caller must see offers a fallible method of its own (such as
/// `close() -> Result<..>`) and makes `dispose` call it and report the failure.
///
/// # Around it
///
/// - [`DisposeMode`]: one cleanup serving both `dispose` and `Drop` (or a finalizer);
/// - [`using`] and [`Using`]: dispose at the end of a scope, whatever ends it;
/// - [`DisposeStack`]: many disposables released together, last acquired first;
/// - [`AsyncDispose`]: the same contract for an asynchronous release;
/// - `#[derive(Dispose)]` (see [`macro@crate::Dispose`]): dispose the fields a struct owns.
///
/// # Offering `close`
///
/// Some resources are "closed" rather than "disposed" (files, sockets, connections). Offer
/// `close` as the same operation, so that both words do one thing:
///
/// ```
/// use janitor::{Dispose, DisposeFlag};
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// struct Connection {
///     disposed: DisposeFlag,
///     closes: AtomicUsize,
/// }
///
/// impl Connection {
///     /// Closes the connection; the same operation as [`Dispose::dispose`].
///     pub fn close(&self) {
///         self.dispose();
///     }
/// }
///
/// impl Dispose for Connection {
///     fn dispose(&self) {
///         if self.disposed.try_begin() {
///             self.closes.fetch_add(1, Ordering::Relaxed);
///         }
///     }
/// }
///
/// let connection = Connection { disposed: DisposeFlag::new(), closes: AtomicUsize::new(0) };
/// connection.close();
/// connection.dispose();
/// assert_eq!(connection.closes.load(Ordering::Relaxed), 1);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not implement `janitor::Dispose`",
    label = "not disposable",
    note = "a value marked `#[dispose]`, pushed on a DisposeStack or wrapped in `Using` must \
            implement `janitor::Dispose`; implement it, or leave the field unmarked if it is not \
            this value's to dispose"
)]
pub trait Dispose {
    /// Releases what this value owns. Only the first call does anything.
    fn dispose(&self);
}

impl<T: Dispose + ?Sized> Dispose for &T {
    fn dispose(&self) {
        (**self).dispose();
    }
}

impl<T: Dispose + ?Sized> Dispose for Box<T> {
    fn dispose(&self) {
        (**self).dispose();
    }
}

impl<T: Dispose + ?Sized> Dispose for std::sync::Arc<T> {
    fn dispose(&self) {
        (**self).dispose();
    }
}

impl<T: Dispose + ?Sized> Dispose for std::rc::Rc<T> {
    fn dispose(&self) {
        (**self).dispose();
    }
}

/// `None` is not disposed, as C#'s `using` skips a null resource.
impl<T: Dispose> Dispose for Option<T> {
    fn dispose(&self) {
        if let Some(value) = self {
            value.dispose();
        }
    }
}
