//! `GcMutex<T>` and `GcRwLock<T>`: blocking locks for heap objects shared between threads.
//!
//! Invariant owned here: the value is written only under the exclusive lock, and the collector
//! traces it only under a lock it took without blocking (exclusive for the mutex, shared for the
//! read-write lock) and holds until its decision; so the edges it traced stay as traced. A
//! thread that wants the lock meanwhile blocks for the collection's pause. A mapped guard carries
//! the lock of the guard it came from, and unlocks it once. The locks are `parking_lot`'s (a
//! `lock_api` lock over a raw lock of one word: no allocation, fair unlocking, and the try-locks
//! the collector needs), and the guards are `lock_api`'s mapped guards: one guard type serves the
//! whole value and a part of it, as janitor's API has one per lock mode. A marker keeps them
//! unlocked on the thread that locked, as `std`'s, whichever `parking_lot` features other crates
//! turn on.

use crate::gc::core::trace::{
    Finalizer, Hold, Trace, TraceMeta, Tracer, UnsyncFinalizer, refuse_finalizable_inside,
    refuse_unsync_finalizable_inside,
};
use parking_lot::lock_api::{RawMutex as _, RawRwLock as _};
use parking_lot::{
    MappedMutexGuard, MappedRwLockReadGuard, MappedRwLockWriteGuard, MutexGuard, RwLockReadGuard,
    RwLockWriteGuard,
};
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::time::{Duration, Instant};

/// Keeps a guard on the thread that locked (`std`'s guard is `!Send` and `Sync`), whether or not
/// `parking_lot`'s `send_guard` feature is on somewhere in the build.
type NotSend = PhantomData<std::sync::MutexGuard<'static, ()>>;

// The collector holds a `GcMutex` exclusively (a mutex has no shared mode).
impl Hold for parking_lot::RawMutex {
    fn try_hold(&self) -> bool {
        self.try_lock()
    }

    unsafe fn release(&self) {
        // SAFETY: the caller took the lock with `try_hold`, on this thread.
        unsafe { self.unlock() }
    }
}

// The collector holds a `GcRwLock` shared: readers go on, writers wait for its decision.
impl Hold for parking_lot::RawRwLock {
    fn try_hold(&self) -> bool {
        self.try_lock_shared()
    }

    unsafe fn release(&self) {
        // SAFETY: the caller took a shared lock with `try_hold`, on this thread.
        unsafe { self.unlock_shared() }
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
    inner: parking_lot::Mutex<T>,
}

impl<T> GcMutex<T> {
    /// An unlocked mutex holding `value`; a `const fn`, so a mutex can be a `static`'s.
    ///
    /// ```
    /// use janitor::gc::GcMutex;
    ///
    /// let mutex = GcMutex::new(1);
    /// assert_eq!(*mutex.lock(), 1);
    /// static LOG: GcMutex<Vec<&str>> = GcMutex::new(Vec::new());
    /// LOG.lock().push("started");
    /// assert_eq!(LOG.lock().len(), 1);
    /// ```
    #[must_use]
    pub const fn new(value: T) -> Self {
        Self {
            inner: parking_lot::Mutex::new(value),
        }
    }

    /// The value, consuming the mutex.
    ///
    /// ```
    /// assert_eq!(janitor::gc::GcMutex::new(2).into_inner(), 2);
    /// ```
    pub fn into_inner(self) -> T {
        self.inner.into_inner()
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
        GcMutexGuard::whole(self.inner.lock())
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
    #[must_use = "if unused the mutex unlocks at once"]
    pub fn try_lock(&self) -> Option<GcMutexGuard<'_, T>> {
        self.inner.try_lock().map(GcMutexGuard::whole)
    }

    /// Locks, blocking at most `timeout`; `None` if the lock stayed taken that long.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let mutex = janitor::gc::GcMutex::new(1);
    /// let guard = mutex.lock();
    /// assert!(mutex.try_lock_for(Duration::from_millis(1)).is_none());
    /// drop(guard);
    /// assert_eq!(*mutex.try_lock_for(Duration::from_secs(1)).unwrap(), 1);
    /// ```
    #[must_use = "if unused the mutex unlocks at once"]
    pub fn try_lock_for(&self, timeout: Duration) -> Option<GcMutexGuard<'_, T>> {
        self.inner.try_lock_for(timeout).map(GcMutexGuard::whole)
    }

    /// Locks, blocking until `deadline` at the latest; `None` if the lock stayed taken until then.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let mutex = janitor::gc::GcMutex::new(1);
    /// let deadline = Instant::now() + Duration::from_secs(1);
    /// assert_eq!(*mutex.try_lock_until(deadline).unwrap(), 1);
    /// ```
    #[must_use = "if unused the mutex unlocks at once"]
    pub fn try_lock_until(&self, deadline: Instant) -> Option<GcMutexGuard<'_, T>> {
        self.inner.try_lock_until(deadline).map(GcMutexGuard::whole)
    }

    /// Whether the lock is taken now: by a guard, or by a collection examining the object. The
    /// answer may be stale as soon as it is returned; it is for diagnostics and assertions, not
    /// for deciding whether to lock.
    ///
    /// ```
    /// let mutex = janitor::gc::GcMutex::new(1);
    /// assert!(!mutex.is_locked());
    /// let guard = mutex.lock();
    /// assert!(mutex.is_locked());
    /// drop(guard);
    /// assert!(!mutex.is_locked());
    /// ```
    #[must_use]
    pub fn is_locked(&self) -> bool {
        self.inner.is_locked()
    }

    /// The value, through exclusive access to the mutex: no locking needed.
    ///
    /// ```
    /// let mut mutex = janitor::gc::GcMutex::new(1);
    /// *mutex.get_mut() = 3;
    /// assert_eq!(*mutex.lock(), 3);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
    }
}

/// The lock of a [`GcMutex`], held until dropped; it may give access to a part of the value
/// ([`GcMutexGuard::map`]).
///
/// ```
/// let mutex = janitor::gc::GcMutex::new(1);
/// let mut guard: janitor::gc::GcMutexGuard<'_, i32> = mutex.lock();
/// *guard = 5;
/// ```
#[must_use = "if unused the mutex unlocks at once"]
pub struct GcMutexGuard<'a, T: ?Sized> {
    /// The lock, held until dropped, and the value or the part of it the guard gives.
    inner: MappedMutexGuard<'a, T>,
    not_send: NotSend,
}

impl<'a, T: ?Sized> GcMutexGuard<'a, T> {
    /// The guard of a lock just taken, for the whole value.
    fn whole(guard: MutexGuard<'a, T>) -> Self {
        Self {
            inner: MutexGuard::map(guard, |value| value),
            not_send: PhantomData,
        }
    }

    /// A guard for a part of the value, made by `f`; the mutex stays locked until the new guard
    /// drops. An associated function, so that it does not shadow a method of the value.
    ///
    /// ```
    /// use janitor::gc::{GcMutex, GcMutexGuard};
    ///
    /// let mutex = GcMutex::new((1, vec![2]));
    /// let mut list = GcMutexGuard::map(mutex.lock(), |pair| &mut pair.1);
    /// list.push(3);
    /// assert!(mutex.is_locked());
    /// drop(list);
    /// assert_eq!(mutex.lock().1, [2, 3]);
    /// ```
    pub fn map<U: ?Sized, F: FnOnce(&mut T) -> &mut U>(orig: Self, f: F) -> GcMutexGuard<'a, U> {
        GcMutexGuard {
            inner: MappedMutexGuard::map(orig.inner, f),
            not_send: PhantomData,
        }
    }

    /// A guard for a part of the value if `f` finds one, or the original guard back.
    ///
    /// ```
    /// use janitor::gc::{GcMutex, GcMutexGuard};
    ///
    /// let mutex = GcMutex::new(vec![1]);
    /// *GcMutexGuard::filter_map(mutex.lock(), |items| items.first_mut()).unwrap() = 4;
    /// assert!(GcMutexGuard::filter_map(mutex.lock(), |items| items.get_mut(3)).is_err());
    /// assert_eq!(*mutex.lock(), [4]);
    /// ```
    pub fn filter_map<U: ?Sized, F: FnOnce(&mut T) -> Option<&mut U>>(
        orig: Self,
        f: F,
    ) -> Result<GcMutexGuard<'a, U>, Self> {
        match MappedMutexGuard::try_map(orig.inner, f) {
            Ok(inner) => Ok(GcMutexGuard {
                inner,
                not_send: PhantomData,
            }),
            Err(inner) => Err(Self {
                inner,
                not_send: PhantomData,
            }),
        }
    }
}

impl<T: ?Sized> Deref for GcMutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: ?Sized> DerefMut for GcMutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.inner
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
    /// An unlocked mutex holding `T::default()`.
    ///
    /// ```
    /// let mutex: janitor::gc::GcMutex<u8> = Default::default();
    /// assert_eq!(*mutex.lock(), 0);
    /// ```
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T> From<T> for GcMutex<T> {
    /// An unlocked mutex holding `value`, as [`GcMutex::new`].
    ///
    /// ```
    /// let mutex: janitor::gc::GcMutex<&str> = "a".into();
    /// assert_eq!(*mutex.lock(), "a");
    /// ```
    fn from(value: T) -> Self {
        Self::new(value)
    }
}

// SAFETY: the mutex owns its value. The collector traces it only under a lock taken by
// `try_hold` and held until its decision, so the reported edges stay put; at construction the
// value is not shared yet.
unsafe impl<T: ?Sized + TraceMeta> Trace for GcMutex<T> {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        trace_mutex(&self.inner, tracer)
    }
}
// SAFETY: edges change under the writer's lock: mutable whenever the value can hold a `Gc`.
unsafe impl<T: ?Sized + TraceMeta> TraceMeta for GcMutex<T> {
    const HOLDS_GC: bool = T::HOLDS_GC;
    const MUTABLE_EDGES: bool = T::HOLDS_GC;
    const FINALIZER: Option<Finalizer<Self>> = refuse_finalizable_inside(T::FINALIZER.is_some());
    const UNSYNC_FINALIZER: Option<UnsyncFinalizer<Self>> =
        refuse_unsync_finalizable_inside(T::UNSYNC_FINALIZER.is_some());
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
    inner: parking_lot::RwLock<T>,
}

impl<T> GcRwLock<T> {
    /// An unlocked lock holding `value`; a `const fn`, so a lock can be a `static`'s.
    ///
    /// ```
    /// use janitor::gc::GcRwLock;
    ///
    /// let lock = GcRwLock::new(1);
    /// assert_eq!(*lock.read(), 1);
    /// static NAME: GcRwLock<&str> = GcRwLock::new("janitor");
    /// assert_eq!(*NAME.read(), "janitor");
    /// ```
    #[must_use]
    pub const fn new(value: T) -> Self {
        Self {
            inner: parking_lot::RwLock::new(value),
        }
    }

    /// The value, consuming the lock.
    ///
    /// ```
    /// assert_eq!(janitor::gc::GcRwLock::new(2).into_inner(), 2);
    /// ```
    pub fn into_inner(self) -> T {
        self.inner.into_inner()
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
        GcReadGuard::whole(self.inner.read())
    }

    /// Locks for writing, blocking while anyone holds the lock.
    ///
    /// ```
    /// let lock = janitor::gc::GcRwLock::new(1);
    /// *lock.write() += 1;
    /// assert_eq!(*lock.read(), 2);
    /// ```
    pub fn write(&self) -> GcWriteGuard<'_, T> {
        GcWriteGuard::whole(self.inner.write())
    }

    /// Locks for reading if no writer holds the lock, without blocking.
    ///
    /// ```
    /// let lock = janitor::gc::GcRwLock::new(1);
    /// let writer = lock.write();
    /// assert!(lock.try_read().is_none());
    /// ```
    #[must_use = "if unused the lock is released at once"]
    pub fn try_read(&self) -> Option<GcReadGuard<'_, T>> {
        self.inner.try_read().map(GcReadGuard::whole)
    }

    /// Locks for writing if nobody holds the lock, without blocking.
    ///
    /// ```
    /// let lock = janitor::gc::GcRwLock::new(1);
    /// let reader = lock.read();
    /// assert!(lock.try_write().is_none());
    /// ```
    #[must_use = "if unused the lock is released at once"]
    pub fn try_write(&self) -> Option<GcWriteGuard<'_, T>> {
        self.inner.try_write().map(GcWriteGuard::whole)
    }

    /// Locks for reading, blocking at most `timeout`; `None` if a writer held the lock that long.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let lock = janitor::gc::GcRwLock::new(1);
    /// let writer = lock.write();
    /// assert!(lock.try_read_for(Duration::from_millis(1)).is_none());
    /// drop(writer);
    /// assert_eq!(*lock.try_read_for(Duration::from_secs(1)).unwrap(), 1);
    /// ```
    #[must_use = "if unused the lock is released at once"]
    pub fn try_read_for(&self, timeout: Duration) -> Option<GcReadGuard<'_, T>> {
        self.inner.try_read_for(timeout).map(GcReadGuard::whole)
    }

    /// Locks for reading, blocking until `deadline` at the latest.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let lock = janitor::gc::GcRwLock::new(1);
    /// let deadline = Instant::now() + Duration::from_secs(1);
    /// assert_eq!(*lock.try_read_until(deadline).unwrap(), 1);
    /// ```
    #[must_use = "if unused the lock is released at once"]
    pub fn try_read_until(&self, deadline: Instant) -> Option<GcReadGuard<'_, T>> {
        self.inner.try_read_until(deadline).map(GcReadGuard::whole)
    }

    /// Locks for writing, blocking at most `timeout`; `None` if anyone held the lock that long.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let lock = janitor::gc::GcRwLock::new(1);
    /// let reader = lock.read();
    /// assert!(lock.try_write_for(Duration::from_millis(1)).is_none());
    /// drop(reader);
    /// *lock.try_write_for(Duration::from_secs(1)).unwrap() = 2;
    /// assert_eq!(*lock.read(), 2);
    /// ```
    #[must_use = "if unused the lock is released at once"]
    pub fn try_write_for(&self, timeout: Duration) -> Option<GcWriteGuard<'_, T>> {
        self.inner.try_write_for(timeout).map(GcWriteGuard::whole)
    }

    /// Locks for writing, blocking until `deadline` at the latest.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let lock = janitor::gc::GcRwLock::new(1);
    /// let deadline = Instant::now() + Duration::from_secs(1);
    /// *lock.try_write_until(deadline).unwrap() = 3;
    /// assert_eq!(*lock.read(), 3);
    /// ```
    #[must_use = "if unused the lock is released at once"]
    pub fn try_write_until(&self, deadline: Instant) -> Option<GcWriteGuard<'_, T>> {
        self.inner
            .try_write_until(deadline)
            .map(GcWriteGuard::whole)
    }

    /// Whether the lock is taken now, for reading or writing: by a guard, or by a collection
    /// examining the object (which reads). The answer may be stale as soon as it is returned; it
    /// is for diagnostics and assertions, not for deciding whether to lock.
    ///
    /// ```
    /// let lock = janitor::gc::GcRwLock::new(1);
    /// assert!(!lock.is_locked());
    /// let reader = lock.read();
    /// assert!(lock.is_locked());
    /// drop(reader);
    /// assert!(!lock.is_locked());
    /// ```
    #[must_use]
    pub fn is_locked(&self) -> bool {
        self.inner.is_locked()
    }

    /// Whether a writer holds the lock now (a collection never does). Stale as soon as returned,
    /// as [`is_locked`](Self::is_locked).
    ///
    /// ```
    /// let lock = janitor::gc::GcRwLock::new(1);
    /// let reader = lock.read();
    /// assert!(!lock.is_locked_exclusive());
    /// drop(reader);
    /// let writer = lock.write();
    /// assert!(lock.is_locked_exclusive());
    /// ```
    #[must_use]
    pub fn is_locked_exclusive(&self) -> bool {
        self.inner.is_locked_exclusive()
    }

    /// The value, through exclusive access to the lock: no locking needed.
    ///
    /// ```
    /// let mut lock = janitor::gc::GcRwLock::new(1);
    /// *lock.get_mut() = 4;
    /// assert_eq!(*lock.read(), 4);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
    }
}

/// A read lock of a [`GcRwLock`], held until dropped; it may give access to a part of the value
/// ([`GcReadGuard::map`]).
///
/// ```
/// let lock = janitor::gc::GcRwLock::new(1);
/// let guard: janitor::gc::GcReadGuard<'_, i32> = lock.read();
/// assert_eq!(*guard, 1);
/// ```
#[must_use = "if unused the lock is released at once"]
pub struct GcReadGuard<'a, T: ?Sized> {
    /// A read lock, held until dropped, and the value or the part of it the guard gives.
    inner: MappedRwLockReadGuard<'a, T>,
    not_send: NotSend,
}

impl<'a, T: ?Sized> GcReadGuard<'a, T> {
    /// The guard of a read lock just taken, for the whole value.
    fn whole(guard: RwLockReadGuard<'a, T>) -> Self {
        Self {
            inner: RwLockReadGuard::map(guard, |value| value),
            not_send: PhantomData,
        }
    }

    /// A guard for a part of the value, made by `f`; the read lock is held until the new guard
    /// drops.
    ///
    /// ```
    /// use janitor::gc::{GcReadGuard, GcRwLock};
    ///
    /// let lock = GcRwLock::new((1, String::from("one")));
    /// let name = GcReadGuard::map(lock.read(), |pair| pair.1.as_str());
    /// assert_eq!(&*name, "one");
    /// assert!(lock.try_write().is_none());
    /// ```
    pub fn map<U: ?Sized, F: FnOnce(&T) -> &U>(orig: Self, f: F) -> GcReadGuard<'a, U> {
        GcReadGuard {
            inner: MappedRwLockReadGuard::map(orig.inner, f),
            not_send: PhantomData,
        }
    }

    /// A guard for a part of the value if `f` finds one, or the original guard back.
    ///
    /// ```
    /// use janitor::gc::{GcReadGuard, GcRwLock};
    ///
    /// let lock = GcRwLock::new(vec![1, 2]);
    /// assert_eq!(*GcReadGuard::filter_map(lock.read(), |items| items.last()).unwrap(), 2);
    /// assert!(GcReadGuard::filter_map(lock.read(), |items| items.get(5)).is_err());
    /// ```
    pub fn filter_map<U: ?Sized, F: FnOnce(&T) -> Option<&U>>(
        orig: Self,
        f: F,
    ) -> Result<GcReadGuard<'a, U>, Self> {
        match MappedRwLockReadGuard::try_map(orig.inner, f) {
            Ok(inner) => Ok(GcReadGuard {
                inner,
                not_send: PhantomData,
            }),
            Err(inner) => Err(Self {
                inner,
                not_send: PhantomData,
            }),
        }
    }
}

impl<T: ?Sized> Deref for GcReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.inner
    }
}

/// A write lock of a [`GcRwLock`], held until dropped; it may give access to a part of the value
/// ([`GcWriteGuard::map`]).
///
/// ```
/// let lock = janitor::gc::GcRwLock::new(1);
/// let mut guard: janitor::gc::GcWriteGuard<'_, i32> = lock.write();
/// *guard = 2;
/// ```
#[must_use = "if unused the lock is released at once"]
pub struct GcWriteGuard<'a, T: ?Sized> {
    /// The write lock, held until dropped (the collector cannot take the lock, nor trace the
    /// value, until then, whatever part the guard maps), and the value or that part.
    inner: MappedRwLockWriteGuard<'a, T>,
    not_send: NotSend,
}

impl<'a, T: ?Sized> GcWriteGuard<'a, T> {
    /// The guard of the write lock just taken, for the whole value.
    fn whole(guard: RwLockWriteGuard<'a, T>) -> Self {
        Self {
            inner: RwLockWriteGuard::map(guard, |value| value),
            not_send: PhantomData,
        }
    }

    /// A guard for a part of the value, made by `f`; the write lock is held until the new guard
    /// drops.
    ///
    /// ```
    /// use janitor::gc::{GcRwLock, GcWriteGuard};
    ///
    /// let lock = GcRwLock::new((1, vec![2]));
    /// GcWriteGuard::map(lock.write(), |pair| &mut pair.1).push(3);
    /// assert_eq!(lock.read().1, [2, 3]);
    /// ```
    pub fn map<U: ?Sized, F: FnOnce(&mut T) -> &mut U>(orig: Self, f: F) -> GcWriteGuard<'a, U> {
        GcWriteGuard {
            inner: MappedRwLockWriteGuard::map(orig.inner, f),
            not_send: PhantomData,
        }
    }

    /// A guard for a part of the value if `f` finds one, or the original guard back.
    ///
    /// ```
    /// use janitor::gc::{GcRwLock, GcWriteGuard};
    ///
    /// let lock = GcRwLock::new(vec![1]);
    /// *GcWriteGuard::filter_map(lock.write(), |items| items.first_mut()).unwrap() = 9;
    /// assert!(GcWriteGuard::filter_map(lock.write(), |items| items.get_mut(4)).is_err());
    /// assert_eq!(*lock.read(), [9]);
    /// ```
    pub fn filter_map<U: ?Sized, F: FnOnce(&mut T) -> Option<&mut U>>(
        orig: Self,
        f: F,
    ) -> Result<GcWriteGuard<'a, U>, Self> {
        match MappedRwLockWriteGuard::try_map(orig.inner, f) {
            Ok(inner) => Ok(GcWriteGuard {
                inner,
                not_send: PhantomData,
            }),
            Err(inner) => Err(Self {
                inner,
                not_send: PhantomData,
            }),
        }
    }
}

impl<T: ?Sized> Deref for GcWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: ?Sized> DerefMut for GcWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.inner
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
    /// An unlocked lock holding `T::default()`.
    ///
    /// ```
    /// let lock: janitor::gc::GcRwLock<String> = Default::default();
    /// assert!(lock.read().is_empty());
    /// ```
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T> From<T> for GcRwLock<T> {
    /// An unlocked lock holding `value`, as [`GcRwLock::new`].
    ///
    /// ```
    /// let lock: janitor::gc::GcRwLock<u8> = 7.into();
    /// assert_eq!(*lock.read(), 7);
    /// ```
    fn from(value: T) -> Self {
        Self::new(value)
    }
}

// SAFETY: the lock owns its value. The collector traces it only under a shared lock taken by
// `try_hold` and held until its decision, which excludes writers, so the reported edges stay
// put; at construction the value is not shared yet.
unsafe impl<T: ?Sized + TraceMeta> Trace for GcRwLock<T> {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        trace_rw_lock(&self.inner, tracer)
    }
}
// SAFETY: edges change under the writer's lock: mutable whenever the value can hold a `Gc`.
unsafe impl<T: ?Sized + TraceMeta> TraceMeta for GcRwLock<T> {
    const HOLDS_GC: bool = T::HOLDS_GC;
    const MUTABLE_EDGES: bool = T::HOLDS_GC;
    const FINALIZER: Option<Finalizer<Self>> = refuse_finalizable_inside(T::FINALIZER.is_some());
    const UNSYNC_FINALIZER: Option<UnsyncFinalizer<Self>> =
        refuse_unsync_finalizable_inside(T::UNSYNC_FINALIZER.is_some());
}

/// Traces a mutex's value (a `GcMutex`'s, or with the feature a `parking_lot::Mutex`'s) under the
/// collector's hold of its raw lock, taken by `try_hold` and kept until the decision.
fn trace_mutex<T: ?Sized + TraceMeta>(mutex: &parking_lot::Mutex<T>, tracer: &mut Tracer<'_>) {
    // SAFETY: the raw lock is only try-locked here and unlocked by the collector's release, once
    // per successful try: balanced, as `raw` asks.
    if T::HOLDS_GC && tracer.hold(unsafe { mutex.raw() }) {
        // SAFETY: the lock is held (or the value is not shared yet).
        unsafe { &*mutex.data_ptr() }.trace(tracer)
    }
}

/// Traces a read-write lock's value under the collector's shared hold of its raw lock, which
/// excludes writers until the decision.
fn trace_rw_lock<T: ?Sized + TraceMeta>(lock: &parking_lot::RwLock<T>, tracer: &mut Tracer<'_>) {
    // SAFETY: the raw lock is only try-locked (shared) here and unlocked by the collector's
    // release, once per successful try: balanced, as `raw` asks.
    if T::HOLDS_GC && tracer.hold(unsafe { lock.raw() }) {
        // SAFETY: a read lock is held (or the value is not shared yet).
        unsafe { &*lock.data_ptr() }.trace(tracer)
    }
}

#[cfg(feature = "parking_lot")]
// SAFETY: as `GcMutex`, which is one: the collector traces the value only under the raw lock,
// taken by `try_hold` and held until its decision, so the reported edges stay put.
unsafe impl<T: ?Sized + TraceMeta> Trace for parking_lot::Mutex<T> {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        trace_mutex(self, tracer)
    }
}
#[cfg(feature = "parking_lot")]
// SAFETY: edges change under the lock: mutable whenever the value can hold a `Gc`.
unsafe impl<T: ?Sized + TraceMeta> TraceMeta for parking_lot::Mutex<T> {
    const HOLDS_GC: bool = T::HOLDS_GC;
    const MUTABLE_EDGES: bool = T::HOLDS_GC;
    const FINALIZER: Option<Finalizer<Self>> = refuse_finalizable_inside(T::FINALIZER.is_some());
    const UNSYNC_FINALIZER: Option<UnsyncFinalizer<Self>> =
        refuse_unsync_finalizable_inside(T::UNSYNC_FINALIZER.is_some());
}

#[cfg(feature = "parking_lot")]
// SAFETY: as `GcRwLock`, which is one: the collector traces the value only under a shared raw
// lock, taken by `try_hold` and held until its decision, which excludes writers.
unsafe impl<T: ?Sized + TraceMeta> Trace for parking_lot::RwLock<T> {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        trace_rw_lock(self, tracer)
    }
}
#[cfg(feature = "parking_lot")]
// SAFETY: edges change under the write lock: mutable whenever the value can hold a `Gc`.
unsafe impl<T: ?Sized + TraceMeta> TraceMeta for parking_lot::RwLock<T> {
    const HOLDS_GC: bool = T::HOLDS_GC;
    const MUTABLE_EDGES: bool = T::HOLDS_GC;
    const FINALIZER: Option<Finalizer<Self>> = refuse_finalizable_inside(T::FINALIZER.is_some());
    const UNSYNC_FINALIZER: Option<UnsyncFinalizer<Self>> =
        refuse_unsync_finalizable_inside(T::UNSYNC_FINALIZER.is_some());
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// The raw lock, to take and give back as the collector does.
    fn raw_mutex<T: ?Sized>(mutex: &GcMutex<T>) -> &parking_lot::RawMutex {
        // SAFETY: the tests take and give back the lock through it in balanced pairs.
        unsafe { mutex.inner.raw() }
    }

    /// The raw lock, to take and give back as the collector does.
    fn raw_rw_lock<T: ?Sized>(lock: &GcRwLock<T>) -> &parking_lot::RawRwLock {
        // SAFETY: the tests take and give back the lock through it in balanced pairs.
        unsafe { lock.inner.raw() }
    }

    #[test]
    fn a_mapped_mutex_guard_keeps_the_lock_until_it_drops() {
        let mutex = GcMutex::new((1, vec![2]));
        let part = GcMutexGuard::map(mutex.lock(), |pair| &mut pair.1);
        assert!(
            !raw_mutex(&mutex).try_hold(),
            "the collector got in under a mapped guard"
        );
        drop(part);
        assert!(raw_mutex(&mutex).try_hold());
        // SAFETY: this thread took the hold above.
        unsafe { raw_mutex(&mutex).release() };
        let refused = GcMutexGuard::filter_map(mutex.lock(), |_| None::<&mut u8>).unwrap_err();
        assert!(mutex.is_locked(), "the refused map unlocked the mutex");
        drop(refused);
        assert!(!mutex.is_locked());
    }

    #[test]
    fn a_mapped_write_guard_keeps_the_collector_out_and_a_mapped_read_guard_lets_it_in() {
        let lock = GcRwLock::new((1, vec![2]));
        let written = GcWriteGuard::map(lock.write(), |pair| &mut pair.1);
        assert!(
            !raw_rw_lock(&lock).try_hold(),
            "the collector got in under a mapped writer"
        );
        drop(written);
        let read = GcReadGuard::map(lock.read(), |pair| &pair.0);
        assert!(raw_rw_lock(&lock).try_hold());
        // SAFETY: this thread took the hold above.
        unsafe { raw_rw_lock(&lock).release() };
        assert!(lock.try_write().is_none());
        let refused = GcReadGuard::filter_map(read, |_| None::<&u8>).unwrap_err();
        assert!(
            lock.try_write().is_none(),
            "the refused map gave back the read lock"
        );
        drop(refused);
        let refused = GcWriteGuard::filter_map(lock.write(), |_| None::<&mut u8>).unwrap_err();
        assert!(lock.is_locked_exclusive());
        drop(refused);
        assert!(!lock.is_locked());
    }

    #[cfg(feature = "parking_lot")]
    #[test]
    fn the_collector_holds_a_parking_lot_mutex_as_its_own_and_a_locked_one_is_opaque() {
        use crate::gc::core::trace::{EdgeSink, Holds};
        let sink = || EdgeSink {
            max_generation: 0,
            edges: Vec::new(),
            holds: Holds::default(),
            untracked: None,
        };
        let mutex = parking_lot::Mutex::new(None::<crate::gc::Gc<u8>>);
        let mut held = sink();
        mutex.trace(&mut Tracer::collection(&mut held));
        assert!(!held.holds.opaque && mutex.try_lock().is_none());
        // SAFETY: the mutex outlives the holds.
        unsafe { held.holds.release_all() };
        let guard = mutex.lock();
        let mut refused = sink();
        mutex.trace(&mut Tracer::collection(&mut refused));
        assert!(refused.holds.opaque);
        drop(guard);
        let lock = parking_lot::RwLock::new(None::<crate::gc::Gc<u8>>);
        let mut shared = sink();
        lock.trace(&mut Tracer::collection(&mut shared));
        assert!(lock.try_read().is_some() && lock.try_write().is_none());
        // SAFETY: the lock outlives the holds.
        unsafe { shared.holds.release_all() };
        assert!(lock.try_write().is_some());
    }

    #[test]
    fn is_locked_is_true_while_the_collector_holds_the_lock() {
        let mutex = GcMutex::new(1);
        assert!(raw_mutex(&mutex).try_hold());
        assert!(mutex.is_locked());
        assert!(
            mutex
                .try_lock_for(std::time::Duration::from_millis(1))
                .is_none()
        );
        // SAFETY: this thread took the hold above.
        unsafe { raw_mutex(&mutex).release() };
        assert!(!mutex.is_locked());
    }
}
