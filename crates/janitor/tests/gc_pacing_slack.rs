//! The pacer makes an allocation wait only when the heap grew well past its gen-0 budget since the
//! running examination began: a program whose young live data grows by a thousand objects while
//! another thread's examination runs goes on, even under the small budget an interpreter's heap
//! gets. (One test in this binary: the statistics it reads are the whole heap's.)

use janitor::gc::{Gc, GcCell, Trace, TraceMeta, Tracer, collect, stats};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

mod tracked_node;

use tracked_node::{Node, node};

/// A tracked object whose `Trace` holds the examination open until it is let go.
struct Blocker {
    cell: GcCell<Option<Gc<Node>>>,
    hold: AtomicBool,
    started: std::sync::Mutex<Option<mpsc::Sender<()>>>,
}

// SAFETY: reports the one `Gc` it owns, once; it only waits before doing so.
unsafe impl Trace for Blocker {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if let Some(started) = self.started.lock().unwrap().take() {
            started.send(()).unwrap();
        }
        while self.hold.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        self.cell.trace(tracer);
    }
}
// SAFETY: the conservative defaults.
unsafe impl TraceMeta for Blocker {}

/// Young objects that survive: a thousand and more, as a program's frames and caches.
const KEPT: usize = 1_200;

#[test]
fn young_data_that_grows_during_a_long_examination_does_not_make_allocations_wait() {
    // No collection has run in this process: the gen-0 budget is the small one an interpreter's
    // heap gets, 256 objects.
    let (started_tx, started_rx) = mpsc::channel();
    let blocker = Gc::new(Blocker {
        cell: GcCell::new(None),
        hold: AtomicBool::new(true),
        started: std::sync::Mutex::new(Some(started_tx)),
    });
    let collecting = std::thread::spawn(collect);
    started_rx.recv().unwrap();
    let waits = stats().collector_waits;
    let kept: Vec<Gc<Node>> = (0..KEPT).map(|_| node()).collect();
    let waited = stats().collector_waits - waits;
    blocker.hold.store(false, Ordering::SeqCst);
    collecting.join().unwrap();
    assert_eq!(
        waited, 0,
        "{KEPT} young objects kept during an examination made allocations wait"
    );
    drop(kept);
    drop(blocker);
    collect();
}
