//! An examination frees, as it goes, the objects that die while it holds the heap lock: a thread
//! that drops and allocates during a long collection finds their memory given back before the
//! collection ends, and is not paced for memory it no longer uses.
//!
//! The collection is held at two points by a hand-written `trace` that waits for the test: at the
//! first object it traces, and at the last. Between the two it traces thousands of objects, and
//! the objects that died meanwhile must be freed by then; one that lives on was not examined, and
//! stays in the youngest generation. `stats` and `memory_info`, read while the collection is held,
//! answer without waiting for it. No sleep: each step waits for a gate the other side opens.

mod support;

use janitor::gc::{Gc, GcCell, Trace, TraceMeta, Tracer, collect, generation, total_memory};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;
use support::Gate;

/// The objects the held collection examines.
const EXAMINED: usize = 5_000;
/// The objects that die while it is held, each over a KiB.
const DYING: usize = 4_000;

/// Long enough that only a read waiting for the held collection reaches it.
const DEADLINE: Duration = Duration::from_secs(60);

static ARMED: AtomicBool = AtomicBool::new(false);
static TRACED: AtomicUsize = AtomicUsize::new(0);
static FIRST_TRACED: Gate = Gate::new();
static RELEASE_FIRST: Gate = Gate::new();
static LAST_TRACED: Gate = Gate::new();
static RELEASE_LAST: Gate = Gate::new();

/// A tracked object whose `trace` holds the collection at the first and the last of the
/// [`EXAMINED`] objects it traces once armed.
struct Holding {
    edge: GcCell<Option<Gc<Holding>>>,
}

// SAFETY: traces its one field, which it owns.
unsafe impl Trace for Holding {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if ARMED.load(Ordering::SeqCst) {
            let traced = TRACED.fetch_add(1, Ordering::SeqCst) + 1;
            if traced == 1 {
                FIRST_TRACED.open();
                RELEASE_FIRST.wait();
            }
            if traced == EXAMINED {
                LAST_TRACED.open();
                RELEASE_LAST.wait();
            }
        }
        self.edge.trace(tracer);
    }
}

// SAFETY: the constants describe the one field: a `Gc` behind a cell.
unsafe impl TraceMeta for Holding {}

/// A tracked object of over a KiB.
#[derive(Trace)]
struct Dying {
    edge: GcCell<Option<Gc<Dying>>>,
    #[trace(skip)]
    payload: [u64; 160],
}

#[test]
fn beside_a_held_examination_the_dead_are_freed_newborns_stay_young_and_stats_answer() {
    let examined: Vec<Gc<Holding>> = (0..EXAMINED)
        .map(|_| {
            Gc::new(Holding {
                edge: GcCell::new(None),
            })
        })
        .collect();
    // Settled in the oldest generation, which only a full collection examines.
    collect();
    collect();
    ARMED.store(true, Ordering::SeqCst);
    let collector = std::thread::spawn(collect);
    FIRST_TRACED.wait();
    let (sender, read) = mpsc::channel();
    std::thread::spawn(move || {
        sender
            .send((janitor::gc::stats(), janitor::gc::memory_info()))
            .unwrap()
    });
    let (stats, memory) = read
        .recv_timeout(DEADLINE)
        .expect("stats and memory_info waited for the examination");
    assert!(stats.tracked_objects >= EXAMINED, "{stats}");
    assert!(memory.generations[2].objects >= EXAMINED);
    let before = total_memory();
    for index in 0..DYING {
        let dying = Gc::new(Dying {
            edge: GcCell::new(None),
            payload: [index as u64; 160],
        });
        assert_eq!(dying.payload[0], index as u64);
    }
    let dead = total_memory();
    let young = Gc::new(Dying {
        edge: GcCell::new(None),
        payload: [7; 160],
    });
    RELEASE_FIRST.open();
    LAST_TRACED.wait();
    let freed = dead.saturating_sub(total_memory());
    RELEASE_LAST.open();
    collector.join().unwrap();
    drop(examined);
    assert_eq!(
        generation(&young),
        0,
        "linked while the collection examined, not examined by it: not promoted"
    );
    let dying_bytes = DYING * std::mem::size_of::<Dying>();
    // Allocated while the collection held the lock, and not freed then: it could not unlink them.
    assert!(
        dead >= before + dying_bytes / 2,
        "the dying objects' memory was counted: {before} -> {dead} bytes"
    );
    // Freed between the first and the last trace; a thread's unflushed count drifts by at most
    // 256 KiB, and a few objects wait in the test thread's own batch.
    assert!(
        freed >= dying_bytes / 2,
        "{freed} bytes of {dying_bytes} freed while the examination ran"
    );
}
