//! Many threads mutate one random shared graph while other threads force collections.
//!
//! Every node carries a canary derived from its id, checked on every access and poisoned when
//! the node drops: a node freed while reachable shows up as a canary failure (or, under
//! valgrind, as an invalid read). At the end every node must have been freed exactly once.
//!
//! Nodes have a finalizer: most stay registered (some are suppressed at creation), some
//! resurrect themselves once, and mutators also reach nodes through weak references. Every
//! registered node must be finalized exactly once, before it is freed, never after; a canary
//! poisoned in a finalizer's object would mean it was freed while queued.
//!
//! `JANITOR_STRESS_MS` sets how long the mutators run (default 2000 ms; CI's valgrind run uses a
//! short setting).

use janitor::gc::{
    Finalize, Gc, GcCell, GcMutex, GcRwLock, Trace, WeakGc, collect, collect_generation,
    suppress_finalize, wait_for_pending_finalizers,
};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CANARY: u64 = 0x5EED_CAFE_F00D_D00D;
const MUTATORS: usize = 4;
const SLOTS: usize = 64;

static ALIVE: AtomicUsize = AtomicUsize::new(0);
static CREATED: AtomicUsize = AtomicUsize::new(0);
static CANARY_FAILURES: AtomicUsize = AtomicUsize::new(0);
static REGISTERED: AtomicUsize = AtomicUsize::new(0);
static FINALIZED: AtomicUsize = AtomicUsize::new(0);
static FINALIZER_FAILURES: AtomicUsize = AtomicUsize::new(0);
/// Nodes whose finalizer resurrected them.
static RESURRECTED: Mutex<Vec<Gc<Node>>> = Mutex::new(Vec::new());
/// Collections finished by the collector thread so far.
static COLLECTIONS: AtomicUsize = AtomicUsize::new(0);
/// Mutators keep going past their deadline until this many collections ran beside them, so that a
/// slow machine (or valgrind) cannot end the test before the collector raced them at all.
const MIN_COLLECTIONS: usize = 3;

#[derive(Trace)]
#[trace(finalize)]
struct Node {
    #[trace(skip)]
    id: u64,
    #[trace(skip)]
    canary: u64,
    /// Registered at creation and not suppressed: must be finalized before it drops.
    #[trace(skip)]
    registered: bool,
    #[trace(skip)]
    finalized: AtomicBool,
    edges: GcMutex<Vec<Gc<Node>>>,
    cell: GcCell<Option<Gc<Node>>>,
    shared: GcRwLock<Option<Gc<Node>>>,
}

impl Node {
    fn new(id: u64) -> Gc<Node> {
        ALIVE.fetch_add(1, Ordering::SeqCst);
        CREATED.fetch_add(1, Ordering::SeqCst);
        let registered = !id.is_multiple_of(4);
        let node = Gc::new(Node {
            id,
            canary: CANARY ^ id,
            registered,
            finalized: AtomicBool::new(false),
            edges: GcMutex::new(Vec::new()),
            cell: GcCell::new(None),
            shared: GcRwLock::new(None),
        });
        if registered {
            REGISTERED.fetch_add(1, Ordering::SeqCst);
        } else {
            suppress_finalize(&node);
        }
        node
    }

    fn check(&self) {
        if self.canary != CANARY ^ self.id {
            CANARY_FAILURES.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl Finalize for Node {
    fn finalize(this: &Gc<Self>) {
        this.check();
        for edge in this.edges.lock().iter() {
            edge.check();
        }
        if !this.registered || this.finalized.swap(true, Ordering::SeqCst) {
            FINALIZER_FAILURES.fetch_add(1, Ordering::SeqCst);
        }
        FINALIZED.fetch_add(1, Ordering::SeqCst);
        if this.id % 8 == 1 {
            RESURRECTED.lock().unwrap().push(this.clone());
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.check();
        if self.registered && !self.finalized.load(Ordering::SeqCst) {
            FINALIZER_FAILURES.fetch_add(1, Ordering::SeqCst);
        }
        self.canary = 0;
        ALIVE.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A xorshift generator: enough randomness for choosing operations, no dependency.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }
}

/// Roots outside the heap, shared by the mutators: they hand nodes from thread to thread.
type Slots = Arc<Vec<Mutex<Option<Gc<Node>>>>>;

fn take_root(slots: &Slots, random: &mut Random) -> Option<Gc<Node>> {
    let node = slots[random.below(SLOTS)].lock().unwrap().clone();
    if let Some(node) = &node {
        node.check();
    }
    node
}

/// Follows a few random edges from `node`, checking every canary on the way.
fn walk(mut node: Gc<Node>, random: &mut Random) -> Gc<Node> {
    for _ in 0..random.below(6) {
        node.check();
        let next = match random.below(3) {
            0 => {
                let edges = node.edges.lock();
                if edges.is_empty() {
                    None
                } else {
                    Some(edges[random.below(edges.len())].clone())
                }
            }
            1 => node.cell.try_borrow().ok().and_then(|slot| slot.clone()),
            _ => node.shared.read().clone(),
        };
        match next {
            Some(next) => node = next,
            None => break,
        }
    }
    node.check();
    node
}

fn mutate(slots: Slots, seed: u64, deadline: Instant) {
    let mut random = Random(seed);
    let mut held: Vec<Gc<Node>> = Vec::new();
    let mut weak: Vec<WeakGc<Node>> = Vec::new();
    let mut next_id = seed << 32;
    while Instant::now() < deadline || COLLECTIONS.load(Ordering::SeqCst) < MIN_COLLECTIONS {
        match random.below(10) {
            0 | 1 => {
                next_id += 1;
                let node = Node::new(next_id);
                *slots[random.below(SLOTS)].lock().unwrap() = Some(node.clone());
                held.push(node);
            }
            2 | 3 => {
                if let (Some(from), Some(to)) = (
                    take_root(&slots, &mut random),
                    take_root(&slots, &mut random),
                ) {
                    let (from, to) = (walk(from, &mut random), walk(to, &mut random));
                    match random.below(3) {
                        0 => from.edges.lock().push(to),
                        1 => {
                            if let Ok(mut slot) = from.cell.try_borrow_mut() {
                                *slot = Some(to);
                            }
                        }
                        _ => *from.shared.write() = Some(to),
                    }
                }
            }
            4 => {
                if let Some(node) = take_root(&slots, &mut random) {
                    let node = walk(node, &mut random);
                    match random.below(3) {
                        0 => drop(node.edges.lock().pop()),
                        1 => drop(
                            node.cell
                                .try_borrow_mut()
                                .ok()
                                .and_then(|mut slot| slot.take()),
                        ),
                        _ => drop(node.shared.write().take()),
                    }
                }
            }
            5 => {
                // Moves a Gc out of a GcMutex field into this thread, and another one in.
                if let Some(node) = take_root(&slots, &mut random) {
                    let moved = node.edges.lock().pop();
                    if let Some(moved) = moved {
                        moved.check();
                        held.push(moved);
                    }
                    if let Some(back) = held.pop() {
                        node.edges.lock().push(back);
                    }
                }
            }
            6 => {
                if let Some(node) = take_root(&slots, &mut random) {
                    let node = walk(node, &mut random);
                    if random.below(2) == 0 {
                        weak.push(Gc::downgrade(&node));
                    } else {
                        weak.push(Gc::downgrade_long(&node));
                    }
                    held.push(node);
                }
                if weak.len() > 64 {
                    weak.drain(..32);
                }
            }
            7 => {
                if !held.is_empty() {
                    let index = random.below(held.len());
                    held.swap_remove(index).check();
                }
            }
            8 => drop(slots[random.below(SLOTS)].lock().unwrap().take()),
            9 if !weak.is_empty() => {
                if let Some(node) = weak[random.below(weak.len())].upgrade() {
                    held.push(walk(node, &mut random));
                }
            }
            _ => {
                for node in &held {
                    node.check();
                }
                if held.len() > 32 {
                    held.drain(..16);
                }
            }
        }
    }
}

#[test]
fn mutators_and_collectors_never_free_a_reachable_node_and_free_every_node_at_the_end() {
    let run_for = std::env::var("JANITOR_STRESS_MS")
        .ok()
        .and_then(|value| value.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or(Duration::from_millis(2000));
    let deadline = Instant::now() + run_for;
    let slots: Slots = Arc::new((0..SLOTS).map(|_| Mutex::new(None)).collect());
    let mutators: Vec<_> = (0..MUTATORS as u64)
        .map(|index| {
            let slots = slots.clone();
            std::thread::spawn(move || mutate(slots, 0x9E37_79B9 + index * 7919, deadline))
        })
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let collector = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut random = Random(42);
            while !stop.load(Ordering::SeqCst) {
                match random.below(3) {
                    0 => collect(),
                    generation => collect_generation(generation as u8 - 1),
                }
                COLLECTIONS.fetch_add(1, Ordering::SeqCst);
                std::thread::yield_now();
            }
        })
    };
    for mutator in mutators {
        mutator.join().unwrap();
    }
    stop.store(true, Ordering::SeqCst);
    collector.join().unwrap();
    for slot in slots.iter() {
        slot.lock().unwrap().take();
    }
    // Garbage cycles are queued by a collection, finalized, then freed by the next one; a
    // finalized object's drop can queue what it alone held, one level per round; the
    // resurrected come back once, unregistered, and go for good. Rounds go on while they make
    // progress.
    loop {
        let before = (
            ALIVE.load(Ordering::SeqCst),
            FINALIZED.load(Ordering::SeqCst),
        );
        collect();
        wait_for_pending_finalizers();
        RESURRECTED.lock().unwrap().clear();
        if (
            ALIVE.load(Ordering::SeqCst),
            FINALIZED.load(Ordering::SeqCst),
        ) == before
        {
            break;
        }
    }
    assert!(COLLECTIONS.load(Ordering::SeqCst) >= MIN_COLLECTIONS);
    assert_eq!(
        FINALIZER_FAILURES.load(Ordering::SeqCst),
        0,
        "a node was finalized twice, finalized while suppressed, or freed unfinalized"
    );
    assert_eq!(
        FINALIZED.load(Ordering::SeqCst),
        REGISTERED.load(Ordering::SeqCst),
        "every registered node is finalized exactly once"
    );
    assert!(CREATED.load(Ordering::SeqCst) > 0);
    assert_eq!(
        CANARY_FAILURES.load(Ordering::SeqCst),
        0,
        "a node was used after it was freed"
    );
    assert_eq!(
        ALIVE.load(Ordering::SeqCst),
        0,
        "nodes left alive after every root was dropped"
    );
}
