//! Finalization: ports of .NET's GCTests, CriticalFinalizer and WeakReference scenarios, plus
//! resurrection, cycles, and finalizers that allocate, collect or wait. The finalizer thread and
//! queue are process-wide, so each test counts its own objects (through its own `Log`), never
//! global totals; no test sleeps: they collect and wait for pending finalizers.

use janitor::gc::{
    Finalize, FinalizerPanicAction, Gc, GcCell, Trace, collect, collect_generation,
    collection_count, generation, is_registered_for_finalize, keep_alive, memory_info,
    reregister_for_finalize, set_finalizer_panic_handler, suppress_finalize,
    wait_for_pending_finalizers,
};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// What one test's objects did.
#[derive(Default)]
struct Log {
    finalized: AtomicUsize,
    dropped: AtomicUsize,
    /// Ids in the order their finalizers ran.
    order: Mutex<Vec<usize>>,
    /// Where resurrecting finalizers store their object.
    saved: Mutex<Vec<Gc<Probe>>>,
}

impl Log {
    fn finalized(&self) -> usize {
        self.finalized.load(Ordering::SeqCst)
    }
    fn dropped(&self) -> usize {
        self.dropped.load(Ordering::SeqCst)
    }
}

#[derive(Trace)]
#[trace(finalize)]
struct Probe {
    next: GcCell<Option<Gc<Probe>>>,
    #[trace(skip)]
    id: usize,
    #[trace(skip)]
    resurrect: AtomicBool,
    #[trace(skip)]
    log: Arc<Log>,
}

impl Finalize for Probe {
    fn finalize(this: &Gc<Self>) {
        this.log.finalized.fetch_add(1, Ordering::SeqCst);
        this.log.order.lock().unwrap().push(this.id);
        if let Some(next) = this.next.borrow().as_ref() {
            assert_eq!(
                next.log.dropped(),
                0,
                "what a finalizable object reaches is intact"
            );
        }
        if this.resurrect.swap(false, Ordering::SeqCst) {
            this.log.saved.lock().unwrap().push(this.clone());
        }
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.log.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

fn probe(log: &Arc<Log>, id: usize) -> Gc<Probe> {
    Gc::new(Probe {
        next: GcCell::new(None),
        id,
        resurrect: AtomicBool::new(false),
        log: log.clone(),
    })
}

#[test]
fn collect_then_wait_runs_the_finalizer_of_an_unreachable_object() {
    let log = Arc::new(Log::default());
    drop(probe(&log, 0));
    collect();
    wait_for_pending_finalizers();
    assert_eq!(log.finalized(), 1);
    assert_eq!(log.dropped(), 1, "freed once its finalizer ran");
}

#[test]
fn collect_then_wait_finalizes_a_garbage_cycle_then_a_later_collection_frees_it() {
    let log = Arc::new(Log::default());
    let (a, b) = (probe(&log, 0), probe(&log, 1));
    *a.next.borrow_mut() = Some(b.clone());
    *b.next.borrow_mut() = Some(a.clone());
    drop((a, b));
    collect();
    wait_for_pending_finalizers();
    assert_eq!(log.finalized(), 2);
    collect();
    assert_eq!(log.dropped(), 2);
    collect();
    wait_for_pending_finalizers();
    assert_eq!(log.finalized(), 2, "never finalized twice");
}

#[test]
fn keep_alive_prevents_finalization_until_after_the_call() {
    let log = Arc::new(Log::default());
    let object = probe(&log, 0);
    *object.next.borrow_mut() = Some(object.clone());
    collect();
    wait_for_pending_finalizers();
    assert_eq!(log.finalized(), 0);
    keep_alive(&object);
    *object.next.borrow_mut() = None;
    drop(object);
    // A concurrent test's collection may hold a pin on it: its unpin queues it, and `collect`
    // returns only after every earlier collection finished.
    collect();
    wait_for_pending_finalizers();
    assert_eq!(log.finalized(), 1);
}

#[test]
fn nested_collections_while_an_object_is_in_use_never_finalize_it() {
    let log = Arc::new(Log::default());
    let outer = probe(&log, 0);
    *outer.next.borrow_mut() = Some(probe(&log, 1));
    for _ in 0..10 {
        collect_generation(0);
        collect();
        wait_for_pending_finalizers();
        assert_eq!(log.finalized(), 0);
        assert_eq!(outer.next.borrow().as_ref().unwrap().id, 1);
    }
    drop(outer);
    // The inner object is queued only when the outer one is freed after its finalizer: one round
    // of collect + wait per link (and one more in case a concurrent collection pinned the outer).
    for _ in 0..3 {
        collect();
        wait_for_pending_finalizers();
    }
    assert_eq!(log.finalized(), 2);
}

#[test]
fn suppressed_objects_are_freed_without_their_finalizer() {
    let log = Arc::new(Log::default());
    let acyclic = probe(&log, 0);
    let cyclic = probe(&log, 1);
    *cyclic.next.borrow_mut() = Some(cyclic.clone());
    suppress_finalize(&acyclic);
    suppress_finalize(&cyclic);
    assert!(!is_registered_for_finalize(&acyclic));
    drop((acyclic, cyclic));
    collect();
    wait_for_pending_finalizers();
    assert_eq!(log.finalized(), 0);
    assert_eq!(log.dropped(), 2);
}

/// .NET's ReRegisterForFinalize: dispose suppresses, then re-registers (the object is opened
/// again); the finalizer runs once.
#[test]
fn reregistering_after_suppression_runs_the_finalizer_once() {
    let log = Arc::new(Log::default());
    let object = probe(&log, 0);
    suppress_finalize(&object);
    reregister_for_finalize(&object);
    reregister_for_finalize(&object);
    assert!(is_registered_for_finalize(&object));
    drop(object);
    collect();
    wait_for_pending_finalizers();
    assert_eq!(log.finalized(), 1);
}

#[test]
fn a_resurrected_object_stays_usable_and_is_not_finalized_again_unless_reregistered() {
    let log = Arc::new(Log::default());
    let object = probe(&log, 7);
    object.resurrect.store(true, Ordering::SeqCst);
    let short = Gc::downgrade(&object);
    let long = Gc::downgrade_long(&object);
    drop(object);
    collect();
    wait_for_pending_finalizers();
    assert_eq!(log.finalized(), 1);
    let saved = log.saved.lock().unwrap().pop().expect("resurrected");
    assert_eq!(saved.id, 7, "usable");
    assert!(
        short.upgrade().is_none(),
        "short weak stays cleared after resurrection"
    );
    assert!(long.upgrade().is_some(), "long weak tracks resurrection");
    drop(saved);
    collect();
    wait_for_pending_finalizers();
    assert_eq!(log.finalized(), 1, "not registered any more");
    assert_eq!(log.dropped(), 1, "freed when unreachable again");
    assert!(long.upgrade().is_none());
}

#[test]
fn a_resurrected_and_reregistered_object_is_finalized_again() {
    let log = Arc::new(Log::default());
    let object = probe(&log, 0);
    object.resurrect.store(true, Ordering::SeqCst);
    drop(object);
    collect();
    wait_for_pending_finalizers();
    let saved = log.saved.lock().unwrap().pop().expect("resurrected");
    reregister_for_finalize(&saved);
    drop(saved);
    collect();
    wait_for_pending_finalizers();
    assert_eq!(log.finalized(), 2);
    assert_eq!(log.dropped(), 1);
}

#[test]
fn resurrecting_one_member_of_a_cycle_keeps_what_it_reaches() {
    let log = Arc::new(Log::default());
    let (a, b) = (probe(&log, 0), probe(&log, 1));
    *a.next.borrow_mut() = Some(b.clone());
    *b.next.borrow_mut() = Some(a.clone());
    a.resurrect.store(true, Ordering::SeqCst);
    drop((a, b));
    collect();
    wait_for_pending_finalizers();
    assert_eq!(log.finalized(), 2);
    collect();
    assert_eq!(log.dropped(), 0, "the resurrected member keeps its cycle");
    let a = log.saved.lock().unwrap().pop().expect("resurrected");
    assert_eq!(a.next.borrow().as_ref().unwrap().id, 1);
    drop(a);
    collect();
    assert_eq!(log.dropped(), 2);
}

#[test]
fn a_cycle_member_without_a_finalizer_reached_from_one_with_it_stays_intact() {
    #[derive(Trace)]
    struct Plain {
        back: GcCell<Option<Gc<Holder>>>,
        #[trace(skip)]
        log: Arc<Log>,
    }
    impl Drop for Plain {
        fn drop(&mut self) {
            self.log.dropped.fetch_add(1, Ordering::SeqCst);
        }
    }
    #[derive(Trace)]
    #[trace(finalize)]
    struct Holder {
        plain: Gc<Plain>,
        #[trace(skip)]
        log: Arc<Log>,
    }
    impl Finalize for Holder {
        fn finalize(this: &Gc<Self>) {
            assert!(this.plain.back.borrow().is_some(), "intact");
            assert_eq!(this.log.dropped(), 0, "not dropped before the finalizer");
            this.log.finalized.fetch_add(1, Ordering::SeqCst);
        }
    }
    let log = Arc::new(Log::default());
    let plain = Gc::new(Plain {
        back: GcCell::new(None),
        log: log.clone(),
    });
    let holder = Gc::new(Holder {
        plain: plain.clone(),
        log: log.clone(),
    });
    *plain.back.borrow_mut() = Some(holder.clone());
    drop((plain, holder));
    collect();
    wait_for_pending_finalizers();
    assert_eq!(log.finalized(), 1);
    collect();
    assert_eq!(
        log.dropped(),
        1,
        "freed by the collection after finalization"
    );
}

#[test]
fn every_normal_finalizer_of_a_collection_runs_before_the_first_critical_one() {
    #[derive(Trace)]
    struct Hub {
        members: GcCell<Vec<Member>>,
    }
    #[derive(Trace)]
    enum Member {
        Normal(Gc<Normal>),
        Critical(Gc<Critical>),
    }
    #[derive(Trace)]
    #[trace(finalize)]
    struct Normal {
        hub: Gc<Hub>,
        #[trace(skip)]
        log: Arc<Log>,
    }
    impl Finalize for Normal {
        fn finalize(this: &Gc<Self>) {
            this.log.order.lock().unwrap().push(0);
        }
    }
    #[derive(Trace)]
    #[trace(finalize)]
    struct Critical {
        hub: Gc<Hub>,
        #[trace(skip)]
        log: Arc<Log>,
    }
    impl Finalize for Critical {
        const CRITICAL: bool = true;
        fn finalize(this: &Gc<Self>) {
            this.log.order.lock().unwrap().push(1);
        }
    }
    let log = Arc::new(Log::default());
    let hub = Gc::new(Hub {
        members: GcCell::new(Vec::new()),
    });
    for _ in 0..50 {
        let critical = Gc::new(Critical {
            hub: hub.clone(),
            log: log.clone(),
        });
        let normal = Gc::new(Normal {
            hub: hub.clone(),
            log: log.clone(),
        });
        let mut members = hub.members.borrow_mut();
        members.push(Member::Critical(critical));
        members.push(Member::Normal(normal));
    }
    drop(hub);
    collect();
    wait_for_pending_finalizers();
    let order = log.order.lock().unwrap().clone();
    assert_eq!(order.len(), 100);
    assert!(
        order.windows(2).all(|pair| pair[0] <= pair[1]),
        "a normal finalizer ran after a critical one: {order:?}"
    );
}

/// GCTests.WaitForPendingFinalizersRaces: many threads allocate, drop and wait; the flag is
/// always set after the wait.
#[test]
fn wait_for_pending_finalizers_races_always_see_the_flag_set() {
    #[derive(Trace)]
    #[trace(finalize)]
    struct Flagger(#[trace(skip)] Arc<AtomicBool>);
    impl Finalize for Flagger {
        fn finalize(this: &Gc<Self>) {
            this.0.store(true, Ordering::SeqCst);
        }
    }
    let iterations = if cfg!(debug_assertions) {
        2_000
    } else {
        20_000
    };
    let threads: Vec<_> = (0..7)
        .map(|_| {
            std::thread::spawn(move || {
                for _ in 0..iterations {
                    let flag = Arc::new(AtomicBool::new(false));
                    drop(Gc::new(Flagger(flag.clone())));
                    wait_for_pending_finalizers();
                    assert!(flag.load(Ordering::SeqCst));
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
}

#[test]
fn finalizers_that_allocate_collect_and_wait_do_not_deadlock() {
    #[derive(Trace)]
    #[trace(finalize)]
    struct Busy(#[trace(skip)] Arc<Log>);
    impl Finalize for Busy {
        fn finalize(this: &Gc<Self>) {
            let child = probe(&this.0, 1);
            *child.next.borrow_mut() = Some(child.clone());
            drop(child);
            collect();
            wait_for_pending_finalizers();
            this.0.finalized.fetch_add(1, Ordering::SeqCst);
        }
    }
    let log = Arc::new(Log::default());
    for _ in 0..5 {
        drop(Gc::new(Busy(log.clone())));
    }
    wait_for_pending_finalizers();
    collect();
    wait_for_pending_finalizers();
    // 5 `Busy` plus the 5 cycles their finalizers made, found by their own or a later collection.
    collect();
    wait_for_pending_finalizers();
    assert_eq!(log.finalized(), 10);
}

#[test]
fn collection_counts_rise_per_generation_and_a_promoted_objects_generation_rises() {
    let before = [
        collection_count(0),
        collection_count(1),
        collection_count(2),
    ];
    let log = Arc::new(Log::default());
    let object = probe(&log, 0);
    // Other tests' collections may promote it too, between any two lines: each collection of a
    // generation moves its survivors up one, so what the test's own ones promise is a lower bound.
    collect_generation(0);
    assert!(collection_count(0) > before[0]);
    assert!(generation(&object) >= 1, "a gen-0 collection promotes");
    collect_generation(1);
    assert!(collection_count(1) > before[1]);
    assert_eq!(generation(&object), 2, "a gen-1 collection promotes again");
    collect();
    assert!(collection_count(2) > before[2]);
    assert_eq!(generation(&object), 2, "the oldest generation is the last");
}

#[test]
fn memory_info_counts_objects_waiting_for_their_finalizer() {
    #[derive(Trace)]
    #[trace(finalize)]
    struct Blocker(#[trace(skip)] Arc<(Mutex<bool>, std::sync::Condvar)>);
    impl Finalize for Blocker {
        fn finalize(this: &Gc<Self>) {
            let (open, changed) = &*this.0;
            let mut open = open.lock().unwrap();
            while !*open {
                open = changed.wait(open).unwrap();
            }
        }
    }
    let gate = Arc::new((Mutex::new(false), std::sync::Condvar::new()));
    drop(Gc::new(Blocker(gate.clone())));
    drop(Gc::new(Blocker(gate.clone())));
    assert!(
        memory_info().pending_finalizers >= 1,
        "the second waits behind the first"
    );
    *gate.0.lock().unwrap() = true;
    gate.1.notify_all();
    wait_for_pending_finalizers();
}

#[test]
fn a_handler_that_continues_after_a_finalizer_panic_keeps_the_process_alive() {
    #[derive(Trace)]
    #[trace(finalize)]
    struct Panicky(#[trace(skip)] Arc<Log>);
    impl Finalize for Panicky {
        fn finalize(this: &Gc<Self>) {
            this.0.finalized.fetch_add(1, Ordering::SeqCst);
            panic!("finalizer failure on purpose");
        }
    }
    impl Drop for Panicky {
        fn drop(&mut self) {
            self.0.dropped.fetch_add(1, Ordering::SeqCst);
        }
    }
    let seen = Arc::new(Mutex::new(Vec::new()));
    {
        let seen = seen.clone();
        set_finalizer_panic_handler(move |panic| {
            seen.lock()
                .unwrap()
                .push((panic.type_name().to_owned(), panic.message().to_owned()));
            FinalizerPanicAction::Continue
        });
    }
    let log = Arc::new(Log::default());
    drop(Gc::new(Panicky(log.clone())));
    wait_for_pending_finalizers();
    assert_eq!(log.finalized(), 1);
    assert_eq!(log.dropped(), 1, "treated as finalized, and freed");
    let seen = seen.lock().unwrap();
    assert!(seen[0].0.ends_with("Panicky"));
    assert_eq!(seen[0].1, "finalizer failure on purpose");
}

/// Without a handler, a panic escaping a finalizer aborts the process with a message naming the
/// type: checked in a child process running this same test binary.
#[test]
fn a_finalizer_panic_without_a_handler_aborts_naming_the_type() {
    const CHILD: &str = "JANITOR_FINALIZER_PANIC_CHILD";
    #[derive(Trace)]
    #[trace(finalize)]
    struct Doomed;
    impl Finalize for Doomed {
        fn finalize(_: &Gc<Self>) {
            panic!("doomed on purpose");
        }
    }
    if std::env::var_os(CHILD).is_some() {
        drop(Gc::new(Doomed));
        wait_for_pending_finalizers();
        return;
    }
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_finalizer_panic_without_a_handler_aborts_naming_the_type",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "the child was not aborted");
    assert!(
        stderr.contains("the finalizer of `") && stderr.contains("Doomed` panicked"),
        "{stderr}"
    );
}

/// WeakReferenceTests: a long reference to an object with a finalizer that does not resurrect
/// stays upgradable while finalization is pending and is dead after collect, wait, collect; a
/// short one is dead as soon as the object is found unreachable.
#[test]
fn long_weak_to_a_non_resurrecting_object_is_dead_after_collect_wait_collect() {
    let log = Arc::new(Log::default());
    let object = probe(&log, 0);
    *object.next.borrow_mut() = Some(object.clone());
    let (short, long) = (Gc::downgrade(&object), Gc::downgrade_long(&object));
    drop(object);
    collect();
    assert!(
        short.upgrade().is_none(),
        "short: cleared when found unreachable"
    );
    wait_for_pending_finalizers();
    assert_eq!(log.finalized(), 1);
    collect();
    assert!(long.upgrade().is_none(), "long: cleared when freed");
    assert_eq!(log.dropped(), 1);
}

/// Holds the finalizer thread inside its finalizer until the test opens the gate, so that
/// objects queued meanwhile stay queued.
#[derive(Trace)]
#[trace(finalize)]
struct Gate {
    #[trace(skip)]
    running: Mutex<std::sync::mpsc::Sender<()>>,
    #[trace(skip)]
    open: Mutex<std::sync::mpsc::Receiver<()>>,
}

impl Finalize for Gate {
    fn finalize(this: &Gc<Self>) {
        this.running.lock().unwrap().send(()).unwrap();
        let _ = this.open.lock().unwrap().recv();
    }
}

/// Blocks the finalizer thread in a `Gate`'s finalizer; dropping the returned sender lets it go.
fn hold_the_finalizer_thread() -> std::sync::mpsc::Sender<()> {
    let (running, is_running) = std::sync::mpsc::channel();
    let (open, opened) = std::sync::mpsc::channel();
    drop(Gc::new(Gate {
        running: Mutex::new(running),
        open: Mutex::new(opened),
    }));
    collect(); // hands the dropped gate to the finalizer thread
    is_running.recv().unwrap();
    open
}

/// Queues an object for finalization while the finalizer thread is held, and returns a long weak
/// reference to it: the object is in the f-reachable queue, reachable only through it.
fn queued_behind_the_gate(log: &Arc<Log>) -> janitor::gc::WeakGc<Probe> {
    let object = probe(log, 0);
    let long = Gc::downgrade_long(&object);
    drop(object);
    collect(); // hands it to the queue
    long
}

/// .NET's finalizer thread skips an object whose finalizer-run bit was set by `SuppressFinalize`
/// after it was queued (reachable again through a long weak reference).
#[test]
fn suppress_finalize_on_a_queued_object_cancels_its_finalizer() {
    let log = Arc::new(Log::default());
    let gate = hold_the_finalizer_thread();
    let long = queued_behind_the_gate(&log);
    let object = long
        .upgrade()
        .expect("pending finalization: long weak upgrades");
    assert!(
        is_registered_for_finalize(&object),
        "its finalizer is pending"
    );
    suppress_finalize(&object);
    drop(object);
    drop(gate);
    wait_for_pending_finalizers();
    assert_eq!(log.finalized(), 0, "the finalizer was cancelled");
    assert_eq!(log.dropped(), 1, "freed once unreachable");
    assert!(long.upgrade().is_none());
}

/// `ReRegisterForFinalize` after `SuppressFinalize` on a queued object brings its finalizer back.
#[test]
fn reregistering_a_queued_object_after_suppressing_it_runs_its_finalizer_once() {
    let log = Arc::new(Log::default());
    let gate = hold_the_finalizer_thread();
    let long = queued_behind_the_gate(&log);
    let object = long
        .upgrade()
        .expect("pending finalization: long weak upgrades");
    suppress_finalize(&object);
    reregister_for_finalize(&object);
    drop(object);
    drop(gate);
    wait_for_pending_finalizers();
    assert_eq!(log.finalized(), 1);
    assert_eq!(log.dropped(), 1);
}

/// Thread A drops an object and signals; thread B, having seen the signal, waits for pending
/// finalizers: the object was finalized when the wait returns, although A is still running (its
/// buffer was never full and it did not exit).
#[test]
fn an_object_dropped_on_another_thread_before_a_signal_is_finalized_when_the_wait_returns() {
    let log = Arc::new(Log::default());
    let (dropped, has_dropped) = std::sync::mpsc::channel();
    let (finish, finished) = std::sync::mpsc::channel::<()>();
    let thread = {
        let log = log.clone();
        std::thread::spawn(move || {
            drop(probe(&log, 0));
            dropped.send(()).unwrap();
            let _ = finished.recv();
        })
    };
    has_dropped.recv().unwrap();
    wait_for_pending_finalizers();
    assert_eq!(log.finalized(), 1);
    drop(finish);
    thread.join().unwrap();
}

/// The same handshake through `collect` on the other thread, then a wait, as in .NET's
/// `GC.Collect(); GC.WaitForPendingFinalizers();`.
#[test]
fn an_object_dropped_on_another_thread_before_a_signal_is_finalized_by_collect_and_wait() {
    let log = Arc::new(Log::default());
    let (dropped, has_dropped) = std::sync::mpsc::channel();
    let (finish, finished) = std::sync::mpsc::channel::<()>();
    let thread = {
        let log = log.clone();
        std::thread::spawn(move || {
            for id in 0..10 {
                drop(probe(&log, id));
            }
            dropped.send(()).unwrap();
            let _ = finished.recv();
        })
    };
    has_dropped.recv().unwrap();
    collect();
    assert!(memory_info().pending_finalizers + log.finalized() >= 10);
    wait_for_pending_finalizers();
    assert_eq!(log.finalized(), 10);
    drop(finish);
    thread.join().unwrap();
}

/// A thread that exits hands what it buffered to the queue.
#[test]
fn objects_dropped_by_a_thread_that_exited_are_finalized_by_the_next_wait() {
    let log = Arc::new(Log::default());
    let thread = {
        let log = log.clone();
        std::thread::spawn(move || {
            for id in 0..3 {
                drop(probe(&log, id));
            }
        })
    };
    thread.join().unwrap();
    wait_for_pending_finalizers();
    assert_eq!(log.finalized(), 3);
}

/// More deaths than a thread's buffer holds: the full buffers go to the queue on the way, and
/// every object is finalized exactly once.
#[test]
fn more_deaths_than_a_buffer_holds_are_each_finalized_once() {
    let log = Arc::new(Log::default());
    for id in 0..5000 {
        drop(probe(&log, id));
    }
    wait_for_pending_finalizers();
    assert_eq!(log.finalized(), 5000);
    let mut order = log.order.lock().unwrap().clone();
    order.sort_unstable();
    order.dedup();
    assert_eq!(order.len(), 5000);
}

/// .NET clears the short weak references of everything that becomes unreachable, including what
/// only an f-reachable object reaches, before its finalizer runs, and finalizes all of it; they
/// stay cleared when the finalizer resurrects the object (and with it what it reaches). Long ones
/// track resurrection.
#[test]
fn short_weak_to_what_only_a_queued_object_reaches_is_cleared_before_its_finalizer() {
    let log = Arc::new(Log::default());
    let owner = probe(&log, 0);
    owner.resurrect.store(true, Ordering::SeqCst);
    let child = probe(&log, 1);
    *owner.next.borrow_mut() = Some(child.clone());
    let (short, long) = (Gc::downgrade(&child), Gc::downgrade_long(&child));
    // The child first: once the owner is dropped its finalizer may start at any moment, and it
    // must then find the child reachable only through the owner.
    drop(child);
    drop(owner);
    // Not `wait_for_pending_finalizers` alone: a collection of a test running in parallel may
    // have the owner pinned, and then its last count is that pin, given back when the collection
    // ends; `collect` waits for every collection before it.
    collect();
    wait_for_pending_finalizers();
    let mut finalized = log.order.lock().unwrap().clone();
    finalized.sort_unstable();
    assert_eq!(
        finalized,
        [0, 1],
        "the owner and the child only it reached were both unreachable, so both are finalized, \
         as one .NET collection queues both"
    );
    assert!(
        short.upgrade().is_none(),
        "cleared before the finalizer ran"
    );
    let revived = long.upgrade().expect("long weak tracks resurrection");
    assert_eq!(revived.id, 1);
    drop(revived);
    let saved = log.saved.lock().unwrap().pop().expect("resurrected");
    assert!(
        short.upgrade().is_none(),
        "stays cleared while reachable again"
    );
    drop(saved);
    collect();
    wait_for_pending_finalizers();
    assert_eq!(log.finalized(), 2);
}

/// The same child, also held from outside the queued object: it is reachable, and its short weak
/// references live on.
#[test]
fn short_weak_to_a_child_also_held_elsewhere_survives_its_owners_finalization() {
    let log = Arc::new(Log::default());
    let owner = probe(&log, 0);
    let child = probe(&log, 1);
    *owner.next.borrow_mut() = Some(child.clone());
    let short = Gc::downgrade(&child);
    drop(owner);
    // Not `wait_for_pending_finalizers` alone: a collection of a test running in parallel may
    // have the owner pinned, and then its last count is that pin, given back when the collection
    // ends; `collect` waits for every collection before it.
    collect();
    wait_for_pending_finalizers();
    assert_eq!(log.finalized(), 1);
    assert!(short.upgrade().is_some());
    drop(child);
    collect(); // the same reason as above
    wait_for_pending_finalizers();
    assert!(short.upgrade().is_none());
}

/// Deeper: a chain owner -> middle -> leaf, where the middle object has a long weak reference
/// too: both the middle and the leaf are reachable only from the queued owner, and lose their
/// short weak references.
#[test]
fn short_weak_deep_under_a_queued_object_is_cleared_through_a_weakened_middle() {
    // The owner has a log of its own: a probe's finalizer checks that what it reaches is not
    // dropped, by its log, and the owner is dropped before the middle's finalizer runs.
    let (log, chain_log) = (Arc::new(Log::default()), Arc::new(Log::default()));
    let owner = probe(&log, 0);
    owner.resurrect.store(true, Ordering::SeqCst);
    let middle = probe(&chain_log, 1);
    let leaf = probe(&chain_log, 2);
    *owner.next.borrow_mut() = Some(middle.clone());
    *middle.next.borrow_mut() = Some(leaf.clone());
    let middle_long = Gc::downgrade_long(&middle);
    let (middle_short, leaf_short) = (Gc::downgrade(&middle), Gc::downgrade(&leaf));
    drop((leaf, middle)); // before the owner, as above
    drop(owner);
    // Not `wait_for_pending_finalizers` alone: a collection of a test running in parallel may
    // have the owner pinned, and then its last count is that pin, given back when the collection
    // ends; `collect` waits for every collection before it.
    collect();
    wait_for_pending_finalizers();
    assert!(middle_short.upgrade().is_none());
    assert!(leaf_short.upgrade().is_none());
    assert!(middle_long.upgrade().is_some());
    drop(log.saved.lock().unwrap().pop());
    // Each finalizer frees the next object in the chain, which queues it: one round per link.
    for _ in 0..3 {
        collect();
        wait_for_pending_finalizers();
    }
    assert_eq!(log.finalized() + chain_log.finalized(), 3);
}

/// Tells a channel when it is finalized.
#[derive(Trace)]
#[trace(finalize)]
struct Announcer {
    #[trace(skip)]
    finalized: Mutex<std::sync::mpsc::Sender<()>>,
}

impl Finalize for Announcer {
    fn finalize(this: &Gc<Self>) {
        let _ = this.finalized.lock().unwrap().send(());
    }
}

/// Without a collection, a wait, a full buffer or the thread's exit, a dropped object still
/// reaches the finalizer thread: an idle one is nudged by the drop, a busy one looks into the
/// buffers when its queue runs dry.
#[test]
fn a_dropped_object_is_finalized_without_any_later_call() {
    let (finalized, was_finalized) = std::sync::mpsc::channel();
    drop(Gc::new(Announcer {
        finalized: Mutex::new(finalized),
    }));
    was_finalized
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("finalized without a collection or a wait");
}

/// Whether `Brittle::trace` panics (only after construction, which traces it too).
static BRITTLE_TRACE_PANICS: AtomicBool = AtomicBool::new(false);

/// A type whose hand-written `Trace` breaks the contract by panicking.
struct Brittle {
    child: Gc<u8>,
    finalized: Mutex<std::sync::mpsc::Sender<u8>>,
}

// SAFETY: reports its one `Gc`, once, and its edges never change; the panic it may raise instead
// breaks only the rule that `trace` must not panic, which the test is about.
unsafe impl Trace for Brittle {
    fn trace(&self, tracer: &mut janitor::gc::Tracer<'_>) {
        if BRITTLE_TRACE_PANICS.load(Ordering::SeqCst) {
            panic!("a Trace implementation that panics");
        }
        self.child.trace(tracer);
    }
}
// SAFETY: the constants describe the value traced above.
unsafe impl janitor::gc::TraceMeta for Brittle {
    const MUTABLE_EDGES: bool = false;
    const FINALIZER: Option<janitor::gc::Finalizer<Self>> = Some(janitor::gc::Finalizer::of());
}

// SAFETY: `FINALIZER` above is `Some(Finalizer::of())`.
unsafe impl janitor::gc::FinalizerRegistered for Brittle {}

impl Finalize for Brittle {
    fn finalize(this: &Gc<Self>) {
        let _ = this.finalized.lock().unwrap().send(*this.child);
    }
}

/// The finalizer thread traces queued objects once weak references exist; a `trace` that panics
/// there leaves short weak references as they are, and the thread goes on finalizing.
#[test]
fn a_panicking_trace_on_the_finalizer_thread_does_not_stop_finalization() {
    let weakened = Gc::new(0_u8);
    let _weak = Gc::downgrade(&weakened);
    let (finalized, was_finalized) = std::sync::mpsc::channel();
    let brittle = Gc::new(Brittle {
        child: Gc::new(7),
        finalized: Mutex::new(finalized),
    });
    BRITTLE_TRACE_PANICS.store(true, Ordering::SeqCst);
    drop(brittle);
    wait_for_pending_finalizers();
    BRITTLE_TRACE_PANICS.store(false, Ordering::SeqCst);
    assert_eq!(was_finalized.try_recv(), Ok(7));
    // The thread still runs finalizers.
    let log = Arc::new(Log::default());
    drop(probe(&log, 0));
    wait_for_pending_finalizers();
    assert_eq!(log.finalized(), 1);
}
