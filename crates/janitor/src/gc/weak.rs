//! `WeakGc<T>`: a reference that does not keep its object alive.
//!
//! Invariant owned here: every `WeakGc` holds one unit of its object's weak count, taken when it
//! was made and given back once, when it drops; the strong references together hold one more
//! unit, given back when the value is dropped; the object's memory (never its value) lives while
//! the weak count is above zero. A `WeakGc` reads its object only through the header, which
//! outlives the value, and reaches the value only through a successful upgrade, which is a `Gc`.
//!
//! Weak counts live in a side table keyed by header address, not in the header: most objects
//! never get a weak reference, and a header word costs every object 8 bytes (it moved
//! binary-trees' nodes to a larger size class, 20% slower). An object has an entry from its first
//! downgrade (the count word's `W` bit says so) until its memory is freed; the table is sharded
//! by address, so unrelated objects rarely share a lock. Only downgrades, weak clones and drops,
//! and the freeing of weakened objects touch it; an upgrade never does.

use super::object::{self, Header, header_of};
use super::ptr::Gc;
use super::{api, trace::Trace, trace::Tracer};
use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::{Mutex, PoisonError};

/// Shards of the weak-count table.
const SHARDS: usize = 16;

/// Weak counts by header address.
struct Shard(Mutex<Option<HashMap<usize, usize>>>);

// SAFETY: the map holds addresses and counts only.
unsafe impl Sync for Shard {}

static WEAK_COUNTS: [Shard; SHARDS] = [const { Shard(Mutex::new(None)) }; SHARDS];

fn shard(header: NonNull<Header>) -> std::sync::MutexGuard<'static, Option<HashMap<usize, usize>>> {
    let address = header.as_ptr() as usize;
    // Objects are at least 16-byte aligned and blocks of one size class are adjacent.
    WEAK_COUNTS[(address >> 4) % SHARDS]
        .0
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

/// Adds one weak unit; the first one of an object (`first`, and no entry yet) also records the
/// strong side's unit. The caller holds a reference of either kind.
fn add_unit(header: NonNull<Header>, first: bool) {
    let mut shard = shard(header);
    let count = shard
        .get_or_insert_with(HashMap::new)
        .entry(header.as_ptr() as usize)
        .or_insert(usize::from(first));
    *count += 1;
}

/// Gives back one weak unit; true when it was the last (the entry is gone, and the memory is the
/// caller's to free). The lock orders every unit's holder before the one that frees.
pub(crate) fn release_unit(header: NonNull<Header>) -> bool {
    let mut shard = shard(header);
    let Some(map) = shard.as_mut() else {
        return true;
    };
    let address = header.as_ptr() as usize;
    match map.get_mut(&address) {
        Some(count) if *count > 1 => {
            *count -= 1;
            false
        }
        _ => {
            map.remove(&address);
            true
        }
    }
}

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
/// the object lives, or fails; it never sees a half-dropped object). A `WeakGc` keeps only the
/// object's memory block, not its value nor anything the value owns. It is `Clone`, and `Send +
/// Sync` when `T` is. It is never traced: the collector does not see it as an edge.
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
    value: NonNull<T>,
    track_resurrection: bool,
    owns: PhantomData<T>,
}

// SAFETY: a `WeakGc<T>` gives, through `upgrade`, a `Gc<T>`: exactly `Gc`'s requirements.
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
        WeakGc::new(this, false)
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
        WeakGc::new(this, true)
    }
}

impl<T: ?Sized> WeakGc<T> {
    fn new(strong: &Gc<T>, track_resurrection: bool) -> Self {
        let header = strong.header();
        // SAFETY: `strong` holds a count, so the object is live.
        let header_ref = unsafe { header.as_ref() };
        // The count comes first, then the bit: from the moment a weak reference exists, the
        // unique-holder drop would race with its upgrades, and whoever frees the object reads the
        // bit to know that an entry exists. Both happen while `strong` holds a count.
        add_unit(header, true);
        header_ref.count.mark_weakened();
        Self {
            value: Gc::as_non_null(strong),
            track_resurrection,
            owns: PhantomData,
        }
    }

    fn header(&self) -> NonNull<Header> {
        // SAFETY: `value` points to a heap object's value, whose header the weak count keeps.
        unsafe { header_of(self.value) }
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
    pub fn upgrade(&self) -> Option<Gc<T>> {
        // SAFETY: the weak count keeps the header allocated.
        let header = unsafe { self.header().as_ref() };
        if header.count.upgrade(self.track_resurrection) {
            // SAFETY: the upgrade took a count for the new `Gc`.
            Some(unsafe { Gc::from_value(self.value) })
        } else {
            None
        }
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
        self.track_resurrection
    }

    /// Whether two weak references point to the same object.
    ///
    /// ```
    /// use janitor::gc::Gc;
    /// let strong = Gc::new(1);
    /// assert!(janitor::gc::WeakGc::ptr_eq(&Gc::downgrade(&strong), &Gc::downgrade_long(&strong)));
    /// ```
    pub fn ptr_eq(this: &Self, other: &Self) -> bool {
        this.value.cast::<u8>() == other.value.cast::<u8>()
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
        add_unit(self.header(), false);
        Self {
            value: self.value,
            track_resurrection: self.track_resurrection,
            owns: PhantomData,
        }
    }
}

impl<T: ?Sized> Drop for WeakGc<T> {
    fn drop(&mut self) {
        if release_unit(self.header()) {
            // SAFETY: that was the last unit, the strong side's included: the value is dropped
            // (the strong side gives its unit back only then) and the object unlinked.
            unsafe { object::deallocate(api::heap(), self.header()) };
        }
    }
}

// SAFETY: a weak reference owns no count: it reports nothing.
unsafe impl<T: ?Sized> Trace for WeakGc<T> {
    const HOLDS_GC: bool = false;
    const MUTABLE_EDGES: bool = false;
    fn trace(&self, _: &mut Tracer<'_>) {}
}

impl<T: ?Sized> fmt::Debug for WeakGc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakGc")
            .field("object", &self.value.cast::<u8>())
            .field("track_resurrection", &self.track_resurrection)
            .finish()
    }
}
