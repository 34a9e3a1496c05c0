//! Waiting for finalizers, from the edges a review found: a collection's `Drop` that waits for
//! pending finalizers, a wait that must cover a critical finalizer queued before it while normal
//! ones keep arriving, a wait that must cover an entry queued behind a batch that objects only the
//! batch reaches joined, and a death that must reach a sleeping finalizer thread on its own.
//!
//! No test sleeps to wait for a finalizer. Where a test needs another thread parked (the waiter,
//! or the finalizer thread asleep), it reads the thread's state in `/proc` until the scheduler
//! reports it sleeping; if it looks too early the test can only pass where it should have caught
//! a bug, never fail where the code is right. Deadlocks fail after a generous timeout instead of
//! hanging the run.

mod support;

use janitor::gc::{Finalize, Gc, GcCell, Trace, WeakGc, collect, wait_for_pending_finalizers};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};
// The tests of this file run one at a time (`serial`): each needs the finalizer thread to itself.
use support::{Gate, current_tid, is_asleep, serial, until_asleep};

/// Long enough that only a deadlock or a lost finalization reaches it.
const DEADLINE: Duration = Duration::from_secs(60);

/// The thread id of the finalizer thread.
fn finalizer_tid() -> i32 {
    let tasks = std::fs::read_dir("/proc/self/task").expect("/proc is mounted");
    tasks
        .filter_map(Result::ok)
        .find(|task| {
            std::fs::read_to_string(task.path().join("comm"))
                // The kernel keeps 15 bytes of a thread's name.
                .is_ok_and(|name| name.trim() == &"janitor-finalizer"[..15])
        })
        .and_then(|task| task.file_name().to_str()?.parse().ok())
        .expect("the finalizer thread runs")
}

#[derive(Trace)]
#[trace(finalize)]
struct Owner {
    child: Gc<u8>,
}

impl Finalize for Owner {
    fn finalize(_: &Gc<Self>) {}
}

/// A garbage-cycle member whose `Drop` joins a thread that waits for pending finalizers.
#[derive(Trace)]
struct JoinsAWaiter {
    next: GcCell<Option<Gc<JoinsAWaiter>>>,
    #[trace(skip)]
    joins: bool,
}

impl Drop for JoinsAWaiter {
    fn drop(&mut self) {
        if self.joins {
            std::thread::spawn(wait_for_pending_finalizers)
                .join()
                .unwrap();
        }
    }
}

#[test]
fn a_collections_drop_that_waits_for_finalizers_through_another_thread_finishes() {
    let _serial = serial();
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        // A weak reference anywhere turns on the pass that clears short references under queued
        // objects; it must never wait for the collection this `Drop` runs in.
        let anything = Gc::new(7_u8);
        let _weak: WeakGc<u8> = Gc::downgrade(&anything);
        drop(Gc::new(Owner {
            child: Gc::new(1_u8),
        }));
        let a = Gc::new(JoinsAWaiter {
            next: GcCell::new(None),
            joins: true,
        });
        let b = Gc::new(JoinsAWaiter {
            next: GcCell::new(Some(a.clone())),
            joins: false,
        });
        *a.next.borrow_mut() = Some(b);
        drop(a);
        collect();
        done.send(()).unwrap();
    });
    finished.recv_timeout(DEADLINE).expect(
        "deadlock: the finalizer thread waited for the collection whose Drop waited for it",
    );
}

static BLOCKER_RUNS: Gate = Gate::new();
static RELEASE_BLOCKER: Gate = Gate::new();
/// The waiting thread's id, and whether its wait has returned.
static WAITER: AtomicI32 = AtomicI32::new(0);
static WAIT_RETURNED: AtomicBool = AtomicBool::new(false);
/// Set by the critical finalizer if it saw the wait return before it ran.
static OVERTAKEN: AtomicBool = AtomicBool::new(false);
static CRITICAL_RAN: Gate = Gate::new();

/// A normal finalizer that holds the finalizer thread until told, then queues a normal entry.
#[derive(Trace)]
#[trace(finalize)]
struct Blocker;

impl Finalize for Blocker {
    fn finalize(_: &Gc<Self>) {
        BLOCKER_RUNS.open();
        RELEASE_BLOCKER.wait();
        drop(Gc::new(Plain));
        collect();
    }
}

#[derive(Trace)]
#[trace(finalize)]
struct Plain;

impl Finalize for Plain {
    fn finalize(_: &Gc<Self>) {}
}

#[derive(Trace)]
#[trace(finalize)]
struct Critical;

impl Finalize for Critical {
    const CRITICAL: bool = true;
    /// Runs until the waiter is seen parked (still waiting, as it must be) or seen returned (the
    /// bug): a wait that returned early has usually not even been scheduled yet when a critical
    /// finalizer that does nothing has already run.
    fn finalize(_: &Gc<Self>) {
        let waiter = WAITER.load(Ordering::SeqCst);
        let mut asleep = 0;
        while asleep < 1000 {
            if WAIT_RETURNED.load(Ordering::SeqCst) {
                OVERTAKEN.store(true, Ordering::SeqCst);
                break;
            }
            asleep = if is_asleep(waiter) { asleep + 1 } else { 0 };
            std::thread::yield_now();
        }
        CRITICAL_RAN.open();
    }
}

#[test]
fn a_wait_covers_a_critical_finalizer_queued_before_it_while_normal_ones_keep_coming() {
    let _serial = serial();
    drop(Gc::new(Blocker));
    collect();
    BLOCKER_RUNS.wait();
    // The thread is inside the blocker's batch; the critical entry is queued behind it.
    drop(Gc::new(Critical));
    collect();
    let (tid_sender, tid) = mpsc::channel();
    let waiter = std::thread::spawn(move || {
        WAITER.store(current_tid(), Ordering::SeqCst);
        tid_sender.send(()).unwrap();
        wait_for_pending_finalizers();
        WAIT_RETURNED.store(true, Ordering::SeqCst);
    });
    // Once the waiter sleeps it has read what it waits for; then the blocker queues a normal
    // entry, which the thread runs before the critical list.
    tid.recv().unwrap();
    until_asleep(WAITER.load(Ordering::SeqCst), 1000);
    RELEASE_BLOCKER.open();
    waiter.join().unwrap();
    CRITICAL_RAN.wait();
    assert!(
        !OVERTAKEN.load(Ordering::SeqCst),
        "wait_for_pending_finalizers returned before a critical finalizer queued before it ran"
    );
}

static FINALIZED: AtomicUsize = AtomicUsize::new(0);

#[derive(Trace)]
#[trace(finalize)]
struct Counted;

impl Finalize for Counted {
    fn finalize(_: &Gc<Self>) {
        FINALIZED.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_death_reaches_a_sleeping_finalizer_thread_without_any_wait_or_collect() {
    let _serial = serial();
    drop(Gc::new(Counted));
    wait_for_pending_finalizers();
    // Asleep for a thousand looks in a row: past its short waits between looks, it sleeps until
    // woken.
    until_asleep(finalizer_tid(), 1000);
    let before = FINALIZED.load(Ordering::SeqCst);
    drop(Gc::new(Counted));
    let started = Instant::now();
    while FINALIZED.load(Ordering::SeqCst) == before {
        assert!(
            started.elapsed() < DEADLINE,
            "an object dropped while the finalizer thread slept was never finalized"
        );
        std::thread::yield_now();
    }
}

static HOLDER_RUNS: Gate = Gate::new();
static RELEASE_HOLDER: Gate = Gate::new();
static GATEKEEPER_RUNS: Gate = Gate::new();
static RELEASE_GATEKEEPER: Gate = Gate::new();
static FLAGGER_QUEUED: Gate = Gate::new();
static FLAGGED: AtomicBool = AtomicBool::new(false);
/// The thread waiting behind the batch, and whether its wait has returned.
static BEHIND_WAITER: AtomicI32 = AtomicI32::new(0);
static BEHIND_WAIT_RETURNED: AtomicBool = AtomicBool::new(false);

/// A normal finalizer that holds the finalizer thread until told, then drops a [`Flagger`] into
/// the finalizer thread's own buffer, where only a taker of every buffer finds it.
#[derive(Trace)]
#[trace(finalize)]
struct Gatekeeper;

impl Finalize for Gatekeeper {
    fn finalize(_: &Gc<Self>) {
        GATEKEEPER_RUNS.open();
        RELEASE_GATEKEEPER.wait();
        drop(Gc::new(Flagger));
        FLAGGER_QUEUED.open();
    }
}

#[derive(Trace)]
#[trace(finalize)]
struct Flagger;

impl Finalize for Flagger {
    /// Runs until the waiter is seen parked (still waiting, as it must be) or seen returned (the
    /// bug), as `Critical` does: the finalizer thread goes on from the batch to this entry faster
    /// than a waiter woken too early is scheduled.
    fn finalize(_: &Gc<Self>) {
        let waiter = BEHIND_WAITER.load(Ordering::SeqCst);
        let mut asleep = 0;
        while asleep < 1000 && !BEHIND_WAIT_RETURNED.load(Ordering::SeqCst) {
            asleep = if is_asleep(waiter) { asleep + 1 } else { 0 };
            std::thread::yield_now();
        }
        FLAGGED.store(true, Ordering::SeqCst);
    }
}

/// A finalizable object whose finalizable child only it holds: when it is queued, the finalizer
/// thread's pass over its batch joins the child to the batch.
#[derive(Trace)]
#[trace(finalize)]
struct Parent {
    child: Gc<Child>,
}

impl Finalize for Parent {
    fn finalize(_: &Gc<Self>) {}
}

#[derive(Trace)]
#[trace(finalize)]
struct Child;

impl Finalize for Child {
    fn finalize(_: &Gc<Self>) {}
}

/// A garbage-cycle member whose `Drop` holds the collection turn (its collection's) until told.
#[derive(Trace)]
struct HoldsTheTurn {
    next: GcCell<Option<Gc<HoldsTheTurn>>>,
    #[trace(skip)]
    holds: bool,
}

impl Drop for HoldsTheTurn {
    fn drop(&mut self) {
        if self.holds {
            HOLDER_RUNS.open();
            RELEASE_HOLDER.wait();
        }
    }
}

/// The finalizer thread takes a batch holding only the parent; its pass over the batch waits for
/// the collection turn, which a collection's `Drop` holds. Meanwhile a `Flagger` is queued behind
/// the batch, and a waiter reads the queue's counts; then the turn is let go and the pass joins
/// the child. The wait must last until the `Flagger` is finalized: the joined child, finishing
/// with the batch, once counted in its place, and the wait returned with the `Flagger` pending.
/// If the pass gives up on the turn before the waiter parks (a slow machine), nothing joins and
/// the test passes without having tried the race: it can pass where it should have caught a bug,
/// never fail where the code is right.
#[test]
fn a_wait_covers_an_entry_queued_behind_a_batch_that_an_object_joined() {
    let _serial = serial();
    // A weak reference anywhere turns on the pass over each batch.
    let anything = Gc::new(7_u8);
    let _weak: WeakGc<u8> = Gc::downgrade(&anything);
    drop(Gc::new(Gatekeeper));
    GATEKEEPER_RUNS.wait();
    drop(Gc::new(Parent {
        child: Gc::new(Child),
    }));
    // Hands the parent over to the queue: the next batch the finalizer thread takes.
    collect();
    let holder = std::thread::spawn(|| {
        let a = Gc::new(HoldsTheTurn {
            next: GcCell::new(None),
            holds: true,
        });
        let b = Gc::new(HoldsTheTurn {
            next: GcCell::new(Some(a.clone())),
            holds: false,
        });
        *a.next.borrow_mut() = Some(b);
        drop(a);
        collect();
    });
    HOLDER_RUNS.wait();
    RELEASE_GATEKEEPER.open();
    FLAGGER_QUEUED.wait();
    // Parked: in the pass's pauses between tries for the turn, with the parent's batch taken.
    until_asleep(finalizer_tid(), 3);
    let (tid_sender, tid) = mpsc::channel();
    let waiter = std::thread::spawn(move || {
        tid_sender.send(current_tid()).unwrap();
        wait_for_pending_finalizers();
        let flagged = FLAGGED.load(Ordering::SeqCst);
        BEHIND_WAIT_RETURNED.store(true, Ordering::SeqCst);
        flagged
    });
    let tid = tid.recv().unwrap();
    BEHIND_WAITER.store(tid, Ordering::SeqCst);
    until_asleep(tid, 3);
    RELEASE_HOLDER.open();
    assert!(
        waiter.join().unwrap(),
        "the wait returned before the Flagger queued before it was finalized"
    );
    holder.join().unwrap();
}
