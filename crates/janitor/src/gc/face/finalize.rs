//! Finalization: the `Finalize` trait, registration, and the calls that change it.
//!
//! Invariant owned here: an object whose type implements [`Finalize`] is registered for
//! finalization from the moment it is allocated, and a type cannot implement `Finalize` without its
//! objects being registered: `Finalize` requires [`FinalizerRegistered`], which
//! `#[trace(finalize)]` implements together with the
//! [`TraceMeta::FINALIZER`](crate::gc::TraceMeta::FINALIZER) hook that `Gc::new` reads; and that
//! hook only compiles for a type that implements `Finalize`. Whether an object is registered is
//! the `R` bit of its count word (`core/count.rs`); the queue is `side/queue.rs`, the thread that
//! runs finalizers `engine/finalizer_thread.rs`, and the argument
//! `docs/gc-soundness.md#finalization`.

use crate::gc::core::object::{self, Header};
use crate::gc::core::trace::{FinalizableProbe, Finalizer, Trace};
use crate::gc::face::ptr::Gc;
use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::NonNull;

/// Cleanup that runs on the finalizer thread after an object became unreachable, as a .NET
/// finalizer (`~T()`).
///
/// Implement it on a type that derives `Trace` with `#[trace(finalize)]`; the attribute registers
/// every object of the type for finalization when it is allocated. Both halves are checked at
/// compile time: `Finalize` without the attribute does not compile (the type is not
/// [`FinalizerRegistered`]), and neither does the attribute without `Finalize`.
///
/// When a registered object becomes unreachable (its last `Gc` drops, or a collection finds it in
/// a garbage cycle), it is not freed: it goes to the f-reachable queue, which keeps it and
/// everything it references alive and intact, and the finalizer thread (`janitor-finalizer`)
/// calls `finalize` with a `Gc` to it. The object is then unregistered: it is freed when it is
/// unreachable again, unless [`reregister_for_finalize`](crate::gc::reregister_for_finalize)
/// registered it again. A finalizer that stores a clone of `this` somewhere reachable resurrects
/// the object; it stays usable. Unlike .NET, an acyclic object is found dead as soon as its
/// last reference drops, not at some later collection (a cycle at the next collection); it
/// then reaches the finalizer thread in a batch with others from the same thread: at once when
/// the finalizer thread is idle, and at the latest at the next collection or
/// [`wait_for_pending_finalizers`](crate::gc::wait_for_pending_finalizers) on any thread, or
/// when its thread exits.
///
/// Among the objects one collection finds dead, every normal finalizer runs before any critical
/// one ([`CRITICAL`](Finalize::CRITICAL)), as for .NET's `CriticalFinalizerObject`. A panic that
/// escapes a finalizer aborts the process, unless a handler installed with
/// [`set_finalizer_panic_handler`](crate::gc::set_finalizer_panic_handler) says to continue.
///
/// Finalizers run on another thread, so a finalizable type is `Send + Sync` (as every `Gc`
/// value is).
///
/// Only an object's own value is finalized: the finalizer receives `&Gc<Self>`, which a value
/// held inside another one does not have. So a finalizable value must be the value of a `Gc` of
/// its own, and holding one by value anywhere else on the heap (a field of a derived type, a
/// `Vec`, `Option`, `Box`, tuple, array or map, a `GcCell`, `GcMutex`, `GcRwLock` or `std::sync`
/// lock, however deeply nested) does not build: the error appears where the outermost type is
/// allocated. Hold a `Gc<T>` there instead (`Vec<Gc<T>>`, `GcCell<Option<Gc<T>>>`): each is an
/// object of its own and is finalized. The check is a constant evaluated when the code is built,
/// so `cargo check` does not report it; and a hand-written
/// [`TraceMeta`](crate::gc::TraceMeta) says for itself whether what it holds has a finalizer.
///
/// `#[derive(Trace)]` also refuses, naming the field, a finalizable value where no `TraceMeta`
/// can see it: in a `#[trace(skip)]` field (or a skipped variant), and inside an `Arc` (or, on
/// the thread-local heap, an `Rc`) in any field, which reports nothing of what it shares. It
/// reads the field's type as written: a type named through a type parameter of a generic type
/// (`#[trace(skip)] spare: Option<C>`), or an `Arc` allocated directly (`Gc::new(Arc::new(c))`),
/// is beyond its sight, since deciding whether a generic type implements `Finalize` would need
/// specialization, which stable Rust lacks.
///
/// ```compile_fail,E0080
/// use janitor::gc::{Finalize, Gc, Trace};
/// use std::sync::Arc;
///
/// #[derive(Trace)]
/// #[trace(finalize)]
/// struct Connection;
/// impl Finalize for Connection {
///     fn finalize(_: &Gc<Self>) {}
/// }
///
/// #[derive(Trace)]
/// struct Client {
///     shared: Arc<Connection>, // refused: "field `shared` of `Client` holds ... inside an `Arc`"
/// }
/// let client = Gc::new(Client { shared: Arc::new(Connection) });
/// ```
///
/// ```compile_fail,E0080
/// use janitor::gc::{Finalize, Gc, Trace};
///
/// #[derive(Trace)]
/// #[trace(finalize)]
/// struct Connection;
/// impl Finalize for Connection {
///     fn finalize(_: &Gc<Self>) {}
/// }
///
/// let pool = Gc::new(vec![Connection, Connection]); // two values no finalizer would ever see
/// ```
///
/// ```
/// use janitor::gc::{Finalize, Gc, Trace, collect, wait_for_pending_finalizers};
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// static FINALIZED: AtomicUsize = AtomicUsize::new(0);
///
/// #[derive(Trace)]
/// #[trace(finalize)]
/// struct Connection;
/// impl Finalize for Connection {
///     fn finalize(_: &Gc<Self>) {
///         FINALIZED.fetch_add(1, Ordering::SeqCst);
///     }
/// }
///
/// let pool = Gc::new(vec![Gc::new(Connection), Gc::new(Connection)]); // two objects
/// drop(pool);
/// collect();
/// wait_for_pending_finalizers();
/// assert_eq!(FINALIZED.load(Ordering::SeqCst), 2);
/// ```
///
/// ```
/// use janitor::gc::{Finalize, Gc, Trace, wait_for_pending_finalizers};
/// use std::sync::atomic::{AtomicBool, Ordering};
///
/// static CLOSED: AtomicBool = AtomicBool::new(false);
///
/// #[derive(Trace)]
/// #[trace(finalize)]
/// struct TempFile {
///     #[trace(skip)]
///     path: String,
/// }
///
/// impl Finalize for TempFile {
///     fn finalize(this: &Gc<Self>) {
///         assert_eq!(this.path, "/tmp/scratch");
///         CLOSED.store(true, Ordering::SeqCst);
///     }
/// }
///
/// drop(Gc::new(TempFile { path: "/tmp/scratch".into() }));
/// wait_for_pending_finalizers();
/// assert!(CLOSED.load(Ordering::SeqCst));
/// ```
pub trait Finalize: Trace + FinalizerRegistered + Send + Sync + Sized + 'static {
    /// Whether this is a critical finalizer: among the objects one collection finds dead, it
    /// runs after every normal one (.NET's `CriticalFinalizerObject`; a `SafeHandle` is one).
    /// Default: `false`.
    ///
    /// ```
    /// use janitor::gc::{Finalize, Gc, Trace};
    ///
    /// #[derive(Trace)]
    /// #[trace(finalize)]
    /// struct Handle;
    /// impl Finalize for Handle {
    ///     const CRITICAL: bool = true;
    ///     fn finalize(_: &Gc<Self>) {}
    /// }
    /// assert!(Handle::CRITICAL);
    /// ```
    const CRITICAL: bool = false;

    /// Runs on the finalizer thread once the object became unreachable; `this` is a `Gc` to it.
    /// Storing a clone of `this` where the program can reach it resurrects the object.
    ///
    /// ```
    /// use janitor::gc::{Finalize, Gc, Trace, wait_for_pending_finalizers};
    /// use std::sync::Mutex;
    ///
    /// static RESURRECTED: Mutex<Vec<Gc<Phoenix>>> = Mutex::new(Vec::new());
    ///
    /// #[derive(Trace)]
    /// #[trace(finalize)]
    /// struct Phoenix(#[trace(skip)] u32);
    /// impl Finalize for Phoenix {
    ///     fn finalize(this: &Gc<Self>) {
    ///         RESURRECTED.lock().unwrap().push(this.clone());
    ///     }
    /// }
    ///
    /// drop(Gc::new(Phoenix(7)));
    /// wait_for_pending_finalizers();
    /// assert_eq!(RESURRECTED.lock().unwrap()[0].0, 7); // alive and usable
    /// ```
    fn finalize(this: &Gc<Self>);
}

/// Says that the objects of a type are registered for finalization when allocated: implemented
/// by `#[derive(Trace)]` with `#[trace(finalize)]`, and required by [`Finalize`].
///
/// # Safety
///
/// Implement it by hand only together with a hand-written [`TraceMeta`](crate::gc::TraceMeta)
/// whose [`FINALIZER`](crate::gc::TraceMeta::FINALIZER) is `Some(Finalizer::of())`: otherwise
/// objects of a type that implements `Finalize` would be allocated unregistered, and their
/// finalizer would never run.
///
/// ```
/// use janitor::gc::{Finalize, Finalizer, FinalizerRegistered, Gc, Trace, TraceMeta, Tracer};
///
/// struct Hand;
/// // SAFETY: holds no `Gc`.
/// unsafe impl Trace for Hand {
///     fn trace(&self, _: &mut Tracer<'_>) {}
/// }
/// // SAFETY: a leaf; the hook registers every `Hand` for finalization.
/// unsafe impl TraceMeta for Hand {
///     const HOLDS_GC: bool = false;
///     const FINALIZER: Option<Finalizer<Self>> = Some(Finalizer::of());
/// }
/// // SAFETY: `FINALIZER` above is `Some(Finalizer::of())`.
/// unsafe impl FinalizerRegistered for Hand {}
/// impl Finalize for Hand {
///     fn finalize(_: &Gc<Self>) {}
/// }
/// drop(Gc::new(Hand));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` implements `Finalize` but its objects would not be registered for finalization",
    label = "not registered for finalization",
    note = "add `#[trace(finalize)]` to the type's `#[derive(Trace)]`, or, for a hand-written `TraceMeta`, set `FINALIZER` to `Some(Finalizer::of())` and implement `FinalizerRegistered`"
)]
pub unsafe trait FinalizerRegistered {}

impl<T: Finalize> FinalizableProbe<T> {
    /// `true`: the type has a shared-heap finalizer (see `FinalizableProbe`).
    pub const SHARED_FINALIZABLE: bool = true;
}

impl<T: Finalize> Finalizer<T> {
    /// The hook that runs `T`'s [`Finalize::finalize`].
    ///
    /// ```
    /// use janitor::gc::{Finalize, Finalizer, Gc, Trace};
    /// #[derive(Trace)]
    /// #[trace(finalize)]
    /// struct Quiet;
    /// impl Finalize for Quiet {
    ///     fn finalize(_: &Gc<Self>) {}
    /// }
    /// let _hook: Finalizer<Quiet> = Finalizer::of();
    /// ```
    pub const fn of() -> Self {
        Self::from_parts(run_erased::<T>, T::CRITICAL)
    }
}

/// Runs the finalizer of an object of type `T` whose count the finalizer queue holds, then gives
/// that count back (which frees the object unless the finalizer resurrected or re-registered
/// it). Returns the panic that escaped the finalizer or the value's drop, if any.
///
/// # Safety
/// `header` is a live object of type `T` holding a count that the caller hands over.
unsafe fn run_erased<T: Finalize>(header: NonNull<Header>) -> Result<(), Box<dyn Any + Send>> {
    catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the caller hands over a count on a live `T`.
        let gc = unsafe { Gc::<T>::from_value(object::value_of::<T>(header)) };
        // SAFETY: the count keeps the object live.
        let header_ref = unsafe { header.as_ref() };
        // Suppressed while queued: skipped, and the drop below frees it like any other object.
        let claimed = if header_ref.vtable().tracked {
            header_ref.count().claim_finalizer()
        } else {
            header_ref.count().claim_finalizer_of_untracked()
        };
        if !claimed {
            return;
        }
        T::finalize(&gc);
    }))
}

/// Asks the finalizer thread not to finalize the object, as .NET's `GC.SuppressFinalize`: the
/// usual last step of a `dispose` that already released what the finalizer would. It is freed
/// like any other object when unreachable. Does nothing if it is already unregistered. On an
/// object already waiting in the f-reachable queue (reached again through a long weak reference)
/// it cancels the pending finalizer, as .NET's finalizer thread skips such objects;
/// [`reregister_for_finalize`] brings it back.
///
/// ```
/// use janitor::gc::{Finalize, Gc, Trace, suppress_finalize, wait_for_pending_finalizers};
/// use std::sync::atomic::{AtomicBool, Ordering};
///
/// static RAN: AtomicBool = AtomicBool::new(false);
///
/// #[derive(Trace)]
/// #[trace(finalize)]
/// struct Connection;
/// impl Finalize for Connection {
///     fn finalize(_: &Gc<Self>) {
///         RAN.store(true, Ordering::SeqCst);
///     }
/// }
///
/// let connection = Gc::new(Connection);
/// suppress_finalize(&connection); // disposed by hand
/// drop(connection);
/// wait_for_pending_finalizers();
/// assert!(!RAN.load(Ordering::SeqCst));
/// ```
pub fn suppress_finalize<T: Finalize>(object: &Gc<T>) {
    // SAFETY: `object` holds a count, so the object is live.
    unsafe { object.header().as_ref() }.count().suppress();
}

/// Registers the object for finalization again, as .NET's `GC.ReRegisterForFinalize`: after its
/// finalizer ran (it was resurrected), or after [`suppress_finalize`]. Registration is one bit:
/// registering an object that is registered changes nothing, so its finalizer runs once per time
/// it becomes unreachable (.NET would queue it once per call). On a member of a garbage cycle
/// whose values are being dropped (reached from the `Drop` of another member) it does nothing:
/// that object's value is gone, and no finalizer may see it.
///
/// ```
/// use janitor::gc::{Finalize, Gc, Trace, reregister_for_finalize, suppress_finalize,
///                   wait_for_pending_finalizers};
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// static RUNS: AtomicUsize = AtomicUsize::new(0);
///
/// #[derive(Trace)]
/// #[trace(finalize)]
/// struct Clipboard;
/// impl Finalize for Clipboard {
///     fn finalize(_: &Gc<Self>) {
///         RUNS.fetch_add(1, Ordering::SeqCst);
///     }
/// }
///
/// let clipboard = Gc::new(Clipboard);
/// suppress_finalize(&clipboard);       // nothing to release yet
/// reregister_for_finalize(&clipboard); // opened: now there is
/// drop(clipboard);
/// wait_for_pending_finalizers();
/// assert_eq!(RUNS.load(Ordering::SeqCst), 1);
/// ```
pub fn reregister_for_finalize<T: Finalize>(object: &Gc<T>) {
    // SAFETY: `object` holds a count, so the object is live.
    unsafe { object.header().as_ref() }.count().reregister();
}

/// Whether the object is registered for finalization now (a moment's view).
///
/// ```
/// use janitor::gc::{Finalize, Gc, Trace, is_registered_for_finalize, suppress_finalize};
/// #[derive(Trace)]
/// #[trace(finalize)]
/// struct Session;
/// impl Finalize for Session {
///     fn finalize(_: &Gc<Self>) {}
/// }
/// let session = Gc::new(Session);
/// assert!(is_registered_for_finalize(&session));
/// suppress_finalize(&session);
/// assert!(!is_registered_for_finalize(&session));
/// ```
pub fn is_registered_for_finalize<T: Finalize>(object: &Gc<T>) -> bool {
    // SAFETY: `object` holds a count, so the object is live.
    unsafe { object.header().as_ref() }.count().is_registered()
}

/// Keeps `value` alive up to this call, as .NET's `GC.KeepAlive`: the compiler cannot end its
/// use earlier. In Rust a value lives until its scope ends anyway; call it to document, next to
/// code that hands out something the finalizer releases, that the owner must outlive that use.
///
/// ```
/// use janitor::gc::{Gc, keep_alive};
/// let resource = Gc::new(3);
/// let raw = *resource; // a use of something the resource's finalizer would release
/// keep_alive(&resource);
/// assert_eq!(raw, 3);
/// ```
#[inline]
pub fn keep_alive<T: ?Sized>(value: &T) {
    std::hint::black_box(value);
}
