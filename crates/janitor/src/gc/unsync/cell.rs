//! `unsync::GcCell<T>`: a `RefCell` for mutable edges, and `Trace` for `RefCell`, `Cell` and
//! `Rc`.
//!
//! The collector reads a cell's content while it traces. Between that read and its decision no
//! user code runs (tracing calls only `Trace` implementations), so the content cannot change
//! under it; a cell borrowed mutably at that moment (a collection started by an allocation while
//! the caller holds a `borrow_mut`) cannot be read at all: its object is *opaque*, and what the
//! cell holds counts as held from outside. None of these types is `Sync`, so the shared heap,
//! whose values are `Send + Sync`, never traces one.

use crate::gc::core::trace::{
    Finalizer, Trace, TraceMeta, Tracer, UnsyncFinalizer, refuse_finalizable_inside,
    refuse_unsync_finalizable_inside,
};
use std::cell::{BorrowError, BorrowMutError, Cell, Ref, RefCell, RefMut};
use std::fmt;
use std::rc::Rc;

/// A mutable location in a thread-local object: [`RefCell`] with a [`Trace`] the collector can
/// use. Put every `Gc` edge that changes after construction in one.
///
/// ```
/// use janitor::gc::Trace;
/// use janitor::gc::unsync::{Gc, GcCell, collect};
///
/// #[derive(Trace)]
/// struct Node {
///     next: GcCell<Option<Gc<Node>>>,
/// }
/// let a = Gc::new(Node { next: GcCell::new(None) });
/// *a.next.borrow_mut() = Some(a.clone());
/// drop(a);
/// collect();
/// ```
#[derive(Default)]
pub struct GcCell<T: ?Sized>(RefCell<T>);

impl<T> GcCell<T> {
    /// A cell holding `value`.
    ///
    /// ```
    /// let cell = janitor::gc::unsync::GcCell::new(1);
    /// assert_eq!(*cell.borrow(), 1);
    /// ```
    pub const fn new(value: T) -> Self {
        Self(RefCell::new(value))
    }

    /// The value, out of the cell.
    ///
    /// ```
    /// assert_eq!(janitor::gc::unsync::GcCell::new(3).into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> T {
        self.0.into_inner()
    }

    /// Replaces the value and returns the old one; panics if the cell is borrowed.
    ///
    /// ```
    /// let cell = janitor::gc::unsync::GcCell::new(1);
    /// assert_eq!(cell.replace(2), 1);
    /// assert_eq!(*cell.borrow(), 2);
    /// ```
    pub fn replace(&self, value: T) -> T {
        self.0.replace(value)
    }

    /// Takes the value, leaving `T::default()`; panics if the cell is borrowed.
    ///
    /// ```
    /// let cell = janitor::gc::unsync::GcCell::new(vec![1]);
    /// assert_eq!(cell.take(), vec![1]);
    /// assert!(cell.borrow().is_empty());
    /// ```
    pub fn take(&self) -> T
    where
        T: Default,
    {
        self.0.take()
    }
}

impl<T: ?Sized> GcCell<T> {
    /// Borrows the value; panics if it is borrowed mutably.
    ///
    /// ```
    /// let cell = janitor::gc::unsync::GcCell::new(String::from("a"));
    /// assert_eq!(cell.borrow().len(), 1);
    /// ```
    #[track_caller]
    pub fn borrow(&self) -> Ref<'_, T> {
        self.0.borrow()
    }

    /// Borrows the value mutably; panics if it is borrowed.
    ///
    /// ```
    /// let cell = janitor::gc::unsync::GcCell::new(1);
    /// *cell.borrow_mut() += 1;
    /// assert_eq!(*cell.borrow(), 2);
    /// ```
    #[track_caller]
    pub fn borrow_mut(&self) -> RefMut<'_, T> {
        self.0.borrow_mut()
    }

    /// Borrows the value, or fails if it is borrowed mutably.
    ///
    /// ```
    /// let cell = janitor::gc::unsync::GcCell::new(1);
    /// let writer = cell.borrow_mut();
    /// assert!(cell.try_borrow().is_err());
    /// # drop(writer);
    /// ```
    pub fn try_borrow(&self) -> Result<Ref<'_, T>, BorrowError> {
        self.0.try_borrow()
    }

    /// Borrows the value mutably, or fails if it is borrowed.
    ///
    /// ```
    /// let cell = janitor::gc::unsync::GcCell::new(1);
    /// let reader = cell.borrow();
    /// assert!(cell.try_borrow_mut().is_err());
    /// # drop(reader);
    /// ```
    pub fn try_borrow_mut(&self) -> Result<RefMut<'_, T>, BorrowMutError> {
        self.0.try_borrow_mut()
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for GcCell<T> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_tuple("GcCell").field(&&self.0).finish()
    }
}

// SAFETY: the cell owns its content and reports what the content reports (see `RefCell`).
unsafe impl<T: ?Sized + TraceMeta> Trace for GcCell<T> {
    #[inline]
    fn trace(&self, tracer: &mut Tracer<'_>) {
        self.0.trace(tracer)
    }
}
// SAFETY: as `RefCell`'s.
unsafe impl<T: ?Sized + TraceMeta> TraceMeta for GcCell<T> {
    const HOLDS_GC: bool = T::HOLDS_GC;
    const MUTABLE_EDGES: bool = T::HOLDS_GC;
    const FINALIZER: Option<Finalizer<Self>> = refuse_finalizable_inside(T::FINALIZER.is_some());
    const UNSYNC_FINALIZER: Option<UnsyncFinalizer<Self>> =
        refuse_unsync_finalizable_inside(T::UNSYNC_FINALIZER.is_some());
}

/// A `RefCell` is traced through its content, which holds mutable edges (see the module's text).
// SAFETY: the cell owns its content. It is read only when not borrowed mutably, and the content
// stays as read until the collector's decision (no user code runs in between); a cell borrowed
// mutably makes its object opaque, which is safe (its content counts as held from outside).
unsafe impl<T: ?Sized + TraceMeta> Trace for RefCell<T> {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if T::HOLDS_GC {
            // SAFETY: the reference is used only while tracing, when nothing writes the cell
            // (see the module's text).
            match unsafe { self.try_borrow_unguarded() } {
                Ok(value) => value.trace(tracer),
                Err(_) => tracer.mark_opaque(),
            }
        }
    }
}
// SAFETY: the content's edges change through `borrow_mut`: mutable whenever it can hold a `Gc`.
unsafe impl<T: ?Sized + TraceMeta> TraceMeta for RefCell<T> {
    const HOLDS_GC: bool = T::HOLDS_GC;
    const MUTABLE_EDGES: bool = T::HOLDS_GC;
    const FINALIZER: Option<Finalizer<Self>> = refuse_finalizable_inside(T::FINALIZER.is_some());
    const UNSYNC_FINALIZER: Option<UnsyncFinalizer<Self>> =
        refuse_unsync_finalizable_inside(T::UNSYNC_FINALIZER.is_some());
}

/// A `Cell<T>` with `T: Copy` holds no `Gc`: a `Gc` is not `Copy`.
// SAFETY: reports nothing, and owns no `Gc`.
unsafe impl<T: Copy> Trace for Cell<T> {
    #[inline]
    fn trace(&self, _: &mut Tracer<'_>) {}
}
// SAFETY: no `Gc` inside: nothing to track.
unsafe impl<T: Copy> TraceMeta for Cell<T> {
    const HOLDS_GC: bool = false;
    const MUTABLE_EDGES: bool = false;
}

/// An `Rc` reports nothing, as an `Arc` does: a `Gc` inside it is owned by every holder of the
/// `Rc`, some of which may be outside the heap. What it holds counts as held from outside, and
/// a cycle through an `Rc` leaks; use `Gc` for shared ownership inside the heap. So an
/// `Rc<dyn Fn>` native needs no `#[trace(skip)]`.
// SAFETY: reports nothing, which only ever makes objects look held from outside.
unsafe impl<T: ?Sized> Trace for Rc<T> {
    #[inline]
    fn trace(&self, _: &mut Tracer<'_>) {}
}
// SAFETY: reports no edge: nothing to track.
unsafe impl<T: ?Sized> TraceMeta for Rc<T> {
    const HOLDS_GC: bool = false;
    const MUTABLE_EDGES: bool = false;
}
