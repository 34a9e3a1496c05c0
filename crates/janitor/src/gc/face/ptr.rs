//! `Gc<T>`: the counted pointer to a heap object.
//!
//! Invariant owned here: every `Gc` holds one count on its object, taken when it was created (by
//! `Gc::new` or a clone) and given back exactly once, when it drops. The last one to drop frees
//! the object (`release.rs`).

use crate::gc::core::heap::{Heap, OLDEST, Trigger};
use crate::gc::core::object::{self, Header, VTables, header_of};
use crate::gc::core::trace::{Trace, TraceMeta, Tracer};
use crate::gc::engine::driver;
use crate::gc::engine::finalizer_thread;
use crate::gc::engine::release;
use crate::leak;
use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::ops::Deref;
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
/// `Gc<T>` is `Send` and `Sync` when `T` is; [`Gc::new`] requires both, because the collector
/// may trace and drop an object on any thread. For `Gc<dyn Trait>`, create a `Gc<T>` and coerce it
/// with [`coerce_gc!`](crate::coerce_gc).
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

impl<T: TraceMeta + Send + Sync + 'static> Gc<T> {
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
        let due = if tracked {
            // SAFETY: the object is new, allocated with a tracked vtable, not linked yet.
            unsafe { heap.link(header) }
        } else {
            None
        };
        // SAFETY: `allocate` returned a live object of type `T` holding one count, now ours.
        let gc = unsafe { Self::from_header(header) };
        if let Some(generation) = due {
            driver::collect_automatically(generation);
        }
        gc
    }

    /// # Safety
    /// `header` is a live object of type `T` holding a count the new `Gc` takes over.
    unsafe fn from_header(header: NonNull<Header>) -> Self {
        Self {
            // SAFETY: the value follows the header (the caller's contract).
            value: unsafe { object::value_of::<T>(header) },
            owns: PhantomData,
        }
    }
}

/// The heap, for an allocation. The first one makes leak checks settle the heap before they end:
/// from then on a check ends only once the garbage cycles and the objects waiting for their
/// finalizer have reported the leaks they hold. Nothing can be leaked through the heap before
/// its first object.
fn heap() -> &'static Heap {
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
fn has_tracked_child<T: Trace>(value: &T) -> bool {
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
    pub fn strong_count(this: &Self) -> usize {
        this.header_ref().count().strong_count() as usize
    }

    /// The address of the value, for identity and formatting.
    ///
    /// ```
    /// use janitor::gc::Gc;
    /// let a = Gc::new(7);
    /// assert_eq!(Gc::as_ptr(&a), &*a as *const i32);
    /// ```
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

impl<T: Default + TraceMeta + Send + Sync + 'static> Default for Gc<T> {
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

impl<T: TraceMeta + Send + Sync + 'static> From<T> for Gc<T> {
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
