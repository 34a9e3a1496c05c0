//! `unsync::WeakGc<T>`: short and long weak references to thread-local objects.
//!
//! Invariant owned here: a weak reference holds one weak count, which keeps the object's memory
//! (never its value) until it drops. It upgrades while the object's value is live and not
//! condemned; a short one also needs the object not to wait for its finalizer and its epoch to
//! be the one it was made in (a short reference made before a resurrection stays dead). A weak
//! reference to no object ([`WeakGc::new`]) holds a value pointer whose address is `usize::MAX`,
//! which no object's value has (as `std::rc::Weak`), and no count.

use super::heap;
use super::object::{self, CONDEMNED, Header, QUEUED, header_of, value_of};
use super::ptr::{Gc, place};
use crate::gc::core::trace::TraceMeta;
use std::fmt;
use std::marker::PhantomData;
use std::ptr::NonNull;

/// A weak reference to a thread-local object: it does not keep the object alive, and
/// [`upgrade`](WeakGc::upgrade)s to a [`Gc`] while the object lives.
///
/// Short ([`Gc::downgrade`]) or long ([`Gc::downgrade_long`]), as .NET's `WeakReference` with
/// `trackResurrection`: a short one stops upgrading when its object becomes unreachable, even
/// if the object waits for its finalizer and is resurrected by it; a long one upgrades until the
/// object is freed. For an object without a finalizer the two are the same. Neither `Send` nor
/// `Sync`, and `Unpin` whatever `T`, as [`Gc`].
///
/// ```
/// use janitor::gc::unsync::Gc;
/// let strong = Gc::new(String::from("cache"));
/// let weak = Gc::downgrade(&strong);
/// assert_eq!(*weak.upgrade().unwrap(), "cache");
/// drop(strong);
/// assert!(weak.upgrade().is_none());
/// ```
pub struct WeakGc<T: ?Sized> {
    value: NonNull<T>,
    epoch: u32,
    long: bool,
    owns: PhantomData<T>,
    /// Neither `Send` nor `Sync`, as `Gc`.
    local: PhantomData<*const ()>,
}

// The value is never moved by moving the pointer, as with `Rc`'s `Weak`.
impl<T: ?Sized> Unpin for WeakGc<T> {}

impl<T: TraceMeta + 'static> Gc<T> {
    /// A new object whose value is built by `build` from a weak reference to the object itself:
    /// the way to give a value an edge to itself that never changes, without a cell (as
    /// [`Rc::new_cyclic`](std::rc::Rc::new_cyclic)).
    ///
    /// Until `build` returns, the object has no value: the weak reference does not upgrade, and
    /// neither do its clones. They upgrade from the moment `new_cyclic` returns. If `build`
    /// panics, the object is released and its weak references stay dead. The object is tracked
    /// by the cycle collector whenever its type can hold a `Gc`, since its value is not there
    /// yet to tell; a finalizable type is registered, as with [`Gc::new`].
    ///
    /// ```
    /// use janitor::gc::Trace;
    /// use janitor::gc::unsync::{Gc, WeakGc};
    ///
    /// #[derive(Trace)]
    /// struct Window {
    ///     #[trace(skip)]
    ///     title: String,
    ///     this: WeakGc<Window>, // a weak reference is never traced
    /// }
    ///
    /// let window = Gc::new_cyclic(|this| {
    ///     assert!(this.upgrade().is_none(), "not built yet");
    ///     Window { title: "main".into(), this: this.clone() }
    /// });
    /// let again = window.this.upgrade().unwrap();
    /// assert!(Gc::ptr_eq(&window, &again));
    /// assert_eq!(again.title, "main");
    /// ```
    pub fn new_cyclic(build: impl FnOnce(&WeakGc<T>) -> T) -> Self {
        /// Gives the strong side's weak count back if `build` panics: the object never had a
        /// value nor a strong count, and is in no list; its memory goes with the last weak
        /// reference.
        struct Unborn(NonNull<Header>);
        impl Drop for Unborn {
            fn drop(&mut self) {
                // SAFETY: the object is allocated (the strong side's weak count keeps it), and
                // this runs once.
                if unsafe { self.0.as_ref() }.decrement_weak() {
                    // SAFETY: no value, no `Gc` and no weak reference.
                    heap::with(|heap| unsafe { heap.free(self.0) });
                }
            }
        }

        Self::refuse_shared_finalizer();
        let (header, tracked, panic) = place(
            T::HOLDS_GC,
            T::UNSYNC_FINALIZER.is_some(),
            false,
            object::allocate_uninit::<T>,
        );
        let unborn = Unborn(header);
        // SAFETY: the header is followed by room for a `T`.
        let value = unsafe { value_of::<T>(header) };
        // SAFETY: an allocated object whose strong count stays zero until its value is written.
        let weak = unsafe { WeakGc::unborn(header, value) };
        let built = build(&weak);
        std::mem::forget(unborn);
        // SAFETY: room for a `T`, not written yet.
        unsafe { value.write(built) };
        // SAFETY: allocated, and only this thread knows it.
        let header_ref = unsafe { header.as_ref() };
        header_ref.strong.set(1);
        drop(weak);
        if tracked {
            // SAFETY: a live object with a node, in no list.
            heap::with(|heap| unsafe { heap.link_new(header) });
        }
        // SAFETY: a live `T` object whose count is handed over.
        unsafe { Self::finish(value, panic) }
    }
}

impl<T: ?Sized> Gc<T> {
    /// A short weak reference to the object.
    ///
    /// ```
    /// use janitor::gc::unsync::Gc;
    /// let strong = Gc::new(1);
    /// let weak = Gc::downgrade(&strong);
    /// assert!(!weak.tracks_resurrection());
    /// ```
    #[must_use = "a weak reference does nothing unless upgraded"]
    pub fn downgrade(this: &Self) -> WeakGc<T> {
        WeakGc::make(this, false)
    }

    /// A long weak reference (one that tracks resurrection): it upgrades while the object waits
    /// for its finalizer and after the finalizer resurrects it.
    ///
    /// ```
    /// use janitor::gc::unsync::Gc;
    /// let strong = Gc::new(1);
    /// let weak = Gc::downgrade_long(&strong);
    /// assert!(weak.tracks_resurrection());
    /// ```
    #[must_use = "a weak reference does nothing unless upgraded"]
    pub fn downgrade_long(this: &Self) -> WeakGc<T> {
        WeakGc::make(this, true)
    }
}

impl<T> WeakGc<T> {
    /// A weak reference to no object: it never upgrades (as [`std::rc::Weak::new`]). Allocates
    /// nothing.
    ///
    /// ```
    /// use janitor::gc::unsync::WeakGc;
    /// let nothing: WeakGc<String> = WeakGc::new();
    /// assert!(nothing.upgrade().is_none());
    /// assert_eq!(nothing.strong_count(), 0);
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self {
            value: NonNull::new(std::ptr::without_provenance_mut(usize::MAX))
                .expect("usize::MAX is not null"),
            epoch: 0,
            long: false,
            owns: PhantomData,
            local: PhantomData,
        }
    }

    /// A short weak reference to a new object whose value is not written yet (`Gc::new_cyclic`).
    ///
    /// # Safety
    /// `header` is an allocated object of `T` whose strong count is zero until its value, at
    /// `value`, is written.
    pub(super) unsafe fn unborn(header: NonNull<Header>, value: NonNull<T>) -> Self {
        // SAFETY: the caller's contract: allocated.
        let header = unsafe { header.as_ref() };
        header.increment_weak();
        Self {
            value,
            epoch: heap::epoch_of(header),
            long: false,
            owns: PhantomData,
            local: PhantomData,
        }
    }
}

impl<T> Default for WeakGc<T> {
    /// [`WeakGc::new`]: a weak reference that never upgrades.
    ///
    /// ```
    /// let nothing: janitor::gc::unsync::WeakGc<u8> = Default::default();
    /// assert!(nothing.upgrade().is_none());
    /// ```
    fn default() -> Self {
        Self::new()
    }
}

impl<T: ?Sized> WeakGc<T> {
    fn make(strong: &Gc<T>, long: bool) -> Self {
        let header = strong.header();
        header.increment_weak();
        Self {
            value: strong.value_ptr(),
            epoch: heap::epoch_of(header),
            long,
            owns: PhantomData,
            local: PhantomData,
        }
    }

    /// The object's header; `None` for a weak reference to no object.
    fn header(&self) -> Option<&Header> {
        if self.value.cast::<u8>().as_ptr().addr() == usize::MAX {
            return None;
        }
        // SAFETY: the weak count keeps the memory live.
        Some(unsafe { header_of(self.value).as_ref() })
    }

    /// A `Gc` to the object if it is still alive (see the type's text for short and long).
    ///
    /// ```
    /// use janitor::gc::unsync::Gc;
    /// let strong = Gc::new(5);
    /// let weak = Gc::downgrade(&strong);
    /// assert_eq!(weak.upgrade().map(|gc| *gc), Some(5));
    /// ```
    #[must_use]
    pub fn upgrade(&self) -> Option<Gc<T>> {
        let header = self.header()?;
        if header.strong.get() == 0 || header.has(CONDEMNED) {
            return None;
        }
        if !self.long && (header.has(QUEUED) || heap::epoch_of(header) != self.epoch) {
            return None;
        }
        header.increment();
        // SAFETY: the count just taken is handed to the new `Gc`.
        Some(unsafe { Gc::from_value(self.value) })
    }

    /// Whether this is a long weak reference.
    ///
    /// ```
    /// use janitor::gc::unsync::Gc;
    /// assert!(Gc::downgrade_long(&Gc::new(0)).tracks_resurrection());
    /// ```
    #[must_use]
    pub fn tracks_resurrection(&self) -> bool {
        self.long
    }

    /// The number of `Gc`s to the object: zero once it is dead.
    ///
    /// ```
    /// use janitor::gc::unsync::Gc;
    /// let strong = Gc::new(0);
    /// let weak = Gc::downgrade(&strong);
    /// assert_eq!(weak.strong_count(), 1);
    /// drop(strong);
    /// assert_eq!(weak.strong_count(), 0);
    /// ```
    #[must_use]
    pub fn strong_count(&self) -> usize {
        match self.header() {
            Some(header) if !header.has(CONDEMNED) => header.strong.get() as usize,
            _ => 0,
        }
    }

    /// Whether two weak references point to the same object.
    ///
    /// ```
    /// use janitor::gc::unsync::{Gc, WeakGc};
    /// let strong = Gc::new(0);
    /// assert!(WeakGc::ptr_eq(&Gc::downgrade(&strong), &Gc::downgrade_long(&strong)));
    /// ```
    #[must_use]
    pub fn ptr_eq(this: &Self, other: &Self) -> bool {
        std::ptr::addr_eq(this.value.as_ptr(), other.value.as_ptr())
    }

    /// Changes the pointee type by an unsizing coercion; use
    /// [`coerce_unsync_weak!`](crate::coerce_unsync_weak).
    ///
    /// # Safety
    /// `coerce` returns its argument, coerced (the macro only compiles for unsizing coercions).
    #[doc(hidden)]
    pub unsafe fn coerce_unchecked<U: ?Sized>(
        this: Self,
        coerce: impl FnOnce(*const T) -> *const U,
    ) -> WeakGc<U> {
        let this = std::mem::ManuallyDrop::new(this);
        let coerced = coerce(this.value.as_ptr());
        debug_assert_eq!(coerced.cast::<u8>(), this.value.as_ptr().cast::<u8>());
        WeakGc {
            // SAFETY: the coerced pointer is the same non-null address; the weak count passes on.
            value: unsafe { NonNull::new_unchecked(coerced.cast_mut()) },
            epoch: this.epoch,
            long: this.long,
            owns: PhantomData,
            local: PhantomData,
        }
    }
}

/// Turns an [`unsync::WeakGc<T>`](crate::gc::unsync::WeakGc) into an `unsync::WeakGc<U>` by an
/// unsizing coercion, as [`coerce_unsync_gc!`](crate::coerce_unsync_gc) does for `Gc`: typically
/// `WeakGc<dyn Trait>`. The weak reference keeps its kind (short or long); one to no object
/// ([`WeakGc::new`]) stays so.
///
/// ```
/// use janitor::coerce_unsync_weak;
/// use janitor::gc::unsync::{Gc, WeakGc};
/// use std::fmt::Display;
///
/// let number = Gc::new(7_u32);
/// let weak: WeakGc<dyn Display> = coerce_unsync_weak!(Gc::downgrade(&number) => dyn Display);
/// assert_eq!(weak.upgrade().unwrap().to_string(), "7");
/// let slice: WeakGc<[u8]> = coerce_unsync_weak!(WeakGc::<[u8; 2]>::new() => [u8]);
/// assert!(slice.upgrade().is_none());
/// ```
#[macro_export]
macro_rules! coerce_unsync_weak {
    ($weak:expr => $target:ty) => {{
        let weak = $weak;
        // SAFETY: the closure returns its argument through an implicit coercion to
        // `*const $target`, which only compiles for unsizing coercions: same address, same object.
        unsafe {
            $crate::gc::unsync::WeakGc::coerce_unchecked(weak, |pointer| -> *const $target {
                pointer
            })
        }
    }};
}

impl<T: ?Sized> Clone for WeakGc<T> {
    /// Another weak reference of the same kind to the same object.
    ///
    /// ```
    /// use janitor::gc::unsync::{Gc, WeakGc};
    /// let strong = Gc::new(0);
    /// let weak = Gc::downgrade(&strong);
    /// assert!(WeakGc::ptr_eq(&weak, &weak.clone()));
    /// ```
    fn clone(&self) -> Self {
        if let Some(header) = self.header() {
            header.increment_weak();
        }
        Self {
            value: self.value,
            epoch: self.epoch,
            long: self.long,
            owns: PhantomData,
            local: PhantomData,
        }
    }
}

impl<T: ?Sized> Drop for WeakGc<T> {
    fn drop(&mut self) {
        if self.header().is_some_and(Header::decrement_weak) {
            // SAFETY: a weak reference to an object points to its value; no `Gc` (the strong
            // side gave its weak count back) and no other weak reference is left.
            heap::with(|heap| unsafe { heap.free(header_of(self.value)) });
        }
    }
}

impl<T: ?Sized> fmt::Debug for WeakGc<T> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("WeakGc")
            .field("long", &self.long)
            .finish_non_exhaustive()
    }
}

// SAFETY: a weak reference owns no count, so it is not an edge: it reports nothing.
unsafe impl<T: ?Sized> crate::gc::core::trace::Trace for WeakGc<T> {
    #[inline]
    fn trace(&self, _: &mut crate::gc::core::trace::Tracer<'_>) {}
}
// SAFETY: no edge: nothing to track.
unsafe impl<T: ?Sized> crate::gc::core::trace::TraceMeta for WeakGc<T> {
    const HOLDS_GC: bool = false;
    const MUTABLE_EDGES: bool = false;
}
