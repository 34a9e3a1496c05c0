//! Asynchronous disposal: .NET's `IAsyncDisposable` and `await using`, runtime-agnostic.
//!
//! The library never runs a future: it hands back futures that any executor can drive. The
//! invariant of [`using_async`]: once the body has started, the resource's `dispose_async` is
//! awaited on every exit of the body, a panic inside it included (the panic is caught while the
//! body is polled, the resource disposed, and the panic resumed). Rust has no async drop, so a
//! future that is itself dropped before completion (cancelled) cannot await anything: it ends
//! without disposing. A resource that must be released even then also releases in its `Drop`.

use std::future::{Future, poll_fn};
use std::panic::{self, AssertUnwindSafe};
use std::pin::{Pin, pin};
use std::task::Poll;

/// A boxed, sendable future of a dispose: what the object-safe [`DynAsyncDispose`] returns.
pub type DisposeFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// A value whose release is asynchronous (flushing over the network, a graceful shutdown
/// handshake): .NET's `IAsyncDisposable`.
///
/// The same rules as [`Dispose`](crate::Dispose): `dispose_async` takes `&self`, is idempotent
/// and thread-safe (a [`DisposeFlag`](crate::DisposeFlag) does both), and does not fail (report a
/// failure that matters through a method of your own). Implement it with an `async fn`:
///
/// ```
/// use janitor::dispose::AsyncDispose;
/// use janitor::DisposeFlag;
/// use std::sync::atomic::{AtomicU32, Ordering};
///
/// struct Uplink {
///     disposed: DisposeFlag,
///     goodbyes_sent: AtomicU32,
/// }
///
/// impl AsyncDispose for Uplink {
///     async fn dispose_async(&self) {
///         if self.disposed.try_begin() {
///             // await the goodbye handshake here
///             self.goodbyes_sent.fetch_add(1, Ordering::Relaxed);
///         }
///     }
/// }
///
/// let uplink = Uplink { disposed: DisposeFlag::new(), goodbyes_sent: AtomicU32::new(0) };
/// pollster::block_on(uplink.dispose_async());
/// pollster::block_on(uplink.dispose_async());
/// assert_eq!(uplink.goodbyes_sent.load(Ordering::Relaxed), 1);
/// ```
///
/// The future must be `Send`, so that a multi-threaded executor can drive it and a container
/// can hold disposables of every type. `AsyncDispose` itself is not object safe (its future has
/// a type of its own per implementation); for `dyn`, use [`DynAsyncDispose`], which every
/// `AsyncDispose + Send + Sync` type implements.
pub trait AsyncDispose {
    /// Releases what this value owns. Only the first call does anything.
    fn dispose_async(&self) -> impl Future<Output = ()> + Send;
}

/// The object-safe face of [`AsyncDispose`], for `Arc<dyn DynAsyncDispose>` and
/// `Box<dyn DynAsyncDispose>`: it returns the dispose future boxed.
///
/// Implemented for every `AsyncDispose + Send + Sync` type; `dyn DynAsyncDispose` implements
/// [`AsyncDispose`] in turn, so a boxed disposable works wherever an `AsyncDispose` is expected.
///
/// ```
/// use janitor::dispose::{AsyncDispose, DynAsyncDispose};
/// use janitor::DisposeFlag;
/// use std::sync::Arc;
///
/// struct Cache { disposed: DisposeFlag }
/// impl AsyncDispose for Cache {
///     async fn dispose_async(&self) { self.disposed.try_begin(); }
/// }
///
/// let cache = Arc::new(Cache { disposed: DisposeFlag::new() });
/// let services: Vec<Arc<dyn DynAsyncDispose>> = vec![cache.clone()];
/// for service in &services {
///     pollster::block_on(service.dispose_async());
/// }
/// assert!(cache.disposed.is_disposed());
/// ```
pub trait DynAsyncDispose: Send + Sync {
    /// [`AsyncDispose::dispose_async`], boxed.
    fn dispose_async_boxed(&self) -> DisposeFuture<'_>;
}

impl<T: AsyncDispose + Send + Sync> DynAsyncDispose for T {
    fn dispose_async_boxed(&self) -> DisposeFuture<'_> {
        Box::pin(self.dispose_async())
    }
}

impl AsyncDispose for dyn DynAsyncDispose + '_ {
    fn dispose_async(&self) -> impl Future<Output = ()> + Send {
        self.dispose_async_boxed()
    }
}

impl<T: AsyncDispose + ?Sized> AsyncDispose for &T {
    fn dispose_async(&self) -> impl Future<Output = ()> + Send {
        (**self).dispose_async()
    }
}

impl<T: AsyncDispose + ?Sized> AsyncDispose for Box<T> {
    fn dispose_async(&self) -> impl Future<Output = ()> + Send {
        (**self).dispose_async()
    }
}

impl<T: AsyncDispose + ?Sized> AsyncDispose for std::sync::Arc<T> {
    fn dispose_async(&self) -> impl Future<Output = ()> + Send {
        (**self).dispose_async()
    }
}

/// `None` is not disposed, as C#'s `await using` skips a null resource.
impl<T: AsyncDispose + Sync> AsyncDispose for Option<T> {
    async fn dispose_async(&self) {
        if let Some(value) = self {
            value.dispose_async().await;
        }
    }
}

/// Runs the async `body` with `resource`, then awaits the resource's `dispose_async`, on every
/// exit from `body`, a panic included: C#'s `await using`.
///
/// Returns what `body` returns. A panic in `body` is caught, the resource disposed, and the panic
/// resumed. If the returned future is dropped before it completes, the resource is not disposed
/// (Rust has no async drop; a resource that must be released even then also releases in its
/// `Drop`).
///
/// ```
/// use janitor::dispose::{AsyncDispose, using_async};
/// use janitor::DisposeFlag;
///
/// struct Transaction { disposed: DisposeFlag }
/// impl AsyncDispose for Transaction {
///     async fn dispose_async(&self) { self.disposed.try_begin(); }
/// }
///
/// let transaction = Transaction { disposed: DisposeFlag::new() };
/// let rows = pollster::block_on(using_async(&transaction, async |transaction| {
///     assert!(!transaction.disposed.is_disposed());
///     3
/// }));
/// assert_eq!(rows, 3);
/// assert!(transaction.disposed.is_disposed());
/// ```
pub async fn using_async<T, R>(resource: T, body: impl AsyncFnOnce(&T) -> R) -> R
where
    T: AsyncDispose,
{
    let outcome = catch_unwind(body(&resource)).await;
    resource.dispose_async().await;
    match outcome {
        Ok(value) => value,
        Err(payload) => panic::resume_unwind(payload),
    }
}

/// Drives `future` to completion, catching a panic of any of its polls.
pub(crate) async fn catch_unwind<F: Future>(future: F) -> std::thread::Result<F::Output> {
    let mut future = pin!(future);
    poll_fn(|context| {
        match panic::catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(context))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(payload) => Poll::Ready(Err(payload)),
        }
    })
    .await
}
