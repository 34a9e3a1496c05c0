//! `DisposeStack`: many cleanups, one dispose (TC39's `DisposableStack`).
//!
//! The invariants this file owns:
//!
//! - **once**: the entries run at most once, in one `dispose` (or the drop of an undisposed
//!   stack), whichever thread gets there first; `take` moves them out whole;
//! - **LIFO**: entries run in the reverse of the order they were registered in, so what was built
//!   last, and may depend on what was built before it, is released first;
//! - **nothing lost**: every entry runs even when an earlier one panicked or failed; errors are
//!   chained into one [`DisposeError`], panics resumed after the last entry (see
//!   [`failure`](super::failure)); a value handed to a disposed stack is released at once.
//!
//! Ordering: the entries live in a `Mutex<Option<Vec<..>>>`; `None` means disposed. Registration,
//! `take` and `dispose` each take the lock once, so a registration either lands in the stack
//! before the dispose that empties it, and runs, or finds `None` and is released by the caller.
//! Entries run after the lock is released, so an entry may use the stack (and find it disposed).

use std::fmt;
use std::sync::Arc;

use crate::dispose::entries::EntryList;
use crate::dispose::failure::{BoxError, DisposeError, DisposeOutcome, Failures};
use crate::{Dispose, ObjectDisposed};

/// One registered cleanup.
type Entry<'a> = Box<dyn FnOnce() -> Result<(), BoxError> + Send + 'a>;

/// A stack of cleanups, disposed together in reverse order: TC39's `DisposableStack`, with C#'s
/// `using` semantics for every entry.
///
/// - [`push`](Self::push) a value that implements [`Dispose`] (JavaScript's `use`); you keep an
///   `Arc` to it and use it until the stack is disposed;
/// - [`adopt`](Self::adopt) a value with the closure that releases it;
/// - [`defer`](Self::defer) a closure;
/// - [`take`](Self::take) everything into a new stack (JavaScript's `move`), typically to hand the
///   resources to a value that now owns them once construction succeeded;
/// - [`try_dispose`](Self::try_dispose) runs the entries, last registered first.
///
/// # Failures
///
/// Every entry runs, whatever the entries before it did. A closure may return `()` or
/// `Result<(), E>` (see [`DisposeOutcome`]); the errors come back from `try_dispose` as one
/// [`DisposeError`] whose latest failure wraps the earlier ones. A panicking entry does not stop
/// the others either: the first panic is resumed, with its original payload, after the last entry
/// ran (panics are bugs and stay panics; the errors of that run then go to `tracing`, since they
/// cannot be returned).
///
/// # Disposed stacks
///
/// After `try_dispose` (or `take`) the stack is disposed and empty. Registering on it returns
/// [`ObjectDisposed`], and releases the value at once (disposes it, runs its cleanup closure, or
/// runs the deferred closure), so that nothing handed to a disposed stack leaks; a failure of
/// that cleanup goes to `tracing`.
///
/// # Dropping
///
/// Dropping an undisposed stack disposes it. `Drop` cannot return errors, so they go to
/// `tracing::warn!`; call `try_dispose` yourself to see them. A stack dropped undisposed with entries
/// is a forgotten dispose: the leak detector ([`janitor::leak`](crate::leak)) reports it, with the
/// place the stack was created (`new`, `default` or `take`), when the level tracks it.
///
/// # Threads
///
/// Every method takes `&self`: a stack can be shared (`Arc<DisposeStack>`, or borrowed by scoped
/// threads) and registered to from several threads at once, at the cost of one uncontended lock
/// per call. Hence the entries must be `Send`, and [`push`](Self::push) returns an `Arc` rather
/// than a borrow: a borrow into the stack could not outlive a concurrent `take` or `dispose`.
/// The lifetime `'a` bounds what the entries borrow; a stack that holds only owned values is a
/// `DisposeStack<'static>`.
///
/// ```
/// use janitor::dispose::DisposeStack;
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// let released = AtomicUsize::new(0);
/// let stack = DisposeStack::new();
/// std::thread::scope(|scope| {
///     for _ in 0..4 {
///         scope.spawn(|| {
///             stack.defer(|| { released.fetch_add(1, Ordering::Relaxed); }).unwrap();
///         });
///     }
/// });
/// stack.try_dispose().unwrap();
/// assert_eq!(released.load(Ordering::Relaxed), 4);
/// ```
///
/// Through an `Arc` (or a `Box`), `stack.dispose()` resolves to [`Dispose::dispose`] on the
/// pointer, which returns nothing and logs the errors; write `(*stack).dispose()` to get them.
///
/// # Example: building in steps, releasing on failure
///
/// ```
/// use janitor::dispose::DisposeStack;
/// use std::sync::Mutex;
///
/// let log = Mutex::new(Vec::new());
/// let open = |name: &'static str, fail: bool| -> Result<&'static str, String> {
///     if fail { return Err(format!("cannot open {name}")); }
///     log.lock().unwrap().push(format!("open {name}"));
///     Ok(name)
/// };
///
/// let build = |fail_at_cache: bool| -> Result<DisposeStack<'_>, String> {
///     let stack = DisposeStack::new();
///     let file = open("file", false)?;
///     stack.adopt(file, |name| log.lock().unwrap().push(format!("close {name}"))).unwrap();
///     let socket = open("socket", false)?;
///     stack.adopt(socket, |name| log.lock().unwrap().push(format!("close {name}"))).unwrap();
///     open("cache", fail_at_cache)?; // on failure, `stack` is dropped: socket, then file
///     Ok(stack.take().unwrap())      // success: the caller owns everything
/// };
///
/// assert!(build(true).is_err());
/// assert_eq!(
///     *log.lock().unwrap(),
///     ["open file", "open socket", "close socket", "close file"]
/// );
/// ```
#[must_use = "an unused stack disposes its entries at once when dropped"]
pub struct DisposeStack<'a> {
    entries: EntryList<Entry<'a>>,
}

impl<'a> DisposeStack<'a> {
    /// An empty, undisposed stack.
    ///
    /// ```
    /// let stack = janitor::dispose::DisposeStack::new();
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

    /// Registers `value` to be disposed with the stack, and returns it behind an `Arc` so the
    /// caller keeps using it: JavaScript's `stack.use(value)`.
    ///
    /// On a disposed stack, `value` is disposed at once and the result is [`ObjectDisposed`].
    ///
    /// ```
    /// use janitor::dispose::DisposeStack;
    /// use janitor::{Dispose, DisposeFlag, ObjectDisposed};
    ///
    /// struct Channel {
    ///     disposed: DisposeFlag,
    /// }
    /// impl Channel {
    ///     fn send(&self) -> Result<(), ObjectDisposed> { self.disposed.check::<Self>() }
    /// }
    /// impl Dispose for Channel {
    ///     fn dispose(&self) { self.disposed.try_begin(); }
    /// }
    ///
    /// let stack = DisposeStack::new();
    /// let channel = stack.push(Channel { disposed: DisposeFlag::new() }).unwrap();
    /// channel.send().unwrap();
    /// stack.try_dispose().unwrap();
    /// assert!(channel.send().is_err());
    ///
    /// let late = Channel { disposed: DisposeFlag::new() };
    /// assert!(stack.push(late).is_err()); // disposed at once, nothing leaks
    /// ```
    pub fn push<T>(&self, value: T) -> Result<Arc<T>, ObjectDisposed>
    where
        T: Dispose + Send + Sync + 'a,
    {
        let value = Arc::new(value);
        let held = Arc::clone(&value);
        self.register(Box::new(move || {
            held.dispose();
            Ok(())
        }))?;
        Ok(value)
    }

    /// Registers `value` with the closure that releases it; the stack owns the value until then.
    /// `release` may return `()` or `Result<(), E>` (see [`DisposeOutcome`]).
    ///
    /// On a disposed stack, `release(value)` runs at once and the result is [`ObjectDisposed`].
    ///
    /// ```
    /// use janitor::dispose::DisposeStack;
    /// use std::sync::Mutex;
    ///
    /// let closed = Mutex::new(Vec::new());
    /// let stack = DisposeStack::new();
    /// stack.adopt(3, |descriptor| closed.lock().unwrap().push(descriptor)).unwrap();
    /// stack.adopt(4, |descriptor| closed.lock().unwrap().push(descriptor)).unwrap();
    /// stack.try_dispose().unwrap();
    /// assert_eq!(*closed.lock().unwrap(), [4, 3]);
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
        self.register(Box::new(move || release(value).into_result()))
    }

    /// Registers a closure to run when the stack is disposed: Go's and Zig's `defer`.
    /// `cleanup` may return `()` or `Result<(), E>` (see [`DisposeOutcome`]).
    ///
    /// On a disposed stack, `cleanup` runs at once and the result is [`ObjectDisposed`].
    ///
    /// ```
    /// use janitor::dispose::DisposeStack;
    /// use std::sync::atomic::{AtomicBool, Ordering};
    ///
    /// let flushed = AtomicBool::new(false);
    /// let stack = DisposeStack::new();
    /// stack.defer(|| flushed.store(true, Ordering::Relaxed)).unwrap();
    /// stack.defer(|| std::fs::metadata("/").map(drop)).unwrap(); // a fallible entry
    /// drop(stack);
    /// assert!(flushed.load(Ordering::Relaxed));
    /// ```
    pub fn defer<O: DisposeOutcome>(
        &self,
        cleanup: impl FnOnce() -> O + Send + 'a,
    ) -> Result<(), ObjectDisposed> {
        self.register(Box::new(move || cleanup().into_result()))
    }

    /// Moves every entry into a new stack and leaves this one disposed and empty, without running
    /// anything: JavaScript's `stack.move()`. The usual end of a constructor that built its
    /// resources under a stack: on success the new owner takes them; on an early return the stack
    /// is dropped and releases what was built.
    ///
    /// On a disposed stack the result is [`ObjectDisposed`].
    ///
    /// ```
    /// use janitor::dispose::DisposeStack;
    /// use std::sync::atomic::{AtomicU32, Ordering};
    ///
    /// let runs = AtomicU32::new(0);
    /// let building = DisposeStack::new();
    /// building.defer(|| { runs.fetch_add(1, Ordering::Relaxed); }).unwrap();
    /// let owner = building.take().unwrap();
    /// assert!(building.is_disposed());
    /// drop(building); // empty: runs nothing
    /// assert_eq!(runs.load(Ordering::Relaxed), 0);
    /// owner.try_dispose().unwrap();
    /// assert_eq!(runs.load(Ordering::Relaxed), 1);
    /// ```
    #[track_caller]
    pub fn take(&self) -> Result<DisposeStack<'a>, ObjectDisposed> {
        let entries = self.entries.close().ok_or_else(Self::disposed_error)?;
        Ok(Self::holding(entries))
    }

    /// Disposes the stack: runs every entry, last registered first, then reports what failed.
    /// Only the first call (on any thread) runs the entries; later calls return `Ok(())` at once.
    ///
    /// # Errors
    ///
    /// The errors the entries returned, chained latest first (see [`DisposeError`]).
    ///
    /// # Panics
    ///
    /// Resumes the first panic of an entry, after every entry ran.
    ///
    /// ```
    /// use janitor::dispose::DisposeStack;
    /// use std::sync::Mutex;
    ///
    /// let order = Mutex::new(Vec::new());
    /// let stack = DisposeStack::new();
    /// for step in 1..=3 {
    ///     let order = &order;
    ///     stack.defer(move || order.lock().unwrap().push(step)).unwrap();
    /// }
    /// stack.try_dispose().unwrap();
    /// stack.try_dispose().unwrap(); // already disposed: nothing runs
    /// assert_eq!(*order.lock().unwrap(), [3, 2, 1]);
    /// ```
    pub fn try_dispose(&self) -> Result<(), DisposeError> {
        match self.entries.close() {
            Some(entries) => run_in_reverse(entries).finish(),
            None => Ok(()),
        }
    }

    /// Whether the stack has been disposed (or emptied by [`take`](Self::take)).
    ///
    /// ```
    /// let stack = janitor::dispose::DisposeStack::new();
    /// stack.try_dispose().unwrap();
    /// assert!(stack.is_disposed());
    /// ```
    pub fn is_disposed(&self) -> bool {
        self.entries.is_closed()
    }

    fn register(&self, entry: Entry<'a>) -> Result<(), ObjectDisposed> {
        let Err(entry) = self.entries.push(entry) else {
            return Ok(());
        };
        let mut failures = Failures::default();
        failures.run(entry);
        failures
            .finish_unreturned("releasing a value registered on a disposed DisposeStack failed");
        Err(Self::disposed_error())
    }

    /// The error of a registration or `take` on a disposed stack, named by the stack's public path.
    fn disposed_error() -> ObjectDisposed {
        ObjectDisposed::named("janitor::dispose::DisposeStack")
    }
}

fn run_in_reverse(entries: Vec<Entry<'_>>) -> Failures {
    let mut failures = Failures::default();
    for entry in entries.into_iter().rev() {
        failures.run(entry);
    }
    failures
}

impl Default for DisposeStack<'_> {
    #[track_caller]
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for DisposeStack<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.entries.len() {
            Some(entries) => formatter
                .debug_struct("DisposeStack")
                .field("entries", &entries)
                .finish(),
            None => formatter
                .debug_struct("DisposeStack")
                .field("disposed", &true)
                .finish(),
        }
    }
}

/// Disposing a stack through the trait (a stack inside another stack, a `#[dispose]` field):
/// errors go to `tracing::warn!`, since [`Dispose::dispose`] returns nothing; panics are resumed.
///
/// ```
/// use janitor::Dispose;
/// use janitor::dispose::DisposeStack;
///
/// let outer = DisposeStack::new();
/// let inner = outer.push(DisposeStack::new()).unwrap();
/// outer.try_dispose().unwrap();
/// assert!(inner.is_disposed());
/// ```
impl Dispose for DisposeStack<'_> {
    fn dispose(&self) {
        if let Some(entries) = self.entries.close() {
            run_in_reverse(entries)
                .finish_unreturned("disposing a DisposeStack through Dispose::dispose failed");
        }
    }
}

impl Drop for DisposeStack<'_> {
    fn drop(&mut self) {
        if let Some(entries) = self.entries.close_on_drop() {
            run_in_reverse(entries)
                .finish_unreturned("an undisposed DisposeStack was dropped and its cleanup failed");
        }
    }
}
