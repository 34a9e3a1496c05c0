//! `Gc<T>`: the counted pointer to a heap object.
//!
//! Invariant owned here: every `Gc` holds one count on its object, taken when it was created (by
//! `Gc::new` or a clone) and given back exactly once, when it drops. The last one to drop frees
//! the object (`release.rs`).

use crate::gc::core::heap::{Heap, OLDEST, Trigger};
use crate::gc::core::object::{self, Header, ObjectVTable, SliceVTables, VTables, header_of};
use crate::gc::core::trace::{Trace, TraceMeta, Tracer};
use crate::gc::engine::background;
use crate::gc::engine::driver;
use crate::gc::engine::finalizer_thread;
use crate::gc::engine::release;
use crate::gc::side::weak_cells;
use crate::leak;
use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::pin::Pin;
use std::ptr::NonNull;

/// A shared pointer to an object on janitor's managed heap.
///
/// Use it like [`Arc`](std::sync::Arc): clone it, send it to another thread, store it, drop it.
/// The object is dropped by the drop of its last `Gc`, unless it is part of a cycle: then the
/// cycle collector frees it, at an automatic collection or at [`collect`](crate::gc::collect).
///
/// One exception, and its bound: a collection on another thread holds a count of its own (a *pin*)
/// on each object it examines, from its start until its decision. A last `Gc` dropped meanwhile
/// leaves that pin as the last count, and the object is dropped when the collection gives its
/// pins back: before that [`collect`](crate::gc::collect) returns, or, for an automatic
/// collection, on the `janitor-reclaimer` thread. `collect()` waits for both, so after
/// `drop(last); collect();` on any thread the object is dropped, always.
///
/// `Gc<T>` is `Send` and `Sync` when `T` is; [`Gc::new`] requires both ([`SyncHeapValue`]),
/// because the collector may trace and drop an object on any thread. It is `Unpin` whatever `T`:
/// the value never moves, only the pointer does. Slices and strings are made from a `Vec`, a
/// slice, a `String`, a `Box` or an iterator (`Gc<[T]>`, `Gc<str>`, see the `From` impls); for
/// `Gc<dyn Trait>`, create a `Gc<T>` and coerce it with [`coerce_gc!`](crate::coerce_gc).
///
/// ```
/// use janitor::gc::{Gc, GcCell, Trace, collect};
///
/// #[derive(Trace)]
/// struct Person {
///     #[trace(skip)]
///     name: String,
///     spouse: GcCell<Option<Gc<Person>>>,
/// }
///
/// let ada = Gc::new(Person { name: "Ada".into(), spouse: GcCell::new(None) });
/// let bob = Gc::new(Person { name: "Bob".into(), spouse: GcCell::new(None) });
/// *ada.spouse.borrow_mut() = Some(bob.clone());
/// *bob.spouse.borrow_mut() = Some(ada.clone());
/// assert_eq!(ada.spouse.borrow().as_ref().unwrap().name, "Bob");
/// drop((ada, bob)); // a cycle: `Arc` would leak it
/// collect();        // the collector frees both
/// ```
pub struct Gc<T: ?Sized> {
    value: NonNull<T>,
    owns: PhantomData<T>,
}

// SAFETY: a `Gc<T>` gives shared access to `T` from whichever thread holds it, and may drop `T`
// on any thread: exactly `Arc`'s requirements.
unsafe impl<T: ?Sized + Send + Sync> Send for Gc<T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send + Sync> Sync for Gc<T> {}

// The value is never moved by moving the pointer, as with `Arc`.
impl<T: ?Sized> Unpin for Gc<T> {}

mod sealed {
    pub trait Sealed {}
    impl<T: ?Sized + Send + Sync> Sealed for T {}
}

/// A value the sync heap can hold: one that is `Send + Sync`, since a collection traces and drops
/// objects on whichever thread it runs, and every thread may share them.
///
/// Implemented for every `Send + Sync` type, and for no other (it is sealed). It exists to say so
/// in one error: a value that is not `Send + Sync` in [`Gc::new`] is reported as this trait's
/// bound, with what to do, instead of one `Send` and one `Sync` error per call.
///
/// ```
/// use janitor::gc::SyncHeapValue;
/// fn holds<T: SyncHeapValue>() {}
/// holds::<String>();
/// holds::<std::sync::Mutex<Vec<u8>>>();
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not `Send + Sync`, and the sync heap's `Gc` only holds values that every thread may share",
    label = "not `Send + Sync`",
    note = "a collection traces and drops objects on whichever thread it runs: every field of the value must be `Send + Sync`",
    note = "an `Rc`, `Cell` or `RefCell` field is the usual cause: use `Gc`, an atomic, or `GcCell` or `std::sync::Mutex` instead",
    note = "a value that must stay on one thread belongs on the thread-local heap, `janitor::gc::unsync`"
)]
pub trait SyncHeapValue: Send + Sync + sealed::Sealed {}

#[diagnostic::do_not_recommend]
impl<T: ?Sized + Send + Sync> SyncHeapValue for T {}

impl<T: TraceMeta + SyncHeapValue + 'static> Gc<T> {
    /// Moves `value` onto the managed heap.
    ///
    /// The object is tracked by the cycle collector only if it can ever be part of a cycle: its
    /// type has mutable `Gc` edges, or one of the objects it points to is tracked. Other objects
    /// cost one allocation and atomic counts, as with `Arc`. A tracked allocation may run an
    /// automatic collection before `new` returns; it traces and decides on this thread, and
    /// leaves the drops of the garbage it finds to the `janitor-reclaimer` thread, so `new` never
    /// runs another object's `Drop` (which could need a lock the caller holds). Nor does it wait
    /// for a collection another thread is running (which may be running such a `Drop`): it goes
    /// on without its own, and a later allocation collects.
    ///
    /// ```
    /// let answer = janitor::gc::Gc::new(42_u64);
    /// assert_eq!(*answer, 42);
    /// ```
    pub fn new(value: T) -> Self {
        let tracked = T::HOLDS_GC && (T::MUTABLE_EDGES || has_tracked_child(&value));
        let vtable = if tracked {
            &VTables::<T>::TRACKED
        } else {
            &VTables::<T>::UNTRACKED
        };
        if T::FINALIZER.is_some() {
            finalizer_thread::ensure_started();
        }
        let heap = heap();
        let header = object::allocate(value, vtable);
        // SAFETY: `allocate` returned a live, unlinked object of type `T` holding one count.
        unsafe { Self::adopt(heap, header, object::value_of::<T>(header)) }
    }

    /// Moves `value` onto the heap, pinned: the value never moves again, as with
    /// [`Arc::pin`](std::sync::Arc::pin).
    ///
    /// ```
    /// use janitor::gc::Gc;
    /// use std::pin::Pin;
    ///
    /// let pinned: Pin<Gc<u32>> = Gc::pin(7);
    /// assert_eq!(*pinned, 7);
    /// ```
    pub fn pin(value: T) -> Pin<Self> {
        // SAFETY: a `Gc` never hands out `&mut T` through a shared pointer, and its value stays in
        // place until it is dropped in place (the object's memory is freed only after): the only
        // ways to move it out (`try_unwrap`, `into_inner`, `get_mut`) take a `Gc`, which `Pin`
        // does not give back for a `T` that is not `Unpin`.
        unsafe { Pin::new_unchecked(Self::new(value)) }
    }
}

impl<T> Gc<T> {
    /// The value, if this is the only reference to the object; the `Gc` back otherwise.
    ///
    /// `Ok` exactly when this is the only `Gc` (no other one, no collection examining the object
    /// at this moment, no finalizer queue holding it) and the object is not registered for
    /// finalization: moving its value out means its finalizer would never run, so call
    /// [`suppress_finalize`](crate::gc::suppress_finalize) first to say so. Weak references to the
    /// object die: an upgrade racing with this either comes first (then this returns `Err`) or
    /// fails. The object's memory is freed; a
    /// [`ConditionalWeakTable`](crate::gc::ConditionalWeakTable) entry keyed by it goes away.
    ///
    /// ```
    /// use janitor::gc::Gc;
    /// let a = Gc::new(String::from("mine"));
    /// let b = a.clone();
    /// let a = Gc::try_unwrap(a).unwrap_err(); // `b` shares it
    /// drop(b);
    /// assert_eq!(Gc::try_unwrap(a).unwrap(), "mine");
    /// ```
    pub fn try_unwrap(this: Self) -> Result<T, Self> {
        if !this.header_ref().count().take_unique() {
            return Err(this);
        }
        let this = ManuallyDrop::new(this);
        // SAFETY: the count went from one, ours, to zero: no thread can reach the value (upgrades
        // and pins refuse a count of zero), and it is not condemned, so it is live. Moved out once.
        let value = unsafe { this.value.as_ptr().read() };
        // SAFETY: the count reached zero in our hands, not condemned, and the value moved out.
        unsafe { release::free_taken(this.header()) };
        Ok(value)
    }

    /// The value, if this was the last `Gc` to the object; `None` otherwise, and the reference is
    /// dropped either way (as [`Arc::into_inner`](std::sync::Arc::into_inner)): when every holder
    /// calls it, exactly one gets the value, unless a collection was examining the object as the
    /// last of them let go (the collection then drops the value, as it drops an object whose last
    /// `Gc` it outlives) or the object is registered for finalization (it then goes to its
    /// finalizer, as on a drop).
    ///
    /// ```
    /// use janitor::gc::Gc;
    /// let a = Gc::new(vec![1, 2]);
    /// let b = a.clone();
    /// assert_eq!(Gc::into_inner(a), None);
    /// assert_eq!(Gc::into_inner(b), Some(vec![1, 2]));
    /// ```
    pub fn into_inner(this: Self) -> Option<T> {
        let this = ManuallyDrop::new(this);
        // SAFETY: this `Gc`'s count, given back once, here.
        if !unsafe { release::give_back_for_value(this.header()) } {
            return None;
        }
        // SAFETY: that was the last count and the value is live (`give_back_for_value`): no thread
        // can reach it any more. Moved out once.
        let value = unsafe { this.value.as_ptr().read() };
        // SAFETY: the count reached zero in our hands, not condemned, and the value moved out.
        unsafe { release::free_taken(this.header()) };
        Some(value)
    }
}

impl<T: ?Sized> Gc<T> {
    /// Takes over a new object: adds it to gen 0 if it is tracked (through its thread's arrival
    /// shard, `core/arrivals.rs`), then runs the automatic collection its allocation made due.
    ///
    /// # Safety
    /// `header` is a new, unlinked, live object holding one count the new `Gc` takes over, and
    /// `value` points to its value.
    pub(crate) unsafe fn adopt(heap: &Heap, header: NonNull<Header>, value: NonNull<T>) -> Self {
        // SAFETY: the header is live (the caller's contract).
        let due = if unsafe { header.as_ref() }.vtable().tracked {
            // SAFETY: the object is new, allocated with a tracked vtable, not linked yet.
            unsafe { heap.link(header) }
        } else {
            None
        };
        // SAFETY: the caller's contract.
        let gc = unsafe { Self::from_value(value) };
        if let Some(due) = due {
            background::collect_automatically(due);
        }
        gc
    }
}

impl<T: TraceMeta + SyncHeapValue + 'static> Gc<[T]> {
    /// A new slice object holding the items of an iterator that knows its length. Unlike
    /// `collect()`, which gathers the items into a `Vec` first (an iterator's size hint cannot be
    /// trusted), it writes them straight into the object, except for element types that can hold
    /// a `Gc` but no cell (the tracking decision needs them all first).
    ///
    /// # Panics
    /// If the iterator yields fewer items than its `len()` (the items it did yield are dropped).
    /// Items past its `len()` are left in it.
    ///
    /// A slice of a type with a finalizer does not build (with any constructor of `Gc<[T]>`):
    /// an element is not an object, and its finalizer would never run. The error comes from a
    /// constant evaluated when the code is built, so `cargo check` does not show it.
    ///
    /// ```compile_fail,E0080
    /// use janitor::gc::{Finalize, Gc, Trace};
    ///
    /// #[derive(Trace)]
    /// #[trace(finalize)]
    /// struct Socket;
    /// impl Finalize for Socket {
    ///     fn finalize(_: &Gc<Self>) {}
    /// }
    ///
    /// let sockets: Gc<[Socket]> = Gc::from_exact_iter([Socket, Socket]);
    /// ```
    ///
    /// ```
    /// use janitor::gc::Gc;
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
        // rather than dropped silently.
        const {
            assert!(
                T::FINALIZER.is_none(),
                "janitor: a Gc slice of a type with a finalizer would never finalize its \
                 elements: make a slice of Gc<T> instead, each element an object of its own"
            )
        };
        let vtable: &'static ObjectVTable = if tracked {
            &SliceVTables::<T>::TRACKED
        } else {
            &SliceVTables::<T>::UNTRACKED
        };
        let heap = heap();
        let header = object::allocate_slice(vtable, len, items);
        // SAFETY: a live slice object of `T`s (its length stored), unlinked, holding one count.
        unsafe { Self::adopt(heap, header, object::slice_of::<T>(header)) }
    }
}

impl<T: TraceMeta + SyncHeapValue + 'static> From<Vec<T>> for Gc<[T]> {
    /// Moves the elements into a new slice object (the `Vec`'s buffer is freed).
    ///
    /// ```
    /// use janitor::gc::Gc;
    /// let numbers: Gc<[i32]> = Gc::from(vec![1, 2, 3]);
    /// assert_eq!(numbers.len(), 3);
    /// ```
    fn from(items: Vec<T>) -> Self {
        let tracked = T::HOLDS_GC && (T::MUTABLE_EDGES || has_tracked_child(items.as_slice()));
        let len = items.len();
        Self::allocate_slice(tracked, len, items.into_iter())
    }
}

impl<T: TraceMeta + SyncHeapValue + Clone + 'static> From<&[T]> for Gc<[T]> {
    /// Clones the elements into a new slice object.
    ///
    /// ```
    /// use janitor::gc::Gc;
    /// let words: Gc<[&str]> = Gc::from(&["a", "b"][..]);
    /// assert_eq!(&*words, ["a", "b"]);
    /// ```
    fn from(items: &[T]) -> Self {
        let tracked = T::HOLDS_GC && (T::MUTABLE_EDGES || has_tracked_child(items));
        Self::allocate_slice(tracked, items.len(), items.iter().cloned())
    }
}

impl<T: TraceMeta + SyncHeapValue + 'static> From<Box<[T]>> for Gc<[T]> {
    /// Moves the elements of a boxed slice into a new slice object.
    ///
    /// ```
    /// use janitor::gc::Gc;
    /// let boxed: Box<[u8]> = vec![4, 2].into_boxed_slice();
    /// let slice: Gc<[u8]> = Gc::from(boxed);
    /// assert_eq!(&*slice, &[4, 2]);
    /// ```
    fn from(items: Box<[T]>) -> Self {
        Self::from(Vec::from(items))
    }
}

impl<T: TraceMeta + SyncHeapValue + 'static> FromIterator<T> for Gc<[T]> {
    /// Gathers the items into a `Vec`, then moves them into a new slice object (see
    /// [`Gc::from_exact_iter`] to skip the `Vec` when the length is known).
    ///
    /// ```
    /// use janitor::gc::Gc;
    /// let evens: Gc<[u32]> = (0..10).filter(|n| n % 2 == 0).collect();
    /// assert_eq!(&*evens, &[0, 2, 4, 6, 8]);
    /// ```
    fn from_iter<I: IntoIterator<Item = T>>(items: I) -> Self {
        Self::from(items.into_iter().collect::<Vec<T>>())
    }
}

impl<T: TraceMeta + SyncHeapValue + 'static> Default for Gc<[T]> {
    /// An empty slice object.
    ///
    /// ```
    /// let empty: janitor::gc::Gc<[u8]> = Default::default();
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
    /// let empty: janitor::gc::Gc<str> = Default::default();
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
    /// use janitor::gc::Gc;
    /// let name: Gc<str> = Gc::from("Ada");
    /// assert_eq!(&*name, "Ada");
    /// ```
    fn from(text: &str) -> Self {
        let heap = heap();
        let header = object::allocate_slice(&object::STR, text.len(), text.bytes());
        // SAFETY: the object holds a copy of `text`'s bytes, which are UTF-8.
        let value = unsafe { object::slice_of::<u8>(header) };
        let value = NonNull::new(value.as_ptr() as *mut str).expect("a heap object's address");
        // SAFETY: a live `str` object (its length stored), untracked, holding one count.
        unsafe { Self::adopt(heap, header, value) }
    }
}

impl From<String> for Gc<str> {
    /// Copies the string into a new object.
    ///
    /// ```
    /// use janitor::gc::Gc;
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
    /// use janitor::gc::Gc;
    /// let boxed: Box<str> = "Ada".into();
    /// let name: Gc<str> = Gc::from(boxed);
    /// assert_eq!(&*name, "Ada");
    /// ```
    fn from(text: Box<str>) -> Self {
        Self::from(&*text)
    }
}

impl<T: TraceMeta + SyncHeapValue + 'static> From<Box<T>> for Gc<T> {
    /// Moves the boxed value onto the managed heap (boxed slices and strings have impls of their
    /// own; a `Box<dyn Trait>` cannot move, since the heap needs the concrete type's `Trace`).
    ///
    /// ```
    /// use janitor::gc::Gc;
    /// let gc: Gc<u64> = Gc::from(Box::new(5));
    /// assert_eq!(*gc, 5);
    /// ```
    fn from(value: Box<T>) -> Self {
        Self::new(*value)
    }
}

/// The heap, for an allocation. The first one makes leak checks settle the heap before they end:
/// from then on a check ends only once the garbage cycles and the objects waiting for their
/// finalizer have reported the leaks they hold. Nothing can be leaked through the heap before
/// its first object.
pub(crate) fn heap() -> &'static Heap {
    static SETTLING: std::sync::Once = std::sync::Once::new();
    SETTLING.call_once(|| {
        leak::settle_before_checks_end(|| {
            driver::run(OLDEST, Trigger::Induced);
            finalizer_thread::wait_for_pending_finalizers();
        });
    });
    Heap::global()
}

/// Whether any `Gc` the value owns points to a tracked object.
fn has_tracked_child<T: Trace + ?Sized>(value: &T) -> bool {
    let mut tracer = Tracer::construction();
    value.trace(&mut tracer);
    tracer.found_tracked()
}

impl<T: ?Sized> Gc<T> {
    /// # Safety
    /// `value` is the value of a live object holding a count the new `Gc` takes over.
    #[inline]
    pub(crate) unsafe fn from_value(value: NonNull<T>) -> Self {
        Self {
            value,
            owns: PhantomData,
        }
    }

    /// The pointer to the value.
    #[inline]
    pub(crate) fn as_non_null(this: &Self) -> NonNull<T> {
        this.value
    }

    #[inline]
    pub(crate) fn header(&self) -> NonNull<Header> {
        // SAFETY: `value` points to a heap object's value.
        unsafe { header_of(self.value) }
    }

    #[inline]
    fn header_ref(&self) -> &Header {
        // SAFETY: this `Gc` holds a count, so the object is live.
        unsafe { self.header().as_ref() }
    }

    /// Whether two `Gc`s point to the same object (like [`Arc::ptr_eq`](std::sync::Arc::ptr_eq)).
    ///
    /// ```
    /// use janitor::gc::Gc;
    /// let a = Gc::new(1);
    /// let b = a.clone();
    /// assert!(Gc::ptr_eq(&a, &b));
    /// assert!(!Gc::ptr_eq(&a, &Gc::new(1)));
    /// ```
    #[must_use]
    pub fn ptr_eq(this: &Self, other: &Self) -> bool {
        this.value.cast::<u8>() == other.value.cast::<u8>()
    }

    /// The number of `Gc`s pointing to this object (a moment's view; while a collection runs it
    /// also includes the collector's own temporary count).
    ///
    /// ```
    /// use janitor::gc::Gc;
    /// let a = Gc::new("shared");
    /// let b = a.clone();
    /// assert_eq!(Gc::strong_count(&a), 2);
    /// drop(b);
    /// assert_eq!(Gc::strong_count(&a), 1);
    /// ```
    #[must_use]
    pub fn strong_count(this: &Self) -> usize {
        this.header_ref().count().strong_count() as usize
    }

    /// The number of [`WeakGc`](crate::gc::WeakGc)s pointing to this object (a moment's view), including the one a
    /// [`ConditionalWeakTable`](crate::gc::ConditionalWeakTable) keeps for each of its keys.
    ///
    /// ```
    /// use janitor::gc::Gc;
    /// let a = Gc::new(1);
    /// assert_eq!(Gc::weak_count(&a), 0);
    /// let weak = Gc::downgrade(&a);
    /// assert_eq!(Gc::weak_count(&a), 1);
    /// drop(weak);
    /// assert_eq!(Gc::weak_count(&a), 0);
    /// ```
    #[must_use]
    pub fn weak_count(this: &Self) -> usize {
        weak_cells::weak_count(this.header())
    }

    /// A mutable reference to the value, when nothing else can reach it; `None` otherwise.
    ///
    /// `Some` exactly when all of these hold:
    /// * this is the only `Gc` to the object: no other `Gc` (on any thread, or inside another
    ///   object), no collection examining the object at this moment (a collection holds a count
    ///   of its own on what it examines), no finalizer queue holding it;
    /// * no [`WeakGc`](crate::gc::WeakGc) was ever made to it, nor was it ever a
    ///   [`ConditionalWeakTable`](crate::gc::ConditionalWeakTable) key: the object remembers that
    ///   it was, for as long as it lives (this is stricter than
    ///   [`Arc::get_mut`](std::sync::Arc::get_mut), which looks at the weak references alive now);
    /// * its type holds no `Gc` ([`TraceMeta::HOLDS_GC`] is false). The collector may trace an
    ///   object that holds `Gc`s at any moment, from any thread, and decides whether to examine it
    ///   at all from the edges it had when it was built: neither survives a `&mut`. Mutable edges
    ///   belong in a [`GcCell`](crate::gc::GcCell).
    ///
    /// Being registered for finalization does not matter: a finalizer runs only once no `Gc` is left.
    ///
    /// ```
    /// use janitor::gc::Gc;
    /// let mut a = Gc::new(String::from("draft"));
    /// Gc::get_mut(&mut a).unwrap().push_str(", final");
    /// let b = a.clone();
    /// assert!(Gc::get_mut(&mut a).is_none(), "shared");
    /// drop(b);
    /// assert_eq!(Gc::get_mut(&mut a).map(|text| text.as_str()), Some("draft, final"));
    /// ```
    #[must_use]
    pub fn get_mut(this: &mut Self) -> Option<&mut T> {
        let header = this.header_ref();
        if header.vtable().holds_gc || !header.count().is_exclusive() {
            return None;
        }
        // SAFETY: the count word shows this `Gc` as the only reference, and none can appear while
        // `this` is borrowed exclusively: another `Gc` or a `WeakGc` is made from a `Gc`, there is
        // no `WeakGc` to upgrade (the object was never weakened), and a collection pins an object
        // that holds no `Gc` only through another reference held in place, which would show in
        // the count (`CountWord::is_exclusive`). Nothing else reads the value: the collector does
        // not trace a value that holds no `Gc`, and a finalizer runs only on a queued object.
        Some(unsafe { this.value.as_mut() })
    }

    /// Turns the `Gc` into a raw pointer to the value, keeping its count: the object stays alive
    /// until [`Gc::from_raw`] makes a `Gc` of the pointer again and that `Gc` drops.
    ///
    /// ```
    /// use janitor::gc::Gc;
    /// let raw = Gc::into_raw(Gc::new(5_u8));
    /// // SAFETY: `raw` came from `into_raw`, and is turned back once.
    /// let again = unsafe { Gc::from_raw(raw) };
    /// assert_eq!(*again, 5);
    /// ```
    #[must_use = "the pointer holds a count: losing it leaks the object"]
    pub fn into_raw(this: Self) -> *const T {
        ManuallyDrop::new(this).value.as_ptr()
    }

    /// Makes a `Gc` of a pointer from [`Gc::into_raw`], taking its count back.
    ///
    /// # Safety
    /// `raw` was returned by [`Gc::into_raw`] for a `Gc<T>` (or for a `Gc<U>` that
    /// [`coerce_gc!`](crate::coerce_gc) could turn into a `Gc<T>`, coerced as it would), and each
    /// such pointer is given to `from_raw` at most once.
    ///
    /// ```
    /// use janitor::gc::Gc;
    /// let text: Gc<str> = Gc::from("raw");
    /// let raw = Gc::into_raw(text);
    /// // SAFETY: `raw` came from `into_raw`, and is turned back once.
    /// let text = unsafe { Gc::from_raw(raw) };
    /// assert_eq!(&*text, "raw");
    /// ```
    pub unsafe fn from_raw(raw: *const T) -> Self {
        // SAFETY: the caller's contract: a heap object's value, with the count `into_raw` kept.
        unsafe { Self::from_value(NonNull::new_unchecked(raw.cast_mut())) }
    }

    /// The address of the value, for identity and formatting.
    ///
    /// ```
    /// use janitor::gc::Gc;
    /// let a = Gc::new(7);
    /// assert_eq!(Gc::as_ptr(&a), &*a as *const i32);
    /// ```
    #[must_use]
    pub fn as_ptr(this: &Self) -> *const T {
        this.value.as_ptr()
    }

    /// Changes the pointee type by an unsizing coercion; use [`coerce_gc!`](crate::coerce_gc).
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
        Gc {
            // SAFETY: the coerced pointer is the same non-null address, and takes over the count.
            value: unsafe { NonNull::new_unchecked(coerced.cast_mut()) },
            owns: PhantomData,
        }
    }

    #[cold]
    #[inline(never)]
    fn condemned() -> ! {
        panic!(
            "janitor: a Gc was dereferenced while its object is being dropped as part of a garbage \
             cycle (from the Drop of another object of the same cycle). Drop must not use the \
             other objects of its cycle; move that cleanup to a finalizer, which runs while the \
             whole cycle is still intact."
        )
    }
}

/// Turns a `Gc<T>` into a `Gc<U>` by an unsizing coercion, typically `Gc<dyn Trait>`
/// (`CoerceUnsized` is unstable, so `Gc` cannot coerce implicitly as `Arc` does).
///
/// ```
/// use janitor::coerce_gc;
/// use janitor::gc::Gc;
/// use std::fmt::Display;
///
/// let shapes: Vec<Gc<dyn Display + Send + Sync>> = vec![
///     coerce_gc!(Gc::new(1_u8) => dyn Display + Send + Sync),
///     coerce_gc!(Gc::new("two") => dyn Display + Send + Sync),
/// ];
/// assert_eq!(format!("{} {}", shapes[0], shapes[1]), "1 two");
/// let slice: Gc<[u32]> = coerce_gc!(Gc::new([1, 2, 3]) => [u32]);
/// assert_eq!(slice.len(), 3);
/// ```
#[macro_export]
macro_rules! coerce_gc {
    ($gc:expr => $target:ty) => {{
        let gc = $gc;
        // SAFETY: the closure returns its argument through an implicit coercion to
        // `*const $target`, which only compiles for unsizing coercions: same address, same object.
        unsafe { $crate::gc::Gc::coerce_unchecked(gc, |pointer| -> *const $target { pointer }) }
    }};
}

impl<T: ?Sized> Clone for Gc<T> {
    /// Another `Gc` to the same object: one atomic increment, as with `Arc`.
    ///
    /// ```
    /// let a = janitor::gc::Gc::new(1);
    /// let b = a.clone();
    /// assert!(janitor::gc::Gc::ptr_eq(&a, &b));
    /// ```
    #[inline]
    fn clone(&self) -> Self {
        self.header_ref().count().increment();
        Self {
            value: self.value,
            owns: PhantomData,
        }
    }
}

impl<T: ?Sized> Drop for Gc<T> {
    #[inline]
    fn drop(&mut self) {
        let header = self.header_ref();
        let vtable = header.vtable();
        // Nothing pins an unweakened untracked object except through another reference held in
        // place (the finalizer thread's pass; a full collection examining what tables' values
        // reach), so its only holder may free it without a read-modify-write (see
        // `CountWord::is_unique`, which also refuses weakened objects, the only untracked ones a
        // collection pins by address, and registered ones, which go to the finalizer queue).
        let last = if !vtable.tracked && header.count().is_unique() {
            true
        } else if vtable.has_finalizer() {
            // SAFETY: this `Gc`'s count, given back once, here.
            unsafe { release::give_back(self.header()) };
            return;
        } else {
            header.count().decrement()
        };
        if last {
            // SAFETY: that was the last count: nobody can reach the object any more.
            unsafe { release::free(self.header()) }
        }
    }
}

impl<T: ?Sized> Deref for Gc<T> {
    type Target = T;

    /// The value. Panics only in the `Drop` of a garbage cycle's member that uses another member.
    #[inline]
    fn deref(&self) -> &T {
        if self.header_ref().count().is_condemned() {
            Self::condemned();
        }
        // SAFETY: this `Gc` holds a count and the object is not being dropped: the value is live.
        unsafe { self.value.as_ref() }
    }
}

// SAFETY: a `Gc` owns one reference to its object, and reports it once.
unsafe impl<T: ?Sized> Trace for Gc<T> {
    #[inline]
    fn trace(&self, tracer: &mut Tracer<'_>) {
        tracer.visit(self.header());
    }
}

// SAFETY: a `Gc` field is an edge that never changes by itself.
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
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for Gc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

impl<T: ?Sized> fmt::Pointer for Gc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Pointer::fmt(&Self::as_ptr(self), f)
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

impl<T: Default + TraceMeta + SyncHeapValue + 'static> Default for Gc<T> {
    /// A new object holding `T::default()`.
    ///
    /// ```
    /// let zero: janitor::gc::Gc<u8> = Default::default();
    /// assert_eq!(*zero, 0);
    /// ```
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T: TraceMeta + SyncHeapValue + 'static> From<T> for Gc<T> {
    /// Moves `value` onto the heap, as [`Gc::new`].
    ///
    /// ```
    /// let boxed: janitor::gc::Gc<String> = String::from("hi").into();
    /// assert_eq!(&*boxed, "hi");
    /// ```
    fn from(value: T) -> Self {
        Self::new(value)
    }
}

/// Loom models of the counts: an object is dropped exactly once, after its last holder is done,
/// whether its last drop takes the unique-holder path or the read-modify-write one.
#[cfg(all(test, loom))]
mod loom {
    use crate::gc::Gc;
    use crate::sync::{AtomicUsize, Ordering};
    use ::loom::sync::Arc;

    /// Counts its drops.
    struct Probe {
        drops: Arc<AtomicUsize>,
    }

    // SAFETY: holds no `Gc`.
    unsafe impl crate::gc::Trace for Probe {
        fn trace(&self, _: &mut crate::gc::Tracer<'_>) {}
    }
    // SAFETY: a leaf.
    unsafe impl crate::gc::TraceMeta for Probe {
        const HOLDS_GC: bool = false;
        const MUTABLE_EDGES: bool = false;
    }

    impl Drop for Probe {
        fn drop(&mut self) {
            self.drops.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn loom_an_untracked_object_is_dropped_once_after_every_holder() {
        ::loom::model(|| {
            let drops = Arc::new(AtomicUsize::new(0));
            let first = Gc::new(Probe {
                drops: drops.clone(),
            });
            let second = first.clone();
            let holder = ::loom::thread::spawn(move || {
                let third = second.clone();
                drop(second);
                assert_eq!(third.drops.load(Ordering::SeqCst), 0, "dropped while held");
                drop(third);
            });
            assert_eq!(first.drops.load(Ordering::SeqCst), 0, "dropped while held");
            drop(first);
            holder.join().unwrap();
            assert_eq!(drops.load(Ordering::SeqCst), 1);
        });
    }

    /// `try_unwrap` against a weak upgrade on another thread: either the upgrade comes first
    /// (then `try_unwrap` gives the `Gc` back, or takes the value only after the upgrader's `Gc`
    /// is gone) or it fails; the value is never dropped or taken while the upgrader holds it, and
    /// it is dropped exactly once.
    #[test]
    fn loom_try_unwrap_racing_an_upgrade_takes_the_value_only_when_nobody_holds_it() {
        ::loom::model(|| {
            let drops = Arc::new(AtomicUsize::new(0));
            let only = Gc::new(Probe {
                drops: drops.clone(),
            });
            let weak = Gc::downgrade(&only);
            let upgrader = ::loom::thread::spawn(move || {
                if let Some(strong) = weak.upgrade() {
                    assert_eq!(strong.drops.load(Ordering::SeqCst), 0, "dropped while held");
                }
            });
            match Gc::try_unwrap(only) {
                Ok(value) => {
                    assert_eq!(value.drops.load(Ordering::SeqCst), 0);
                    drop(value);
                }
                Err(only) => drop(only),
            }
            upgrader.join().unwrap();
            assert_eq!(drops.load(Ordering::SeqCst), 1);
        });
    }

    /// Two `into_inner` calls on two threads: exactly one gets the value, which is dropped once.
    #[test]
    fn loom_racing_into_inner_calls_give_the_value_to_exactly_one() {
        ::loom::model(|| {
            let drops = Arc::new(AtomicUsize::new(0));
            let first = Gc::new(Probe {
                drops: drops.clone(),
            });
            let second = first.clone();
            let other = ::loom::thread::spawn(move || Gc::into_inner(second).is_some());
            let mine = Gc::into_inner(first).is_some();
            let theirs = other.join().unwrap();
            assert!(mine != theirs, "exactly one holder gets the value");
            assert_eq!(drops.load(Ordering::SeqCst), 1);
        });
    }

    /// The unique-holder drop must not run once a weak reference exists: the only `Gc` drops on
    /// one thread while another upgrades a weak reference and reads the value. The value is
    /// dropped exactly once, never while the upgrader holds it, and the upgrade fails only after.
    #[test]
    fn loom_an_upgrade_racing_the_only_drop_never_sees_a_dropped_value() {
        ::loom::model(|| {
            let drops = Arc::new(AtomicUsize::new(0));
            let only = Gc::new(Probe {
                drops: drops.clone(),
            });
            let weak = Gc::downgrade(&only);
            let upgrader = ::loom::thread::spawn(move || {
                if let Some(strong) = weak.upgrade() {
                    assert_eq!(strong.drops.load(Ordering::SeqCst), 0, "dropped while held");
                }
            });
            drop(only);
            upgrader.join().unwrap();
            assert_eq!(drops.load(Ordering::SeqCst), 1);
        });
    }
}
