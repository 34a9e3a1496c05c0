//! `WeakGc<T>`: a reference that does not keep its object alive, nor its memory.
//!
//! Invariant owned here: a `WeakGc` holds one unit of its object's weak cell
//! (`side/weak_cells.rs`, which owns the upgrade-versus-free protocol) and dereferences the
//! object's block only between a successful enter and its leave; an upgrade is the count word's
//! compare-and-swap loop (`CountWord::upgrade`), which makes it atomic with respect to a
//! collection.

use crate::gc::core::count::Strength;
use crate::gc::core::object::{self, Header, VTables, header_of};
use crate::gc::core::trace::{Trace, TraceMeta, Tracer};
use crate::gc::engine::finalizer_thread;
use crate::gc::face::ptr::{Gc, SyncHeapValue, heap};
use crate::gc::side::weak_cells::{self, WeakCell, cell_of, dangling_cell, free_block, free_cell};
use std::fmt;
use std::marker::PhantomData;
use std::ptr::NonNull;

/// A weak reference to an object on the managed heap, from [`Gc::downgrade`] (short) or
/// [`Gc::downgrade_long`] (long, tracking resurrection), as .NET's `WeakReference`.
///
/// [`upgrade`](WeakGc::upgrade) gives a [`Gc`] while the object is alive. The difference between
/// the two kinds shows only for objects with a finalizer (see [`Finalize`](crate::gc::Finalize)):
///
/// * a **short** reference dies when the object becomes unreachable, before its finalizer runs,
///   and stays dead even if the finalizer resurrects the object;
/// * a **long** reference still upgrades while finalization is pending and after a resurrection;
///   it dies when the object's value is dropped.
///
/// For every other object both die when the object does: when its last `Gc` drops, or when the
/// collector finds it in a garbage cycle (an upgrade racing with that collection either wins, and
/// the object lives, or fails; it never sees a half-dropped object). A `WeakGc` keeps neither the
/// object's value nor its memory: the block is freed with the value, and what the weak
/// references keep is a two-word record per object, freed with the last of them. It is `Clone`,
/// `Send + Sync` when `T` is, and `Unpin` whatever `T`. It is never traced: the collector does
/// not see it as an edge. [`WeakGc::new`] (or `Default`) makes one that points to no object and
/// never upgrades; [`coerce_weak!`](crate::coerce_weak) turns a `WeakGc<T>` into a
/// `WeakGc<dyn Trait>`.
///
/// ```
/// use janitor::gc::Gc;
///
/// let strong = Gc::new(String::from("cache me"));
/// let weak = Gc::downgrade(&strong);
/// assert_eq!(weak.upgrade().as_deref().map(String::as_str), Some("cache me"));
/// drop(strong);
/// assert!(weak.upgrade().is_none());
/// ```
pub struct WeakGc<T: ?Sized> {
    /// The object's value; dereferenced only between a successful enter and its leave.
    value: NonNull<T>,
    /// The object's weak cell, of which this reference holds one unit.
    cell: NonNull<WeakCell>,
    strength: Strength,
    owns: PhantomData<T>,
}

// SAFETY: a `WeakGc<T>` gives, through `upgrade`, a `Gc<T>`: exactly `Gc`'s requirements; its
// cell is shared through atomics only.
unsafe impl<T: ?Sized + Send + Sync> Send for WeakGc<T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send + Sync> Sync for WeakGc<T> {}

// A weak reference never pins its object's value in place of its own: moving it moves a pointer.
impl<T: ?Sized> Unpin for WeakGc<T> {}

impl<T: ?Sized> Gc<T> {
    /// A short weak reference: it dies when the object becomes unreachable, before any finalizer
    /// runs, and stays dead even if a finalizer resurrects the object (.NET's `WeakReference`
    /// with `trackResurrection: false`).
    ///
    /// ```
    /// use janitor::gc::Gc;
    /// let strong = Gc::new(5);
    /// let weak = Gc::downgrade(&strong);
    /// assert_eq!(*weak.upgrade().unwrap(), 5);
    /// ```
    #[must_use = "a weak reference does nothing unless upgraded"]
    pub fn downgrade(this: &Self) -> WeakGc<T> {
        WeakGc::make(this, Strength::Short)
    }

    /// A long weak reference, tracking resurrection: it still upgrades while the object waits
    /// for its finalizer and after a finalizer resurrected it, and dies when the object's value
    /// is dropped (.NET's `WeakReference` with `trackResurrection: true`). For an object without
    /// a finalizer it behaves as [`Gc::downgrade`].
    ///
    /// ```
    /// use janitor::gc::Gc;
    /// let strong = Gc::new(5);
    /// let weak = Gc::downgrade_long(&strong);
    /// assert!(weak.tracks_resurrection());
    /// drop(strong);
    /// assert!(weak.upgrade().is_none());
    /// ```
    #[must_use = "a weak reference does nothing unless upgraded"]
    pub fn downgrade_long(this: &Self) -> WeakGc<T> {
        WeakGc::make(this, Strength::Long)
    }
}

impl<T: TraceMeta + SyncHeapValue + 'static> Gc<T> {
    /// A new object whose value is built by `build` from a weak reference to the object itself:
    /// the way to give a value an edge to itself that never changes, without a cell (as
    /// [`Arc::new_cyclic`](std::sync::Arc::new_cyclic)).
    ///
    /// Until `build` returns, the object has no value: the weak reference does not upgrade (it
    /// returns `None`), and neither do its clones. They upgrade from the moment `new_cyclic`
    /// returns. If `build` panics, the object is released and its weak references stay dead.
    /// The object is tracked by the cycle collector whenever its type can hold a `Gc`, since its
    /// value is not there yet to tell.
    ///
    /// ```
    /// use janitor::gc::{Gc, Trace, WeakGc};
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
        /// Releases the object's memory if `build` panics: no value was written, the count is zero,
        /// and the weak references are detached from it.
        struct Unborn(NonNull<Header>);
        impl Drop for Unborn {
            fn drop(&mut self) {
                // SAFETY: the object never had a value nor a strong reference, is in no list, and
                // this runs once; its weak references' upgrades fail on its count of zero, and an
                // upgrade reading the block now frees it as it leaves.
                unsafe { weak_cells::release_memory(self.0) };
            }
        }

        let tracked = T::HOLDS_GC;
        let vtable = if tracked {
            &VTables::<T>::TRACKED
        } else {
            &VTables::<T>::UNTRACKED
        };
        if T::FINALIZER.is_some() {
            finalizer_thread::ensure_started();
        }
        let heap = heap();
        let header = object::allocate_uninit(vtable);
        // SAFETY: the object was just allocated: this thread alone knows it.
        let count = unsafe { header.as_ref() }.count();
        count.unborn();
        let unborn = Unborn(header);
        // SAFETY: the header is followed by room for a `T`.
        let value = unsafe { object::value_of::<T>(header) };
        // SAFETY: the object is allocated; the weak reference never dereferences the value
        // unless an upgrade succeeds, which needs the count `publish` gives below.
        let weak = unsafe { WeakGc::unborn(header, value) };
        let built = build(&weak);
        std::mem::forget(unborn);
        // SAFETY: room for a `T`, not written yet, and no thread reads it before `publish`.
        unsafe { value.write(built) };
        count.publish();
        drop(weak);
        // SAFETY: live now, of type `T`, unlinked, holding one count (published above).
        unsafe { Self::adopt(heap, header, value) }
    }
}

impl<T> WeakGc<T> {
    /// A weak reference to no object: it never upgrades (as
    /// [`std::sync::Weak::new`]). Allocates nothing.
    ///
    /// ```
    /// use janitor::gc::WeakGc;
    /// let nothing: WeakGc<String> = WeakGc::new();
    /// assert!(nothing.upgrade().is_none());
    /// assert_eq!(nothing.strong_count(), 0);
    /// ```
    #[must_use]
    pub fn new() -> Self {
        let cell = dangling_cell();
        // SAFETY: the dangling cell is never freed.
        unsafe { cell.as_ref() }.retain();
        Self {
            value: NonNull::dangling(),
            cell,
            strength: Strength::Short,
            owns: PhantomData,
        }
    }

    /// A short weak reference to a new object whose value is not written yet (`Gc::new_cyclic`).
    ///
    /// # Safety
    /// `header` is an allocated object whose count is zero until its value, at `value`, is
    /// written; it stays allocated until its memory is released, which detaches its weak cell.
    pub(crate) unsafe fn unborn(header: NonNull<Header>, value: NonNull<T>) -> Self {
        // As in `make`: the cell first, then the bit; the object is attached and ours.
        let cell = cell_of(header);
        // SAFETY: the caller's contract: allocated.
        unsafe { header.as_ref() }.count().mark_weakened();
        Self {
            value,
            cell,
            strength: Strength::Short,
            owns: PhantomData,
        }
    }
}

impl<T> Default for WeakGc<T> {
    /// [`WeakGc::new`]: a weak reference that never upgrades.
    ///
    /// ```
    /// let nothing: janitor::gc::WeakGc<u8> = Default::default();
    /// assert!(nothing.upgrade().is_none());
    /// ```
    fn default() -> Self {
        Self::new()
    }
}

impl<T: ?Sized> WeakGc<T> {
    fn make(strong: &Gc<T>, strength: Strength) -> Self {
        let header = strong.header();
        // The cell comes first, then the bit: from the moment a weak reference exists, the
        // unique-holder drop would race with its upgrades, and whoever frees the object reads the
        // bit to know that a cell exists. Both happen while `strong` holds a count.
        let cell = cell_of(header);
        // SAFETY: `strong` holds a count, so the object is live.
        unsafe { header.as_ref() }.count().mark_weakened();
        Self {
            value: Gc::as_non_null(strong),
            cell,
            strength,
            owns: PhantomData,
        }
    }

    fn cell(&self) -> &WeakCell {
        // SAFETY: this reference holds a unit of the cell.
        unsafe { self.cell.as_ref() }
    }

    /// A `Gc` to the object if it is still alive: its value not dropped nor condemned by a
    /// collection, and, for a short reference, not found unreachable. Atomic with respect to
    /// collections: an upgrade racing with the collection that condemns the object either
    /// succeeds first (and the collection leaves the object alone) or fails.
    ///
    /// ```
    /// use janitor::gc::{Gc, GcCell, Trace, collect};
    ///
    /// #[derive(Trace)]
    /// struct Node(GcCell<Option<Gc<Node>>>);
    ///
    /// let node = Gc::new(Node(GcCell::new(None)));
    /// *node.0.borrow_mut() = Some(node.clone()); // a cycle
    /// let weak = Gc::downgrade(&node);
    /// drop(node);
    /// assert!(weak.upgrade().is_some(), "a cycle lives until a collection");
    /// collect();
    /// assert!(weak.upgrade().is_none());
    /// ```
    #[inline]
    #[must_use]
    pub fn upgrade(&self) -> Option<Gc<T>> {
        let cell = self.cell();
        if !cell.enter() {
            return None;
        }
        // SAFETY: `value` points to a heap object's value.
        let header = unsafe { header_of(self.value) };
        // SAFETY: entered and not detached: the block stays allocated until this upgrade leaves.
        let upgraded = unsafe { header.as_ref() }.count().upgrade(self.strength);
        if cell.leave() {
            // SAFETY: the object's memory was released while this upgrade was in flight, and this
            // was the last one: the block is ours to free.
            unsafe { free_block(header) };
        }
        // SAFETY: the upgrade took a count for the new `Gc` (and a counted object is never
        // detached, so the block was not freed above).
        upgraded.then(|| unsafe { Gc::from_value(self.value) })
    }

    /// Whether this is a long reference (from [`Gc::downgrade_long`]).
    ///
    /// ```
    /// use janitor::gc::Gc;
    /// let strong = Gc::new(1);
    /// assert!(!Gc::downgrade(&strong).tracks_resurrection());
    /// assert!(Gc::downgrade_long(&strong).tracks_resurrection());
    /// ```
    #[must_use]
    pub fn tracks_resurrection(&self) -> bool {
        self.strength == Strength::Long
    }

    /// Whether two weak references point to the same object. Compared by the object's weak
    /// cell, not its address: a dead object's address may serve a new object, which gets a cell
    /// of its own.
    ///
    /// ```
    /// use janitor::gc::{Gc, WeakGc};
    /// let strong = Gc::new(1);
    /// assert!(WeakGc::ptr_eq(&Gc::downgrade(&strong), &Gc::downgrade_long(&strong)));
    /// assert!(!WeakGc::ptr_eq(&Gc::downgrade(&strong), &Gc::downgrade(&Gc::new(1))));
    /// ```
    #[must_use]
    pub fn ptr_eq(this: &Self, other: &Self) -> bool {
        this.cell == other.cell
    }

    /// The number of `Gc`s pointing to the object (a moment's view), `0` once it is dead. As
    /// [`Gc::strong_count`], it includes a collection's temporary count, and the finalizer
    /// queue's while the object waits for its finalizer (when a short reference no longer
    /// upgrades): `0` means [`upgrade`](WeakGc::upgrade) fails, more does not promise it succeeds.
    ///
    /// ```
    /// use janitor::gc::Gc;
    /// let strong = Gc::new(1);
    /// let weak = Gc::downgrade(&strong);
    /// assert_eq!(weak.strong_count(), 1);
    /// drop(strong);
    /// assert_eq!(weak.strong_count(), 0);
    /// ```
    #[must_use]
    pub fn strong_count(&self) -> usize {
        let cell = self.cell();
        if !cell.enter() {
            return 0;
        }
        // SAFETY: `value` points to a heap object's value.
        let header = unsafe { header_of(self.value) };
        // SAFETY: entered and not detached: the block stays allocated until this call leaves.
        let count = unsafe { header.as_ref() }.count();
        let strong = if count.is_condemned() {
            0
        } else {
            count.strong_count() as usize
        };
        if cell.leave() {
            // SAFETY: the object's memory was released while this call was in flight, and this
            // was the last one: the block is ours to free.
            unsafe { free_block(header) };
        }
        strong
    }

    /// Changes the pointee type by an unsizing coercion; use [`coerce_weak!`](crate::coerce_weak).
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
            // SAFETY: the coerced pointer is the same non-null address; the cell's unit passes on.
            value: unsafe { NonNull::new_unchecked(coerced.cast_mut()) },
            cell: this.cell,
            strength: this.strength,
            owns: PhantomData,
        }
    }
}

/// Turns a `WeakGc<T>` into a `WeakGc<U>` by an unsizing coercion, as
/// [`coerce_gc!`](crate::coerce_gc) does for `Gc`: typically `WeakGc<dyn Trait>`. The weak
/// reference keeps its kind (short or long); one to no object ([`WeakGc::new`]) stays so.
///
/// ```
/// use janitor::coerce_weak;
/// use janitor::gc::{Gc, WeakGc};
/// use std::fmt::Display;
///
/// let number = Gc::new(7_u32);
/// let weak: WeakGc<dyn Display + Send + Sync> =
///     coerce_weak!(Gc::downgrade(&number) => dyn Display + Send + Sync);
/// assert_eq!(weak.upgrade().unwrap().to_string(), "7");
/// let slice: WeakGc<[u8]> = coerce_weak!(WeakGc::<[u8; 2]>::new() => [u8]);
/// assert!(slice.upgrade().is_none());
/// ```
#[macro_export]
macro_rules! coerce_weak {
    ($weak:expr => $target:ty) => {{
        let weak = $weak;
        // SAFETY: the closure returns its argument through an implicit coercion to
        // `*const $target`, which only compiles for unsizing coercions: same address, same object.
        unsafe {
            $crate::gc::WeakGc::coerce_unchecked(weak, |pointer| -> *const $target { pointer })
        }
    }};
}

impl<T: ?Sized> Clone for WeakGc<T> {
    /// Another weak reference of the same kind to the same object.
    ///
    /// ```
    /// use janitor::gc::Gc;
    /// let strong = Gc::new(1);
    /// let weak = Gc::downgrade(&strong);
    /// assert!(weak.clone().upgrade().is_some());
    /// ```
    fn clone(&self) -> Self {
        self.cell().retain();
        Self {
            value: self.value,
            cell: self.cell,
            strength: self.strength,
            owns: PhantomData,
        }
    }
}

impl<T: ?Sized> Drop for WeakGc<T> {
    fn drop(&mut self) {
        if self.cell().release() {
            // SAFETY: that was the last unit, the object's included: nothing refers to the cell.
            unsafe { free_cell(self.cell) };
        }
    }
}

// SAFETY: a weak reference owns no count: it reports nothing.
unsafe impl<T: ?Sized> Trace for WeakGc<T> {
    fn trace(&self, _: &mut Tracer<'_>) {}
}

// SAFETY: reports nothing, so it is a leaf.
unsafe impl<T: ?Sized> TraceMeta for WeakGc<T> {
    const HOLDS_GC: bool = false;
    const MUTABLE_EDGES: bool = false;
}

impl<T: ?Sized> fmt::Debug for WeakGc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakGc")
            .field("object", &self.value.cast::<u8>())
            .field("track_resurrection", &self.tracks_resurrection())
            .finish()
    }
}

/// Loom model of `Gc::new_cyclic`'s publication: a weak reference that escapes the builder to
/// another thread upgrades either not at all (the value is not built yet: the count is zero) or
/// to the whole value (the count's `Release` publication orders the value's write before it).
#[cfg(all(test, loom))]
mod loom {
    use crate::gc::{Gc, Trace, TraceMeta, Tracer, WeakGc};
    use ::loom::cell::UnsafeCell;
    use ::loom::sync::{Arc, Mutex};

    /// A value whose field loom checks for unordered accesses.
    struct Built {
        field: UnsafeCell<u64>,
    }

    // SAFETY: the field is written only before the object is published, and read only after.
    unsafe impl Sync for Built {}

    // SAFETY: holds no `Gc`.
    unsafe impl Trace for Built {
        fn trace(&self, _: &mut Tracer<'_>) {}
    }
    // SAFETY: no `Gc` inside: nothing to track.
    unsafe impl TraceMeta for Built {
        const HOLDS_GC: bool = false;
        const MUTABLE_EDGES: bool = false;
    }

    #[test]
    fn loom_an_escaped_weak_reference_upgrades_to_the_built_value_or_not_at_all() {
        ::loom::model(|| {
            let escaped: Arc<Mutex<Option<WeakGc<Built>>>> = Arc::new(Mutex::new(None));
            let reader = {
                let escaped = escaped.clone();
                ::loom::thread::spawn(move || {
                    let weak = escaped.lock().unwrap().clone();
                    if let Some(strong) = weak.and_then(|weak| weak.upgrade()) {
                        // SAFETY: read after the publication the upgrade synchronized with.
                        assert_eq!(strong.field.with(|field| unsafe { *field }), 7);
                    }
                })
            };
            let built = Gc::new_cyclic(|this| {
                *escaped.lock().unwrap() = Some(this.clone());
                let built = Built {
                    field: UnsafeCell::new(0),
                };
                // A write loom tracks (it does not check a cell's creation against later reads).
                // SAFETY: the value is this thread's until it is published.
                built.field.with_mut(|field| unsafe { *field = 7 });
                built
            });
            reader.join().unwrap();
            drop(built);
        });
    }
}
