//! Automatic collections run on the `janitor-collector` thread, never inside an allocation, and
//! hand the garbage they find to the `janitor-reclaimer` thread: no destructor runs on the thread
//! whose allocation triggered the collection, `collect` finishes
//! what they handed over, a panicking `Drop` goes to the finalizer panic handler, and a blocked
//! reclaimer never blocks an allocating thread. Nothing here sleeps: tests allocate until a
//! collection happens and call `collect`, which waits for the reclaimer; where a test races a
//! collection against the test thread, it waits until `/proc` shows that thread parked.

mod support;

use janitor::gc::{
    FinalizerPanicAction, Gc, GcCell, Trace, Tracer, add_memory_pressure, collect,
    collection_count, remove_memory_pressure, set_finalizer_panic_handler,
};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;
// Tests of this file run one at a time (`serial`): each counts collections of the one global heap.
use support::{current_tid, is_asleep, serial, until_asleep};

thread_local! {
    /// Set while a test thread stands for code that holds a lock a garbage `Drop` needs.
    static HOLDING_THE_LOCK: Cell<bool> = const { Cell::new(false) };
}

/// What the garbage of one test did when it dropped.
#[derive(Default)]
struct Log {
    dropped: AtomicUsize,
    /// Drops that ran on a thread holding the lock: each one a deadlock in a real program.
    on_a_holding_thread: AtomicUsize,
    threads: Mutex<Vec<Option<String>>>,
}

/// A self-loop: garbage only a collection finds.
#[derive(Trace)]
struct Loop {
    itself: GcCell<Option<Gc<Loop>>>,
    #[trace(skip)]
    log: Arc<Log>,
}

impl Drop for Loop {
    fn drop(&mut self) {
        if HOLDING_THE_LOCK.with(Cell::get) {
            self.log.on_a_holding_thread.fetch_add(1, Ordering::SeqCst);
        }
        let name = std::thread::current().name().map(str::to_owned);
        self.log.threads.lock().unwrap().push(name);
        self.log.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

fn garbage_loop(log: &Arc<Log>) {
    let node = Gc::new(Loop {
        itself: GcCell::new(None),
        log: Arc::clone(log),
    });
    *node.itself.borrow_mut() = Some(node.clone());
}

/// A self-loop that logs nothing: garbage that makes the heap grow until a collection frees it.
#[derive(Trace)]
struct Filler(GcCell<Option<Gc<Filler>>>);

/// Makes garbage cycles until an automatic gen-0 collection has run; returns how many it made.
/// (Acyclic garbage, which its counts free, makes no collection due.)
fn allocate_until_a_collection() -> usize {
    let before = collection_count(0);
    for allocated in 1..=1_000_000 {
        let filler = Gc::new(Filler(GcCell::new(None)));
        *filler.0.borrow_mut() = Some(filler.clone());
        if collection_count(0) > before {
            return allocated;
        }
        if allocated % 1024 == 0 {
            let_the_collector_run();
        }
    }
    panic!("a million garbage cycles started no collection");
}

/// Makes garbage cycles until an automatic collection that began after the call has ended, and so
/// examined every object made before the call. The first to end may have been running already
/// when the call came, without those objects (a test that assumed otherwise failed one run in
/// six to ten); collections run one at a time, so the one after it began later.
fn allocate_until_a_collection_begun_now() {
    allocate_until_a_collection();
    allocate_until_a_collection();
}

/// The collections allocations make due run on the `janitor-collector` thread, and these
/// allocations die young, so nothing makes this thread wait for it: where threads run one at a
/// time (valgrind), it must give the collector its turn. A yield was not always enough there (one
/// run in a few made a million allocations without a collection); a short sleep hands the
/// scheduler over for certain.
fn let_the_collector_run() {
    std::thread::sleep(Duration::from_micros(200));
}

#[test]
fn an_automatic_collection_drops_garbage_on_the_reclaimer_not_on_the_allocating_thread() {
    let _serial = serial();
    let log = Arc::new(Log::default());
    for _ in 0..100 {
        garbage_loop(&log);
    }
    HOLDING_THE_LOCK.with(|holding| holding.set(true));
    allocate_until_a_collection_begun_now();
    HOLDING_THE_LOCK.with(|holding| holding.set(false));
    collect();
    assert_eq!(log.dropped.load(Ordering::SeqCst), 100);
    assert_eq!(log.on_a_holding_thread.load(Ordering::SeqCst), 0);
    let threads = log.threads.lock().unwrap();
    assert!(
        threads
            .iter()
            .all(|name| name.as_deref() == Some("janitor-reclaimer")),
        "garbage dropped on {threads:?}"
    );
}

#[test]
fn collect_frees_what_earlier_automatic_collections_found() {
    let _serial = serial();
    let log = Arc::new(Log::default());
    for _ in 0..1000 {
        garbage_loop(&log);
    }
    allocate_until_a_collection();
    collect();
    assert_eq!(log.dropped.load(Ordering::SeqCst), 1000);
}

#[test]
fn a_survivor_of_an_automatic_collection_has_its_exact_count_back_at_once() {
    let _serial = serial();
    let survivor = Gc::new(GcCell::new(None::<Gc<u8>>));
    allocate_until_a_collection();
    assert_eq!(Gc::strong_count(&survivor), 1);
}

/// The names of the threads that traced a [`Witness`] while the test watched.
static TRACED_ON: Mutex<Vec<Option<String>>> = Mutex::new(Vec::new());
static WATCHING: AtomicBool = AtomicBool::new(false);

/// A tracked object that records which thread traces it.
struct Witness(GcCell<Option<Gc<u8>>>);

// SAFETY: reports the one cell, which reports what it holds.
unsafe impl Trace for Witness {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if WATCHING.load(Ordering::SeqCst) {
            let name = std::thread::current().name().map(str::to_owned);
            TRACED_ON.lock().unwrap().push(name);
        }
        self.0.trace(tracer);
    }
}
// SAFETY: the conservative defaults.
unsafe impl janitor::gc::TraceMeta for Witness {}

#[test]
fn an_allocation_never_examines_the_heap_its_collections_run_on_the_collector_thread() {
    let _serial = serial();
    // Young: the next automatic collection examines it, whatever generations it takes.
    let witness = Gc::new(Witness(GcCell::new(None)));
    TRACED_ON.lock().unwrap().clear();
    WATCHING.store(true, Ordering::SeqCst);
    allocate_until_a_collection_begun_now();
    WATCHING.store(false, Ordering::SeqCst);
    let traced_on = TRACED_ON.lock().unwrap();
    assert!(
        !traced_on.is_empty(),
        "the collection did not examine the witness"
    );
    assert!(
        traced_on
            .iter()
            .all(|name| name.as_deref() == Some("janitor-collector")),
        "the witness was traced on {traced_on:?}"
    );
    drop(witness);
}

static HOLD_THE_COLLECTOR: AtomicBool = AtomicBool::new(false);

/// A tracked object whose trace, while the test holds it, keeps the collection tracing it (on
/// the background collector) from going on.
struct Anchor(GcCell<Option<Gc<u8>>>);

// SAFETY: reports the one cell, which reports what it holds.
unsafe impl Trace for Anchor {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        while HOLD_THE_COLLECTOR.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        self.0.trace(tracer);
    }
}
// SAFETY: the conservative defaults.
unsafe impl janitor::gc::TraceMeta for Anchor {}

#[test]
fn an_allocation_that_outruns_a_held_up_collector_waits_a_bounded_time_and_is_counted() {
    let _serial = serial();
    collect();
    let before = janitor::gc::stats();
    HOLD_THE_COLLECTOR.store(true, Ordering::SeqCst);
    // Young: the next collection examines it, and stops there.
    let anchor = Gc::new(Anchor(GcCell::new(None)));
    // `stats` takes the heap lock, which the held collection holds: the waits are seen from here
    // as allocations that took the pacer's bound (10 ms), and counted by `stats` afterwards. The
    // objects are kept, not linked into cycles: writing the cell of one the held collection
    // examines would wait for it, and the collection waits for this thread.
    let mut long_allocations = 0;
    let mut kept = Vec::new();
    for _ in 0..10_000_000 {
        let started = std::time::Instant::now();
        kept.push(Gc::new(GcCell::new(None::<Gc<u8>>)));
        if started.elapsed() >= Duration::from_millis(10) {
            long_allocations += 1;
            if long_allocations == 3 {
                break;
            }
        }
    }
    HOLD_THE_COLLECTOR.store(false, Ordering::SeqCst);
    assert_eq!(
        long_allocations, 3,
        "ten million garbage cycles beside a held-up collector never waited"
    );
    let after = janitor::gc::stats();
    assert!(after.collector_waits - before.collector_waits >= 3);
    let waited = after.collector_wait_time - before.collector_wait_time;
    assert!(waited >= Duration::from_millis(10) * 3, "waited {waited:?}");
    assert!(after.program_pause() - before.program_pause() >= waited);
    drop(anchor);
    // Nothing was lost while the collector was held: every object is still there, intact.
    collect();
    assert!(kept.iter().all(|object| object.borrow().is_none()));
}

static WRITER_THREAD: AtomicI32 = AtomicI32::new(0);
static HOLD_WHILE_TRACING: AtomicBool = AtomicBool::new(false);
static TRACING_HELD: Mutex<Option<mpsc::Sender<()>>> = Mutex::new(None);

/// A tracked object whose trace, once armed, reads its cell (so the collection holds it) and
/// then stays in `trace` until the writer thread is seen parked.
struct HeldCell(GcCell<Option<Gc<u32>>>);

// SAFETY: reports the one cell, which reports what it holds.
unsafe impl Trace for HeldCell {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        self.0.trace(tracer);
        if HOLD_WHILE_TRACING.swap(false, Ordering::SeqCst) {
            if let Some(held) = TRACING_HELD.lock().unwrap().take() {
                held.send(()).unwrap();
            }
            until_asleep(WRITER_THREAD.load(Ordering::SeqCst), 1000);
        }
    }
}
// SAFETY: the conservative defaults.
unsafe impl janitor::gc::TraceMeta for HeldCell {}

/// A writer of a cell that a collection holds waits for it parked (a spinning writer would never
/// be seen asleep, and the collection would never finish), and the wait is counted.
#[test]
fn a_cell_write_waits_parked_for_the_collection_holding_the_cell_and_is_counted() {
    let _serial = serial();
    WRITER_THREAD.store(current_tid(), Ordering::SeqCst);
    // A cell that can hold a `Gc` (the collector holds only those).
    let object = Gc::new(HeldCell(GcCell::new(None)));
    let before = janitor::gc::stats();
    let (held, tracing_held) = mpsc::channel();
    *TRACING_HELD.lock().unwrap() = Some(held);
    HOLD_WHILE_TRACING.store(true, Ordering::SeqCst);
    let collector = std::thread::spawn(collect);
    tracing_held.recv().unwrap();
    *object.0.borrow_mut() = Some(Gc::new(1));
    collector.join().unwrap();
    assert_eq!(object.0.borrow().as_deref(), Some(&1));
    let after = janitor::gc::stats();
    assert!(after.collector_waits > before.collector_waits);
    assert!(after.program_pause() > before.program_pause());
}

/// Garbage whose `Drop` blocks until the test lets it go.
#[derive(Trace)]
struct Blocker {
    itself: GcCell<Option<Gc<Blocker>>>,
    #[trace(skip)]
    release: Mutex<Option<mpsc::Receiver<()>>>,
}

impl Drop for Blocker {
    fn drop(&mut self) {
        if let Some(release) = self.release.lock().unwrap().take() {
            let _ = release.recv();
        }
    }
}

#[test]
fn a_blocked_reclaimer_postpones_automatic_collections_and_never_blocks_allocation() {
    let _serial = serial();
    let (let_go, release) = mpsc::channel();
    let blocker = Gc::new(Blocker {
        itself: GcCell::new(None),
        release: Mutex::new(Some(release)),
    });
    *blocker.itself.borrow_mut() = Some(blocker.clone());
    drop(blocker);
    allocate_until_a_collection();
    // The reclaimer now waits in the blocker's `Drop`. Garbage keeps coming; the collections it
    // triggers hand it over until the backlog passes its limit, then they are postponed.
    let log = Arc::new(Log::default());
    for _ in 0..200_000 {
        garbage_loop(&log);
    }
    let postponed_from = collection_count(0);
    for _ in 0..100_000 {
        garbage_loop(&log);
    }
    assert_eq!(
        collection_count(0),
        postponed_from,
        "automatic collections ran while the reclaimer was 300,000 objects behind"
    );
    let_go.send(()).unwrap();
    collect();
    assert_eq!(log.dropped.load(Ordering::SeqCst), 300_000);
}

/// Garbage whose `Drop` panics.
#[derive(Trace)]
struct PanickyLoop {
    itself: GcCell<Option<Gc<PanickyLoop>>>,
}

impl Drop for PanickyLoop {
    fn drop(&mut self) {
        panic!("a Drop that fails");
    }
}

#[test]
fn a_drop_panicking_on_the_reclaimer_goes_to_the_finalizer_panic_handler() {
    let _serial = serial();
    static REPORTED: Mutex<Vec<String>> = Mutex::new(Vec::new());
    set_finalizer_panic_handler(|panic| {
        REPORTED
            .lock()
            .unwrap()
            .push(format!("{}: {}", panic.type_name(), panic.message()));
        FinalizerPanicAction::Continue
    });
    let node = Gc::new(PanickyLoop {
        itself: GcCell::new(None),
    });
    *node.itself.borrow_mut() = Some(node.clone());
    drop(node);
    allocate_until_a_collection();
    collect();
    let reported = REPORTED.lock().unwrap();
    assert!(
        reported
            .iter()
            .any(|line| line.contains("PanickyLoop") && line.contains("a Drop that fails")),
        "reported: {reported:?}"
    );
}

/// The test thread's id, for the gate and the drop below to see it parked.
static TEST_THREAD: AtomicI32 = AtomicI32::new(0);
static GATE_ARMED: AtomicBool = AtomicBool::new(false);
static GATE_ENTERED: Mutex<Option<mpsc::Sender<()>>> = Mutex::new(None);
static COLLECT_RETURNED: AtomicBool = AtomicBool::new(false);
static SLOW_LOOP_DROPPED: AtomicBool = AtomicBool::new(false);

/// A tracked object whose trace, once armed, holds the collection tracing it (and so its turn)
/// until the test thread is parked, in `collect`.
struct Gate(GcCell<Option<Gc<u8>>>);

// SAFETY: reports the one cell, which reports what it holds.
unsafe impl Trace for Gate {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if GATE_ARMED.swap(false, Ordering::SeqCst) {
            if let Some(entered) = GATE_ENTERED.lock().unwrap().take() {
                entered.send(()).unwrap();
            }
            until_asleep(TEST_THREAD.load(Ordering::SeqCst), 1000);
        }
        self.0.trace(tracer);
    }
}
// SAFETY: the conservative defaults.
unsafe impl janitor::gc::TraceMeta for Gate {}

/// A self-loop whose `Drop` finishes only once `collect` has returned or the test thread is seen
/// parked (waiting in `collect`, as it must): a `collect` that returned without waiting for it
/// always reads it not dropped.
#[derive(Trace)]
struct SlowLoop {
    itself: GcCell<Option<Gc<SlowLoop>>>,
}

impl Drop for SlowLoop {
    fn drop(&mut self) {
        let test_thread = TEST_THREAD.load(Ordering::SeqCst);
        let mut asleep = 0;
        while asleep < 1000 && !COLLECT_RETURNED.load(Ordering::SeqCst) {
            asleep = if is_asleep(test_thread) {
                asleep + 1
            } else {
                0
            };
            std::thread::yield_now();
        }
        SLOW_LOOP_DROPPED.store(true, Ordering::SeqCst);
    }
}

#[test]
fn collect_during_an_automatic_collection_frees_what_that_collection_found() {
    let _serial = serial();
    TEST_THREAD.store(current_tid(), Ordering::SeqCst);
    let (entered_sender, entered) = mpsc::channel();
    *GATE_ENTERED.lock().unwrap() = Some(entered_sender);
    let node = Gc::new(SlowLoop {
        itself: GcCell::new(None),
    });
    *node.itself.borrow_mut() = Some(node.clone());
    drop(node); // garbage from here on
    let gate = Gc::new(Gate(GcCell::new(None)));
    GATE_ARMED.store(true, Ordering::SeqCst);
    let pressure = 64 << 20;
    let automatic = std::thread::spawn(move || {
        // Past the pressure budget: an automatic full collection, on this thread.
        add_memory_pressure(pressure).unwrap();
    });
    entered.recv().unwrap();
    // The automatic collection is tracing, with the turn; the loop was garbage before it began.
    collect();
    let dropped_when_collect_returned = SLOW_LOOP_DROPPED.load(Ordering::SeqCst);
    COLLECT_RETURNED.store(true, Ordering::SeqCst);
    automatic.join().unwrap();
    remove_memory_pressure(pressure).unwrap();
    drop(gate);
    assert!(
        dropped_when_collect_returned,
        "collect() returned while a cycle that was garbage when it was called was not dropped"
    );
}

/// Acyclic, held only by a garbage loop: freed while the loop's value drops, after the loop's
/// own `Drop` (queued by the drain, destroyed when it ends).
#[derive(Trace)]
struct PanicsWhenFreed;

impl Drop for PanicsWhenFreed {
    fn drop(&mut self) {
        panic!("a Drop that fails, freed by a garbage object's drop");
    }
}

#[derive(Trace)]
struct LoopOwningAPanic {
    itself: GcCell<Option<Gc<LoopOwningAPanic>>>,
    child: Option<Gc<PanicsWhenFreed>>,
}

#[test]
fn a_panic_in_what_a_garbage_drop_frees_does_not_stop_the_reclaimer() {
    let _serial = serial();
    set_finalizer_panic_handler(|_| FinalizerPanicAction::Continue);
    let node = Gc::new(LoopOwningAPanic {
        itself: GcCell::new(None),
        child: Some(Gc::new(PanicsWhenFreed)),
    });
    *node.itself.borrow_mut() = Some(node.clone());
    drop(node);
    allocate_until_a_collection();
    // The next automatic collection's garbage goes to the same reclaimer.
    let log = Arc::new(Log::default());
    garbage_loop(&log);
    allocate_until_a_collection();
    let (done, returned) = mpsc::channel();
    std::thread::spawn(move || {
        collect();
        let _ = done.send(());
    });
    returned
        .recv_timeout(Duration::from_secs(60))
        .expect("collect() never returned: the reclaimer thread is gone");
    assert_eq!(log.dropped.load(Ordering::SeqCst), 1);
}
