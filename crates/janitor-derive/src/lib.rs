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

mod trace;

/// `#[derive(Trace)]`: see `janitor::gc::Trace`.
#[proc_macro_derive(Trace, attributes(trace))]
pub fn derive_trace(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    trace::derive(input.into()).into()
}
