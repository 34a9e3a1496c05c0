//! `GcCell<T>`: a `Sync` `RefCell` whose borrow flag the collector can hold.
//!
//! Invariant owned here: the value is written only under a writer borrow, and never while the
//! collector holds the flag; so the edges the collector traced under its hold stay as traced
//! until it releases the flag.
//!
//! The flag is one `AtomicUsize`: the low bits count readers, [`WRITER`] marks the writer, and
//! [`COLLECTOR`] marks the collector's hold, shared with readers and excluding the writer. A borrow
//! costs one atomic read-modify-write; a writer that finds only the collector waits for it instead
//! of panicking. The protocol and its orderings: `docs/gc-soundness.md#cells-and-locks`.

use crate::gc::core::trace::{Hold, Trace, Tracer};
use crate::sync::{AtomicUsize, Ordering, yield_now};
use std::cell::UnsafeCell;
use std::fmt;
use std::ops::{Deref, DerefMut};

const WRITER: usize = 1 << (usize::BITS - 1);
const COLLECTOR: usize = 1 << (usize::BITS - 2);
const READERS: usize = COLLECTOR - 1;

/// A borrow flag the collector can hold.
pub(crate) struct BorrowFlag(AtomicUsize);

impl BorrowFlag {
    fn new() -> Self {
        Self(AtomicUsize::new(0))
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
                Err(COLLECTOR) | Err(0) => yield_now(),
                Err(_) => return false,
            }
        }
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
    /// A cell holding `value`.
    ///
    /// ```
    /// let cell = janitor::gc::GcCell::new(vec![1]);
    /// assert_eq!(cell.borrow().len(), 1);
    /// ```
    pub fn new(value: T) -> Self {
        Self {
            flag: BorrowFlag::new(),
            value: UnsafeCell::new(value),
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
            Ok(GcRef { cell: self })
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
            Ok(GcRefMut { cell: self })
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

/// A shared borrow of a [`GcCell`].
///
/// ```
/// let cell = janitor::gc::GcCell::new(1);
/// let borrow: janitor::gc::GcRef<'_, i32> = cell.borrow();
/// assert_eq!(*borrow, 1);
/// ```
pub struct GcRef<'a, T: ?Sized> {
    cell: &'a GcCell<T>,
}

impl<T: ?Sized> Deref for GcRef<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a read borrow is held: no writer exists until it ends.
        unsafe { &*self.cell.value.get() }
    }
}

impl<T: ?Sized> Drop for GcRef<'_, T> {
    fn drop(&mut self) {
        self.cell.flag.end_read();
    }
}

/// A mutable borrow of a [`GcCell`].
///
/// ```
/// let cell = janitor::gc::GcCell::new(1);
/// let mut borrow: janitor::gc::GcRefMut<'_, i32> = cell.borrow_mut();
/// *borrow = 3;
/// drop(borrow);
/// assert_eq!(*cell.borrow(), 3);
/// ```
pub struct GcRefMut<'a, T: ?Sized> {
    cell: &'a GcCell<T>,
}

impl<T: ?Sized> Deref for GcRefMut<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the write borrow is held: nobody else reads or writes.
        unsafe { &*self.cell.value.get() }
    }
}

impl<T: ?Sized> DerefMut for GcRefMut<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the write borrow is held: nobody else reads or writes.
        unsafe { &mut *self.cell.value.get() }
    }
}

impl<T: ?Sized> Drop for GcRefMut<'_, T> {
    fn drop(&mut self) {
        self.cell.flag.end_write();
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
    fn default() -> Self {
        Self::new(T::default())
    }
}

// SAFETY: the cell owns its value. The collector traces the value only while it holds the flag,
// which excludes writers until the collector's decision, so the reported edges stay as reported.
// At construction nothing else can reach the value. Edges change through `borrow_mut`, hence
// `MUTABLE_EDGES` whenever the value can hold a `Gc`.
unsafe impl<T: ?Sized + Trace> Trace for GcCell<T> {
    const HOLDS_GC: bool = T::HOLDS_GC;
    const MUTABLE_EDGES: bool = T::HOLDS_GC;
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if T::HOLDS_GC && tracer.hold(&self.flag) {
            // SAFETY: the flag is held (or the value is not shared yet): no writer exists.
            unsafe { &*self.value.get() }.trace(tracer)
        }
    }
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
