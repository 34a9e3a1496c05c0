//! `GcMutex<T>` and `GcRwLock<T>`: blocking locks for heap objects shared between threads.
//!
//! Invariant owned here: the value is written only under the exclusive lock, and the collector
//! traces it only under a lock it took without blocking (exclusive for the mutex, shared for the
//! read-write lock) and holds until its decision; so the edges it traced stay as traced. A
//! thread that wants the lock meanwhile blocks for the collection's pause. The locks are
//! `parking_lot`'s raw locks: one word, no allocation, fair unlocking, and the try-locks the
//! collector needs.

use crate::gc::core::trace::{Hold, Trace, Tracer};
use parking_lot::lock_api::{RawMutex as _, RawRwLock as _};
use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

struct RawMutex(parking_lot::RawMutex);

impl Hold for RawMutex {
    fn try_hold(&self) -> bool {
        self.0.try_lock()
    }

    unsafe fn release(&self) {
        // SAFETY: the caller took the lock with `try_hold`, on this thread.
        unsafe { self.0.unlock() }
    }
}

struct RawRwLock(parking_lot::RawRwLock);

impl Hold for RawRwLock {
    fn try_hold(&self) -> bool {
        self.0.try_lock_shared()
    }

    unsafe fn release(&self) {
        // SAFETY: the caller took a shared lock with `try_hold`, on this thread.
        unsafe { self.0.unlock_shared() }
    }
}

/// A mutual-exclusion lock inside a heap object, for state several threads change.
///
/// [`lock`](Self::lock) blocks until the lock is free; the guard unlocks when dropped. A
/// collection may hold the lock briefly while it examines the object.
///
/// ```
/// use janitor::gc::{Gc, GcMutex};
///
/// let total = Gc::new(GcMutex::new(0));
/// let workers: Vec<_> = (0..4)
///     .map(|_| {
///         let total = total.clone();
///         std::thread::spawn(move || *total.lock() += 1)
///     })
///     .collect();
/// workers.into_iter().for_each(|worker| worker.join().unwrap());
/// assert_eq!(*total.lock(), 4);
/// ```
pub struct GcMutex<T: ?Sized> {
    raw: RawMutex,
    value: UnsafeCell<T>,
}

// SAFETY: the lock hands the value to one thread at a time, so `T: Send` suffices, as for `Mutex`.
unsafe impl<T: ?Sized + Send> Sync for GcMutex<T> {}
// SAFETY: the mutex owns its value.
unsafe impl<T: ?Sized + Send> Send for GcMutex<T> {}

impl<T> GcMutex<T> {
    /// An unlocked mutex holding `value`.
    ///
    /// ```
    /// let mutex = janitor::gc::GcMutex::new(1);
    /// assert_eq!(*mutex.lock(), 1);
    /// ```
    pub fn new(value: T) -> Self {
        Self {
            raw: RawMutex(parking_lot::RawMutex::INIT),
            value: UnsafeCell::new(value),
        }
    }

    /// The value, consuming the mutex.
    ///
    /// ```
    /// assert_eq!(janitor::gc::GcMutex::new(2).into_inner(), 2);
    /// ```
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T: ?Sized> GcMutex<T> {
    /// Locks, blocking until the lock is free.
    ///
    /// ```
    /// let mutex = janitor::gc::GcMutex::new(vec![1]);
    /// mutex.lock().push(2);
    /// assert_eq!(*mutex.lock(), [1, 2]);
    /// ```
    pub fn lock(&self) -> GcMutexGuard<'_, T> {
        self.raw.0.lock();
        GcMutexGuard {
            mutex: self,
            not_send: PhantomData,
        }
    }

    /// Locks if the lock is free, without blocking.
    ///
    /// ```
    /// let mutex = janitor::gc::GcMutex::new(1);
    /// let guard = mutex.lock();
    /// assert!(mutex.try_lock().is_none());
    /// drop(guard);
    /// assert!(mutex.try_lock().is_some());
    /// ```
    pub fn try_lock(&self) -> Option<GcMutexGuard<'_, T>> {
        // Built lazily, only once the lock is taken: a guard unlocks when dropped, so a guard
        // built for a failed try would unlock the lock another guard holds.
        self.raw.0.try_lock().then(|| GcMutexGuard {
            mutex: self,
            not_send: PhantomData,
        })
    }

    /// The value, through exclusive access to the mutex: no locking needed.
    ///
    /// ```
    /// let mut mutex = janitor::gc::GcMutex::new(1);
    /// *mutex.get_mut() = 3;
    /// assert_eq!(*mutex.lock(), 3);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }
}

/// The lock of a [`GcMutex`], held until dropped.
///
/// ```
/// let mutex = janitor::gc::GcMutex::new(1);
/// let mut guard: janitor::gc::GcMutexGuard<'_, i32> = mutex.lock();
/// *guard = 5;
/// ```
pub struct GcMutexGuard<'a, T: ?Sized> {
    mutex: &'a GcMutex<T>,
    /// Unlocked on the thread that locked, as `std`'s guards.
    not_send: PhantomData<*const ()>,
}

// SAFETY: the guard gives `&T` to whoever shares it.
unsafe impl<T: ?Sized + Sync> Sync for GcMutexGuard<'_, T> {}

impl<T: ?Sized> Deref for GcMutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the lock is held.
        unsafe { &*self.mutex.value.get() }
    }
}

impl<T: ?Sized> DerefMut for GcMutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the lock is held.
        unsafe { &mut *self.mutex.value.get() }
    }
}

impl<T: ?Sized> Drop for GcMutexGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: this guard holds the lock, taken on this thread.
        unsafe { self.mutex.raw.0.unlock() }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for GcMutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.try_lock() {
            Some(value) => f.debug_struct("GcMutex").field("value", &&*value).finish(),
            None => f
                .debug_struct("GcMutex")
                .field("value", &format_args!("<locked>"))
                .finish(),
        }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for GcMutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: Default> Default for GcMutex<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

// SAFETY: the mutex owns its value. The collector traces it only under a lock taken by
// `try_hold` and held until its decision, so the reported edges stay put; at construction the
// value is not shared yet.
unsafe impl<T: ?Sized + Trace> Trace for GcMutex<T> {
    const HOLDS_GC: bool = T::HOLDS_GC;
    const MUTABLE_EDGES: bool = T::HOLDS_GC;
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if T::HOLDS_GC && tracer.hold(&self.raw) {
            // SAFETY: the lock is held (or the value is not shared yet).
            unsafe { &*self.value.get() }.trace(tracer)
        }
    }
}

/// A reader-writer lock inside a heap object: many readers or one writer, blocking.
///
/// ```
/// use janitor::gc::{Gc, GcRwLock};
///
/// let config = Gc::new(GcRwLock::new(String::from("v1")));
/// assert_eq!(*config.read(), "v1");
/// *config.write() = String::from("v2");
/// assert_eq!(*config.read(), "v2");
/// ```
pub struct GcRwLock<T: ?Sized> {
    raw: RawRwLock,
    value: UnsafeCell<T>,
}

// SAFETY: readers share `&T` across threads (`Sync`), the writer may be any thread (`Send`), as
// for `RwLock`.
unsafe impl<T: ?Sized + Send + Sync> Sync for GcRwLock<T> {}
// SAFETY: the lock owns its value.
unsafe impl<T: ?Sized + Send> Send for GcRwLock<T> {}

impl<T> GcRwLock<T> {
    /// An unlocked lock holding `value`.
    ///
    /// ```
    /// let lock = janitor::gc::GcRwLock::new(1);
    /// assert_eq!(*lock.read(), 1);
    /// ```
    pub fn new(value: T) -> Self {
        Self {
            raw: RawRwLock(parking_lot::RawRwLock::INIT),
            value: UnsafeCell::new(value),
        }
    }

    /// The value, consuming the lock.
    ///
    /// ```
    /// assert_eq!(janitor::gc::GcRwLock::new(2).into_inner(), 2);
    /// ```
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T: ?Sized> GcRwLock<T> {
    /// Locks for reading, blocking while a writer holds the lock.
    ///
    /// ```
    /// let lock = janitor::gc::GcRwLock::new(1);
    /// let (a, b) = (lock.read(), lock.read());
    /// assert_eq!(*a + *b, 2);
    /// ```
    pub fn read(&self) -> GcReadGuard<'_, T> {
        self.raw.0.lock_shared();
        GcReadGuard {
            lock: self,
            not_send: PhantomData,
        }
    }

    /// Locks for writing, blocking while anyone holds the lock.
    ///
    /// ```
    /// let lock = janitor::gc::GcRwLock::new(1);
    /// *lock.write() += 1;
    /// assert_eq!(*lock.read(), 2);
    /// ```
    pub fn write(&self) -> GcWriteGuard<'_, T> {
        self.raw.0.lock_exclusive();
        GcWriteGuard {
            lock: self,
            not_send: PhantomData,
        }
    }

    /// Locks for reading if no writer holds the lock, without blocking.
    ///
    /// ```
    /// let lock = janitor::gc::GcRwLock::new(1);
    /// let writer = lock.write();
    /// assert!(lock.try_read().is_none());
    /// ```
    pub fn try_read(&self) -> Option<GcReadGuard<'_, T>> {
        // Lazily, as in `GcMutex::try_lock`: a guard for a failed try would end another's lock.
        self.raw.0.try_lock_shared().then(|| GcReadGuard {
            lock: self,
            not_send: PhantomData,
        })
    }

    /// Locks for writing if nobody holds the lock, without blocking.
    ///
    /// ```
    /// let lock = janitor::gc::GcRwLock::new(1);
    /// let reader = lock.read();
    /// assert!(lock.try_write().is_none());
    /// ```
    pub fn try_write(&self) -> Option<GcWriteGuard<'_, T>> {
        // Lazily, as in `GcMutex::try_lock`: a guard for a failed try would end another's lock.
        self.raw.0.try_lock_exclusive().then(|| GcWriteGuard {
            lock: self,
            not_send: PhantomData,
        })
    }

    /// The value, through exclusive access to the lock: no locking needed.
    ///
    /// ```
    /// let mut lock = janitor::gc::GcRwLock::new(1);
    /// *lock.get_mut() = 4;
    /// assert_eq!(*lock.read(), 4);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }
}

/// A read lock of a [`GcRwLock`], held until dropped.
///
/// ```
/// let lock = janitor::gc::GcRwLock::new(1);
/// let guard: janitor::gc::GcReadGuard<'_, i32> = lock.read();
/// assert_eq!(*guard, 1);
/// ```
pub struct GcReadGuard<'a, T: ?Sized> {
    lock: &'a GcRwLock<T>,
    not_send: PhantomData<*const ()>,
}

// SAFETY: the guard gives `&T` to whoever shares it.
unsafe impl<T: ?Sized + Sync> Sync for GcReadGuard<'_, T> {}

impl<T: ?Sized> Deref for GcReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a read lock is held: no writer exists.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T: ?Sized> Drop for GcReadGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: this guard holds a read lock, taken on this thread.
        unsafe { self.lock.raw.0.unlock_shared() }
    }
}

/// A write lock of a [`GcRwLock`], held until dropped.
///
/// ```
/// let lock = janitor::gc::GcRwLock::new(1);
/// let mut guard: janitor::gc::GcWriteGuard<'_, i32> = lock.write();
/// *guard = 2;
/// ```
pub struct GcWriteGuard<'a, T: ?Sized> {
    lock: &'a GcRwLock<T>,
    not_send: PhantomData<*const ()>,
}

// SAFETY: the guard gives `&T` to whoever shares it.
unsafe impl<T: ?Sized + Sync> Sync for GcWriteGuard<'_, T> {}

impl<T: ?Sized> Deref for GcWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the write lock is held.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T: ?Sized> DerefMut for GcWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the write lock is held.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T: ?Sized> Drop for GcWriteGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: this guard holds the write lock, taken on this thread.
        unsafe { self.lock.raw.0.unlock_exclusive() }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for GcRwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.try_read() {
            Some(value) => f.debug_struct("GcRwLock").field("value", &&*value).finish(),
            None => f
                .debug_struct("GcRwLock")
                .field("value", &format_args!("<locked>"))
                .finish(),
        }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for GcReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for GcWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: Default> Default for GcRwLock<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

// SAFETY: the lock owns its value. The collector traces it only under a shared lock taken by
// `try_hold` and held until its decision, which excludes writers, so the reported edges stay
// put; at construction the value is not shared yet.
unsafe impl<T: ?Sized + Trace> Trace for GcRwLock<T> {
    const HOLDS_GC: bool = T::HOLDS_GC;
    const MUTABLE_EDGES: bool = T::HOLDS_GC;
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if T::HOLDS_GC && tracer.hold(&self.raw) {
            // SAFETY: a read lock is held (or the value is not shared yet).
            unsafe { &*self.value.get() }.trace(tracer)
        }
    }
}
