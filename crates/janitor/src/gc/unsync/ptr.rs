//! `unsync::Gc<T>`: the counted pointer to a thread-local object.
//!
//! Invariant owned here: every `Gc` holds one strong count on its object, taken when it was
//! created (by `Gc::new` or a clone) and given back exactly once, when it drops.

use super::object::{self, CONDEMNED, HAS_NODE, Header, REGISTERED, header_of, value_of};
use super::{collector, heap};
use crate::gc::core::trace::{Trace, TraceMeta, Tracer};
use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::ops::Deref;
use std::ptr::NonNull;

/// A shared pointer to an object on this thread's heap.
///
/// Use it like [`Rc`](std::rc::Rc): clone it, store it, drop it. The object is dropped by the
/// drop of its last `Gc`, unless it is part of a cycle: then the thread's cycle collector frees
/// it, at an automatic collection (a `Gc::new` of a tracked object, see [`Gc::new`]) or at
/// [`collect`](super::collect). `Gc<T>` is neither `Send` nor `Sync`, whatever `T`: its counts
/// are plain integers and its heap belongs to the thread; it is `Unpin` whatever `T`, as the value
/// never moves with the pointer. So `T` needs only `Trace + 'static`:
/// `Rc`, `RefCell`, `Cell` and `Rc<dyn Fn>` fields are fine.
///
/// ```
/// use janitor::gc::Trace;
/// use janitor::gc::unsync::{Gc, GcCell, collect};
/// use std::rc::Rc;
///
/// #[derive(Trace)]
/// struct Closure {
///     #[trace(skip)]
///     native: Rc<dyn Fn(i64) -> i64>,
///     env: GcCell<Option<Gc<Closure>>>,
/// }
///
/// let f = Gc::new(Closure { native: Rc::new(|x| x + 1), env: GcCell::new(None) });
/// *f.env.borrow_mut() = Some(f.clone()); // a cycle: `Rc` would leak it
/// assert_eq!((f.native)(41), 42);
/// drop(f);
/// collect(); // freed
/// ```
pub struct Gc<T: ?Sized> {
    value: NonNull<T>,
    owns: PhantomData<T>,
    /// Neither `Send` nor `Sync`: the counts are plain integers owned by the thread.
    local: PhantomData<*const ()>,
}

// The value is never moved by moving the pointer, as with `Rc` (and the shared heap's `Gc`).
impl<T: ?Sized> Unpin for Gc<T> {}

impl<T: TraceMeta + 'static> Gc<T> {
    /// Moves `value` onto this thread's heap.
    ///
    /// The object is tracked by the cycle collector only if it can ever be part of a cycle: its
    /// type has mutable `Gc` edges, or one of the objects it points to is tracked. A type that
    /// implements [`unsync::Finalize`](super::Finalize) is registered for finalization; one with
    /// a shared-heap finalizer (`#[trace(finalize)]`) does not compile here, since that finalizer
    /// would never run.
    ///
    /// Where user code runs: when tracked allocations since the last collection exceed the
    /// budget, `new` first collects (dropping the garbage it finds, so other objects' `Drop`s
    /// run inside it) and then runs the pending finalizers. It does neither when called from
    /// inside a `Drop` or a finalizer the heap is running. If one of those panics, the panic
    /// leaves `new` after the object was made, and the new `Gc` drops as it unwinds.
    ///
    /// ```
    /// let answer = janitor::gc::unsync::Gc::new(42_u64);
    /// assert_eq!(*answer, 42);
    /// ```
    ///
    /// A shared-heap finalizer is refused:
    ///
    /// ```compile_fail
    /// use janitor::gc::{Finalize, Gc, Trace, unsync};
    /// #[derive(Trace)]
    /// #[trace(finalize)]
    /// struct SharedFinalizer;
    /// impl Finalize for SharedFinalizer {
    ///     fn finalize(_: &Gc<Self>) {}
    /// }
    /// let _ = unsync::Gc::new(SharedFinalizer);
    /// ```
    pub fn new(value: T) -> Self {
        const {
            assert!(
                T::FINALIZER.is_none(),
                "this type has a shared-heap finalizer (`#[trace(finalize)]`), which the \
                 thread-local heap never runs: use `#[trace(unsync_finalize)]` and \
                 `unsync::Finalize`, or allocate it with `janitor::gc::Gc::new`"
            )
        };
        let header = heap::with(|heap| {
            let open = !heap.closed.get();
            let tracked = open && object::should_track(&value);
            let registered = open && T::UNSYNC_FINALIZER.is_some();
            let mut flags = 0;
            // Every heap that allocated ends at thread exit, also one with untracked objects
            // only: the end frees the heap's own vectors (the deferred releases').
            collector::arm(heap);
            if tracked || registered {
                flags |= HAS_NODE;
            }
            if registered {
                flags |= REGISTERED;
            }
            // A panic of a `Drop` or a finalizer the collection runs leaves `new` only once the
            // object exists, so that it is finalized like any other.
            let panic = if tracked && heap.collection_due() {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    collector::collect_automatically(heap)
                }))
                .err()
            } else {
                None
            };
            let header = heap.allocate(value, flags);
            if tracked {
                // SAFETY: a new object with a node, in no list.
                unsafe { heap.link_new(header) };
            }
            (header, panic)
        });
        let (header, panic) = header;
        let gc = Self {
            // SAFETY: the object was allocated for a `T`.
            value: unsafe { value_of::<T>(header) },
            owns: PhantomData,
            local: PhantomData,
        };
        if let Some(payload) = panic {
            std::panic::resume_unwind(payload);
        }
        gc
    }
}

impl<T: ?Sized> Gc<T> {
    #[inline]
    pub(super) fn header(&self) -> &Header {
        // SAFETY: this `Gc`'s count keeps the object's memory live.
        unsafe { header_of(self.value).as_ref() }
    }

    #[inline]
    pub(super) fn header_ptr(&self) -> NonNull<Header> {
        // SAFETY: the value is a thread-local object's.
        unsafe { header_of(self.value) }
    }

    /// A `Gc` for an object the caller hands a count over for.
    ///
    /// # Safety
    /// `value` is a thread-local object's value, and the caller owns one count on it.
    #[inline]
    pub(super) unsafe fn from_value(value: NonNull<T>) -> Self {
        Self {
            value,
            owns: PhantomData,
            local: PhantomData,
        }
    }

    /// The value pointer, for weak references.
    #[inline]
    pub(super) fn value_ptr(&self) -> NonNull<T> {
        self.value
    }

    /// Whether two `Gc`s point to the same object.
    ///
    /// ```
    /// use janitor::gc::unsync::Gc;
    /// let a = Gc::new(1);
    /// assert!(Gc::ptr_eq(&a, &a.clone()));
    /// assert!(!Gc::ptr_eq(&a, &Gc::new(1)));
    /// ```
    pub fn ptr_eq(this: &Self, other: &Self) -> bool {
        std::ptr::addr_eq(this.value.as_ptr(), other.value.as_ptr())
    }

    /// The number of `Gc`s to the object (and holds of the heap's own: a queued finalizer).
    ///
    /// ```
    /// use janitor::gc::unsync::Gc;
    /// let a = Gc::new("a");
    /// let b = a.clone();
    /// assert_eq!(Gc::strong_count(&b), 2);
    /// ```
    pub fn strong_count(this: &Self) -> usize {
        this.header().strong.get() as usize
    }

    /// The number of [`WeakGc`](super::WeakGc)s to the object.
    ///
    /// ```
    /// use janitor::gc::unsync::Gc;
    /// let a = Gc::new(7);
    /// let weak = Gc::downgrade(&a);
    /// assert_eq!(Gc::weak_count(&a), 1);
    /// # drop(weak);
    /// ```
    pub fn weak_count(this: &Self) -> usize {
        this.header().weak_references()
    }

    /// A pointer to the value, for identity comparisons and hashing by address.
    ///
    /// ```
    /// use janitor::gc::unsync::Gc;
    /// let a = Gc::new(5_u8);
    /// assert_eq!(Gc::as_ptr(&a), &*a as *const u8);
    /// ```
    pub fn as_ptr(this: &Self) -> *const T {
        this.value.as_ptr()
    }
}

impl<T: ?Sized> Deref for Gc<T> {
    type Target = T;

    /// The value. Panics when the object is a member of a garbage cycle whose values are being
    /// dropped (a `Drop` reached another member): its value may be gone already.
    #[inline]
    fn deref(&self) -> &T {
        let header = self.header();
        if header.has(CONDEMNED) {
            header.condemned();
        }
        // SAFETY: the count keeps the value live, and it is not condemned.
        unsafe { self.value.as_ref() }
    }
}

impl<T: ?Sized> Clone for Gc<T> {
    /// Another `Gc` to the same object.
    ///
    /// ```
    /// use janitor::gc::unsync::Gc;
    /// let a = Gc::new(1);
    /// let b = a.clone();
    /// assert!(Gc::ptr_eq(&a, &b));
    /// ```
    #[inline]
    fn clone(&self) -> Self {
        self.header().increment();
        Self {
            value: self.value,
            owns: PhantomData,
            local: PhantomData,
        }
    }
}

impl<T: ?Sized> Drop for Gc<T> {
    #[inline]
    fn drop(&mut self) {
        let header = self.header();
        let strong = header.strong.get() - 1;
        header.strong.set(strong);
        if strong == 0 {
            // SAFETY: that was the last count.
            unsafe { heap::release(self.header_ptr()) }
        }
    }
}

// SAFETY: a `Gc` owns exactly one edge, to its object, and reports it once; the edge never
// changes (a `Gc` is replaced, not mutated, and replacing one needs a cell).
unsafe impl<T: ?Sized> Trace for Gc<T> {
    #[inline]
    fn trace(&self, tracer: &mut Tracer<'_>) {
        tracer.visit_local(self.header_ptr().cast());
    }
}
// SAFETY: a `Gc`'s edge never changes.
unsafe impl<T: ?Sized> TraceMeta for Gc<T> {
    const MUTABLE_EDGES: bool = false;
}

impl<T: ?Sized> AsRef<T> for Gc<T> {
    fn as_ref(&self) -> &T {
        self
    }
}

impl<T: ?Sized> Borrow<T> for Gc<T> {
    fn borrow(&self) -> &T {
        self
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Gc<T> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, formatter)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for Gc<T> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, formatter)
    }
}

impl<T: ?Sized> fmt::Pointer for Gc<T> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Pointer::fmt(&self.value, formatter)
    }
}

impl<T: ?Sized + PartialEq> PartialEq for Gc<T> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: ?Sized + Eq> Eq for Gc<T> {}

impl<T: ?Sized + PartialOrd> PartialOrd for Gc<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        (**self).partial_cmp(&**other)
    }
}

impl<T: ?Sized + Ord> Ord for Gc<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        (**self).cmp(&**other)
    }
}

impl<T: ?Sized + Hash> Hash for Gc<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (**self).hash(state)
    }
}

impl<T: Default + TraceMeta + 'static> Default for Gc<T> {
    /// A new object holding `T::default()`.
    ///
    /// ```
    /// let zero: janitor::gc::unsync::Gc<u32> = Default::default();
    /// assert_eq!(*zero, 0);
    /// ```
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T: TraceMeta + 'static> From<T> for Gc<T> {
    /// Moves `value` onto this thread's heap.
    ///
    /// ```
    /// let name: janitor::gc::unsync::Gc<String> = String::from("ada").into();
    /// assert_eq!(*name, "ada");
    /// ```
    fn from(value: T) -> Self {
        Self::new(value)
    }
}

/// Runs a finalizer's body with a `Gc` that borrows the queue's count.
///
/// # Safety
/// `header` is a live `T` object on which the caller holds a count for the call.
pub(super) unsafe fn with_lent<T: 'static, R>(
    header: NonNull<Header>,
    body: impl FnOnce(&Gc<T>) -> R,
) -> R {
    // SAFETY: the caller's contract: the count is lent, so the `Gc` must not drop.
    let lent = std::mem::ManuallyDrop::new(unsafe { Gc::from_value(value_of::<T>(header)) });
    body(&lent)
}
