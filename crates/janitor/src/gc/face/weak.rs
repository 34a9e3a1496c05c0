//! `WeakGc<T>`: a reference that does not keep its object alive, nor its memory.
//!
//! Invariant owned here: a `WeakGc` holds one unit of its object's weak cell
//! (`side/weak_cells.rs`, which owns the upgrade-versus-free protocol) and dereferences the
//! object's block only between a successful enter and its leave; an upgrade is the count word's
//! compare-and-swap loop (`CountWord::upgrade`), which makes it atomic with respect to a
//! collection.

use crate::gc::core::count::Strength;
use crate::gc::core::object::header_of;
use crate::gc::core::trace::{Trace, TraceMeta, Tracer};
use crate::gc::face::ptr::Gc;
use crate::gc::side::weak_cells::{WeakCell, cell_of, free_block, free_cell};
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
/// and `Send + Sync` when `T` is. It is never traced: the collector does not see it as an edge.
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
    pub fn downgrade(this: &Self) -> WeakGc<T> {
        WeakGc::new(this, Strength::Short)
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
    pub fn downgrade_long(this: &Self) -> WeakGc<T> {
        WeakGc::new(this, Strength::Long)
    }
}

impl<T: ?Sized> WeakGc<T> {
    fn new(strong: &Gc<T>, strength: Strength) -> Self {
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
    pub fn ptr_eq(this: &Self, other: &Self) -> bool {
        this.cell == other.cell
    }
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
