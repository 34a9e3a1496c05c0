//! The asynchronous counterpart of [`Dispose`](janitor::Dispose), as the container needs it.
//!
//! `janitor::dispose` is gaining its own `AsyncDispose` with exactly this shape; until it lands,
//! the container defines the trait here so that services can already be disposed asynchronously.
//! When the two meet, this module becomes a re-export of `janitor::AsyncDispose` and no
//! implementation has to change.

use std::future::Future;
use std::pin::Pin;

/// A value that releases what it owns asynchronously (.NET's `IAsyncDisposable`).
///
/// The future borrows the value, so it can await the release of its parts. Like
/// [`Dispose`](janitor::Dispose), it must be idempotent: only the first call does the work.
/// The container awaits it from [`ServiceProvider::dispose_async`](crate::ServiceProvider::dispose_async)
/// for services registered with [`AsyncDisposable`](crate::AsyncDisposable) or
/// [`DualDisposable`](crate::DualDisposable).
///
/// ```
/// use janitor::DisposeFlag;
/// use janitor_di::AsyncDispose;
/// use std::future::Future;
/// use std::pin::Pin;
///
/// struct Channel {
///     disposed: DisposeFlag,
/// }
///
/// impl AsyncDispose for Channel {
///     fn dispose_async(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
///         Box::pin(async move {
///             if self.disposed.try_begin() {
///                 // flush and close, awaiting the peer's acknowledgement
///             }
///         })
///     }
/// }
///
/// let channel = Channel { disposed: DisposeFlag::new() };
/// pollster::block_on(channel.dispose_async());
/// assert!(channel.disposed.is_disposed());
/// ```
pub trait AsyncDispose: Send + Sync {
    /// Releases what this value owns; only the first call does anything.
    fn dispose_async(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}
