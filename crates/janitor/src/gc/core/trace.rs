//! `Trace`: how the collector learns which `Gc` pointers a value owns.
//!
//! Invariant owned here: a `Tracer` is the only door from a value to the engine, and it is opened
//! only by the engine (at construction, to decide tracking; in a collection; and on the finalizer
//! thread, to find what only queued objects reach). Users implement
//! [`Trace`] by calling `trace` on their fields; they never see what a tracer does with an edge.

use crate::gc::core::object::{Header, node_of};
use crate::sync::EventCount;
use std::any::Any;
use std::marker::PhantomData;
use std::ptr::NonNull;

/// A type whose `Gc` pointers the cycle collector can enumerate.
///
/// `trace` calls [`Trace::trace`] on every field that may hold a [`Gc`](crate::gc::Gc); the
/// implementations for `Gc`, the standard containers and janitor's cells do the rest. Derive it
/// with `#[derive(Trace)]`, which traces every field (mark a field `#[trace(skip)]` when its type
/// holds no `Gc` and does not implement `Trace`) and implements [`TraceMeta`] too.
///
/// `Trace` is dyn-compatible: a trait with `Trace` as a supertrait can be the pointee of a
/// `Gc<dyn Trait>` (made with [`coerce_gc!`](crate::coerce_gc)), and a `Box<dyn Trace + Send +
/// Sync>` field is traced through its vtable. What the heap needs to know about a type before it
/// has a value (whether it can hold a `Gc`, whether its edges change, its finalizer) is in
/// [`TraceMeta`], the second half, which is not dyn-compatible.
///
/// # Safety
///
/// The collector frees an object when every reference to it comes from other garbage objects. It
/// learns those references only from `trace`, so an implementation must:
///
/// * report each `Gc` the value **owns**, each exactly once per call. Reporting a `Gc` the value
///   does not own (one owned by someone else, say behind an `Arc` that another thread also holds),
///   or reporting one twice, makes the collector count a reference as internal that is not, and
///   it can then **free an object that is still reachable**: use after free. That is why the
///   trait is unsafe. Missing an edge is safe: the object it points to looks held from outside,
///   and at worst a cycle through it leaks;
/// * report only edges that stay put while the collector holds the value: edges that can change
///   after construction live in [`GcCell`](crate::gc::GcCell), [`GcMutex`](crate::gc::GcMutex),
///   [`GcRwLock`](crate::gc::GcRwLock) or a `std::sync` (or, with the feature, `parking_lot`)
///   lock, whose `Trace` holds the cell for the collection (a `OnceLock` may gain its edge but
///   never loses it, which is as safe). An edge
///   behind any other interior mutability (a `RefCell`, an atomic pointer) must not be reported;
/// * not allocate, collect, drop or borrow `Gc` objects or janitor cells: `trace` runs inside a
///   collection, with the heap lock held, or on the finalizer thread with collections held off
///   (to find what only objects waiting for their finalizer reach).
///
/// ```
/// use janitor::gc::{Gc, GcCell, Trace, TraceMeta, Tracer, collect};
///
/// // Derived: traces `next`; the cell makes the edges mutable, so `Node`s are tracked.
/// #[derive(Trace)]
/// struct Node {
///     next: GcCell<Option<Gc<Node>>>,
///     #[trace(skip)]
///     label: &'static str,
/// }
///
/// // By hand: report every owned `Gc` once, and describe the type.
/// struct Pair(Gc<Node>, Gc<Node>);
/// // SAFETY: the pair owns exactly these two `Gc`s and reports each once; its edges never change.
/// unsafe impl Trace for Pair {
///     fn trace(&self, tracer: &mut Tracer<'_>) {
///         self.0.trace(tracer);
///         self.1.trace(tracer);
///     }
/// }
/// // SAFETY: the edges are two plain `Gc` fields, fixed once the pair is built.
/// unsafe impl TraceMeta for Pair {
///     const MUTABLE_EDGES: bool = false;
/// }
///
/// let a = Gc::new(Node { next: GcCell::new(None), label: "a" });
/// *a.next.borrow_mut() = Some(a.clone()); // a self-loop
/// let pair = Gc::new(Pair(a.clone(), a.clone()));
/// drop((a, pair));
/// collect();
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not `Trace`: add `#[derive(Trace)]` to its type, or mark the field `#[trace(skip)]` if it holds no `Gc`",
    label = "not `Trace`",
    note = "a `Gc` behind a `Cell`, `OnceCell` or atomic belongs in a `GcCell`, `GcMutex`, `GcRwLock` or `std::sync` lock, which the collector can hold still while it traces (a `RefCell` is `Trace`, for the thread-local heap `janitor::gc::unsync`)",
    note = "a type from another crate: skip the field if it holds no `Gc`, or wrap it in a type of yours that implements `Trace` by hand",
    note = "a type parameter: bound it with `TraceMeta`, which implies `Trace` (the derive's impls and `Gc::new` ask for it)",
    note = "a hand-written `unsafe impl TraceMeta` needs `unsafe impl Trace` beside it; `#[derive(Trace)]` implements both"
)]
pub unsafe trait Trace {
    /// Reports every `Gc` this value owns, each once, by calling `trace` on the fields that hold them.
    ///
    /// ```
    /// use janitor::gc::{Gc, Trace, TraceMeta, Tracer};
    ///
    /// struct Edges {
    ///     first: Gc<u8>,
    ///     rest: Vec<Gc<u8>>,
    ///     weight: f64, // holds no `Gc`: not traced
    /// }
    /// // SAFETY: reports the `Gc`s the value owns, each once.
    /// unsafe impl Trace for Edges {
    ///     fn trace(&self, tracer: &mut Tracer<'_>) {
    ///         self.first.trace(tracer);
    ///         self.rest.trace(tracer);
    ///     }
    /// }
    /// // SAFETY: the edges never change after construction.
    /// unsafe impl TraceMeta for Edges {
    ///     const MUTABLE_EDGES: bool = false;
    /// }
    /// let edges = Gc::new(Edges { first: Gc::new(1), rest: vec![Gc::new(2)], weight: 0.5 });
    /// assert_eq!(*edges.first + *edges.rest[0], 3);
    /// assert_eq!(edges.weight, 0.5);
    /// ```
    fn trace(&self, tracer: &mut Tracer<'_>);
}

/// What the heap knows of a [`Trace`] type before it has a value: whether it can hold a `Gc`,
/// whether its edges can change, and its finalizer. `#[derive(Trace)]` implements it together
/// with `Trace`; a hand-written `Trace` adds `unsafe impl TraceMeta for T {}` (every constant has
/// a conservative default) or sets the constants it knows better. [`Gc::new`](crate::gc::Gc::new)
/// asks for it, so a generic function that allocates bounds its parameter with `TraceMeta`
/// (which implies `Trace`).
///
/// It is apart from `Trace` because a trait with associated constants cannot be a trait object:
/// `dyn Trace` exists, `dyn TraceMeta` does not. `Trace`'s own trait objects have it:
/// `dyn Trace` (with any of `Send` and `Sync`) answers the defaults, so that a `Box<dyn Trace +
/// Send + Sync>` field makes its object tracked. A trait object of a trait of yours in a `Box`
/// field needs the one line `unsafe impl TraceMeta for dyn Shape + Send + Sync {}`; a
/// `Gc<dyn Shape>` field needs nothing.
///
/// # Safety
///
/// The constants describe the type to the tracking rule (see `ARCHITECTURE.md`): an object
/// whose type has immutable edges and whose children are all untracked when it is created can
/// never be on a cycle of its own edges, so the collector does not examine it (except in a full
/// collection, when a `ConditionalWeakTable` attaches values to it or to what leads back to it).
/// A wrong `HOLDS_GC` or `MUTABLE_EDGES` never frees a live object, only makes a cycle leak; the
/// defaults are the conservative answers. `FINALIZER` must be `None` or `Some(Finalizer::of())`
/// for `Self`, which only a type that implements [`Finalize`](crate::gc::Finalize) can name.
///
/// ```
/// use janitor::gc::{Gc, Trace, TraceMeta, Tracer};
///
/// struct Label(String);
/// // SAFETY: holds no `Gc`, reports none.
/// unsafe impl Trace for Label {
///     fn trace(&self, _: &mut Tracer<'_>) {}
/// }
/// // SAFETY: no `Gc` inside: nothing to track.
/// unsafe impl TraceMeta for Label {
///     const HOLDS_GC: bool = false;
///     const MUTABLE_EDGES: bool = false;
/// }
/// assert_eq!(Gc::new(Label("a".into())).0, "a");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not `TraceMeta`: add `#[derive(Trace)]` to its type, or `unsafe impl TraceMeta for {Self} {{}}` beside a hand-written `unsafe impl Trace`, or mark the field `#[trace(skip)]` if it holds no `Gc`",
    label = "not `TraceMeta`",
    note = "`#[derive(Trace)]` implements `Trace` and `TraceMeta`; a hand-written `unsafe impl Trace` needs `unsafe impl TraceMeta` beside it (its constants have defaults)",
    note = "a `Gc` behind a `Cell`, `OnceCell` or atomic belongs in a `GcCell`, `GcMutex`, `GcRwLock` or `std::sync` lock, which the collector can hold still while it traces (a `RefCell` is `Trace`, for the thread-local heap `janitor::gc::unsync`)",
    note = "a type parameter of a function that calls `Gc::new`: bound it with `TraceMeta`, which implies `Trace`",
    note = "a trait object of a trait of yours in a `Box`: add `unsafe impl TraceMeta for dyn YourTrait + Send + Sync {{}}`"
)]
pub unsafe trait TraceMeta: Trace {
    /// Whether a value of this type can hold a `Gc` at all. `false` for primitives, strings and
    /// other leaf data: objects of such types are never traced and cost what an `Arc` costs.
    /// Default: `true`.
    ///
    /// ```
    /// use janitor::gc::{Gc, TraceMeta};
    /// assert!(!String::HOLDS_GC);
    /// assert!(<Option<Gc<String>>>::HOLDS_GC);
    /// ```
    const HOLDS_GC: bool = true;

    /// Whether the `Gc` edges of a value can change after it is built (true for anything that
    /// holds a `Gc` inside a `GcCell`, `GcMutex` or `GcRwLock`). Default: `true`, the conservative
    /// answer for hand-written implementations.
    ///
    /// ```
    /// use janitor::gc::{Gc, GcCell, TraceMeta};
    /// assert!(!<Vec<Gc<u8>>>::MUTABLE_EDGES); // fixed once the object is built
    /// assert!(<GcCell<Vec<Gc<u8>>>>::MUTABLE_EDGES);
    /// assert!(!<GcCell<u8>>::MUTABLE_EDGES); // no `Gc` inside: nothing can change
    /// ```
    const MUTABLE_EDGES: bool = true;

    /// The type's finalizer hook: `Some(Finalizer::of())` for a type that implements
    /// [`Finalize`](crate::gc::Finalize), which registers every object of the type for
    /// finalization when it is allocated. `#[trace(finalize)]` sets it; the default is `None`.
    ///
    /// Only an object's own type is finalized, so the implementations for types that hold values
    /// of other types by value (janitor's cells and locks, the std containers, derived types)
    /// panic while this constant is evaluated when one of those has a hook: allocating such a
    /// value fails to build (see [`Finalize`](crate::gc::Finalize)). A hand-written container of
    /// a `T` can do the same: `const FINALIZER: Option<Finalizer<Self>> = { assert!(T::FINALIZER.is_none(), "..."); None };`.
    ///
    /// ```
    /// use janitor::gc::{Finalize, Gc, Trace, TraceMeta};
    /// #[derive(Trace)]
    /// #[trace(finalize)]
    /// struct Socket;
    /// impl Finalize for Socket {
    ///     fn finalize(_: &Gc<Self>) {}
    /// }
    /// assert!(Socket::FINALIZER.is_some());
    /// assert!(String::FINALIZER.is_none());
    /// ```
    const FINALIZER: Option<Finalizer<Self>> = None;

    /// The type's finalizer hook on the thread-local heap ([`gc::unsync`](crate::gc::unsync)):
    /// `Some(unsync::Finalizer::of())` for a type that implements
    /// [`unsync::Finalize`](crate::gc::unsync::Finalize), which registers every object of the
    /// type for finalization when it is allocated there. `#[trace(unsync_finalize)]` sets it;
    /// the default is `None`.
    ///
    /// ```
    /// use janitor::gc::{Trace, TraceMeta};
    /// use janitor::gc::unsync::{Finalize, Gc};
    /// #[derive(Trace)]
    /// #[trace(unsync_finalize)]
    /// struct Window;
    /// impl Finalize for Window {
    ///     fn finalize(_: &Gc<Self>) {}
    /// }
    /// assert!(Window::UNSYNC_FINALIZER.is_some());
    /// assert!(String::UNSYNC_FINALIZER.is_none());
    /// ```
    const UNSYNC_FINALIZER: Option<UnsyncFinalizer<Self>> = None;
}

/// The finalizer hook of a type on the thread-local heap, carried by
/// [`TraceMeta::UNSYNC_FINALIZER`]; the thread-local heap names it
/// [`unsync::Finalizer`](crate::gc::unsync::Finalizer), where its constructor is.
///
/// ```
/// use janitor::gc::Trace;
/// use janitor::gc::unsync::{Finalize, Finalizer, Gc};
/// #[derive(Trace)]
/// #[trace(unsync_finalize)]
/// struct Texture;
/// impl Finalize for Texture {
///     fn finalize(_: &Gc<Self>) {}
/// }
/// let _hook: Finalizer<Texture> = Finalizer::of();
/// ```
pub struct UnsyncFinalizer<T: ?Sized> {
    /// Runs the finalizer of the object with this header, on a count the caller lends.
    pub(crate) run: unsafe fn(NonNull<u8>),
    /// Whether the finalizer is critical (runs after the normal ones).
    pub(crate) critical: bool,
    pub(crate) owns: PhantomData<fn(&T)>,
}

impl<T: ?Sized> Clone for UnsyncFinalizer<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: ?Sized> Copy for UnsyncFinalizer<T> {}

impl<T: ?Sized> std::fmt::Debug for UnsyncFinalizer<T> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Finalizer")
            .field("type", &std::any::type_name::<T>())
            .field("critical", &self.critical)
            .finish()
    }
}

/// The visitor handed to [`Trace::trace`]. It has no public methods: implementations pass it on
/// to the `trace` of their fields, and `Gc` and the cells report to it.
///
/// ```
/// use janitor::gc::{Gc, Trace, TraceMeta, Tracer};
///
/// struct Wrapper(Vec<Gc<u32>>);
/// // SAFETY: the vector's `Gc`s are owned by the wrapper and reported once each.
/// unsafe impl Trace for Wrapper {
///     fn trace(&self, tracer: &mut Tracer<'_>) {
///         self.0.trace(tracer)
///     }
/// }
/// // SAFETY: the vector's edges never change once the object is built.
/// unsafe impl TraceMeta for Wrapper {
///     const MUTABLE_EDGES: bool = false;
/// }
/// let wrapper = Gc::new(Wrapper(vec![Gc::new(1), Gc::new(2)]));
/// assert_eq!(*wrapper.0[1], 2);
/// ```
pub struct Tracer<'a> {
    mode: Mode<'a>,
}

enum Mode<'a> {
    /// `Gc::new` asks whether any child is tracked.
    Construction { found_tracked: bool },
    /// A collection records edges into the examined set and holds cells.
    Collection(&'a mut EdgeSink),
    /// The finalizer thread records every child of the queued objects' subgraph, tracked or
    /// not, and holds cells (`confined.rs`).
    Subgraph(&'a mut ChildSink),
    /// The thread-local heap (`gc::unsync`) records its own edges and ignores the shared heap's.
    Local(&'a mut LocalSink),
    /// The thread-local heap's `Gc::new` asks whether any child is tracked; `is_tracked` reads
    /// that heap's flag of a child.
    LocalConstruction {
        is_tracked: fn(NonNull<u8>) -> bool,
        found_tracked: bool,
    },
}

/// What a thread-local heap's tracer (`gc::unsync`) writes to. Its objects are named by address:
/// this layer cannot name the heap that owns them.
#[derive(Default)]
pub(crate) struct LocalSink {
    /// The thread-local objects the traced values point to (their headers), one entry per edge.
    pub(crate) children: Vec<NonNull<u8>>,
    /// Cells held until the decision, and whether the traced object had one that could not be.
    pub(crate) holds: Holds,
}

/// What a subgraph tracer writes to.
pub(crate) struct ChildSink {
    /// The objects the traced values point to, one entry per edge.
    pub(crate) children: Vec<NonNull<Header>>,
    /// Cells held until the decision.
    pub(crate) holds: Holds,
}

/// What a collection's tracer writes to.
pub(crate) struct EdgeSink {
    /// Objects of generations above this one are not examined; edges to them are not recorded.
    pub(crate) max_generation: u8,
    /// Indices of the examined objects the traced values point to.
    pub(crate) edges: Vec<u32>,
    /// Cells held until the collector has decided.
    pub(crate) holds: Holds,
    /// The untracked objects the traced value points to, when the collection examines untracked
    /// objects too (a full collection while some table has an untracked key, `collector.rs`).
    pub(crate) untracked: Option<Vec<NonNull<Header>>>,
}

/// The cells an examination (a collection, or the finalizer thread's pass) holds until its
/// decision, and whether the object being traced had one it could not hold.
#[derive(Default)]
pub(crate) struct Holds {
    held: Vec<NonNull<dyn Hold>>,
    /// The guards of `std::sync` locks, which have no raw unlock: dropping one releases it.
    guards: Vec<Box<dyn Any>>,
    /// Whether the object being traced had a cell that could not be held (reset per object by
    /// the examiner).
    pub(crate) opaque: bool,
}

impl Holds {
    /// Holds `lock` until [`release_all`](Holds::release_all); returns whether the value behind
    /// it may be traced (if not, the object being traced is opaque).
    fn hold(&mut self, lock: &(dyn Hold + 'static)) -> bool {
        if lock.try_hold() {
            self.held.push(NonNull::from(lock));
            true
        } else {
            self.opaque = true;
            false
        }
    }

    /// Gives back every cell held.
    ///
    /// # Safety
    /// The object of every held cell is still live (pinned, or held by the finalizer queue).
    pub(crate) unsafe fn release_all(&mut self) {
        let released = !self.held.is_empty();
        for lock in self.held.drain(..) {
            // SAFETY: the object is live (the caller's contract), and the lock was taken once
            // by this thread's `try_hold`.
            unsafe { lock.as_ref().release() };
        }
        self.guards.clear();
        if released {
            RELEASES.signal();
        }
    }
}

/// How writers wait for the cells a collector holds: every [`Holds::release_all`] that gave back
/// a cell counts one release and wakes them (`face/cell.rs`). Every hold is given back by
/// `release_all` (a collection's, the finalizer thread's pass, a subgraph's trace), whose caller
/// never waits for a program thread while it holds cells (it only tries locks), so a waiting
/// writer's release comes.
pub(crate) static RELEASES: EventCount = EventCount::new();

/// A lock the collector can take without blocking and must give back after its decision.
pub(crate) trait Hold {
    /// Takes the lock in the collector's (shared where possible) mode, or returns false at once.
    fn try_hold(&self) -> bool;
    /// Gives back what a successful `try_hold` took.
    ///
    /// # Safety
    /// Called once per successful `try_hold`, by the thread that made it.
    unsafe fn release(&self);
}

/// The finalizer hook of a type, carried by [`TraceMeta::FINALIZER`]: `Some(Finalizer::of())` for a
/// type that implements [`Finalize`](crate::gc::Finalize), `None` (the default) otherwise.
///
/// ```
/// use janitor::gc::{Finalize, Finalizer, Gc, Trace, TraceMeta};
///
/// #[derive(Trace)]
/// #[trace(finalize)]
/// struct Logged;
/// impl Finalize for Logged {
///     fn finalize(_: &Gc<Self>) {}
/// }
/// assert!(Logged::FINALIZER.is_some());
/// assert!(<u8 as TraceMeta>::FINALIZER.is_none());
/// ```
///
/// It is data: the type-erased function that runs the finalizer (made by `Finalizer::of`, next
/// to `Finalize`) and whether the finalizer is critical, which the object's vtable copies.
pub struct Finalizer<T: ?Sized> {
    run: RunFinalizer,
    critical: bool,
    owns: PhantomData<fn(&T)>,
}

impl<T: ?Sized> Clone for Finalizer<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: ?Sized> Copy for Finalizer<T> {}

impl<T: ?Sized> std::fmt::Debug for Finalizer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Finalizer")
            .field("critical", &self.critical)
            .finish()
    }
}

impl<T: ?Sized> Finalizer<T> {
    /// The hook made of a runner for objects of type `T` and its criticality.
    pub(crate) const fn from_parts(run: RunFinalizer, critical: bool) -> Self {
        Self {
            run,
            critical,
            owns: PhantomData,
        }
    }

    /// The runner, for the type's vtable.
    pub(crate) const fn runner(self) -> RunFinalizer {
        self.run
    }

    /// Whether the finalizer is critical (runs after the normal ones).
    pub(crate) const fn is_critical(self) -> bool {
        self.critical
    }
}

/// The `FINALIZER` of a type that holds values of other types by value (a container, a cell, a
/// lock): none, and a compile-time error where one of them has a finalizer (`finalizable`, the OR
/// of their `FINALIZER.is_some()`). Only an object's own type is finalized (the finalizer receives
/// `&Gc<Self>`, which a value held inside another has not), so such a value would never be
/// finalized; refusing it is the only answer that is not silent. Evaluating the holder's constant
/// evaluates its contents', so the refusal reaches through any nesting, and it appears where the
/// outermost type is allocated (`Gc::new` and the slice constructors read this constant).
pub(crate) const fn refuse_finalizable_inside<C: ?Sized>(
    finalizable: bool,
) -> Option<Finalizer<C>> {
    if finalizable {
        panic!(
            "a finalizable type held by value inside another value (a `Vec`, `Option`, `Box`, \
             tuple, array, map, cell or lock) would never be finalized, since only an object's own \
             type is: hold a `Gc<T>` there instead (`Vec<Gc<T>>`, `GcCell<Option<Gc<T>>>`), an \
             object of its own, or allocate the finalizable type itself with its mutable fields in \
             cells"
        );
    }
    None
}

/// [`refuse_finalizable_inside`] for the thread-local heap's hook, `UNSYNC_FINALIZER`, which
/// `unsync::Gc::new` reads.
pub(crate) const fn refuse_unsync_finalizable_inside<C: ?Sized>(
    finalizable: bool,
) -> Option<UnsyncFinalizer<C>> {
    if finalizable {
        panic!(
            "a finalizable type held by value inside another value (a `Vec`, `Option`, `Box`, \
             tuple, array, map or cell) would never be finalized, since only an object's own type \
             is: hold an `unsync::Gc<T>` there instead (`Vec<unsync::Gc<T>>`), an object of its \
             own, or allocate the finalizable type itself with its mutable fields in cells"
        );
    }
    None
}

/// Asks, for a type named in a derived type's fields, whether it is finalizable where the field's
/// own `TraceMeta` cannot say: inside a `#[trace(skip)]` field (whose type need not be `Trace`),
/// or inside an `Arc` or `Rc` (which reports nothing of what it shares). `#[derive(Trace)]`
/// reads `FinalizableProbe::<U>::SHARED_FINALIZABLE` and `LOCAL_FINALIZABLE` for each such `U`,
/// with [`NotFinalizable`] in scope: the inherent constants, `true`, exist only where `U`
/// implements `Finalize` (`face::finalize`) or `unsync::Finalize` (`unsync::finalize`); elsewhere
/// the path resolves to the trait's `false`. Stable Rust has no specialization, so the question
/// is answered where the derive names a concrete type: for a type that mentions a parameter of a
/// generic derived type the answer is always `false`.
#[doc(hidden)]
pub struct FinalizableProbe<U: ?Sized>(PhantomData<U>);

/// The `false` that [`FinalizableProbe`]'s paths fall back to.
#[doc(hidden)]
pub trait NotFinalizable {
    /// Not finalizable on the shared heap.
    const SHARED_FINALIZABLE: bool = false;
    /// Not finalizable on the thread-local heap.
    const LOCAL_FINALIZABLE: bool = false;
}

impl<U: ?Sized> NotFinalizable for FinalizableProbe<U> {}

/// Runs an object's finalizer, handing over the count the queue held; returns the panic that
/// escaped it.
///
/// # Safety
/// The header is a live object of the type the runner was made for, and the caller hands over
/// one count on it.
pub(crate) type RunFinalizer = unsafe fn(NonNull<Header>) -> Result<(), Box<dyn Any + Send>>;

/// The index of a node the running collection does not examine: one not linked yet, or a dead one
/// (count zero) that the pin skipped.
pub(crate) const NOT_EXAMINED: u32 = u32::MAX;

impl<'a> Tracer<'a> {
    /// A tracer that only notes whether it meets a tracked object.
    pub(crate) fn construction() -> Self {
        Self {
            mode: Mode::Construction {
                found_tracked: false,
            },
        }
    }

    /// A collection's tracer.
    pub(crate) fn collection(sink: &'a mut EdgeSink) -> Self {
        Self {
            mode: Mode::Collection(sink),
        }
    }

    /// A subgraph tracer (`confined.rs`).
    pub(crate) fn subgraph(sink: &'a mut ChildSink) -> Self {
        Self {
            mode: Mode::Subgraph(sink),
        }
    }

    /// A thread-local heap's tracer (`gc::unsync`).
    pub(crate) fn local(sink: &'a mut LocalSink) -> Self {
        Self {
            mode: Mode::Local(sink),
        }
    }

    /// A thread-local heap's construction tracer: it notes whether a child is tracked.
    pub(crate) fn local_construction(is_tracked: fn(NonNull<u8>) -> bool) -> Self {
        Self {
            mode: Mode::LocalConstruction {
                is_tracked,
                found_tracked: false,
            },
        }
    }

    /// Whether a construction tracer met a tracked child.
    pub(crate) fn found_tracked(&self) -> bool {
        match self.mode {
            Mode::Construction { found_tracked }
            | Mode::LocalConstruction { found_tracked, .. } => found_tracked,
            Mode::Collection(_) | Mode::Subgraph(_) | Mode::Local(_) => false,
        }
    }

    /// Reports an edge to the thread-local object with this header (`gc::unsync`).
    ///
    /// Only a thread-local tracer records it. The shared heap's tracers never meet one: a value
    /// on the shared heap is `Send + Sync` (`Gc::new` requires it) and an `unsync::Gc` is
    /// neither, so no such value can own one. Were one met, ignoring it would still be safe: a
    /// missed edge only makes its target look held from outside.
    #[inline]
    pub(crate) fn visit_local(&mut self, header: NonNull<u8>) {
        match &mut self.mode {
            Mode::Local(sink) => sink.children.push(header),
            Mode::LocalConstruction {
                is_tracked,
                found_tracked,
            } => *found_tracked = *found_tracked || is_tracked(header),
            Mode::Construction { .. } | Mode::Collection(_) | Mode::Subgraph(_) => {}
        }
    }

    /// Says that the value being traced has content that cannot be read now (a `RefCell`
    /// borrowed mutably, a lock that could not be taken without blocking): what it holds must
    /// count as held from outside.
    pub(crate) fn mark_opaque(&mut self) {
        match &mut self.mode {
            Mode::Construction { .. } | Mode::LocalConstruction { .. } => {}
            Mode::Collection(sink) => sink.holds.opaque = true,
            Mode::Subgraph(sink) => sink.holds.opaque = true,
            Mode::Local(sink) => sink.holds.opaque = true,
        }
    }

    /// Reports an edge to the object with this header.
    pub(crate) fn visit(&mut self, header: NonNull<Header>) {
        // A shared-heap `Gc` inside a thread-local object is an ordinary counted reference into
        // the other heap: the thread-local collector never examines its target.
        if let Mode::Local(_) | Mode::LocalConstruction { .. } = self.mode {
            return;
        }
        if let Mode::Subgraph(sink) = &mut self.mode {
            sink.children.push(header);
            return;
        }
        // SAFETY: the edge is a `Gc` owned by a value being traced, so it holds a count: the
        // object is live.
        let header_ref = unsafe { header.as_ref() };
        let vtable = header_ref.vtable();
        if !vtable.tracked {
            // Only an untracked object that can hold a `Gc`, or a table's key (keys are
            // weakened), can be on a cycle through a table: the leaves (a `Gc<String>` field)
            // are not worth recording.
            if let Mode::Collection(EdgeSink {
                untracked: Some(untracked),
                ..
            }) = &mut self.mode
                && (vtable.holds_gc || header_ref.count().is_weakened())
            {
                untracked.push(header);
            }
            return;
        }
        match &mut self.mode {
            Mode::Construction { found_tracked } => *found_tracked = true,
            Mode::Collection(sink) => {
                // SAFETY: the object is tracked, so it has a node, and a collection holds the
                // heap lock, which guards the node's fields.
                let node = unsafe { node_of(header).as_ref() };
                if node.generation.get() <= sink.max_generation && node.index.get() != NOT_EXAMINED
                {
                    sink.edges.push(node.index.get());
                }
            }
            Mode::Subgraph(_) | Mode::Local(_) | Mode::LocalConstruction { .. } => {}
        }
    }

    /// Holds `lock` for the rest of the collection; returns whether the value behind it may be
    /// traced. At construction the value is not shared yet, so nothing needs holding.
    pub(crate) fn hold(&mut self, lock: &(dyn Hold + 'static)) -> bool {
        match &mut self.mode {
            Mode::Construction { .. } | Mode::LocalConstruction { .. } => true,
            Mode::Collection(sink) => sink.holds.hold(lock),
            Mode::Subgraph(sink) => sink.holds.hold(lock),
            Mode::Local(sink) => sink.holds.hold(lock),
        }
    }

    /// Keeps the guard of a lock taken without blocking until the decision, as [`hold`](Self::hold)
    /// keeps a janitor cell; at construction it is dropped at once. The guard is dropped by
    /// [`Holds::release_all`], while the object of the value being traced is still live (the
    /// examiner's pin or queue count): a guard whose lifetime was extended to `'static` to get
    /// here never outlives its lock.
    pub(crate) fn keep<G: 'static>(&mut self, guard: G) {
        match &mut self.mode {
            Mode::Construction { .. } | Mode::LocalConstruction { .. } => drop(guard),
            Mode::Collection(sink) => sink.holds.guards.push(Box::new(guard)),
            Mode::Subgraph(sink) => sink.holds.guards.push(Box::new(guard)),
            Mode::Local(sink) => sink.holds.guards.push(Box::new(guard)),
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::gc::{Gc, GcCell};
    use std::collections::HashMap;

    #[test]
    fn leaves_hold_no_gc() {
        const { assert!(!u64::HOLDS_GC && !String::HOLDS_GC && !<(u8, String)>::HOLDS_GC) };
        const { assert!(!<std::sync::Arc<GcCell<Gc<u8>>>>::HOLDS_GC) };
    }

    #[test]
    fn containers_inherit_the_flags_of_their_elements() {
        const { assert!(<Vec<Gc<u8>>>::HOLDS_GC && !<Vec<Gc<u8>>>::MUTABLE_EDGES) };
        const { assert!(<HashMap<u8, Option<Gc<u8>>>>::HOLDS_GC) };
        const { assert!(<[GcCell<Gc<u8>>; 2]>::MUTABLE_EDGES) };
        const { assert!(!<GcCell<u8>>::MUTABLE_EDGES) };
    }
}
