//! A random graph on the thread-local heap, mutated by one thread (on a 2 MiB stack) with the
//! user code the heap must survive: drops that allocate, finalizers that resurrect, drops and
//! finalizers that panic, deep chains, weak upgrades, collections of every generation at
//! random points, and the thread's exit with objects still held.
//!
//! Every node carries a canary derived from its id, checked on every access and poisoned when it
//! drops: a node freed while reachable shows up as a canary failure (or, under valgrind with
//! `JANITOR_GC_ALLOCATOR=system`, as an invalid read). At the end every node must have dropped
//! exactly once, and every node registered for finalization been finalized exactly once before.
//!
//! `JANITOR_STRESS_OPS` sets the number of random operations (default 50000; a valgrind run uses
//! fewer).

use janitor::gc::Trace;
use janitor::gc::unsync::{
    Finalize, Gc, GcCell, WeakGc, collect, collect_generation, suppress_finalize,
    wait_for_pending_finalizers,
};
use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

const CANARY: u64 = 0x5EED_CAFE_F00D_D00D;
const POISON: u64 = 0xDEAD_DEAD_DEAD_DEAD;
const SLOTS: usize = 64;

static CREATED: AtomicUsize = AtomicUsize::new(0);
static DROPPED: AtomicUsize = AtomicUsize::new(0);
static REGISTERED: AtomicUsize = AtomicUsize::new(0);
static FINALIZED: AtomicUsize = AtomicUsize::new(0);
static FAILURES: AtomicUsize = AtomicUsize::new(0);
/// Set when the mutating thread's body returned: from then on its thread-locals are destroyed,
/// and the objects that survive the heap's end are dropped without their finalizer (as .NET Core
/// runs no finalizers at exit).
static EXITING: AtomicBool = AtomicBool::new(false);

/// The payload of the panics the test raises on purpose.
const PLANNED: &str = "planned panic";

thread_local! {
    static RESURRECTED: RefCell<Vec<Gc<Node>>> = const { RefCell::new(Vec::new()) };
    /// Whether planned panics are on (off while the test tidies up at the end).
    static PANICS: Cell<bool> = const { Cell::new(true) };
}

#[derive(Trace)]
#[trace(unsync_finalize)]
struct Node {
    #[trace(skip)]
    id: u64,
    #[trace(skip)]
    canary: Cell<u64>,
    #[trace(skip)]
    registered: bool,
    #[trace(skip)]
    finalized: Cell<bool>,
    edges: GcCell<Vec<Gc<Node>>>,
    weak: GcCell<Option<WeakGc<Node>>>,
}

impl Node {
    fn new(id: u64) -> Gc<Node> {
        Self::make(id, !id.is_multiple_of(3))
    }

    /// A node whose finalizer is suppressed: deep chains are made of them, since a chain of
    /// finalizable objects is finalized one link per pass (each link holds the next until its
    /// finalizer ran, as on the shared heap).
    fn plain(id: u64) -> Gc<Node> {
        Self::make(id, false)
    }

    fn make(id: u64, registered: bool) -> Gc<Node> {
        // `Gc::new` may panic (a planned panic of a `Drop` its collection ran) after making the
        // object; the suppression below is then skipped.
        CREATED.fetch_add(1, Ordering::SeqCst);
        let node = Gc::new(Node {
            id,
            canary: Cell::new(CANARY ^ id),
            registered,
            finalized: Cell::new(false),
            edges: GcCell::new(Vec::new()),
            weak: GcCell::new(None),
        });
        if registered {
            REGISTERED.fetch_add(1, Ordering::SeqCst);
        } else {
            suppress_finalize(&node);
        }
        node
    }

    fn check(&self) {
        if self.canary.get() != CANARY ^ self.id {
            FAILURES.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl Finalize for Node {
    fn finalize(this: &Gc<Self>) {
        this.check();
        // A node whose `Gc::new` panicked (a `Drop` run by its automatic collection) is finalized
        // even if the test meant to suppress it: it was registered when allocated.
        if this.finalized.replace(true) {
            FAILURES.fetch_add(1, Ordering::SeqCst);
        }
        FINALIZED.fetch_add(1, Ordering::SeqCst);
        for edge in this.edges.borrow().iter() {
            edge.check();
        }
        if this.id.is_multiple_of(5) {
            // `try_with`: at the thread's exit the store may be gone already.
            let _ = RESURRECTED.try_with(|saved| saved.borrow_mut().push(this.clone()));
        }
        if this.id.is_multiple_of(11) && PANICS.get() && !std::thread::panicking() {
            panic!("{PLANNED}");
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.check();
        if self.registered && !self.finalized.get() && !EXITING.load(Ordering::SeqCst) {
            FAILURES.fetch_add(1, Ordering::SeqCst);
        }
        self.canary.set(POISON);
        DROPPED.fetch_add(1, Ordering::SeqCst);
        // Drops that allocate: a small cycle the next collections must find.
        if self.id.is_multiple_of(7) && self.id < u64::MAX / 2 {
            let debris = Node::new(self.id + u64::MAX / 2);
            debris.edges.borrow_mut().push(debris.clone());
        }
        // Not while unwinding: a second panic there aborts, as it would for any Rust value.
        if self.id.is_multiple_of(13) && PANICS.get() && !std::thread::panicking() {
            panic!("{PLANNED}");
        }
    }
}

/// xorshift64*: the test's own generator, seeded, so that a failure repeats.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }
}

/// Runs `operation`, letting planned panics through and nothing else.
fn tolerating_planned_panics(operation: impl FnOnce()) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(operation)) {
        let planned = payload
            .downcast_ref::<String>()
            .is_some_and(|message| message == PLANNED);
        if !planned {
            std::panic::resume_unwind(payload);
        }
    }
}

fn mutate(operations: usize) {
    let mut random = Random(0x9E37_79B9_7F4A_7C15);
    let mut slots: Vec<Option<Gc<Node>>> = (0..SLOTS).map(|_| None).collect();
    let mut next_id = 1_u64;
    for _ in 0..operations {
        let slot = random.below(SLOTS);
        let other = random.below(SLOTS);
        tolerating_planned_panics(|| match random.below(100) {
            0..=29 => {
                next_id += 1;
                slots[slot] = Some(Node::new(next_id));
            }
            30..=54 => {
                if let (Some(from), Some(to)) = (&slots[slot], &slots[other]) {
                    from.check();
                    let mut edges = from.edges.borrow_mut();
                    // A bounded fan-out keeps the live graph (and each collection) small.
                    if edges.len() < 4 {
                        edges.push(to.clone());
                    } else {
                        let index = (to.id as usize) % edges.len();
                        edges[index] = to.clone();
                    }
                }
            }
            55..=64 => {
                if let Some(node) = &slots[slot] {
                    node.check();
                    let taken = std::mem::take(&mut *node.edges.borrow_mut());
                    drop(taken);
                }
            }
            65..=74 => {
                if let (Some(from), Some(to)) = (&slots[slot], &slots[other]) {
                    *from.weak.borrow_mut() = Some(Gc::downgrade(to));
                }
                if let Some(node) = &slots[other] {
                    let target = node.weak.borrow().as_ref().and_then(WeakGc::upgrade);
                    if let Some(target) = target {
                        target.check();
                        for edge in target.edges.borrow().iter() {
                            edge.check();
                        }
                    }
                }
            }
            75..=84 => slots[slot] = None,
            85 => collect_generation(0),
            86 if random.below(4) == 0 => collect_generation(1),
            87 if random.below(16) == 0 => collect(),
            88..=94 => wait_for_pending_finalizers(),
            95 => RESURRECTED.with_borrow_mut(Vec::clear),
            96 if random.below(8) == 0 => {
                // A deep chain, dropped from its head: constant stack, or this overflows.
                next_id += 1;
                let mut head = Node::plain(next_id);
                for _ in 0..20_000 {
                    next_id += 1;
                    let link = Node::plain(next_id);
                    link.edges.borrow_mut().push(head);
                    head = link;
                }
                if random.below(2) == 0 {
                    // ...or a deep cycle, for the collector.
                    let tail = head.clone();
                    let mut last = head.clone();
                    loop {
                        let next = last.edges.borrow().first().cloned();
                        match next {
                            Some(next) => last = next,
                            None => break,
                        }
                    }
                    last.edges.borrow_mut().push(tail);
                }
                slots[slot] = Some(head);
            }
            _ => {
                // Hold a borrow across an allocation that may collect.
                if let Some(node) = &slots[slot] {
                    let mut edges = node.edges.borrow_mut();
                    next_id += 1;
                    let fresh = Node::new(next_id);
                    if edges.len() < 4 {
                        edges.push(fresh);
                    }
                }
            }
        });
    }
    // Leave some of the graph to the thread's exit, the rest to the tidy-up.
    PANICS.set(false);
    slots.truncate(SLOTS / 2);
    HELD.with_borrow_mut(|held| *held = slots);
}

thread_local! {
    /// What the thread still holds when it exits: destroyed after the heap ended (first used
    /// before the first allocation, and thread-local destructors run in reverse order of use).
    static HELD: RefCell<Vec<Option<Gc<Node>>>> = const { RefCell::new(Vec::new()) };
}

#[test]
fn a_random_graph_with_hostile_user_code_frees_every_node_once_after_finalizing_it() {
    let operations = std::env::var("JANITOR_STRESS_OPS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(50_000);
    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let planned = info
            .payload()
            .downcast_ref::<String>()
            .is_some_and(|message| message == PLANNED);
        if !planned {
            previous_hook(info);
        }
    }));
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            HELD.with_borrow(|_| {});
            mutate(operations);
            for _ in 0..4 {
                RESURRECTED.with_borrow_mut(Vec::clear);
                collect();
            }
            EXITING.store(true, Ordering::SeqCst);
        })
        .unwrap()
        .join()
        .unwrap();
    let created = CREATED.load(Ordering::SeqCst);
    assert!(created > operations / 4, "the test ran: {created} nodes");
    assert_eq!(
        FAILURES.load(Ordering::SeqCst),
        0,
        "canary or finalization failures"
    );
    assert_eq!(
        DROPPED.load(Ordering::SeqCst),
        created,
        "every node dropped once"
    );
    // Nodes whose `Gc::new` panicked are finalized without being counted as registered.
    assert!(FINALIZED.load(Ordering::SeqCst) >= REGISTERED.load(Ordering::SeqCst) / 2);
}
