//! `GcCell<T>`: a `Sync` `RefCell` whose borrow flag the collector can hold.
//!
//! Invariant owned here: the value is written only under a writer borrow, and never while the
//! collector holds the flag; so the edges the collector traced under its hold stay as traced
//! until it releases the flag. A guard mapped to a part of the value (`GcRef::map`,
//! `GcRefMut::map`) carries the borrow of the guard it came from: the flag is given back once,
//! when the last of them drops.
//!
//! The flag is one `AtomicUsize`: the low bits count readers, [`WRITER`] marks the writer, and
//! [`COLLECTOR`] marks the collector's hold, shared with readers and excluding the writer. A borrow
//! costs one atomic read-modify-write; a writer that finds only the collector waits for it instead
//! of panicking. The protocol and its orderings: `docs/gc-soundness.md#cells-and-locks`.

#[cfg(not(loom))]
use crate::gc::core::heap::Heap;
#[cfg(not(loom))]
use crate::gc::core::trace::RELEASES;
use crate::gc::core::trace::{
    Finalizer, Hold, Trace, TraceMeta, Tracer, UnsyncFinalizer, refuse_finalizable_inside,
    refuse_unsync_finalizable_inside,
};
#[cfg(loom)]
use crate::sync::yield_now;
use crate::sync::{AtomicUsize, Ordering};
use std::cell::UnsafeCell;
use std::cmp::Ordering as Order;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

const WRITER: usize = 1 << (usize::BITS - 1);
const COLLECTOR: usize = 1 << (usize::BITS - 2);
const READERS: usize = COLLECTOR - 1;

/// A borrow flag the collector can hold.
pub(crate) struct BorrowFlag(AtomicUsize);

/// A `const fn` outside loom, a plain one under it: loom's atomics cannot be made in a constant.
macro_rules! const_unless_loom {
    ($(#[$attribute:meta])* $visibility:vis fn $($rest:tt)*) => {
        #[cfg(not(loom))]
        $(#[$attribute])*
        $visibility const fn $($rest)*
        #[cfg(loom)]
        $(#[$attribute])*
        $visibility fn $($rest)*
    };
}

impl BorrowFlag {
    const_unless_loom! {
        fn new() -> Self {
            Self(AtomicUsize::new(0))
        }
    }

    fn try_read(&self) -> bool {
        // A compare-and-swap rather than an add: a reader never touches the flag while the
        // writer holds it, which lets the writer give it back with a plain store.
        let mut current = self.0.load(Ordering::Relaxed);
        loop {
            if current & WRITER != 0 {
                return false;
            }
            if current & READERS == READERS {
                std::process::abort();
            }
            match self.0.compare_exchange_weak(
                current,
                current + 1,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(actual) => current = actual,
            }
        }
    }

    fn end_read(&self) {
        self.0.fetch_sub(1, Ordering::Release);
    }

    fn try_write(&self) -> bool {
        loop {
            match self
                .0
                .compare_exchange_weak(0, WRITER, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(COLLECTOR) => self.wait_for_the_collector(),
                Err(0) => {}
                Err(_) => return false,
            }
        }
    }

    /// Waits until the collection holding this flag (and nothing else) gives it back. Parked,
    /// not spinning: on a machine with few cores a spinning writer takes the core the
    /// collection needs to finish (a run of `closures` took twice as long, now and then). The
    /// wait counts in the heap's statistics as a wait for the collector.
    #[cfg(not(loom))]
    fn wait_for_the_collector(&self) {
        let started = std::time::Instant::now();
        let seen = RELEASES.current();
        if self.0.load(Ordering::Acquire) == COLLECTOR {
            RELEASES.wait_past(seen, None);
            Heap::global().count_collector_wait(started.elapsed());
        }
    }

    /// Under loom, which cannot model a condition variable in a static: yield.
    #[cfg(loom)]
    fn wait_for_the_collector(&self) {
        yield_now();
    }

    fn end_write(&self) {
        // While the writer holds the flag nobody else changes it (readers and the collector only
        // add to a flag without WRITER), so it is exactly WRITER: a store gives it back.
        self.0.store(0, Ordering::Release);
    }
}

impl Hold for BorrowFlag {
    fn try_hold(&self) -> bool {
        let mut current = self.0.load(Ordering::Relaxed);
        loop {
            if current & WRITER != 0 {
                return false;
            }
            match self.0.compare_exchange_weak(
                current,
                current | COLLECTOR,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(actual) => current = actual,
            }
        }
    }

    unsafe fn release(&self) {
        self.0.fetch_and(!COLLECTOR, Ordering::Release);
    }
}

/// A mutable slot inside a heap object: [`RefCell`](std::cell::RefCell)'s rules, shareable
/// across threads.
///
/// Borrowing works as with `RefCell`: any number of [`borrow`](Self::borrow)s, or one
/// [`borrow_mut`](Self::borrow_mut); a conflicting borrow panics (or fails, with the `try_`
/// forms). Each costs one atomic operation. Threads that need to wait for each other instead
/// use [`GcMutex`](crate::gc::GcMutex) or [`GcRwLock`](crate::gc::GcRwLock). A collection may
/// hold the cell briefly while it examines the object; a `borrow_mut` then waits for it.
///
/// ```
/// use janitor::gc::{Gc, GcCell};
///
/// let counter = Gc::new(GcCell::new(0));
/// *counter.borrow_mut() += 1;
/// assert_eq!(*counter.borrow(), 1);
/// let reader = counter.borrow();
/// assert!(counter.try_borrow_mut().is_err()); // like RefCell
/// drop(reader);
/// ```
pub struct GcCell<T: ?Sized> {
    flag: BorrowFlag,
    value: UnsafeCell<T>,
}

// SAFETY: the flag gives at most one writer or several readers at a time, across threads; so
// sharing the cell shares `&T` (needs `Sync`) and moves writes between threads (needs `Send`).
unsafe impl<T: ?Sized + Send + Sync> Sync for GcCell<T> {}
// SAFETY: the cell owns its value.
unsafe impl<T: ?Sized + Send> Send for GcCell<T> {}

/// A `GcCell` could not be borrowed because of a conflicting borrow.
///
/// ```
/// let cell = janitor::gc::GcCell::new(1);
/// let writer = cell.borrow_mut();
/// let error = cell.try_borrow().unwrap_err();
/// assert!(error.to_string().contains("already mutably borrowed"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BorrowError {
    /// A shared borrow was asked while a mutable borrow is alive.
    #[error("GcCell already mutably borrowed: end the `borrow_mut` before borrowing again")]
    AlreadyMutablyBorrowed,
    /// A mutable borrow was asked while another borrow is alive.
    #[error("GcCell already borrowed: end every `borrow` and `borrow_mut` before `borrow_mut`")]
    AlreadyBorrowed,
}

impl<T> GcCell<T> {
    const_unless_loom! {
        /// A cell holding `value`; a `const fn`, so a cell can be a `static`'s or a constant's.
        ///
        /// ```
        /// use janitor::gc::GcCell;
        ///
        /// let cell = GcCell::new(vec![1]);
        /// assert_eq!(cell.borrow().len(), 1);
        /// static COUNT: GcCell<u32> = GcCell::new(0);
        /// *COUNT.borrow_mut() += 1;
        /// assert_eq!(*COUNT.borrow(), 1);
        /// ```
        #[must_use]
        pub fn new(value: T) -> Self {
            Self {
                flag: BorrowFlag::new(),
                value: UnsafeCell::new(value),
            }
        }
    }

    /// The value, consuming the cell.
    ///
    /// ```
    /// assert_eq!(janitor::gc::GcCell::new(5).into_inner(), 5);
    /// ```
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }

    /// Replaces the value, returning the old one. Panics if the cell is borrowed.
    ///
    /// ```
    /// let cell = janitor::gc::GcCell::new(1);
    /// assert_eq!(cell.replace(2), 1);
    /// assert_eq!(*cell.borrow(), 2);
    /// ```
    pub fn replace(&self, value: T) -> T {
        std::mem::replace(&mut *self.borrow_mut(), value)
    }

    /// Takes the value, leaving `T::default()`. Panics if the cell is borrowed.
    ///
    /// ```
    /// let cell = janitor::gc::GcCell::new(Some(3));
    /// assert_eq!(cell.take(), Some(3));
    /// assert_eq!(*cell.borrow(), None);
    /// ```
    pub fn take(&self) -> T
    where
        T: Default,
    {
        self.replace(T::default())
    }

    /// Replaces the value with the one `f` computes from it, returning the old one. Panics if
    /// the cell is borrowed (and `f` must not borrow it: it runs under the mutable borrow).
    ///
    /// ```
    /// let cell = janitor::gc::GcCell::new(5);
    /// assert_eq!(cell.replace_with(|old| *old * 2), 5);
    /// assert_eq!(*cell.borrow(), 10);
    /// ```
    #[track_caller]
    pub fn replace_with<F: FnOnce(&mut T) -> T>(&self, f: F) -> T {
        let mut borrow = self.borrow_mut();
        let new = f(&mut borrow);
        std::mem::replace(&mut *borrow, new)
    }

    /// Swaps the values of two cells. Panics if either is borrowed, or if both are the same
    /// cell (as `RefCell::swap`).
    ///
    /// ```
    /// use janitor::gc::GcCell;
    ///
    /// let (left, right) = (GcCell::new('l'), GcCell::new('r'));
    /// left.swap(&right);
    /// assert_eq!((*left.borrow(), *right.borrow()), ('r', 'l'));
    /// ```
    #[track_caller]
    pub fn swap(&self, other: &Self) {
        std::mem::swap(&mut *self.borrow_mut(), &mut *other.borrow_mut())
    }
}

impl<T: ?Sized> GcCell<T> {
    /// Borrows the value; panics if it is mutably borrowed.
    ///
    /// ```
    /// let cell = janitor::gc::GcCell::new(String::from("a"));
    /// let (first, second) = (cell.borrow(), cell.borrow());
    /// assert_eq!(*first, *second);
    /// ```
    #[track_caller]
    pub fn borrow(&self) -> GcRef<'_, T> {
        match self.try_borrow() {
            Ok(borrow) => borrow,
            Err(error) => panic!("{error}"),
        }
    }

    /// Borrows the value, or says why not.
    ///
    /// ```
    /// let cell = janitor::gc::GcCell::new(1);
    /// assert_eq!(*cell.try_borrow().unwrap(), 1);
    /// ```
    pub fn try_borrow(&self) -> Result<GcRef<'_, T>, BorrowError> {
        if self.flag.try_read() {
            Ok(GcRef {
                // SAFETY: `UnsafeCell::get` is never null.
                value: unsafe { NonNull::new_unchecked(self.value.get()) },
                flag: &self.flag,
                borrows: PhantomData,
            })
        } else {
            Err(BorrowError::AlreadyMutablyBorrowed)
        }
    }

    /// Borrows the value mutably; panics if it is borrowed.
    ///
    /// ```
    /// let cell = janitor::gc::GcCell::new(1);
    /// *cell.borrow_mut() += 1;
    /// assert_eq!(*cell.borrow(), 2);
    /// ```
    #[track_caller]
    pub fn borrow_mut(&self) -> GcRefMut<'_, T> {
        match self.try_borrow_mut() {
            Ok(borrow) => borrow,
            Err(error) => panic!("{error}"),
        }
    }

    /// Borrows the value mutably, or says why not.
    ///
    /// ```
    /// let cell = janitor::gc::GcCell::new(1);
    /// let reader = cell.borrow();
    /// assert!(cell.try_borrow_mut().is_err());
    /// ```
    pub fn try_borrow_mut(&self) -> Result<GcRefMut<'_, T>, BorrowError> {
        if self.flag.try_write() {
            Ok(GcRefMut {
                // SAFETY: `UnsafeCell::get` is never null.
                value: unsafe { NonNull::new_unchecked(self.value.get()) },
                flag: &self.flag,
                borrows: PhantomData,
            })
        } else {
            Err(BorrowError::AlreadyBorrowed)
        }
    }

    /// The value, through exclusive access to the cell: no borrow needed.
    ///
    /// ```
    /// let mut cell = janitor::gc::GcCell::new(1);
    /// *cell.get_mut() = 2;
    /// assert_eq!(cell.into_inner(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }
}

/// A shared borrow of a [`GcCell`], or of a part of its value ([`GcRef::map`]).
///
/// ```
/// let cell = janitor::gc::GcCell::new(1);
/// let borrow: janitor::gc::GcRef<'_, i32> = cell.borrow();
/// assert_eq!(*borrow, 1);
/// ```
#[must_use = "if unused the borrow ends at once"]
pub struct GcRef<'a, T: ?Sized> {
    /// The borrowed value or part of it, valid while the read borrow of `flag` is held.
    value: NonNull<T>,
    /// The cell's flag, whose read borrow this guard holds and gives back when dropped.
    flag: &'a BorrowFlag,
    borrows: PhantomData<&'a T>,
}

// SAFETY: the guard hands out `&T` (shareable across threads when `T: Sync`) and gives back a
// read borrow with one atomic operation, from any thread.
unsafe impl<T: ?Sized + Sync> Send for GcRef<'_, T> {}
// SAFETY: as above: sharing the guard shares `&T`.
unsafe impl<T: ?Sized + Sync> Sync for GcRef<'_, T> {}

impl<'a, T: ?Sized> GcRef<'a, T> {
    /// A borrow of a part of the value, made by `f`; the cell stays borrowed, as by `borrow`,
    /// until the new guard drops. An associated function, as `Ref::map`, so that it does not
    /// shadow a method of the value.
    ///
    /// ```
    /// use janitor::gc::{GcCell, GcRef};
    ///
    /// let cell = GcCell::new((1, String::from("one")));
    /// let name: GcRef<'_, str> = GcRef::map(cell.borrow(), |pair| pair.1.as_str());
    /// assert_eq!(&*name, "one");
    /// assert!(cell.try_borrow_mut().is_err()); // still borrowed
    /// ```
    pub fn map<U: ?Sized, F: FnOnce(&T) -> &U>(orig: Self, f: F) -> GcRef<'a, U> {
        let value = NonNull::from(f(&orig));
        let flag = orig.flag;
        // The read borrow passes to the new guard: `orig` must not give it back.
        std::mem::forget(orig);
        GcRef {
            value,
            flag,
            borrows: PhantomData,
        }
    }

    /// A borrow of a part of the value if `f` finds one, or the original borrow back.
    ///
    /// ```
    /// use janitor::gc::{GcCell, GcRef};
    ///
    /// let cell = GcCell::new(vec![1, 2, 3]);
    /// let second = GcRef::filter_map(cell.borrow(), |items| items.get(1)).unwrap();
    /// assert_eq!(*second, 2);
    /// drop(second);
    /// let missing = GcRef::filter_map(cell.borrow(), |items| items.get(9));
    /// assert_eq!(missing.unwrap_err().len(), 3);
    /// ```
    pub fn filter_map<U: ?Sized, F: FnOnce(&T) -> Option<&U>>(
        orig: Self,
        f: F,
    ) -> Result<GcRef<'a, U>, Self> {
        match f(&orig).map(NonNull::from) {
            Some(value) => {
                let flag = orig.flag;
                // The read borrow passes to the new guard: `orig` must not give it back.
                std::mem::forget(orig);
                Ok(GcRef {
                    value,
                    flag,
                    borrows: PhantomData,
                })
            }
            None => Err(orig),
        }
    }
}

impl<T: ?Sized> Deref for GcRef<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a read borrow is held: no writer exists until it ends, and the pointer is into
        // the cell's value (or is the value).
        unsafe { self.value.as_ref() }
    }
}

impl<T: ?Sized> Drop for GcRef<'_, T> {
    fn drop(&mut self) {
        self.flag.end_read();
    }
}

/// A mutable borrow of a [`GcCell`], or of a part of its value ([`GcRefMut::map`]).
///
/// ```
/// let cell = janitor::gc::GcCell::new(1);
/// let mut borrow: janitor::gc::GcRefMut<'_, i32> = cell.borrow_mut();
/// *borrow = 3;
/// drop(borrow);
/// assert_eq!(*cell.borrow(), 3);
/// ```
#[must_use = "if unused the borrow ends at once"]
pub struct GcRefMut<'a, T: ?Sized> {
    /// The borrowed value or part of it, valid while the write borrow of `flag` is held.
    value: NonNull<T>,
    /// The cell's flag, whose write borrow this guard holds and gives back when dropped: the
    /// collector cannot hold (and trace) the cell until then, whatever part the guard maps.
    flag: &'a BorrowFlag,
    borrows: PhantomData<&'a mut T>,
}

// SAFETY: the guard is a `&mut T` (sendable when `T: Send`) and gives back the write borrow with
// one atomic store, from any thread.
unsafe impl<T: ?Sized + Send> Send for GcRefMut<'_, T> {}
// SAFETY: sharing the guard shares `&T`.
unsafe impl<T: ?Sized + Sync> Sync for GcRefMut<'_, T> {}

impl<'a, T: ?Sized> GcRefMut<'a, T> {
    /// A mutable borrow of a part of the value, made by `f`; the cell stays mutably borrowed
    /// (so the collector treats it as opaque, as with `borrow_mut`) until the new guard drops.
    ///
    /// ```
    /// use janitor::gc::{GcCell, GcRefMut};
    ///
    /// let cell = GcCell::new((0, String::new()));
    /// let mut name = GcRefMut::map(cell.borrow_mut(), |pair| &mut pair.1);
    /// name.push_str("set");
    /// assert!(cell.try_borrow().is_err()); // still mutably borrowed
    /// drop(name);
    /// assert_eq!(cell.borrow().1, "set");
    /// ```
    pub fn map<U: ?Sized, F: FnOnce(&mut T) -> &mut U>(mut orig: Self, f: F) -> GcRefMut<'a, U> {
        let value = NonNull::from(f(&mut orig));
        let flag = orig.flag;
        // The write borrow passes to the new guard: `orig` must not give it back.
        std::mem::forget(orig);
        GcRefMut {
            value,
            flag,
            borrows: PhantomData,
        }
    }

    /// A mutable borrow of a part of the value if `f` finds one, or the original borrow back.
    ///
    /// ```
    /// use janitor::gc::{GcCell, GcRefMut};
    ///
    /// let cell = GcCell::new(vec![1, 2]);
    /// *GcRefMut::filter_map(cell.borrow_mut(), |items| items.last_mut()).unwrap() = 5;
    /// assert_eq!(*cell.borrow(), [1, 5]);
    /// let refused = GcRefMut::filter_map(cell.borrow_mut(), |items| items.get_mut(7));
    /// assert!(refused.is_err());
    /// ```
    pub fn filter_map<U: ?Sized, F: FnOnce(&mut T) -> Option<&mut U>>(
        orig: Self,
        f: F,
    ) -> Result<GcRefMut<'a, U>, Self> {
        let mut whole = orig.value;
        // SAFETY: the write borrow is held, and `orig` is not used while this `&mut` lives: it is
        // either forgotten (the part found) or returned once `f`'s answer is dropped.
        match f(unsafe { whole.as_mut() }).map(NonNull::from) {
            Some(value) => {
                let flag = orig.flag;
                // The write borrow passes to the new guard: `orig` must not give it back.
                std::mem::forget(orig);
                Ok(GcRefMut {
                    value,
                    flag,
                    borrows: PhantomData,
                })
            }
            None => Err(orig),
        }
    }
}

impl<T: ?Sized> Deref for GcRefMut<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the write borrow is held: nobody else reads or writes.
        unsafe { self.value.as_ref() }
    }
}

impl<T: ?Sized> DerefMut for GcRefMut<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the write borrow is held: nobody else reads or writes.
        unsafe { self.value.as_mut() }
    }
}

impl<T: ?Sized> Drop for GcRefMut<'_, T> {
    fn drop(&mut self) {
        self.flag.end_write();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for GcCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.try_borrow() {
            Ok(value) => f.debug_struct("GcCell").field("value", &&*value).finish(),
            Err(_) => f
                .debug_struct("GcCell")
                .field("value", &format_args!("<borrowed>"))
                .finish(),
        }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for GcRef<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for GcRefMut<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: Default> Default for GcCell<T> {
    /// A cell holding `T::default()`.
    ///
    /// ```
    /// let cell: janitor::gc::GcCell<Vec<u8>> = Default::default();
    /// assert!(cell.borrow().is_empty());
    /// ```
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T> From<T> for GcCell<T> {
    /// A cell holding `value`, as [`GcCell::new`].
    ///
    /// ```
    /// let cell: janitor::gc::GcCell<u8> = 3.into();
    /// assert_eq!(*cell.borrow(), 3);
    /// ```
    fn from(value: T) -> Self {
        Self::new(value)
    }
}

impl<T: Clone> Clone for GcCell<T> {
    /// A new cell holding a clone of the value. Panics if the cell is mutably borrowed.
    ///
    /// ```
    /// let cell = janitor::gc::GcCell::new(vec![1]);
    /// let copy = cell.clone();
    /// cell.borrow_mut().push(2);
    /// assert_eq!(*copy.borrow(), [1]);
    /// ```
    #[track_caller]
    fn clone(&self) -> Self {
        Self::new(self.borrow().clone())
    }
}

impl<T: ?Sized + PartialEq> PartialEq for GcCell<T> {
    /// Compares the values. Panics if either cell is mutably borrowed.
    ///
    /// ```
    /// use janitor::gc::GcCell;
    /// assert_eq!(GcCell::new(1), GcCell::new(1));
    /// assert_ne!(GcCell::new(1), GcCell::new(2));
    /// ```
    #[track_caller]
    fn eq(&self, other: &Self) -> bool {
        *self.borrow() == *other.borrow()
    }
}

impl<T: ?Sized + Eq> Eq for GcCell<T> {}

impl<T: ?Sized + PartialOrd> PartialOrd for GcCell<T> {
    /// Compares the values. Panics if either cell is mutably borrowed.
    ///
    /// ```
    /// use janitor::gc::GcCell;
    /// assert!(GcCell::new(1.0) < GcCell::new(2.0));
    /// ```
    #[track_caller]
    fn partial_cmp(&self, other: &Self) -> Option<Order> {
        self.borrow().partial_cmp(&*other.borrow())
    }
}

impl<T: ?Sized + Ord> Ord for GcCell<T> {
    /// Compares the values. Panics if either cell is mutably borrowed.
    ///
    /// ```
    /// use janitor::gc::GcCell;
    /// let mut cells = vec![GcCell::new(3), GcCell::new(1)];
    /// cells.sort();
    /// assert_eq!(*cells[0].borrow(), 1);
    /// ```
    #[track_caller]
    fn cmp(&self, other: &Self) -> Order {
        self.borrow().cmp(&*other.borrow())
    }
}

// SAFETY: the cell owns its value. The collector traces the value only while it holds the flag,
// which excludes writers until the collector's decision, so the reported edges stay as reported.
// At construction nothing else can reach the value. Edges change through `borrow_mut`, hence
// `MUTABLE_EDGES` whenever the value can hold a `Gc`.
unsafe impl<T: ?Sized + TraceMeta> Trace for GcCell<T> {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if T::HOLDS_GC && tracer.hold(&self.flag) {
            // SAFETY: the flag is held (or the value is not shared yet): no writer exists.
            unsafe { &*self.value.get() }.trace(tracer)
        }
    }
}
// SAFETY: edges change under the writer's lock: mutable whenever the value can hold a `Gc`.
unsafe impl<T: ?Sized + TraceMeta> TraceMeta for GcCell<T> {
    const HOLDS_GC: bool = T::HOLDS_GC;
    const MUTABLE_EDGES: bool = T::HOLDS_GC;
    const FINALIZER: Option<Finalizer<Self>> = refuse_finalizable_inside(T::FINALIZER.is_some());
    const UNSYNC_FINALIZER: Option<UnsyncFinalizer<Self>> =
        refuse_unsync_finalizable_inside(T::UNSYNC_FINALIZER.is_some());
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn the_collector_hold_lets_readers_in_and_keeps_writers_out_until_released() {
        let cell = GcCell::new(1);
        assert!(cell.flag.try_hold());
        assert_eq!(*cell.borrow(), 1);
        std::thread::scope(|scope| {
            let writer = scope.spawn(|| *cell.borrow_mut() = 2);
            std::thread::sleep(std::time::Duration::from_millis(20));
            // Read as the collector does, under its hold: a reader's borrow here would race the
            // writer's, which then fails as a conflicting borrow instead of waiting.
            // SAFETY: the hold excludes the writer.
            assert_eq!(unsafe { *cell.value.get() }, 1);
            // SAFETY: this thread took the hold above.
            unsafe { cell.flag.release() };
            // As `Holds::release_all` does after giving cells back: the writer is parked.
            RELEASES.signal();
            writer.join().unwrap();
        });
        assert_eq!(*cell.borrow(), 2);
    }

    #[test]
    fn the_collector_cannot_hold_a_mutably_borrowed_cell() {
        let cell = GcCell::new(1);
        let writer = cell.borrow_mut();
        assert!(!cell.flag.try_hold());
        drop(writer);
        assert!(cell.flag.try_hold());
    }

    #[test]
    fn a_mapped_mutable_borrow_keeps_the_collector_out_until_it_drops() {
        let cell = GcCell::new((1, String::from("a")));
        let part = GcRefMut::map(cell.borrow_mut(), |pair| &mut pair.1);
        assert!(
            !cell.flag.try_hold(),
            "the collector got in under a mapped writer"
        );
        drop(part);
        assert!(cell.flag.try_hold());
        // SAFETY: this thread took the hold above.
        unsafe { cell.flag.release() };
        let refused = GcRefMut::filter_map(cell.borrow_mut(), |_| None::<&mut u8>).unwrap_err();
        assert!(
            !cell.flag.try_hold(),
            "the refused map gave back the write borrow"
        );
        drop(refused);
        assert!(cell.flag.try_hold());
    }

    #[test]
    fn a_mapped_shared_borrow_keeps_writers_out_and_lets_the_collector_in() {
        let cell = GcCell::new(vec![1, 2]);
        let part = GcRef::map(cell.borrow(), |items| &items[1]);
        assert!(cell.try_borrow_mut().is_err());
        assert!(cell.flag.try_hold());
        // SAFETY: this thread took the hold above.
        unsafe { cell.flag.release() };
        let refused = GcRef::filter_map(part, |_| None::<&u8>).unwrap_err();
        assert!(
            cell.try_borrow_mut().is_err(),
            "the refused map gave back the borrow"
        );
        drop(refused);
        assert!(cell.try_borrow_mut().is_ok());
    }

    #[test]
    #[should_panic(expected = "already borrowed")]
    fn swapping_a_cell_with_itself_panics_as_ref_cell_does() {
        let cell = GcCell::new(1);
        cell.swap(&cell);
    }

    #[test]
    #[should_panic(expected = "already mutably borrowed")]
    fn borrowing_during_a_mutable_borrow_panics() {
        let cell = GcCell::new(1);
        let _writer = cell.borrow_mut();
        let _reader = cell.borrow();
    }
}

/// Loom models of the borrow flag: the collector's hold never sees a write in progress, and
/// readers never see one either.
#[cfg(all(test, loom))]
mod loom {
    use super::*;
    use ::loom::sync::Arc;

    /// A value whose two-step write shows up if a read overlaps it: a write stores 1, then 2.
    fn cell() -> Arc<GcCell<AtomicUsize>> {
        Arc::new(GcCell::new(AtomicUsize::new(0)))
    }

    fn write_in_two_steps(cell: &GcCell<AtomicUsize>) {
        let value = cell.borrow_mut();
        value.store(1, Ordering::SeqCst);
        value.store(2, Ordering::SeqCst);
    }

    #[test]
    fn loom_the_collector_hold_never_overlaps_a_write() {
        ::loom::model(|| {
            let cell = cell();
            let writer = {
                let cell = cell.clone();
                ::loom::thread::spawn(move || write_in_two_steps(&cell))
            };
            if cell.flag.try_hold() {
                // SAFETY: the hold excludes the writer until it is released below.
                let value = unsafe { &*cell.value.get() };
                let first = value.load(Ordering::SeqCst);
                assert_ne!(first, 1, "the hold overlapped a write");
                assert_eq!(
                    value.load(Ordering::SeqCst),
                    first,
                    "the value changed under the hold"
                );
                // SAFETY: this thread took the hold above.
                unsafe { cell.flag.release() };
            }
            writer.join().unwrap();
            assert_eq!(cell.borrow().load(Ordering::SeqCst), 2);
        });
    }

    #[test]
    fn loom_a_reader_never_overlaps_a_write() {
        ::loom::model(|| {
            let cell = cell();
            let reader = {
                let cell = cell.clone();
                ::loom::thread::spawn(move || {
                    if let Ok(value) = cell.try_borrow() {
                        let seen = value.load(Ordering::SeqCst);
                        assert!(seen == 0 || seen == 2, "a reader saw a write in progress");
                    }
                })
            };
            if let Ok(value) = cell.try_borrow_mut() {
                value.store(1, Ordering::SeqCst);
                value.store(2, Ordering::SeqCst);
            }
            reader.join().unwrap();
        });
    }
}
