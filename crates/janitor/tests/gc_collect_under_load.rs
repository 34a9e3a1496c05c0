//! `collect()`'s contracts hold while other threads work: every cycle that was garbage when it was
//! called is freed when it returns, whatever other threads clone, move and drop meanwhile; and an
//! acyclic object is dropped by its last drop, or at the latest when the collection that examined
//! it at that moment has finished.

use janitor::gc::{Gc, GcCell, Trace, collect};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A node that counts its drops in a counter of its own test.
#[derive(Trace)]
struct Node {
    next: GcCell<Option<Gc<Node>>>,
    #[trace(skip)]
    drops: Arc<AtomicUsize>,
}

impl Drop for Node {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

fn node(drops: &Arc<AtomicUsize>) -> Gc<Node> {
    Gc::new(Node {
        next: GcCell::new(None),
        drops: drops.clone(),
    })
}

/// Runs `worker` on `threads` threads until `body` returns, then joins them. One body at a time:
/// each test's promise is about collections it starts, or that its own workers start.
fn while_others_work(threads: usize, worker: fn(&AtomicBool), body: impl FnOnce()) {
    let _turn = serial();
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || worker(&stop))
        })
        .collect();
    body();
    stop.store(true, Ordering::SeqCst);
    for worker in workers {
        worker.join().unwrap();
    }
}

/// Builds self-loops and two-node rings and lets them go: each new node is cloned and stored into
/// a cell while collections examine it, so it looks like garbage for a moment and then its word
/// moves.
fn build_cycles(stop: &AtomicBool) {
    let drops = Arc::new(AtomicUsize::new(0));
    while !stop.load(Ordering::Relaxed) {
        let a = node(&drops);
        *a.next.borrow_mut() = Some(a.clone());
        let b = node(&drops);
        *b.next.borrow_mut() = Some(a.clone());
        *a.next.borrow_mut() = Some(b.clone());
        let kept = b.next.borrow().clone();
        drop((a, b, kept));
    }
}

#[test]
fn collect_frees_every_cycle_that_was_garbage_at_the_call_while_threads_build_cycles() {
    // Live objects make each collection's scan long enough for the builders to act inside it.
    let live_drops = Arc::new(AtomicUsize::new(0));
    let live: Vec<Gc<Node>> = (0..20_000).map(|_| node(&live_drops)).collect();
    while_others_work(2, build_cycles, || {
        let mut survived = 0;
        let mut most_tracked = 0;
        for _ in 0..300 {
            let drops = Arc::new(AtomicUsize::new(0));
            let garbage = node(&drops);
            *garbage.next.borrow_mut() = Some(garbage.clone());
            drop(garbage);
            collect();
            if drops.load(Ordering::SeqCst) == 0 {
                survived += 1;
            }
            most_tracked = most_tracked.max(janitor::gc::stats().tracked_objects);
        }
        assert_eq!(
            survived, 0,
            "collect returned with a cycle that was garbage at the call still alive"
        );
        // The builders allocate without a lock; only the pacer keeps them at the collector's pace
        // (without it the heap reached tens of millions of objects here). Its bound is loose: a
        // few hundred thousand objects are normal between two collections of this loop.
        assert!(
            most_tracked < 4_000_000,
            "the builders outran the collector: {most_tracked} tracked objects"
        );
    });
    drop(live);
    assert_eq!(live_drops.load(Ordering::SeqCst), 20_000);
}

/// A singly linked list of tracked nodes, `length` long; returns its head.
fn list(length: usize, drops: &Arc<AtomicUsize>) -> Gc<Node> {
    let head = node(drops);
    let mut tail = head.clone();
    for _ in 1..length {
        let next = node(drops);
        *tail.next.borrow_mut() = Some(next.clone());
        tail = next;
    }
    head
}

/// Runs full collections back to back.
fn collect_in_a_loop(stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        collect();
    }
}

/// Makes garbage cycles of tracked nodes, so that automatic collections keep running.
fn spend_allocation_budgets(stop: &AtomicBool) {
    let drops = Arc::new(AtomicUsize::new(0));
    while !stop.load(Ordering::Relaxed) {
        let a = node(&drops);
        *a.next.borrow_mut() = Some(a.clone());
    }
}

/// The promise: an acyclic object is dropped by its last drop, or, if a collection on another
/// thread has it pinned at that moment, when that collection ends; a `collect()` called after
/// the last drop returns only once it is dropped.
fn dropped_when_collect_returns(collector: fn(&AtomicBool)) {
    const LENGTH: usize = 100_000;
    while_others_work(1, collector, || {
        for _ in 0..5 {
            let drops = Arc::new(AtomicUsize::new(0));
            let head = list(LENGTH, &drops);
            drop(head);
            collect();
            assert_eq!(
                drops.load(Ordering::SeqCst),
                LENGTH,
                "collect returned before a list whose last Gc dropped before it was dropped"
            );
        }
    });
}

#[test]
fn an_acyclic_list_is_dropped_when_collect_returns_while_another_thread_collects() {
    dropped_when_collect_returns(collect_in_a_loop);
}

#[test]
fn an_acyclic_list_is_dropped_when_collect_returns_while_automatic_collections_run() {
    dropped_when_collect_returns(spend_allocation_budgets);
}

#[test]
fn an_acyclic_list_is_dropped_by_its_last_drop_when_no_collection_runs() {
    let _turn = serial();
    let drops = Arc::new(AtomicUsize::new(0));
    let head = list(10_000, &drops);
    // The list's own allocations spend a gen-0 budget, so a background collection may be
    // examining it now, and a node it pinned keeps its count until that collection ends. `collect`
    // returns once every collection before it has given its pins back, and resets the budget.
    collect();
    drop(head);
    assert_eq!(drops.load(Ordering::SeqCst), 10_000);
}

/// A garbage cycle member whose `Drop` calls `collect()`: found by automatic collections, it is
/// dropped on the reclaimer, which then collects while `collect()` on another thread waits for it.
#[derive(Trace)]
struct Collector {
    next: GcCell<Option<Gc<Collector>>>,
}

impl Drop for Collector {
    fn drop(&mut self) {
        collect();
    }
}

fn make_collecting_garbage(stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        let a = Gc::new(Collector {
            next: GcCell::new(None),
        });
        *a.next.borrow_mut() = Some(a.clone());
        // Keeps the budget spent: automatic collections find the cycles.
        for _ in 0..64 {
            drop(node(&Arc::new(AtomicUsize::new(0))));
        }
    }
}

#[test]
fn a_reclaimed_drop_that_collects_never_deadlocks_with_a_collect_waiting_for_the_reclaimer() {
    let (done, finished) = std::sync::mpsc::channel();
    let body = std::thread::spawn(move || {
        while_others_work(2, make_collecting_garbage, || {
            for _ in 0..200 {
                collect();
            }
        });
        done.send(()).unwrap();
    });
    finished
        .recv_timeout(std::time::Duration::from_secs(300))
        .expect("collect() and a reclaimed Drop that collects deadlocked");
    body.join().unwrap();
}
