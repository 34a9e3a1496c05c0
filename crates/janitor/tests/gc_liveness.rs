//! The heap keeps its promises under contention (issue 11): an allocation or an
//! `add_memory_pressure` never waits for a collection that is running user code, memory pressure
//! that passed its budget still gets its full collection, and no allocation waits through more
//! than the collection already running when it came.
//!
//! A scenario that could deadlock runs on threads of its own, and the test thread waits for it
//! with a generous bound: a liveness check (the bound stands for "never"), not a timing claim.
//! When it expires, the test opens the lock the scenario is stuck on, so that the threads finish
//! and the other tests of this binary can run and report.

use janitor::gc::{
    Gc, GcCell, Trace, add_memory_pressure, collect, collection_count, remove_memory_pressure,
    stats,
};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, mpsc};
use std::time::Duration;

/// Tests of this file run one at a time: they share the one global heap and its turn.
fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// How long a scenario may take before the test calls it a deadlock: far beyond what any of them
/// needs on a loaded machine, so expiry means "never finishes".
const NEVER: Duration = Duration::from_secs(180);

/// More tracked allocations than the largest gen-0 budget (160,000): with no collection to reset
/// it, an allocating thread spends the budget on the way.
const PAST_ANY_GEN0_BUDGET: usize = 200_000;

/// A lock that user code holds (thread A) and that a garbage `Drop` needs: a mutex held across
/// calls, built from a flag and a condition variable so that a test that found the deadlock can
/// break it.
#[derive(Default)]
struct UserLock {
    state: Mutex<LockState>,
    changed: Condvar,
}

#[derive(Default)]
struct LockState {
    held: bool,
    broken: bool,
}

impl UserLock {
    fn state(&self) -> MutexGuard<'_, LockState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn acquire(&self) {
        let mut state = self.state();
        while state.held && !state.broken {
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        state.held = true;
    }

    fn release(&self) {
        self.state().held = false;
        self.changed.notify_all();
    }

    /// Lets every waiter through: the scenario deadlocked and the test has failed.
    fn break_open(&self) {
        self.state().broken = true;
        self.changed.notify_all();
    }
}

/// A self-loop whose `Drop` announces itself, then takes the user lock.
#[derive(Trace)]
struct NeedsTheLock {
    itself: GcCell<Option<Gc<NeedsTheLock>>>,
    #[trace(skip)]
    lock: Arc<UserLock>,
    #[trace(skip)]
    dropping: mpsc::Sender<()>,
    #[trace(skip)]
    dropped: Arc<AtomicUsize>,
}

impl Drop for NeedsTheLock {
    fn drop(&mut self) {
        let _ = self.dropping.send(());
        self.lock.acquire();
        self.lock.release();
        self.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

/// Defect 4's scenario: thread A holds the user lock; thread B runs `collect()`, and the garbage
/// it found takes the user lock in its `Drop`, so B holds the collection turn until A lets go.
/// Once B is inside that `Drop`, A runs `while_holding`, then lets go. Returns the number of
/// garbage drops, once both threads are done; fails, naming the deadlock, if they never are.
fn while_a_collection_waits_in_a_drop_for_a_held_lock(
    while_holding: impl FnOnce() + Send + 'static,
) -> usize {
    let lock = Arc::new(UserLock::default());
    let dropped = Arc::new(AtomicUsize::new(0));
    let (holding, a_holds) = mpsc::channel();
    let (dropping, b_is_dropping) = mpsc::channel();
    let (finished, done) = mpsc::channel();
    let thread_a = {
        let (lock, finished) = (Arc::clone(&lock), finished.clone());
        std::thread::spawn(move || {
            lock.acquire();
            holding.send(()).unwrap();
            b_is_dropping
                .recv()
                .expect("B's collection drops the garbage");
            while_holding();
            lock.release();
            finished.send("thread A (holding the lock)").unwrap();
        })
    };
    let thread_b = {
        let (lock, dropped) = (Arc::clone(&lock), Arc::clone(&dropped));
        std::thread::spawn(move || {
            a_holds.recv().expect("A takes the lock");
            let garbage = Gc::new(NeedsTheLock {
                itself: GcCell::new(None),
                lock,
                dropping,
                dropped,
            });
            *garbage.itself.borrow_mut() = Some(garbage.clone());
            drop(garbage);
            collect();
            finished.send("thread B (in collect)").unwrap();
        })
    };
    let mut finished_threads = Vec::new();
    while finished_threads.len() < 2 {
        match done.recv_timeout(NEVER) {
            Ok(thread) => finished_threads.push(thread),
            Err(_) => {
                lock.break_open();
                panic!(
                    "deadlock: after {NEVER:?} only {finished_threads:?} finished; thread A holds \
                     a lock that a garbage Drop in B's collect() waits for, and A waits for B's \
                     collection turn"
                );
            }
        }
    }
    thread_a.join().unwrap();
    thread_b.join().unwrap();
    dropped.load(Ordering::SeqCst)
}

#[test]
fn an_allocation_that_spends_the_budget_never_waits_for_a_collection_running_user_code() {
    let _serial = serial();
    let dropped = while_a_collection_waits_in_a_drop_for_a_held_lock(|| {
        for _ in 0..PAST_ANY_GEN0_BUDGET {
            drop(Gc::new(GcCell::new(None::<Gc<u8>>)));
        }
    });
    assert_eq!(dropped, 1, "B's collect() freed its garbage");
}

#[test]
fn memory_pressure_never_waits_for_a_collection_running_user_code_and_still_gets_its_full_collection()
 {
    let _serial = serial();
    // Far past the budget (4 MiB, or a third of the heap).
    const DECLARED: usize = 1 << 30;
    let before = stats().pressure_collections;
    let dropped = while_a_collection_waits_in_a_drop_for_a_held_lock(|| {
        add_memory_pressure(DECLARED).unwrap();
    });
    assert_eq!(dropped, 1, "B's collect() freed its garbage");
    // B's turn was taken when the pressure passed its budget: the full collection it owed ran
    // once B gave the turn back, before B's collect() returned.
    assert!(
        stats().pressure_collections > before,
        "memory pressure passed its budget, yet no full collection ran for it"
    );
    remove_memory_pressure(DECLARED).unwrap();
}

/// Live tracked objects that every full collection pins and traces: enough that a collection
/// holds the heap lock far longer than a runnable thread waits to be scheduled.
const LIVE_OBJECTS: usize = 200_000;

/// Tracked allocations the measuring thread makes. Each is dropped at once, so the gen-0 budget
/// stays at its base (10,000) and is spent again and again while collections run.
const MEASURED_ALLOCATIONS: usize = 100_000;

/// Threads that call `collect()` back to back: with two, a turn given back always has another
/// taker already waiting, besides the thread that gave it back.
const COLLECTING_THREADS: usize = 2;

/// The most collections the collecting threads run: a bound on the test's length should
/// allocations be starved (they then finish once collections stop, having waited through many).
const MAX_COLLECTIONS: u64 = 400;

#[test]
fn no_allocation_waits_through_more_than_the_collection_running_when_it_came() {
    let _serial = serial();
    let live: Vec<Gc<GcCell<Option<Gc<u8>>>>> = (0..LIVE_OBJECTS)
        .map(|_| Gc::new(GcCell::new(None)))
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let first = collection_count(2);
    let collectors: Vec<_> = (0..COLLECTING_THREADS)
        .map(|_| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) && collection_count(2) - first < MAX_COLLECTIONS
                {
                    collect();
                }
            })
        })
        .collect();
    // The measured allocations start while collections run back to back.
    while collection_count(2) < first + 2 {
        std::thread::yield_now();
    }
    let (report, measured) = mpsc::channel();
    std::thread::spawn(move || {
        // waited[n]: allocations during which n full collections completed (the last bucket
        // counts every n from 3 on).
        let mut waited = [0_usize; 4];
        let mut worst = 0;
        for _ in 0..MEASURED_ALLOCATIONS {
            let before = collection_count(2);
            let object = Gc::new(GcCell::new(None::<Gc<u8>>));
            let completed = collection_count(2) - before;
            drop(object);
            worst = worst.max(completed);
            waited[(completed as usize).min(3)] += 1;
        }
        let _ = report.send((worst, waited));
    });
    let outcome = measured.recv_timeout(NEVER);
    stop.store(true, Ordering::Relaxed);
    for collector in collectors {
        collector.join().unwrap();
    }
    drop(live);
    let (worst, waited) = outcome.unwrap_or_else(|_| {
        panic!("{MEASURED_ALLOCATIONS} allocations did not finish within {NEVER:?}")
    });
    assert!(
        worst <= 2,
        "an allocation waited through {worst} full collections (at most 2 allowed: the one \
         running when it came, and one that started as it finished); allocations by completed \
         collections during each [0, 1, 2, 3+]: {waited:?}"
    );
}
