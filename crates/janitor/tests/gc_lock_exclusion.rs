//! `GcMutex` and `GcRwLock` keep their exclusion when a `try_` lock fails: a failed try hands out
//! no guard, so nothing unlocks a lock that another guard holds (and `Debug`, which tries the lock,
//! leaves it as it found it).

use janitor::gc::{Gc, GcMutex, GcRwLock};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

#[test]
fn a_failed_try_lock_leaves_the_holders_lock_held() {
    let mutex = GcMutex::new(1);
    let guard = mutex.lock();
    assert!(mutex.try_lock().is_none());
    assert!(
        mutex.try_lock().is_none(),
        "a second try_lock got in while the first guard lives"
    );
    drop(guard);
    assert!(mutex.try_lock().is_some());
}

#[test]
fn a_failed_try_write_leaves_the_readers_lock_held() {
    let lock = GcRwLock::new(1);
    let reader = lock.read();
    assert!(lock.try_write().is_none());
    assert!(
        lock.try_write().is_none(),
        "a second try_write got in beside a reader"
    );
    drop(reader);
    assert!(lock.try_write().is_some());
}

#[test]
fn a_failed_try_read_leaves_the_writers_lock_held() {
    let lock = GcRwLock::new(1);
    let writer = lock.write();
    assert!(lock.try_read().is_none());
    assert!(lock.try_read().is_none());
    assert!(lock.try_write().is_none());
    drop(writer);
    let reader = lock.read();
    assert!(lock.try_write().is_none());
    drop(reader);
    assert!(lock.try_write().is_some());
}

#[test]
fn debug_of_a_locked_mutex_says_locked_and_leaves_it_locked() {
    let mutex = GcMutex::new(7);
    let guard = mutex.lock();
    assert_eq!(format!("{mutex:?}"), "GcMutex { value: <locked> }");
    assert_eq!(format!("{mutex:?}"), "GcMutex { value: <locked> }");
    assert!(mutex.try_lock().is_none(), "Debug unlocked the mutex");
    drop(guard);
    assert_eq!(format!("{mutex:?}"), "GcMutex { value: 7 }");
}

#[test]
fn debug_of_a_write_locked_rwlock_says_locked_and_leaves_it_locked() {
    let lock = GcRwLock::new(7);
    let writer = lock.write();
    assert_eq!(format!("{lock:?}"), "GcRwLock { value: <locked> }");
    assert!(lock.try_read().is_none());
    assert!(lock.try_write().is_none());
    drop(writer);
    let reader = lock.read();
    assert_eq!(format!("{lock:?}"), "GcRwLock { value: 7 }");
    assert!(lock.try_write().is_none(), "Debug ended the reader's lock");
    drop(reader);
}

/// The critical section both threads run: it counts the threads inside (an overlap is a second
/// thread inside) and increments the protected value in two steps with a yield between, so that
/// two threads inside lose an increment.
fn exclusive_section(value: &mut u64, inside: &AtomicUsize, overlaps: &AtomicUsize) {
    if inside.fetch_add(1, Ordering::SeqCst) != 0 {
        overlaps.fetch_add(1, Ordering::SeqCst);
    }
    let read = *value;
    thread::yield_now();
    *value = read + 1;
    inside.fetch_sub(1, Ordering::SeqCst);
}

#[test]
fn two_threads_never_share_a_mutex_when_one_of_them_fails_try_lock() {
    const ROUNDS: u64 = 2_000;
    let mutex = Gc::new(GcMutex::new(0u64));
    let inside = Arc::new(AtomicUsize::new(0));
    let overlaps = Arc::new(AtomicUsize::new(0));
    let holder = {
        let (mutex, inside, overlaps) = (mutex.clone(), inside.clone(), overlaps.clone());
        thread::spawn(move || {
            for _ in 0..ROUNDS {
                exclusive_section(&mut mutex.lock(), &inside, &overlaps);
            }
        })
    };
    let mut entered = 0;
    for _ in 0..ROUNDS {
        if let Some(mut guard) = mutex.try_lock() {
            exclusive_section(&mut guard, &inside, &overlaps);
            entered += 1;
        }
        exclusive_section(&mut mutex.lock(), &inside, &overlaps);
        entered += 1;
    }
    holder.join().unwrap();
    assert_eq!(
        overlaps.load(Ordering::SeqCst),
        0,
        "two threads held the mutex at once"
    );
    assert_eq!(*mutex.lock(), ROUNDS + entered, "an increment was lost");
}

#[test]
fn readers_and_writers_never_overlap_when_tries_fail() {
    const ROUNDS: u64 = 2_000;
    let lock = Gc::new(GcRwLock::new(0u64));
    let readers = Arc::new(AtomicUsize::new(0));
    let writers = Arc::new(AtomicUsize::new(0));
    let overlaps = Arc::new(AtomicUsize::new(0));
    let reader = {
        let (lock, readers, writers, overlaps) = (
            lock.clone(),
            readers.clone(),
            writers.clone(),
            overlaps.clone(),
        );
        thread::spawn(move || {
            for _ in 0..ROUNDS {
                let guard = lock.try_read().unwrap_or_else(|| lock.read());
                readers.fetch_add(1, Ordering::SeqCst);
                if writers.load(Ordering::SeqCst) != 0 {
                    overlaps.fetch_add(1, Ordering::SeqCst);
                }
                thread::yield_now();
                if writers.load(Ordering::SeqCst) != 0 {
                    overlaps.fetch_add(1, Ordering::SeqCst);
                }
                readers.fetch_sub(1, Ordering::SeqCst);
                drop(guard);
            }
        })
    };
    for _ in 0..ROUNDS {
        let mut guard = lock.try_write().unwrap_or_else(|| lock.write());
        writers.fetch_add(1, Ordering::SeqCst);
        if readers.load(Ordering::SeqCst) != 0 {
            overlaps.fetch_add(1, Ordering::SeqCst);
        }
        let read = *guard;
        thread::yield_now();
        *guard = read + 1;
        if readers.load(Ordering::SeqCst) != 0 {
            overlaps.fetch_add(1, Ordering::SeqCst);
        }
        writers.fetch_sub(1, Ordering::SeqCst);
    }
    reader.join().unwrap();
    assert_eq!(
        overlaps.load(Ordering::SeqCst),
        0,
        "a writer shared the lock with a reader"
    );
    assert_eq!(*lock.read(), ROUNDS);
}
