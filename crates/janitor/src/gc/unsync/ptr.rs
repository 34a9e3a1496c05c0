//! `unsync::Gc<T>`: the counted pointer to a thread-local object.
//!
//! Invariant owned here: every `Gc` holds one strong count on its object, taken when it was
//! created (by `Gc::new` or a clone) and given back exactly once, when it drops.

use super::object::{
    self, CONDEMNED, HAS_NODE, Header, REGISTERED, SliceVTables, header_of, value_of,
};
use super::{collector, heap};
use crate::gc::core::trace::{Trace, TraceMeta, Tracer};
use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::ops::Deref;
use std::pin::Pin;
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

// The value is never moved by moving the pointer, as with `Rc`.
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
        Self::refuse_shared_finalizer();
        let (header, _, panic) = place(
            object::should_track(&value),
            T::UNSYNC_FINALIZER.is_some(),
            true,
            |flags| object::allocate(value, flags),
        );
        // SAFETY: the object was allocated for a `T`, and its count is handed over.
        unsafe { Self::finish(value_of::<T>(header), panic) }
    }

    pub(super) const fn refuse_shared_finalizer() {
        const {
            assert!(
                T::FINALIZER.is_none(),
                "this type has a shared-heap finalizer (`#[trace(finalize)]`), which the \
                 thread-local heap never runs: use `#[trace(unsync_finalize)]` and \
                 `unsync::Finalize`, or allocate it with `janitor::gc::Gc::new`"
            )
        };
    }

    /// Moves `value` onto this thread's heap, pinned: the value never moves again, as with
    /// [`Rc::pin`](std::rc::Rc::pin).
    ///
    /// ```
    /// use janitor::gc::unsync::Gc;
    /// use std::pin::Pin;
    ///
    /// let pinned: Pin<Gc<u32>> = Gc::pin(7);
    /// assert_eq!(*pinned, 7);
    /// ```
    pub fn pin(value: T) -> Pin<Self> {
        // SAFETY: a `Gc` never hands out `&mut T` through a shared pointer, and its value stays in
        // place until it is dropped in place (the memory is freed only after): the only ways to
        // move it out (`try_unwrap`, `into_inner`, `get_mut`) take a `Gc`, which `Pin` does not
        // give back for a `T` that is not `Unpin`.
        unsafe { Pin::new_unchecked(Self::new(value)) }
    }
}

impl<T> Gc<T> {
    /// The value, if this is the only `Gc` to the object; the `Gc` back otherwise.
    ///
    /// `Ok` exactly when this is the only `Gc` (no other one, no finalizer queue holding the
    /// object), the object is not registered for finalization (moving its value out means its
    /// finalizer would never run: call [`suppress_finalize`](super::suppress_finalize) first to
    /// say so), and it is not a garbage cycle's member whose value is gone already (a `Gc` a
    /// `Drop` cloned out of the cycle). Weak references to the object die; a
    /// [`ConditionalWeakTable`](super::ConditionalWeakTable) entry keyed by it goes away.
    ///
    /// ```
    /// use janitor::gc::unsync::Gc;
    /// let a = Gc::new(String::from("mine"));
    /// let b = a.clone();
    /// let a = Gc::try_unwrap(a).unwrap_err(); // `b` shares it
    /// drop(b);
    /// assert_eq!(Gc::try_unwrap(a).unwrap(), "mine");
    /// ```
    pub fn try_unwrap(this: Self) -> Result<T, Self> {
        let header = this.header();
        if header.strong.get() != 1 || header.has(CONDEMNED | REGISTERED) {
            return Err(this);
        }
        header.strong.set(0);
        let this = std::mem::ManuallyDrop::new(this);
        // SAFETY: the count went from one, ours, to zero: nothing reaches the value any more
        // (upgrades refuse a count of zero, no collection is examining it while this runs), and
        // it is not condemned, so it is live. Moved out once.
        let value = unsafe { this.value.as_ptr().read() };
        // SAFETY: the value moved out.
        heap::with(|heap| unsafe { heap.forget_taken(this.header_ptr()) });
        Ok(value)
    }

    /// The value, if this was the last `Gc` to the object; `None` otherwise, and the reference is
    /// dropped either way (as [`Rc::into_inner`](std::rc::Rc::into_inner)): when every holder
    /// calls it, exactly one gets the value, unless the object is registered for finalization
    /// (it then goes to its finalizer, as on a drop).
    ///
    /// ```
    /// use janitor::gc::unsync::Gc;
    /// let a = Gc::new(vec![1, 2]);
    /// let b = a.clone();
    /// assert_eq!(Gc::into_inner(a), None);
    /// assert_eq!(Gc::into_inner(b), Some(vec![1, 2]));
    /// ```
    pub fn into_inner(this: Self) -> Option<T> {
        Self::try_unwrap(this).ok()
    }
}

impl<T: ?Sized> Gc<T> {
    /// The new `Gc` of an object `place` made, then the panic its collection raised, if any.
    ///
    /// # Safety
    /// `value` is a live object's value, whose count the caller hands over.
    #[inline]
    pub(super) unsafe fn finish(
        value: NonNull<T>,
        panic: Option<Box<dyn std::any::Any + Send>>,
    ) -> Self {
        // SAFETY: the caller's contract.
        let gc = unsafe { Self::from_value(value) };
        if let Some(payload) = panic {
            std::panic::resume_unwind(payload);
        }
        gc
    }
}

/// Makes an object on this thread's heap: runs the automatic collection that is due if the
/// object is tracked (`tracked` says, unless the heap has ended), allocates it with `make`
/// (given its flags), counts its bytes and, if `link` and tracked, links it. Returns the header,
/// whether it is tracked, and the panic the collection raised: that panic leaves the constructor
/// only once the object exists, so that the object is finalized like any other.
#[inline]
pub(super) fn place(
    tracked: bool,
    registered: bool,
    link: bool,
    make: impl FnOnce(u32) -> NonNull<Header>,
) -> (NonNull<Header>, bool, Option<Box<dyn std::any::Any + Send>>) {
    heap::with(|heap| {
        let open = !heap.closed.get();
        let tracked = open && tracked;
        let registered = open && registered;
        // Every heap that allocated ends at thread exit, also one with untracked objects
        // only: the end frees the heap's own vectors (the deferred releases').
        collector::arm(heap);
        let mut flags = 0;
        if tracked || registered {
            flags |= HAS_NODE;
        }
        if registered {
            flags |= REGISTERED;
        }
        let panic = if tracked && heap.collection_due() {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                collector::collect_automatically(heap)
            }))
            .err()
        } else {
            None
        };
        let header = make(flags);
        heap.count_new(header);
        if tracked && link {
            // SAFETY: a new object with a node, in no list.
            unsafe { heap.link_new(header) };
        }
        (header, tracked, panic)
    })
}

impl<T: TraceMeta + 'static> Gc<[T]> {
    /// A new slice object holding the items of an iterator that knows its length, written
    /// straight into the object (unlike `collect()`, which gathers them into a `Vec` first),
    /// except for element types that can hold a `Gc` but no cell (the tracking decision needs
    /// them all first).
    ///
    /// # Panics
    /// If the iterator yields fewer items than its `len()` (the items it did yield are dropped).
    /// Items past its `len()` are left in it.
    ///
    /// A slice of a type with a finalizer does not build: an element is not an object, and its
    /// finalizer would never run.
    ///
    /// ```compile_fail,E0080
    /// use janitor::gc::Trace;
    /// use janitor::gc::unsync::{Finalize, Gc};
    ///
    /// #[derive(Trace)]
    /// #[trace(unsync_finalize)]
    /// struct Socket;
    /// impl Finalize for Socket {
    ///     fn finalize(_: &Gc<Self>) {}
    /// }
    ///
    /// let sockets: Gc<[Socket]> = Gc::from_exact_iter([Socket, Socket]);
    /// ```
    ///
    /// ```
    /// use janitor::gc::unsync::Gc;
    /// let squares: Gc<[u64]> = Gc::from_exact_iter([1, 2, 3, 4].map(|n| n * n));
    /// assert_eq!(&*squares, &[1, 4, 9, 16]);
    /// ```
    pub fn from_exact_iter<I>(items: I) -> Self
    where
        I: IntoIterator<Item = T>,
        I::IntoIter: ExactSizeIterator,
    {
        if T::HOLDS_GC && !T::MUTABLE_EDGES {
            return Self::from(items.into_iter().collect::<Vec<T>>());
        }
        let items = items.into_iter();
        let len = items.len();
        Self::allocate_slice(T::HOLDS_GC, len, items)
    }

    fn allocate_slice(tracked: bool, len: usize, items: impl Iterator<Item = T>) -> Self {
        // An element is not an object: its finalizer would never run. Refused at compile time
        // rather than skipped silently.
        const {
            assert!(
                T::FINALIZER.is_none() && T::UNSYNC_FINALIZER.is_none(),
                "janitor: a Gc slice of a type with a finalizer would never finalize its \
                 elements: make a slice of Gc<T> instead, each element an object of its own"
            )
        };
        let (header, _, panic) = place(tracked, false, true, |flags| {
            object::allocate_slice(&SliceVTables::<T>::VTABLE, flags, len, items)
        });
        // SAFETY: a live slice object of `T`s, whose count is handed over.
        unsafe { Self::finish(object::slice_of::<T>(header), panic) }
    }
}

impl<T: TraceMeta + 'static> From<Vec<T>> for Gc<[T]> {
    /// Moves the elements into a new slice object (the `Vec`'s buffer is freed).
    ///
    /// ```
    /// use janitor::gc::unsync::Gc;
    /// let numbers: Gc<[i32]> = Gc::from(vec![1, 2, 3]);
    /// assert_eq!(numbers.len(), 3);
    /// ```
    fn from(items: Vec<T>) -> Self {
        let len = items.len();
        // The decision reads the items before they move: decided first.
        let tracked = object::should_track_all(items.as_slice());
        Self::allocate_slice(tracked, len, items.into_iter())
    }
}

impl<T: TraceMeta + Clone + 'static> From<&[T]> for Gc<[T]> {
    /// Clones the elements into a new slice object.
    ///
    /// ```
    /// use janitor::gc::unsync::Gc;
    /// let words: Gc<[&str]> = Gc::from(&["a", "b"][..]);
    /// assert_eq!(&*words, ["a", "b"]);
    /// ```
    fn from(items: &[T]) -> Self {
        Self::allocate_slice(
            object::should_track_all(items),
            items.len(),
            items.iter().cloned(),
        )
    }
}

impl<T: TraceMeta + 'static> From<Box<[T]>> for Gc<[T]> {
    /// Moves the elements of a boxed slice into a new slice object.
    ///
    /// ```
    /// use janitor::gc::unsync::Gc;
    /// let boxed: Box<[u8]> = vec![4, 2].into_boxed_slice();
    /// let slice: Gc<[u8]> = Gc::from(boxed);
    /// assert_eq!(&*slice, &[4, 2]);
    /// ```
    fn from(items: Box<[T]>) -> Self {
        Self::from(Vec::from(items))
    }
}

impl<T: TraceMeta + 'static> FromIterator<T> for Gc<[T]> {
    /// Gathers the items into a `Vec`, then moves them into a new slice object (see
    /// [`Gc::from_exact_iter`] to skip the `Vec` when the length is known).
    ///
    /// ```
    /// use janitor::gc::unsync::Gc;
    /// let evens: Gc<[u32]> = (0..10).filter(|n| n % 2 == 0).collect();
    /// assert_eq!(&*evens, &[0, 2, 4, 6, 8]);
    /// ```
    fn from_iter<I: IntoIterator<Item = T>>(items: I) -> Self {
        Self::from(items.into_iter().collect::<Vec<T>>())
    }
}

impl<T: TraceMeta + 'static> Default for Gc<[T]> {
    /// An empty slice object.
    ///
    /// ```
    /// let empty: janitor::gc::unsync::Gc<[u8]> = Default::default();
    /// assert!(empty.is_empty());
    /// ```
    fn default() -> Self {
        Self::from(Vec::new())
    }
}

impl Default for Gc<str> {
    /// An empty string object.
    ///
    /// ```
    /// let empty: janitor::gc::unsync::Gc<str> = Default::default();
    /// assert_eq!(&*empty, "");
    /// ```
    fn default() -> Self {
        Self::from("")
    }
}

impl From<&str> for Gc<str> {
    /// Copies the string into a new object.
    ///
    /// ```
    /// use janitor::gc::unsync::Gc;
    /// let name: Gc<str> = Gc::from("Ada");
    /// assert_eq!(&*name, "Ada");
    /// ```
    fn from(text: &str) -> Self {
        let (header, _, panic) = place(false, false, true, |flags| {
            object::allocate_slice(&object::STR, flags, text.len(), text.bytes())
        });
        // SAFETY: a live slice object of bytes.
        let bytes = unsafe { object::slice_of::<u8>(header) };
        // A `[u8]` and a `str` have the same layout and metadata (the length in bytes).
        let value = NonNull::new(bytes.as_ptr() as *mut str).expect("an object's address");
        // SAFETY: the object holds a copy of `text`'s bytes, which are UTF-8; its count is handed
        // over.
        unsafe { Self::finish(value, panic) }
    }
}

impl From<String> for Gc<str> {
    /// Copies the string into a new object.
    ///
    /// ```
    /// use janitor::gc::unsync::Gc;
    /// let name: Gc<str> = Gc::from(String::from("Ada"));
    /// assert_eq!(name.len(), 3);
    /// ```
    fn from(text: String) -> Self {
        Self::from(text.as_str())
    }
}

impl From<Box<str>> for Gc<str> {
    /// Copies the string into a new object.
    ///
    /// ```
    /// use janitor::gc::unsync::Gc;
    /// let boxed: Box<str> = "Ada".into();
    /// let name: Gc<str> = Gc::from(boxed);
    /// assert_eq!(&*name, "Ada");
    /// ```
    fn from(text: Box<str>) -> Self {
        Self::from(&*text)
    }
}

impl<T: TraceMeta + 'static> From<Box<T>> for Gc<T> {
    /// Moves the boxed value onto this thread's heap (boxed slices and strings have impls of
    /// their own; a `Box<dyn Trait>` cannot move, since the heap needs the concrete type's
    /// `Trace`).
    ///
    /// ```
    /// use janitor::gc::unsync::Gc;
    /// let gc: Gc<u64> = Gc::from(Box::new(5));
    /// assert_eq!(*gc, 5);
    /// ```
    fn from(value: Box<T>) -> Self {
        Self::new(*value)
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
    #[must_use]
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
    #[must_use]
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
    #[must_use]
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
    #[must_use]
    pub fn as_ptr(this: &Self) -> *const T {
        this.value.as_ptr()
    }

    /// A mutable reference to the value, when nothing else can reach it; `None` otherwise.
    ///
    /// `Some` exactly when all of these hold:
    /// * this is the only `Gc` to the object (no other `Gc`, on the stack or inside another
    ///   object, and no finalizer queue holding it);
    /// * no [`WeakGc`](super::WeakGc) to it is alive, and it is no
    ///   [`ConditionalWeakTable`](super::ConditionalWeakTable)'s key (a table holds a weak
    ///   reference to each key), as [`Rc::get_mut`](std::rc::Rc::get_mut) looks at the weak
    ///   references alive now;
    /// * its type holds no `Gc` ([`TraceMeta::HOLDS_GC`] is false): a collection (at `collect`, or
    ///   at any `Gc::new` while the reference is held) traces the objects it examines, which
    ///   must not happen under a `&mut`, and whether the object is examined at all was decided
    ///   from the edges it had when it was built. Mutable edges belong in a
    ///   [`GcCell`](super::GcCell);
    /// * it is not a garbage cycle's member whose value is being dropped (a `Gc` a `Drop` cloned
    ///   out of the cycle).
    ///
    /// Being registered for finalization does not matter: a finalizer runs only once no `Gc` is
    /// left.
    ///
    /// ```
    /// use janitor::gc::unsync::Gc;
    /// let mut a = Gc::new(String::from("draft"));
    /// Gc::get_mut(&mut a).unwrap().push_str(", final");
    /// let b = a.clone();
    /// assert!(Gc::get_mut(&mut a).is_none(), "shared");
    /// drop(b);
    /// let weak = Gc::downgrade(&a);
    /// assert!(Gc::get_mut(&mut a).is_none(), "weakly referenced");
    /// drop(weak);
    /// assert_eq!(Gc::get_mut(&mut a).map(|text| text.as_str()), Some("draft, final"));
    /// ```
    #[must_use]
    pub fn get_mut(this: &mut Self) -> Option<&mut T> {
        let header = this.header();
        if header.vtable.holds_gc
            || header.strong.get() != 1
            || header.weak_references() != 0
            || header.has(CONDEMNED)
        {
            return None;
        }
        // SAFETY: this `Gc` is the only reference, strong or weak, and none can appear while
        // `this` is borrowed exclusively (another `Gc` or a `WeakGc` is made from a `Gc`, or
        // upgraded from a `WeakGc`, and there is none); the collector never traces a value that
        // holds no `Gc`, and a finalizer runs only on an object no `Gc` holds.
        Some(unsafe { this.value.as_mut() })
    }

    /// Turns the `Gc` into a raw pointer to the value, keeping its count: the object stays alive
    /// until [`Gc::from_raw`] makes a `Gc` of the pointer again and that `Gc` drops.
    ///
    /// ```
    /// use janitor::gc::unsync::Gc;
    /// let raw = Gc::into_raw(Gc::new(5_u8));
    /// // SAFETY: `raw` came from `into_raw`, and is turned back once.
    /// let again = unsafe { Gc::from_raw(raw) };
    /// assert_eq!(*again, 5);
    /// ```
    #[must_use = "the pointer holds a count: losing it leaks the object"]
    pub fn into_raw(this: Self) -> *const T {
        std::mem::ManuallyDrop::new(this).value.as_ptr()
    }

    /// Makes a `Gc` of a pointer from [`Gc::into_raw`], taking its count back.
    ///
    /// # Safety
    /// `raw` was returned by [`Gc::into_raw`] on this thread for a `Gc<T>` (or for a `Gc<U>`
    /// that [`coerce_unsync_gc!`](crate::coerce_unsync_gc) could turn into a `Gc<T>`, coerced as
    /// it would), and each such pointer is given to `from_raw` at most once.
    ///
    /// ```
    /// use janitor::gc::unsync::Gc;
    /// let text: Gc<str> = Gc::from("raw");
    /// let raw = Gc::into_raw(text);
    /// // SAFETY: `raw` came from `into_raw`, and is turned back once.
    /// let text = unsafe { Gc::from_raw(raw) };
    /// assert_eq!(&*text, "raw");
    /// ```
    pub unsafe fn from_raw(raw: *const T) -> Self {
        // SAFETY: the caller's contract: a thread-local object's value, with the count
        // `into_raw` kept.
        unsafe { Self::from_value(NonNull::new_unchecked(raw.cast_mut())) }
    }

    /// Changes the pointee type by an unsizing coercion; use
    /// [`coerce_unsync_gc!`](crate::coerce_unsync_gc).
    ///
    /// # Safety
    /// `coerce` returns its argument, coerced (the macro only compiles for unsizing coercions).
    #[doc(hidden)]
    pub unsafe fn coerce_unchecked<U: ?Sized>(
        this: Self,
        coerce: impl FnOnce(*const T) -> *const U,
    ) -> Gc<U> {
        let this = std::mem::ManuallyDrop::new(this);
        let coerced = coerce(this.value.as_ptr());
        debug_assert_eq!(coerced.cast::<u8>(), this.value.as_ptr().cast::<u8>());
        // SAFETY: the coerced pointer is the same non-null address, and takes over the count.
        unsafe { Gc::from_value(NonNull::new_unchecked(coerced.cast_mut())) }
    }
}

/// Turns an [`unsync::Gc<T>`](crate::gc::unsync::Gc) into an `unsync::Gc<U>` by an unsizing
/// coercion, typically `Gc<dyn Trait>`, as [`coerce_gc!`](crate::coerce_gc) does for the shared
/// heap's (`CoerceUnsized` is unstable, so `Gc` cannot coerce implicitly as `Rc` does).
///
/// ```
/// use janitor::coerce_unsync_gc;
/// use janitor::gc::unsync::Gc;
/// use std::fmt::Display;
///
/// let shapes: Vec<Gc<dyn Display>> = vec![
///     coerce_unsync_gc!(Gc::new(1_u8) => dyn Display),
///     coerce_unsync_gc!(Gc::new(std::rc::Rc::new("two")) => dyn Display),
/// ];
/// assert_eq!(format!("{} {}", shapes[0], shapes[1]), "1 two");
/// let slice: Gc<[u32]> = coerce_unsync_gc!(Gc::new([1, 2, 3]) => [u32]);
/// assert_eq!(slice.len(), 3);
/// ```
#[macro_export]
macro_rules! coerce_unsync_gc {
    ($gc:expr => $target:ty) => {{
        let gc = $gc;
        // SAFETY: the closure returns its argument through an implicit coercion to
        // `*const $target`, which only compiles for unsizing coercions: same address, same object.
        unsafe {
            $crate::gc::unsync::Gc::coerce_unchecked(gc, |pointer| -> *const $target { pointer })
        }
    }};
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
