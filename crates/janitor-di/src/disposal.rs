//! How the container disposes what it created: chosen by the caller at every registration.
//!
//! .NET decides at run time: whatever a factory returned is disposed if it `is IDisposable`.
//! Rust has no such question to ask of a value. The usual substitutes all fail in a way a
//! careful user would not accept:
//!
//! - specialization (`impl<T: Dispose>` beside `impl<T>`) is not stable;
//! - autoref tricks see only the concrete type at the call site, never through generic code,
//!   and silently fall back to "not disposable" when they cannot see;
//! - a `T: NotDisposable` bound on a plain method needs an impl for every plain type, and still
//!   cannot stop a type that also implements `Dispose` (Rust has no negative bounds);
//! - separate methods (`add_scoped` beside `add_scoped_disposable`) leave the short name as a
//!   default that compiles for a disposable type and quietly never disposes it.
//!
//! So no registration has a default: every `add_*` method takes a marker that says how the
//! container disposes the instances it creates. Claiming a disposal the type cannot do is a
//! compile error ([`Disposable`] needs `T: Dispose`, [`AsyncDisposable`] needs `T: AsyncDispose + Send + Sync`, that is [`DynAsyncDispose`](janitor::dispose::DynAsyncDispose));
//! declining disposal is the word [`NotDisposable`], written at the registration where a reviewer
//! sees it.
//!
//! The markers turn an instance into a type-erased [`Disposer`] the moment it is created; the
//! container keeps those in creation order and runs them in reverse.

use janitor::Dispose;
use janitor::dispose::DynAsyncDispose;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

/// The container disposes instances with [`Dispose::dispose`], from `dispose` and from
/// `dispose_async` alike.
///
/// ```
/// use janitor::{Dispose, DisposeFlag};
/// use janitor_di::{Disposable, Resolve, ServiceCollection};
/// use std::sync::Arc;
///
/// #[derive(Default)]
/// struct Connection {
///     disposed: DisposeFlag,
/// }
/// impl Dispose for Connection {
///     fn dispose(&self) {
///         self.disposed.try_begin();
///     }
/// }
///
/// let mut services = ServiceCollection::new();
/// services.add_scoped(Disposable, |_| Ok(Arc::new(Connection::default())));
/// let provider = services.build_provider();
/// let scope = provider.create_scope().unwrap();
/// let connection = scope.get_required::<Connection>().unwrap();
/// scope.try_dispose().unwrap();
/// assert!(connection.disposed.is_disposed());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Disposable;

/// The container disposes instances with [`AsyncDispose::dispose_async`](janitor::dispose::AsyncDispose::dispose_async); a synchronous `dispose`
/// of their scope reports them as an error, as .NET does for an `IAsyncDisposable`-only service.
///
/// ```
/// use janitor::DisposeFlag;
/// use janitor_di::{AsyncDispose, AsyncDisposable, Resolve, ServiceCollection};
/// use std::sync::Arc;
///
/// #[derive(Default)]
/// struct Uploader {
///     disposed: DisposeFlag,
/// }
/// impl AsyncDispose for Uploader {
///     async fn dispose_async(&self) {
///         self.disposed.try_begin();
///     }
/// }
///
/// let mut services = ServiceCollection::new();
/// services.add_singleton(AsyncDisposable, |_| Ok(Arc::new(Uploader::default())));
/// let provider = services.build_provider();
/// let uploader = provider.get_required::<Uploader>().unwrap();
/// pollster::block_on(provider.try_dispose_async()).unwrap();
/// assert!(uploader.disposed.is_disposed());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct AsyncDisposable;

/// The instances implement both traits: `dispose_async` awaits [`AsyncDispose::dispose_async`](janitor::dispose::AsyncDispose::dispose_async)
/// (.NET prefers `DisposeAsync` when both exist), `dispose` calls [`Dispose::dispose`].
///
/// ```
/// use janitor::{Dispose, DisposeFlag};
/// use janitor_di::{AsyncDispose, DualDisposable, Resolve, ServiceCollection};
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicBool, Ordering};
///
/// #[derive(Default)]
/// struct Log {
///     disposed: DisposeFlag,
///     flushed_asynchronously: AtomicBool,
/// }
/// impl Dispose for Log {
///     fn dispose(&self) {
///         self.disposed.try_begin();
///     }
/// }
/// impl AsyncDispose for Log {
///     async fn dispose_async(&self) {
///         if self.disposed.try_begin() {
///             self.flushed_asynchronously.store(true, Ordering::Relaxed);
///         }
///     }
/// }
///
/// let mut services = ServiceCollection::new();
/// services.add_singleton(DualDisposable, |_| Ok(Arc::new(Log::default())));
/// let provider = services.build_provider();
/// let log = provider.get_required::<Log>().unwrap();
/// pollster::block_on(provider.try_dispose_async()).unwrap();
/// assert!(log.flushed_asynchronously.load(Ordering::Relaxed));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct DualDisposable;

/// The container never disposes the instances: for types that own nothing to release, or whose
/// release belongs to someone else.
///
/// ```
/// use janitor_di::{NotDisposable, Resolve, ServiceCollection};
/// use std::sync::Arc;
///
/// struct Settings {
///     retries: u32,
/// }
///
/// let mut services = ServiceCollection::new();
/// services.add_singleton(NotDisposable, |_| Ok(Arc::new(Settings { retries: 3 })));
/// let provider = services.build_provider();
/// assert_eq!(provider.get_required::<Settings>().unwrap().retries, 3);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct NotDisposable;

/// How the container disposes the instances of `T` it creates: implemented by the four markers
/// [`Disposable`], [`AsyncDisposable`], [`DualDisposable`] and [`NotDisposable`], and by nothing
/// else (the trait is sealed).
///
/// A marker that `T` cannot honour does not compile:
///
/// ```compile_fail
/// use janitor_di::{Disposable, ServiceCollection};
/// use std::sync::Arc;
///
/// struct Settings; // does not implement Dispose
///
/// let mut services = ServiceCollection::new();
/// services.add_singleton(Disposable, |_| Ok(Arc::new(Settings)));
/// ```
///
/// For a trait-object service (`dyn Trait`), make `Dispose` (or `DynAsyncDispose`, the object-safe
/// face of `AsyncDispose`) a supertrait of
/// `Trait`, so that `dyn Trait` can be disposed through it:
///
/// ```
/// use janitor::Dispose;
/// use janitor_di::{Disposable, Resolve, ServiceCollection};
/// use std::sync::Arc;
///
/// trait Cache: Dispose + Send + Sync {
///     fn hits(&self) -> u64;
/// }
/// struct MemoryCache;
/// impl Cache for MemoryCache {
///     fn hits(&self) -> u64 {
///         0
///     }
/// }
/// impl Dispose for MemoryCache {
///     fn dispose(&self) {}
/// }
///
/// let mut services = ServiceCollection::new();
/// services.add_singleton::<dyn Cache, _>(Disposable, |_| Ok(Arc::new(MemoryCache)));
/// let provider = services.build_provider();
/// assert_eq!(provider.get_required::<dyn Cache>().unwrap().hits(), 0);
/// ```
pub trait Disposal<T: ?Sized>: sealed::Sealed<T> + Copy + Send + Sync + 'static {}

impl<T: ?Sized + Dispose + Send + Sync + 'static> Disposal<T> for Disposable {}
impl<T: ?Sized + DynAsyncDispose + 'static> Disposal<T> for AsyncDisposable {}
impl<T: ?Sized + Dispose + DynAsyncDispose + 'static> Disposal<T> for DualDisposable {}
impl<T: ?Sized> Disposal<T> for NotDisposable {}

pub(crate) mod sealed {
    use super::Disposer;
    use std::sync::Arc;

    /// The part of [`Disposal`](super::Disposal) only this crate can implement.
    pub trait Sealed<T: ?Sized> {
        /// The disposer of a freshly created instance, or `None` if the container must not
        /// dispose it.
        fn capture(instance: &Arc<T>) -> Option<Box<dyn Disposer>>;
    }
}

impl<T: ?Sized + Dispose + Send + Sync + 'static> sealed::Sealed<T> for Disposable {
    fn capture(instance: &Arc<T>) -> Option<Box<dyn Disposer>> {
        Some(Box::new(SyncOnly(Arc::clone(instance))))
    }
}

impl<T: ?Sized + DynAsyncDispose + 'static> sealed::Sealed<T> for AsyncDisposable {
    fn capture(instance: &Arc<T>) -> Option<Box<dyn Disposer>> {
        Some(Box::new(AsyncOnly(Arc::clone(instance))))
    }
}

impl<T: ?Sized + Dispose + DynAsyncDispose + 'static> sealed::Sealed<T> for DualDisposable {
    fn capture(instance: &Arc<T>) -> Option<Box<dyn Disposer>> {
        Some(Box::new(Dual(Arc::clone(instance))))
    }
}

impl<T: ?Sized> sealed::Sealed<T> for NotDisposable {
    fn capture(_: &Arc<T>) -> Option<Box<dyn Disposer>> {
        None
    }
}

/// The synchronous path found the instance disposable only asynchronously.
pub struct OnlyAsync;

/// One created instance, type-erased, as its scope disposes it.
pub trait Disposer: Send + Sync {
    /// Disposes synchronously, or reports that the instance only disposes asynchronously.
    fn dispose(&self) -> Result<(), OnlyAsync>;
    /// Disposes asynchronously if the instance can, synchronously otherwise.
    fn dispose_async(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

struct SyncOnly<T: ?Sized>(Arc<T>);
struct AsyncOnly<T: ?Sized>(Arc<T>);
struct Dual<T: ?Sized>(Arc<T>);

impl<T: ?Sized + Dispose + Send + Sync> Disposer for SyncOnly<T> {
    fn dispose(&self) -> Result<(), OnlyAsync> {
        self.0.dispose();
        Ok(())
    }
    fn dispose_async(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move { self.0.dispose() })
    }
}

impl<T: ?Sized + DynAsyncDispose> Disposer for AsyncOnly<T> {
    fn dispose(&self) -> Result<(), OnlyAsync> {
        Err(OnlyAsync)
    }
    fn dispose_async(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        self.0.dispose_async_boxed()
    }
}

impl<T: ?Sized + Dispose + DynAsyncDispose> Disposer for Dual<T> {
    fn dispose(&self) -> Result<(), OnlyAsync> {
        self.0.dispose();
        Ok(())
    }
    fn dispose_async(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        self.0.dispose_async_boxed()
    }
}

/// A created instance as its scope keeps it: what to call it in errors, and how to dispose it.
pub(crate) struct Captured {
    pub(crate) service: &'static str,
    pub(crate) disposer: Box<dyn Disposer>,
}

/// Why one instance was not disposed cleanly.
pub(crate) enum Failure {
    OnlyAsync,
    Panicked(String),
}

impl Captured {
    /// Disposes synchronously; a panic in the instance's `dispose` is caught and returned, so
    /// that the instances disposed after it still are.
    pub(crate) fn dispose(&self) -> Result<(), Failure> {
        match catch_unwind(AssertUnwindSafe(|| self.disposer.dispose())) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(OnlyAsync)) => Err(Failure::OnlyAsync),
            Err(payload) => Err(Failure::Panicked(panic_message(payload.as_ref()))),
        }
    }

    /// Disposes asynchronously (falling back to sync); a panic while creating or polling the
    /// future is caught and returned.
    pub(crate) async fn dispose_async(&self) -> Result<(), Failure> {
        let mut future = catch_unwind(AssertUnwindSafe(|| self.disposer.dispose_async()))
            .map_err(|payload| Failure::Panicked(panic_message(payload.as_ref())))?;
        std::future::poll_fn(|context| {
            match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(context))) {
                Ok(Poll::Ready(())) => Poll::Ready(Ok(())),
                Ok(Poll::Pending) => Poll::Pending,
                Err(payload) => {
                    Poll::Ready(Err(Failure::Panicked(panic_message(payload.as_ref()))))
                }
            }
        })
        .await
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&str>() {
        (*message).to_owned()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "a panic with a payload that is not a string".to_owned()
    }
}
