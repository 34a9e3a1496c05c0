//! `unsync::WeakGc<T>`: short and long weak references to thread-local objects.
//!
//! Invariant owned here: a weak reference holds one weak count, which keeps the object's memory
//! (never its value) until it drops. It upgrades while the object's value is live and not
//! condemned; a short one also needs the object not to wait for its finalizer and its epoch to
//! be the one it was made in (a short reference made before a resurrection stays dead).

use super::heap;
use super::object::{CONDEMNED, QUEUED, header_of};
use super::ptr::Gc;
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

// A weak reference never moves the value, as with `rc::Weak`.
impl<T: ?Sized> Unpin for WeakGc<T> {}

impl<T: ?Sized> Gc<T> {
    /// A short weak reference to the object.
    ///
    /// ```
    /// use janitor::gc::unsync::Gc;
    /// let strong = Gc::new(1);
    /// let weak = Gc::downgrade(&strong);
    /// assert!(!weak.tracks_resurrection());
    /// ```
    pub fn downgrade(this: &Self) -> WeakGc<T> {
        WeakGc::new(this, false)
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
    pub fn downgrade_long(this: &Self) -> WeakGc<T> {
        WeakGc::new(this, true)
    }
}

impl<T: ?Sized> WeakGc<T> {
    fn new(strong: &Gc<T>, long: bool) -> Self {
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

    fn header(&self) -> &super::object::Header {
        // SAFETY: the weak count keeps the memory live.
        unsafe { header_of(self.value).as_ref() }
    }

    /// A `Gc` to the object if it is still alive (see the type's text for short and long).
    ///
    /// ```
    /// use janitor::gc::unsync::Gc;
    /// let strong = Gc::new(5);
    /// let weak = Gc::downgrade(&strong);
    /// assert_eq!(weak.upgrade().map(|gc| *gc), Some(5));
    /// ```
    pub fn upgrade(&self) -> Option<Gc<T>> {
        let header = self.header();
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
    pub fn strong_count(&self) -> usize {
        let header = self.header();
        if header.has(CONDEMNED) {
            0
        } else {
            header.strong.get() as usize
        }
    }

    /// Whether two weak references point to the same object.
    ///
    /// ```
    /// use janitor::gc::unsync::{Gc, WeakGc};
    /// let strong = Gc::new(0);
    /// assert!(WeakGc::ptr_eq(&Gc::downgrade(&strong), &Gc::downgrade_long(&strong)));
    /// ```
    pub fn ptr_eq(this: &Self, other: &Self) -> bool {
        std::ptr::addr_eq(this.value.as_ptr(), other.value.as_ptr())
    }
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
        self.header().increment_weak();
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
        let header = header_of_ptr(self.value);
        // SAFETY: the weak count keeps the memory live.
        if unsafe { header.as_ref() }.decrement_weak() {
            // SAFETY: no `Gc` (the strong side gave its weak count back) and no other weak
            // reference is left.
            heap::with(|heap| unsafe { heap.free(header) });
        }
    }
}

fn header_of_ptr<T: ?Sized>(value: NonNull<T>) -> NonNull<super::object::Header> {
    // SAFETY: a weak reference's value pointer is a thread-local object's.
    unsafe { header_of(value) }
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
