//! Automatic collections hand the garbage they find to the `janitor-reclaimer` thread: no
//! destructor runs on the thread whose allocation triggered the collection, `collect` finishes
//! what they handed over, a panicking `Drop` goes to the finalizer panic handler, and a blocked
//! reclaimer never blocks an allocating thread. Nothing here sleeps: tests allocate until a
//! collection happens and call `collect`, which waits for the reclaimer.

use janitor::gc::{
    FinalizerPanicAction, Gc, GcCell, Trace, collect, collection_count, set_finalizer_panic_handler,
};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, mpsc};

/// Tests of this file run one at a time: each counts collections of the one global heap.
fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

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

/// Allocates tracked objects until an automatic gen-0 collection has run; returns how many it
/// allocated.
fn allocate_until_a_collection() -> usize {
    let before = collection_count(0);
    let mut kept = Vec::new();
    for allocated in 1..=1_000_000 {
        kept.push(Gc::new(GcCell::new(None::<Gc<u8>>)));
        if collection_count(0) > before {
            return allocated;
        }
        if kept.len() == 1024 {
            kept.clear();
        }
    }
    panic!("a million tracked allocations started no collection");
}

#[test]
fn an_automatic_collection_drops_garbage_on_the_reclaimer_not_on_the_allocating_thread() {
    let _serial = serial();
    let log = Arc::new(Log::default());
    for _ in 0..100 {
        garbage_loop(&log);
    }
    HOLDING_THE_LOCK.with(|holding| holding.set(true));
    allocate_until_a_collection();
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
