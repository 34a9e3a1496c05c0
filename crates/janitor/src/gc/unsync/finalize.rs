//! Finalization on the thread-local heap: `unsync::Finalize`, registration, and the calls that
//! change it.
//!
//! Why a trait of its own: the shared heap's [`Finalize`](crate::gc::Finalize) hands the
//! finalizer a shared-heap `Gc<Self>` and requires `Send + Sync`, because its finalizers run on
//! the finalizer thread. Here finalizers run on the owning thread and receive an `unsync::Gc`, so
//! the type needs neither bound. The hook travels in
//! [`TraceMeta::UNSYNC_FINALIZER`](crate::gc::TraceMeta::UNSYNC_FINALIZER) beside the shared heap's, so one `#[derive(Trace)]` serves both heaps: `#[trace(unsync_finalize)]` sets
//! it and implements [`FinalizerRegistered`], which `Finalize` requires, so a finalizable type
//! cannot be allocated unregistered by accident.
//!
//! Invariant owned here: an object is registered (`REGISTERED`) from its allocation until its
//! finalizer runs or is suppressed; `reregister_for_finalize` registers it again.

use super::object::{CONDEMNED, HAS_NODE, Header, REGISTERED};
use super::ptr::{Gc, with_lent};
use crate::gc::core::trace::{FinalizableProbe, Trace, UnsyncFinalizer};
use std::marker::PhantomData;
use std::ptr::NonNull;

/// Cleanup that runs on the owning thread after an object became unreachable, as a .NET
/// finalizer (`~T()`) or a JavaScript `FinalizationRegistry` callback.
///
/// Implement it on a type that derives `Trace` with `#[trace(unsync_finalize)]`. When a
/// registered object becomes unreachable (its last `Gc` drops, or a collection finds it in a
/// garbage cycle) it is not freed: it waits in the thread's finalizer queue, which keeps it and
/// everything it references alive and intact. The queue is run on this thread, never inside a
/// `Drop` or a finalizer the heap is running: before [`collect`](super::collect) and
/// [`collect_generation`](super::collect_generation) return, by
/// [`wait_for_pending_finalizers`](super::wait_for_pending_finalizers), and after an automatic
/// collection (inside the `Gc::new` that started it). Every normal finalizer queued runs before
/// any critical one ([`CRITICAL`](Finalize::CRITICAL)). The object is then unregistered: it is
/// freed when it is unreachable again, unless
/// [`reregister_for_finalize`](super::reregister_for_finalize) registered it again; storing a
/// clone of `this` resurrects it.
///
/// A panic that escapes a finalizer unwinds out of the call that ran the queue; the finalizers
/// still queued run at the next such call. (The shared heap aborts instead, as .NET does,
/// because there no caller is on the stack to receive it.)
///
/// ```
/// use janitor::gc::Trace;
/// use janitor::gc::unsync::{Finalize, Gc, wait_for_pending_finalizers};
/// use std::cell::Cell;
///
/// thread_local!(static CLOSED: Cell<bool> = const { Cell::new(false) });
///
/// #[derive(Trace)]
/// #[trace(unsync_finalize)]
/// struct Window {
///     #[trace(skip)]
///     title: String,
/// }
///
/// impl Finalize for Window {
///     fn finalize(this: &Gc<Self>) {
///         assert_eq!(this.title, "main");
///         CLOSED.set(true);
///     }
/// }
///
/// drop(Gc::new(Window { title: "main".into() }));
/// wait_for_pending_finalizers();
/// assert!(CLOSED.get());
/// ```
pub trait Finalize: Trace + FinalizerRegistered + Sized + 'static {
    /// Whether this is a critical finalizer: among the queued objects, it runs after every
    /// normal one. Default: `false`.
    ///
    /// ```
    /// use janitor::gc::Trace;
    /// use janitor::gc::unsync::{Finalize, Gc};
    /// #[derive(Trace)]
    /// #[trace(unsync_finalize)]
    /// struct Handle;
    /// impl Finalize for Handle {
    ///     const CRITICAL: bool = true;
    ///     fn finalize(_: &Gc<Self>) {}
    /// }
    /// assert!(Handle::CRITICAL);
    /// ```
    const CRITICAL: bool = false;

    /// Runs once the object became unreachable; `this` is a `Gc` to it.
    ///
    /// ```
    /// use janitor::gc::Trace;
    /// use janitor::gc::unsync::{Finalize, Gc, wait_for_pending_finalizers};
    /// use std::cell::RefCell;
    ///
    /// thread_local!(static SAVED: RefCell<Vec<Gc<Phoenix>>> = const { RefCell::new(Vec::new()) });
    ///
    /// #[derive(Trace)]
    /// #[trace(unsync_finalize)]
    /// struct Phoenix(#[trace(skip)] u32);
    /// impl Finalize for Phoenix {
    ///     fn finalize(this: &Gc<Self>) {
    ///         SAVED.with_borrow_mut(|saved| saved.push(this.clone()));
    ///     }
    /// }
    ///
    /// drop(Gc::new(Phoenix(7)));
    /// wait_for_pending_finalizers();
    /// assert_eq!(SAVED.with_borrow(|saved| saved[0].0), 7); // alive and usable
    /// ```
    fn finalize(this: &Gc<Self>);
}

/// Says that the objects of a type are registered for finalization on the thread-local heap:
/// implemented by `#[derive(Trace)]` with `#[trace(unsync_finalize)]`, and required by
/// [`Finalize`].
///
/// # Safety
///
/// Implement it by hand only together with a hand-written [`TraceMeta`](crate::gc::TraceMeta)
/// whose [`UNSYNC_FINALIZER`](crate::gc::TraceMeta::UNSYNC_FINALIZER) is `Some(Finalizer::of())`.
///
/// ```
/// use janitor::gc::{Trace, TraceMeta, Tracer};
/// use janitor::gc::unsync::{Finalize, Finalizer, FinalizerRegistered, Gc};
///
/// struct Hand;
/// // SAFETY: holds no `Gc`, reports none.
/// unsafe impl Trace for Hand {
///     fn trace(&self, _: &mut Tracer<'_>) {}
/// }
/// // SAFETY: no `Gc` inside; the hook registers every `Hand` for finalization.
/// unsafe impl TraceMeta for Hand {
///     const HOLDS_GC: bool = false;
///     const UNSYNC_FINALIZER: Option<Finalizer<Self>> = Some(Finalizer::of());
/// }
/// // SAFETY: `UNSYNC_FINALIZER` above is `Some(Finalizer::of())`.
/// unsafe impl FinalizerRegistered for Hand {}
/// impl Finalize for Hand {
///     fn finalize(_: &Gc<Self>) {}
/// }
/// drop(Gc::new(Hand));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` implements `unsync::Finalize` but its objects would not be registered for finalization",
    label = "not registered for finalization",
    note = "add `#[trace(unsync_finalize)]` to the type's `#[derive(Trace)]`, or, for a hand-written `TraceMeta`, set `UNSYNC_FINALIZER` to `Some(Finalizer::of())` and implement `FinalizerRegistered`"
)]
pub unsafe trait FinalizerRegistered {}

impl<T: Finalize> FinalizableProbe<T> {
    /// `true`: the type has a thread-local-heap finalizer (see `FinalizableProbe`).
    pub const LOCAL_FINALIZABLE: bool = true;
}

impl<T: Finalize> UnsyncFinalizer<T> {
    /// The hook that runs `T`'s [`Finalize::finalize`].
    ///
    /// ```
    /// use janitor::gc::Trace;
    /// use janitor::gc::unsync::{Finalize, Finalizer, Gc};
    /// #[derive(Trace)]
    /// #[trace(unsync_finalize)]
    /// struct Quiet;
    /// impl Finalize for Quiet {
    ///     fn finalize(_: &Gc<Self>) {}
    /// }
    /// let _hook: Finalizer<Quiet> = Finalizer::of();
    /// ```
    pub const fn of() -> Self {
        Self {
            run: run_erased::<T>,
            critical: T::CRITICAL,
            owns: PhantomData,
        }
    }
}

/// # Safety
/// `header` is a live `T` object's header, on which the caller lends a count for the call.
unsafe fn run_erased<T: Finalize>(header: NonNull<u8>) {
    // SAFETY: the caller's contract.
    unsafe { with_lent::<T, ()>(header.cast::<Header>(), T::finalize) }
}

/// Unregisters the object: its finalizer will not run (also when it already waits in the queue),
/// unless [`reregister_for_finalize`] registers it again. .NET's `GC.SuppressFinalize`, which a
/// `dispose` calls.
///
/// ```
/// use janitor::gc::Trace;
/// use janitor::gc::unsync::{Finalize, Gc, is_registered_for_finalize, suppress_finalize};
/// #[derive(Trace)]
/// #[trace(unsync_finalize)]
/// struct Socket;
/// impl Finalize for Socket {
///     fn finalize(_: &Gc<Self>) { unreachable!("suppressed") }
/// }
/// let socket = Gc::new(Socket);
/// suppress_finalize(&socket);
/// assert!(!is_registered_for_finalize(&socket));
/// ```
pub fn suppress_finalize<T: Finalize>(object: &Gc<T>) {
    object.header().clear(REGISTERED);
}

/// Registers the object for finalization again, after its finalizer ran or was suppressed.
/// .NET's `GC.ReRegisterForFinalize`. Does nothing after the thread's heap ended (thread exit).
///
/// ```
/// use janitor::gc::Trace;
/// use janitor::gc::unsync::{Finalize, Gc, is_registered_for_finalize, reregister_for_finalize, suppress_finalize};
/// #[derive(Trace)]
/// #[trace(unsync_finalize)]
/// struct Socket;
/// impl Finalize for Socket {
///     fn finalize(_: &Gc<Self>) {}
/// }
/// let socket = Gc::new(Socket);
/// suppress_finalize(&socket);
/// reregister_for_finalize(&socket);
/// assert!(is_registered_for_finalize(&socket));
/// ```
pub fn reregister_for_finalize<T: Finalize>(object: &Gc<T>) {
    let header = object.header();
    if header.has(HAS_NODE)
        && !header.has(CONDEMNED)
        && !super::heap::with(|heap| heap.closed.get())
    {
        header.set(REGISTERED);
    }
}

/// Whether the object's finalizer will run when it becomes unreachable.
///
/// ```
/// use janitor::gc::Trace;
/// use janitor::gc::unsync::{Finalize, Gc, is_registered_for_finalize};
/// #[derive(Trace)]
/// #[trace(unsync_finalize)]
/// struct Socket;
/// impl Finalize for Socket {
///     fn finalize(_: &Gc<Self>) {}
/// }
/// assert!(is_registered_for_finalize(&Gc::new(Socket)));
/// ```
#[must_use]
pub fn is_registered_for_finalize<T: Finalize>(object: &Gc<T>) -> bool {
    object.header().has(REGISTERED)
}
