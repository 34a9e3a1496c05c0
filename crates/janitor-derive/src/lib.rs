//! Derive macros for [janitor](https://docs.rs/janitor). Use them through the re-exports in
//! `janitor`; this crate has no API of its own. Each derive lives in its own module; this file
//! only declares the entry points.

mod dispose;

/// Implements `janitor::Dispose` by disposing the fields marked `#[dispose]`, once: the fix for
/// .NET's CA2213 ("disposable fields should be disposed"), done by the compiler.
///
/// ```
/// use janitor::{Dispose, DisposeFlag};
/// use std::sync::{Arc, Mutex};
///
/// type Log = Arc<Mutex<Vec<&'static str>>>;
///
/// struct Part {
///     name: &'static str,
///     log: Log,
/// }
///
/// impl Dispose for Part {
///     fn dispose(&self) {
///         self.log.lock().unwrap().push(self.name);
///     }
/// }
///
/// #[derive(Dispose)]
/// #[dispose(with = Self::flush)]
/// struct Document {
///     disposed: DisposeFlag,
///     #[dispose]
///     file: Part,
///     #[dispose]
///     index: Part,
///     // Not marked: shared with others, so not this document's to dispose.
///     spell_checker: Arc<Part>,
///     log: Log,
/// }
///
/// impl Document {
///     fn flush(&self) {
///         self.log.lock().unwrap().push("flush");
///     }
/// }
///
/// let log = Log::default();
/// let part = |name| Part { name, log: log.clone() };
/// let document = Document {
///     disposed: DisposeFlag::new(),
///     file: part("file"),
///     index: part("index"),
///     spell_checker: Arc::new(part("spell checker")),
///     log: log.clone(),
/// };
/// document.dispose();
/// document.dispose(); // idempotent: nothing more happens
/// assert_eq!(*log.lock().unwrap(), ["flush", "index", "file"]);
/// ```
///
/// # What it generates
///
/// `dispose(&self)` that:
///
/// 1. returns at once unless it wins the struct's `DisposeFlag` (`try_begin`), so the whole
///    cascade runs at most once, whatever the number of callers and threads;
/// 2. closes every field typed `janitor::leak::LeakTracker` (found by type, as the flag is), so
///    that a disposed value is never reported as leaked, whatever the steps below do;
/// 3. runs the `#[dispose(with = path)]` hook, if any, **first** of the steps: it is called as `path(&self)`
///    while every field is still alive, so it can flush, say goodbye, or release what the fields
///    alone do not cover;
/// 4. disposes every field marked `#[dispose]` in **reverse declaration order** (the last declared
///    was typically built last and may depend on the ones before it), calling
///    `janitor::Dispose::dispose` on each;
/// 5. runs every step even when an earlier one panicked, then resumes the first panic (later
///    ones are reported with `tracing`).
///
/// Fields not marked `#[dispose]` are left alone: a value the struct borrows or shares is not its
/// to dispose.
///
/// # Leak tracking
///
/// A field typed `LeakTracker` (see `janitor::leak`) needs no attribute: the derived dispose
/// closes it, so a value dropped without dispose is reported and a disposed one is not.
///
/// ```
/// use janitor::leak::{self, LeakCheck, LeakLevel, LeakTracker};
/// use janitor::{Dispose, DisposeFlag};
///
/// #[derive(Dispose)]
/// struct Session {
///     disposed: DisposeFlag,
///     tracker: LeakTracker,
/// }
///
/// impl Session {
///     #[track_caller]
///     fn open() -> Self {
///         Session { disposed: DisposeFlag::new(), tracker: LeakTracker::new::<Self>() }
///     }
/// }
///
/// leak::set_level(LeakLevel::Full);
/// let check = LeakCheck::start();
/// let disposed = Session::open();
/// disposed.dispose();
/// drop(disposed);
/// drop(Session::open()); // never disposed
/// let reports = check.finish();
/// assert_eq!(reports.len(), 1);
/// assert!(reports[0].type_name().ends_with("Session"));
/// ```
///
/// # The flag
///
/// The struct needs a field of type `janitor::DisposeFlag`. The derive finds it by its type (the
/// last segment of the type's path is `DisposeFlag`); if the struct has several, or names the
/// type through an alias, mark the right one `#[dispose(flag)]`. The flag also gives the struct's
/// other methods their `self.disposed.check::<Self>()?` guard.
///
/// # Attributes
///
/// - on the struct: `#[dispose(with = path)]`, a function or method taking `&Self`;
/// - on a field: `#[dispose]` (dispose this field) or `#[dispose(flag)]` (this is the flag).
///
/// # Supported shapes
///
/// Structs with named fields, tuple structs, and generic structs (a `#[dispose]` field whose type
/// mentions a type parameter gets a `Type: janitor::Dispose` bound on the impl). Enums and unions
/// are refused with a compile error, as are a missing flag, an unknown attribute and a
/// `#[dispose]` field whose type does not implement `Dispose`.
///
/// ```
/// use janitor::{Dispose, DisposeFlag};
/// use std::sync::atomic::{AtomicU32, Ordering};
///
/// struct Counted<'a>(&'a AtomicU32);
///
/// impl Dispose for Counted<'_> {
///     fn dispose(&self) {
///         self.0.fetch_add(1, Ordering::Relaxed);
///     }
/// }
///
/// #[derive(Dispose)]
/// struct Pair<A, B>(#[dispose] A, #[dispose] B, DisposeFlag);
///
/// let disposals = AtomicU32::new(0);
/// let pair = Pair(Counted(&disposals), Some(Counted(&disposals)), DisposeFlag::new());
/// pair.dispose();
/// pair.dispose();
/// assert_eq!(disposals.load(Ordering::Relaxed), 2);
/// ```
#[proc_macro_derive(Dispose, attributes(dispose))]
pub fn derive_dispose(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    dispose::expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

mod hidden_finalizable;
mod trace;

/// The migration guide, `docs/migrating.md` at the root of the workspace, compiled and run as
/// doc tests so that every mapping and every compile error it shows stays true. It lives here
/// because this crate's doc tests already run against `janitor` with the derives, as a user's
/// code does; `cfg(doctest)` keeps the file, which is outside this package, out of every other
/// build (and so out of `cargo package`), and the module is private, so the crate's API is
/// unchanged.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/migrating.md")]
mod migrating_guide {}

/// Implements `janitor::gc::Trace` by tracing every field once, and `janitor::gc::TraceMeta`
/// beside it: the collector then finds each `Gc` the value owns, and frees the cycles they form.
///
/// ```
/// use janitor::gc::{self, Gc, GcCell, Trace};
///
/// #[derive(Trace)]
/// struct Person {
///     // Holds no `Gc`: skipped, so its type needs no `Trace`.
///     #[trace(skip)]
///     name: String,
///     // Edges that change after construction live in a `GcCell`, `GcMutex` or `GcRwLock`.
///     spouse: GcCell<Option<Gc<Person>>>,
/// }
///
/// let ada = Gc::new(Person { name: "Ada".into(), spouse: GcCell::new(None) });
/// let bob = Gc::new(Person { name: "Bob".into(), spouse: GcCell::new(Some(ada.clone())) });
/// *ada.spouse.borrow_mut() = Some(bob.clone());
/// assert_eq!(ada.spouse.borrow().as_ref().map(|spouse| spouse.name.as_str()), Some("Bob"));
/// drop((ada, bob));
/// gc::collect(); // the cycle is freed
/// ```
///
/// # What it generates
///
/// `trace` calls `Trace::trace` on every field, except the fields marked `#[trace(skip)]` and
/// every field of an enum variant marked `#[trace(skip)]`. In the `TraceMeta` impl, `HOLDS_GC`
/// and `MUTABLE_EDGES` are the OR of the traced fields' own, so a type whose traced fields cannot hold a `Gc` is never
/// examined by the collector and costs what an `Arc` costs.
///
/// Skipping a field that does hold a `Gc` is safe: the collector does not see that edge, so the
/// object it points to counts as held from outside, and a cycle through it is never freed (it
/// leaks, as with `Rc`). Skip what holds no `Gc`: strings, numbers, handles, types from other
/// crates that do not implement `Trace`.
///
/// # Bounds on type parameters
///
/// The two impls ask of a type parameter only what the traced fields need:
///
/// - `T: TraceMeta` (which implies `Trace`) for each parameter `T` that a traced field's type
///   uses (`T`, `Vec<T>`, `Option<Box<T>>`, ...);
/// - `T::Name: TraceMeta`, and nothing of `T`, where a traced field uses an associated type;
/// - nothing for a parameter used only by skipped fields (or skipped variants), nor for one used
///   only inside `Gc<..>`, `WeakGc<..>` or `PhantomData<..>`, which are `Trace` whatever they
///   point to or mark.
///
/// Bounds written on the type itself are kept, which is the way to ask for more.
///
/// ```
/// use janitor::gc::{Gc, GcCell, Trace};
/// use std::marker::PhantomData;
///
/// struct Meters; // implements no `Trace`
///
/// #[derive(Trace)]
/// struct Node<T, Unit> {
///     value: T,
///     next: GcCell<Option<Gc<Node<T, Unit>>>>,
///     unit: PhantomData<Unit>,
/// }
///
/// // `Unit` is used only inside `PhantomData` and `Gc`: it needs no `Trace`.
/// let node = Gc::new(Node::<u32, Meters> { value: 3, next: GcCell::new(None), unit: PhantomData });
/// assert_eq!(node.value, 3);
/// ```
///
/// # Enums
///
/// Every variant's fields are traced, except in a variant marked `#[trace(skip)]`.
///
/// ```
/// use janitor::gc::{Gc, Trace};
///
/// #[derive(Trace)]
/// enum Value {
///     Number(f64),
///     List(Vec<Gc<Value>>),
///     // A foreign resource that holds no `Gc`.
///     #[trace(skip)]
///     Socket(std::net::TcpListener),
/// }
///
/// let list = Gc::new(Value::List(vec![Gc::new(Value::Number(1.0))]));
/// assert!(matches!(&*list, Value::List(items) if items.len() == 1));
/// ```
///
/// # Attributes
///
/// - on a field or an enum variant: `#[trace(skip)]`;
/// - on the type: `#[trace(finalize)]`, which registers every object of the type for
///   finalization; the type must then implement `janitor::gc::Finalize` (and a type that
///   implements `Finalize` must carry the attribute: both are checked at compile time).
///
/// A traced field whose type has a finalizer is refused where the type is allocated (when the
/// program is built): stored by value, it would never be finalized, since only an object's own
/// type is, however deeply a container holds it. Hold it as a `Gc<T>`. For the same reason a
/// finalizable type cannot hold values of itself by value.
///
/// A type may hold itself by value (a tree of boxes): it holds a `Gc` only if one of its other
/// fields can.
///
/// ```
/// use janitor::gc::{Gc, Trace, TraceMeta};
///
/// #[derive(Trace)]
/// enum Expr {
///     Number(#[trace(skip)] f64),
///     Sum(Vec<Expr>),
///     Shared(Gc<Expr>),
/// }
///
/// let two = Gc::new(Expr::Number(2.0));
/// let sum = Gc::new(Expr::Sum(vec![Expr::Number(1.0), Expr::Shared(two)]));
/// assert!(matches!(&*sum, Expr::Sum(terms) if terms.len() == 2));
/// assert!(Expr::HOLDS_GC && !Expr::MUTABLE_EDGES);
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
/// struct Connection {
///     #[trace(skip)]
///     id: u32,
/// }
///
/// impl Finalize for Connection {
///     fn finalize(this: &Gc<Self>) {
///         assert_eq!(this.id, 7);
///         CLOSED.store(true, Ordering::SeqCst);
///     }
/// }
///
/// drop(Gc::new(Connection { id: 7 }));
/// wait_for_pending_finalizers();
/// assert!(CLOSED.load(Ordering::SeqCst));
/// ```
///
/// Unions are refused (which field is live is unknown), as are unknown or misplaced options; a
/// traced field whose type is not `Trace` is one error at that field that names
/// `#[derive(Trace)]`, `TraceMeta` and `#[trace(skip)]`.
#[proc_macro_derive(Trace, attributes(trace))]
pub fn derive_trace(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    trace::derive(input.into()).into()
}
