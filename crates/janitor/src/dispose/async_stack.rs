//! `AsyncDisposeStack`: TC39's `AsyncDisposableStack`, holding sync and async cleanups.
//!
//! The same invariants as [`DisposeStack`](super::DisposeStack) (once, LIFO, nothing lost), with
//! the entries awaited one after the other: an async entry finishes before the entry registered
//! before it starts, as each `await using` declaration finishes before the one above it.
//!
//! Two ways out cannot await, and both are reported rather than hidden: dropping an undisposed
//! stack, and dropping a `dispose_async` future before it completes. The entries that did not run
//! are dropped (so the values they own run their `Drop`), and `tracing::warn!` says how many.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::dispose::async_dispose::{AsyncDispose, catch_unwind};
use crate::dispose::entries::EntryList;
use crate::dispose::failure::{BoxError, DisposeError, DisposeOutcome, Failures};
use crate::{Dispose, ObjectDisposed};

/// The future of an async entry.
type EntryFuture<'a> = Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send + 'a>>;

/// One registered cleanup.
enum Entry<'a> {
    Sync(Box<dyn FnOnce() -> Result<(), BoxError> + Send + 'a>),
    Async(Box<dyn FnOnce() -> EntryFuture<'a> + Send + 'a>),
}

/// A stack of sync and async cleanups, disposed together in reverse order by awaiting
/// [`try_dispose_async`](Self::try_dispose_async): TC39's `AsyncDisposableStack`.
///
/// It has the methods of [`DisposeStack`](super::DisposeStack), each in a sync and an async form:
/// [`push`](Self::push) / [`push_async`](Self::push_async),
/// [`adopt`](Self::adopt) / [`adopt_async`](Self::adopt_async),
/// [`defer`](Self::defer) / [`defer_async`](Self::defer_async), and [`take`](Self::take). Entries
/// run last registered first, each awaited before the next starts; every entry runs even when an
/// earlier one failed or panicked; errors come back chained in a [`DisposeError`], and the first
/// panic is resumed after the last entry. Registering on a disposed stack returns
/// [`ObjectDisposed`]: a sync cleanup then runs at once, an async one cannot be awaited there and
/// is dropped with a `tracing::warn!`.
///
/// The library runs no executor: `try_dispose_async` is a future for yours.
///
/// # Dropping
///
/// An undisposed stack that is dropped cannot await its entries. It drops them without running
/// them (what they own runs its `Drop`) and reports it with `tracing::warn!`. Await
/// `try_dispose_async` before dropping the stack. Such a stack is also reported by the leak detector
/// ([`janitor::leak`](crate::leak)), with the place it was created (`new`, `default` or `take`),
/// when the level tracks it.
///
/// ```
/// use janitor::dispose::{AsyncDispose, AsyncDisposeStack};
/// use janitor::DisposeFlag;
/// use std::sync::Mutex;
///
/// struct Stream { name: &'static str, disposed: DisposeFlag }
/// impl AsyncDispose for Stream {
///     async fn dispose_async(&self) { self.disposed.try_begin(); }
/// }
///
/// let order = Mutex::new(Vec::new());
/// let stack = AsyncDisposeStack::new();
/// let stream = stack.push_async(Stream { name: "events", disposed: DisposeFlag::new() }).unwrap();
/// stack.defer(|| order.lock().unwrap().push("sync cleanup")).unwrap();
/// stack.defer_async(async || order.lock().unwrap().push("async cleanup")).unwrap();
///
/// pollster::block_on(stack.try_dispose_async()).unwrap();
/// assert_eq!(*order.lock().unwrap(), ["async cleanup", "sync cleanup"]);
/// assert!(stream.disposed.is_disposed());
/// ```
#[must_use = "an undisposed AsyncDisposeStack cannot release its entries when dropped"]
pub struct AsyncDisposeStack<'a> {
    entries: EntryList<Entry<'a>>,
}

impl<'a> AsyncDisposeStack<'a> {
    /// An empty, undisposed stack.
    ///
    /// ```
    /// let stack = janitor::dispose::AsyncDisposeStack::new();
    /// assert!(!stack.is_disposed());
    /// ```
    #[track_caller]
    pub fn new() -> Self {
        Self::holding(Vec::new())
    }

    #[track_caller]
    fn holding(entries: Vec<Entry<'a>>) -> Self {
        Self {
            entries: EntryList::open::<Self>(entries),
        }
    }

    /// Registers a value whose release is synchronous and returns it behind an `Arc`.
    /// On a disposed stack, the value is disposed at once and the result is [`ObjectDisposed`].
    ///
    /// ```
    /// use janitor::dispose::{AsyncDisposeStack, DisposeStack};
    ///
    /// let stack = AsyncDisposeStack::new();
    /// let inner = stack.push(DisposeStack::new()).unwrap();
    /// pollster::block_on(stack.try_dispose_async()).unwrap();
    /// assert!(inner.is_disposed());
    /// ```
    pub fn push<T>(&self, value: T) -> Result<Arc<T>, ObjectDisposed>
    where
        T: Dispose + Send + Sync + 'a,
    {
        let value = Arc::new(value);
        let held = Arc::clone(&value);
        self.register_sync(move || held.dispose())?;
        Ok(value)
    }

    /// Registers a value whose release is asynchronous and returns it behind an `Arc`.
    /// On a disposed stack the value cannot be awaited: it is returned nowhere, dropped, and the
    /// result is [`ObjectDisposed`].
    ///
    /// ```
    /// use janitor::dispose::{AsyncDispose, AsyncDisposeStack};
    /// use janitor::DisposeFlag;
    ///
    /// struct Pool { disposed: DisposeFlag }
    /// impl AsyncDispose for Pool {
    ///     async fn dispose_async(&self) { self.disposed.try_begin(); }
    /// }
    ///
    /// let stack = AsyncDisposeStack::new();
    /// let pool = stack.push_async(Pool { disposed: DisposeFlag::new() }).unwrap();
    /// pollster::block_on(stack.try_dispose_async()).unwrap();
    /// assert!(pool.disposed.is_disposed());
    /// ```
    pub fn push_async<T>(&self, value: T) -> Result<Arc<T>, ObjectDisposed>
    where
        T: AsyncDispose + Send + Sync + 'a,
    {
        let value = Arc::new(value);
        let held = Arc::clone(&value);
        self.register_async(move || async move { held.dispose_async().await })?;
        Ok(value)
    }

    /// Registers `value` with the synchronous closure that releases it; `release` may return
    /// `()` or `Result<(), E>`. On a disposed stack, `release(value)` runs at once and the
    /// result is [`ObjectDisposed`].
    ///
    /// ```
    /// use janitor::dispose::AsyncDisposeStack;
    /// use std::sync::Mutex;
    ///
    /// let released = Mutex::new(Vec::new());
    /// let stack = AsyncDisposeStack::new();
    /// stack.adopt("lock file", |name| released.lock().unwrap().push(name)).unwrap();
    /// pollster::block_on(stack.try_dispose_async()).unwrap();
    /// assert_eq!(*released.lock().unwrap(), ["lock file"]);
    /// ```
    pub fn adopt<T, O>(
        &self,
        value: T,
        release: impl FnOnce(T) -> O + Send + 'a,
    ) -> Result<(), ObjectDisposed>
    where
        T: Send + 'a,
        O: DisposeOutcome,
    {
        self.register_sync(move || release(value))
    }

    /// Registers `value` with the async closure that releases it; the closure's output may be
    /// `()` or `Result<(), E>`. On a disposed stack the closure is dropped unrun and the result is
    /// [`ObjectDisposed`].
    ///
    /// ```
    /// use janitor::dispose::AsyncDisposeStack;
    /// use std::sync::Mutex;
    ///
    /// let released = Mutex::new(Vec::new());
    /// let stack = AsyncDisposeStack::new();
    /// stack.adopt_async(7_u16, async |port| released.lock().unwrap().push(port)).unwrap();
    /// pollster::block_on(stack.try_dispose_async()).unwrap();
    /// assert_eq!(*released.lock().unwrap(), [7]);
    /// ```
    pub fn adopt_async<T, F>(
        &self,
        value: T,
        release: impl FnOnce(T) -> F + Send + 'a,
    ) -> Result<(), ObjectDisposed>
    where
        T: Send + 'a,
        F: Future<Output: DisposeOutcome> + Send + 'a,
    {
        self.register_async(move || release(value))
    }

    /// Registers a synchronous closure; it may return `()` or `Result<(), E>`. On a disposed
    /// stack it runs at once and the result is [`ObjectDisposed`].
    ///
    /// ```
    /// use janitor::dispose::AsyncDisposeStack;
    ///
    /// let stack = AsyncDisposeStack::new();
    /// stack.defer(|| Err::<(), _>("remote refused the goodbye")).unwrap();
    /// let error = pollster::block_on(stack.try_dispose_async()).unwrap_err();
    /// assert_eq!(error.error().to_string(), "remote refused the goodbye");
    /// ```
    pub fn defer<O: DisposeOutcome>(
        &self,
        cleanup: impl FnOnce() -> O + Send + 'a,
    ) -> Result<(), ObjectDisposed> {
        self.register_sync(cleanup)
    }

    /// Registers an async closure (or any closure returning a future); its output may be `()` or
    /// `Result<(), E>`. On a disposed stack the closure is dropped unrun and the result is
    /// [`ObjectDisposed`].
    ///
    /// ```
    /// use janitor::dispose::AsyncDisposeStack;
    /// use std::sync::atomic::{AtomicBool, Ordering};
    ///
    /// let drained = AtomicBool::new(false);
    /// let stack = AsyncDisposeStack::new();
    /// stack.defer_async(async || drained.store(true, Ordering::Relaxed)).unwrap();
    /// pollster::block_on(stack.try_dispose_async()).unwrap();
    /// assert!(drained.load(Ordering::Relaxed));
    /// ```
    pub fn defer_async<F>(
        &self,
        cleanup: impl FnOnce() -> F + Send + 'a,
    ) -> Result<(), ObjectDisposed>
    where
        F: Future<Output: DisposeOutcome> + Send + 'a,
    {
        self.register_async(cleanup)
    }

    /// Moves every entry into a new stack and leaves this one disposed and empty, running
    /// nothing: JavaScript's `stack.move()`. On a disposed stack the result is
    /// [`ObjectDisposed`].
    ///
    /// ```
    /// let building = janitor::dispose::AsyncDisposeStack::new();
    /// let owner = building.take().unwrap();
    /// assert!(building.is_disposed());
    /// assert!(!owner.is_disposed());
    /// assert!(building.take().is_err());
    /// # pollster::block_on(owner.try_dispose_async()).unwrap();
    /// ```
    #[track_caller]
    pub fn take(&self) -> Result<AsyncDisposeStack<'a>, ObjectDisposed> {
        let entries = self.entries.close().ok_or_else(Self::disposed_error)?;
        Ok(Self::holding(entries))
    }

    /// Disposes the stack: awaits every entry, last registered first, then reports what failed.
    /// Only the first call runs the entries; later calls complete with `Ok(())` at once.
    ///
    /// # Errors
    ///
    /// The errors the entries returned, chained latest first (see [`DisposeError`]).
    ///
    /// # Panics
    ///
    /// Resumes the first panic of an entry, after every entry ran.
    ///
    /// # Cancellation
    ///
    /// If the future is dropped before it completes, the entries that have not run are dropped
    /// unrun, and `tracing::warn!` says how many.
    ///
    /// ```
    /// use janitor::dispose::AsyncDisposeStack;
    /// use std::sync::Mutex;
    ///
    /// let order = Mutex::new(Vec::new());
    /// let stack = AsyncDisposeStack::new();
    /// stack.defer(|| order.lock().unwrap().push("first registered")).unwrap();
    /// stack.defer_async(async || order.lock().unwrap().push("last registered")).unwrap();
    /// pollster::block_on(stack.try_dispose_async()).unwrap();
    /// assert_eq!(*order.lock().unwrap(), ["last registered", "first registered"]);
    /// ```
    pub async fn try_dispose_async(&self) -> Result<(), DisposeError> {
        match self.entries.close() {
            Some(entries) => run_in_reverse(entries).await.finish(),
            None => Ok(()),
        }
    }

    /// Whether the stack has been disposed (or emptied by [`take`](Self::take)).
    ///
    /// ```
    /// let stack = janitor::dispose::AsyncDisposeStack::new();
    /// pollster::block_on(stack.try_dispose_async()).unwrap();
    /// assert!(stack.is_disposed());
    /// ```
    pub fn is_disposed(&self) -> bool {
        self.entries.is_closed()
    }

    fn register_sync<O: DisposeOutcome>(
        &self,
        cleanup: impl FnOnce() -> O + Send + 'a,
    ) -> Result<(), ObjectDisposed> {
        self.register(Entry::Sync(Box::new(move || cleanup().into_result())))
    }

    fn register_async<F: Future<Output: DisposeOutcome> + Send + 'a>(
        &self,
        cleanup: impl FnOnce() -> F + Send + 'a,
    ) -> Result<(), ObjectDisposed> {
        self.register(Entry::Async(Box::new(move || {
            Box::pin(async move { cleanup().await.into_result() })
        })))
    }

    fn register(&self, entry: Entry<'a>) -> Result<(), ObjectDisposed> {
        let Err(entry) = self.entries.push(entry) else {
            return Ok(());
        };
        match entry {
            Entry::Sync(cleanup) => {
                let mut failures = Failures::default();
                failures.run(cleanup);
                failures.finish_unreturned(
                    "releasing a value registered on a disposed AsyncDisposeStack failed",
                );
            }
            Entry::Async(_) => tracing::warn!(
                "an async cleanup was registered on a disposed AsyncDisposeStack; it cannot be \
                 awaited there and is dropped unrun"
            ),
        }
        Err(Self::disposed_error())
    }

    /// The error of a registration or `take` on a disposed stack, named by the stack's public path.
    fn disposed_error() -> ObjectDisposed {
        ObjectDisposed::named("janitor::dispose::AsyncDisposeStack")
    }
}

/// The entries not yet run; reports the ones a dropped dispose future abandoned.
struct Remaining<'a>(Vec<Entry<'a>>);

impl Drop for Remaining<'_> {
    fn drop(&mut self) {
        if !self.0.is_empty() {
            tracing::warn!(
                abandoned = self.0.len(),
                "an AsyncDisposeStack was dropped, or its dispose_async future dropped before it \
                 completed: these entries are dropped without running; await dispose_async to the end"
            );
        }
    }
}

async fn run_in_reverse(entries: Vec<Entry<'_>>) -> Failures {
    let mut remaining = Remaining(entries);
    let mut failures = Failures::default();
    while let Some(entry) = remaining.0.pop() {
        match entry {
            Entry::Sync(cleanup) => failures.run(cleanup),
            Entry::Async(cleanup) => {
                failures.record(catch_unwind(async move { cleanup().await }).await)
            }
        }
    }
    failures
}

impl Default for AsyncDisposeStack<'_> {
    #[track_caller]
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for AsyncDisposeStack<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = formatter.debug_struct("AsyncDisposeStack");
        match self.entries.len() {
            Some(entries) => debug.field("entries", &entries),
            None => debug.field("disposed", &true),
        };
        debug.finish()
    }
}

/// Disposing a stack through the trait (a stack inside another async stack): errors go to
/// `tracing::warn!`, since [`AsyncDispose::dispose_async`] returns nothing; panics are resumed.
///
/// ```
/// use janitor::dispose::{AsyncDispose, AsyncDisposeStack};
///
/// let outer = AsyncDisposeStack::new();
/// let inner = outer.push_async(AsyncDisposeStack::new()).unwrap();
/// pollster::block_on(outer.try_dispose_async()).unwrap();
/// assert!(inner.is_disposed());
/// ```
impl AsyncDispose for AsyncDisposeStack<'_> {
    async fn dispose_async(&self) {
        if let Some(entries) = self.entries.close() {
            run_in_reverse(entries)
                .await
                .finish_unreturned("disposing an AsyncDisposeStack through AsyncDispose failed");
        }
    }
}

impl Drop for AsyncDisposeStack<'_> {
    fn drop(&mut self) {
        drop(self.entries.close_on_drop().map(Remaining));
    }
}
