//! `cycle-churn`: random mutation of a graph in which cycles keep forming and becoming garbage.
//!
//! Shape: `SLOTS` slots (10,000) each hold a node; a node holds a vector of pointers to nodes, behind
//! its crate's interior mutability (`RefCell`, `Mutex` where values must be `Sync`, `GcCell`,
//! `RefLock`). A seeded xorshift generator drives `OPERATIONS` (1,000,000 full, 200,000 quick)
//! operations, the same sequence for every implementation: *link* (30%: push a pointer to slot `b`'s
//! node onto slot `a`'s node), *unlink* (20%: pop from `a`'s node), *retarget* (25%: overwrite a random
//! edge of `a`'s node with a pointer to `b`'s, or push when it has none), *renew* (25%: replace slot
//! `a`'s node by a fresh one). At the end the slots are dropped and the GC crates collect once; that
//! collection is part of the time.
//!
//! What it measures: the cost of reclaiming cyclic garbage as it appears, with each collector run when
//! its own policy says so (automatically for janitor, `gc`, `dumpster`, `rust-cc`; `gc-arena` pays its
//! allocation debt after every renewal). `rc` and `arc` cannot reclaim cycles: their rows are marked
//! "leaks cycles" and report how many nodes were never dropped (counted by a `Drop` impl). The GC
//! crates are checked the same way: a node they fail to reclaim appears in the note. `arena` frees
//! nothing before the end (its peak memory shows what that costs); `box` has no shared pointers and
//! cannot express the workload.
//!
//! Checksum: the sum of the touched node's edge count after every link, unlink and retarget, plus the
//! number of renewals.

use crate::harness::{Case, Sample, Scale, Workload};

/// The sizes of one run (of one stream, in the multi-threaded workloads that replay it).
#[derive(Clone, Copy, Debug)]
pub(super) struct Sizes {
    pub(super) slots: usize,
    pub(super) operations: usize,
}

/// The seed of the operation sequence; any fixed value works.
const SEED: u64 = 0x9E37_79B9_7F4A_7C15;

/// One random operation on the slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Operation {
    Link { from: usize, to: usize },
    Unlink { from: usize },
    Retarget { from: usize, pick: usize, to: usize },
    Renew { slot: usize },
}

/// The operation sequence: Marsaglia's xorshift64, enough for picking slots evenly.
pub(super) struct Operations {
    state: u64,
    remaining: usize,
    slots: usize,
}

impl Operations {
    fn new(sizes: Sizes) -> Operations {
        Operations::stream(0, sizes)
    }

    /// The `index`-th of several independent sequences (the multi-threaded workloads give each
    /// stream its own); stream 0 is this workload's.
    pub(super) fn stream(index: u64, sizes: Sizes) -> Operations {
        Operations {
            // Multiplying by an odd constant spreads neighbouring indices over the whole word;
            // the state must not be zero for xorshift, which a test checks for the streams used.
            state: SEED ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03),
            remaining: sizes.operations,
            slots: sizes.slots,
        }
    }

    fn next_u64(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state
    }

    fn slot(&mut self) -> usize {
        (self.next_u64() % self.slots as u64) as usize
    }
}

impl Iterator for Operations {
    type Item = Operation;

    fn next(&mut self) -> Option<Operation> {
        self.remaining = self.remaining.checked_sub(1)?;
        let kind = self.next_u64() % 100;
        let from = self.slot();
        Some(match kind {
            0..30 => Operation::Link {
                from,
                to: self.slot(),
            },
            30..50 => Operation::Unlink { from },
            50..75 => Operation::Retarget {
                from,
                pick: self.next_u64() as usize,
                to: self.slot(),
            },
            _ => Operation::Renew { slot: from },
        })
    }
}

/// How many nodes a run created and how many were never dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Reclaimed {
    pub(super) created: u64,
    pub(super) never_dropped: u64,
}

/// One implementation's slots and nodes.
trait Graph {
    /// Pushes a pointer to `to`'s node onto `from`'s node; returns its new edge count.
    fn link(&mut self, from: usize, to: usize) -> usize;
    /// Pops an edge of `from`'s node, if any; returns its new edge count.
    fn unlink(&mut self, from: usize) -> usize;
    /// Overwrites edge `pick % len` of `from`'s node with a pointer to `to`'s (pushes when it has no
    /// edge); returns its edge count.
    fn retarget(&mut self, from: usize, pick: usize, to: usize) -> usize;
    /// Replaces `slot`'s node by a fresh one.
    fn renew(&mut self, slot: usize);
    /// Drops the slots, collects once, and counts what was never dropped (`None` where nodes are not
    /// dropped one by one).
    fn finish(self) -> Option<Reclaimed>;
}

/// Applies the operation sequence to `graph`; returns the checksum and the final count.
fn program(mut graph: impl Graph, sizes: Sizes) -> (u64, Option<Reclaimed>) {
    let mut checksum = 0u64;
    for operation in Operations::new(sizes) {
        checksum += match operation {
            Operation::Link { from, to } => graph.link(from, to) as u64,
            Operation::Unlink { from } => graph.unlink(from) as u64,
            Operation::Retarget { from, pick, to } => graph.retarget(from, pick, to) as u64,
            Operation::Renew { slot } => {
                graph.renew(slot);
                1
            }
        };
    }
    (checksum, graph.finish())
}

/// What an implementation is expected to reclaim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Expect {
    /// Reference counts alone: cyclic garbage is never freed.
    LeaksCycles,
    /// A collector: everything is freed by the end.
    ReclaimsCycles,
}

/// Times `run` (a whole program: build, operations, finish) and turns its count into the row's note.
fn sample(expect: Expect, run: impl FnOnce() -> (u64, Option<Reclaimed>)) -> Sample {
    let mut reclaimed = None;
    let sample = Sample::timing(|| {
        let (checksum, count) = run();
        reclaimed = count;
        checksum
    });
    noted(sample, expect, reclaimed, "nodes")
}

/// `sample` with a note when objects (`what`: "nodes", ...) were never dropped, or when nothing
/// is freed before the end.
pub(super) fn noted(
    sample: Sample,
    expect: Expect,
    reclaimed: Option<Reclaimed>,
    what: &str,
) -> Sample {
    match (expect, reclaimed) {
        (
            Expect::LeaksCycles,
            Some(Reclaimed {
                created,
                never_dropped,
            }),
        ) => sample.noted(format!(
            "leaks cycles: {never_dropped} of {created} {what} never dropped"
        )),
        (
            Expect::ReclaimsCycles,
            Some(Reclaimed {
                created,
                never_dropped,
            }),
        ) if never_dropped > 0 => sample.noted(format!(
            "{never_dropped} of {created} {what} not reclaimed by the final collection"
        )),
        (_, Some(_)) => sample,
        (_, None) => sample.noted("frees nothing before the end"),
    }
}

/// The workload at `scale`, with one case per implementation that has shared pointers.
///
/// ```
/// use janitor_bench::harness::{measure, Scale};
/// let workload = janitor_bench::workloads::cycle_churn::workload(Scale::Smoke);
/// let measured = measure(&workload, 1, |_, _| {}).unwrap();
/// let rc = measured.rows.iter().find(|row| row.implementation == "rc").unwrap();
/// assert!(rc.note.as_deref().unwrap().starts_with("leaks cycles"));
/// ```
pub fn workload(scale: Scale) -> Workload {
    let sizes = match scale {
        Scale::Smoke => Sizes {
            slots: 500,
            operations: 5_000,
        },
        Scale::Quick => Sizes {
            slots: 10_000,
            operations: 200_000,
        },
        Scale::Full => Sizes {
            slots: 10_000,
            operations: 1_000_000,
        },
    };
    fn case<G: Graph + 'static>(
        name: &'static str,
        sizes: Sizes,
        expect: Expect,
        make: fn(usize) -> G,
    ) -> Case {
        Case::new(name, move || {
            sample(expect, || program(make(sizes.slots), sizes))
        })
    }
    use Expect::{LeaksCycles, ReclaimsCycles};
    Workload {
        name: "cycle-churn",
        baseline: "janitor",
        cases: vec![
            case("janitor", sizes, ReclaimsCycles, janitor_heap::Graph::new),
            case(
                "janitor-unsync",
                sizes,
                ReclaimsCycles,
                janitor_unsync_heap::Graph::new,
            ),
            case("rc", sizes, LeaksCycles, rc::Graph::new),
            case("arc", sizes, LeaksCycles, arc::Graph::new),
            Case::new("arena", move || {
                sample(ReclaimsCycles, || {
                    let arena = bumpalo::Bump::new();
                    program(arena::Graph::new(sizes.slots, &arena), sizes)
                })
            }),
            case("gc", sizes, ReclaimsCycles, gc_crate::Graph::new),
            case(
                "dumpster-sync",
                sizes,
                ReclaimsCycles,
                dumpster_sync::Graph::new,
            ),
            case(
                "dumpster-unsync",
                sizes,
                ReclaimsCycles,
                dumpster_unsync::Graph::new,
            ),
            case(
                "gc-arena",
                sizes,
                ReclaimsCycles,
                gc_arena_crate::Graph::new,
            ),
            case("rust-cc", sizes, ReclaimsCycles, rust_cc_crate::Graph::new),
        ],
        absent: vec!["box"],
    }
}

/// Counts nodes created and dropped by one implementation; each module has its own pair, reset when
/// its graph is built.
pub(super) struct Tally {
    created: std::sync::atomic::AtomicU64,
    dropped: std::sync::atomic::AtomicU64,
}

impl Tally {
    pub(super) const fn new() -> Tally {
        Tally {
            created: std::sync::atomic::AtomicU64::new(0),
            dropped: std::sync::atomic::AtomicU64::new(0),
        }
    }

    pub(super) fn reset(&self) {
        self.created.store(0, std::sync::atomic::Ordering::Relaxed);
        self.dropped.store(0, std::sync::atomic::Ordering::Relaxed);
    }

    pub(super) fn created(&self) {
        self.created
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    pub(super) fn dropped(&self) {
        self.dropped
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    pub(super) fn count(&self) -> Reclaimed {
        let created = self.created.load(std::sync::atomic::Ordering::Relaxed);
        let dropped = self.dropped.load(std::sync::atomic::Ordering::Relaxed);
        Reclaimed {
            created,
            never_dropped: created.saturating_sub(dropped),
        }
    }
}

/// janitor: edges behind `GcCell`; the heap collects when its generation budgets say so, and once
/// more (a full collection) at the end.
mod janitor_heap {
    use janitor::gc::{Gc, GcCell, Trace};

    use super::{Reclaimed, Tally};

    static TALLY: Tally = Tally::new();

    #[derive(Trace)]
    struct Node {
        edges: GcCell<Vec<Gc<Node>>>,
    }

    impl Drop for Node {
        fn drop(&mut self) {
            TALLY.dropped();
        }
    }

    fn new_node() -> Gc<Node> {
        TALLY.created();
        Gc::new(Node {
            edges: GcCell::new(Vec::new()),
        })
    }

    pub(super) struct Graph {
        slots: Vec<Gc<Node>>,
    }

    impl Graph {
        pub(super) fn new(slots: usize) -> Graph {
            TALLY.reset();
            Graph {
                slots: (0..slots).map(|_| new_node()).collect(),
            }
        }
    }

    impl super::Graph for Graph {
        fn link(&mut self, from: usize, to: usize) -> usize {
            let target = self.slots[to].clone();
            let mut edges = self.slots[from].edges.borrow_mut();
            edges.push(target);
            edges.len()
        }

        fn unlink(&mut self, from: usize) -> usize {
            let mut edges = self.slots[from].edges.borrow_mut();
            let popped = edges.pop();
            let len = edges.len();
            drop(edges);
            drop(popped);
            len
        }

        fn retarget(&mut self, from: usize, pick: usize, to: usize) -> usize {
            let target = self.slots[to].clone();
            let mut edges = self.slots[from].edges.borrow_mut();
            let len = edges.len();
            if len == 0 {
                edges.push(target);
                return 1;
            }
            let old = std::mem::replace(&mut edges[pick % len], target);
            drop(edges);
            drop(old);
            len
        }

        fn renew(&mut self, slot: usize) {
            self.slots[slot] = new_node();
        }

        fn finish(self) -> Option<Reclaimed> {
            drop(self);
            janitor::gc::collect();
            Some(TALLY.count())
        }
    }
}

/// janitor's thread-local heap (`janitor::gc::unsync`): edges behind its `GcCell` (a `RefCell`);
/// the thread's heap collects when its budget says so, and once more at the end.
mod janitor_unsync_heap {
    use janitor::gc::Trace;
    use janitor::gc::unsync::{Gc, GcCell};

    use super::{Reclaimed, Tally};

    static TALLY: Tally = Tally::new();

    #[derive(Trace)]
    struct Node {
        edges: GcCell<Vec<Gc<Node>>>,
    }

    impl Drop for Node {
        fn drop(&mut self) {
            TALLY.dropped();
        }
    }

    fn new_node() -> Gc<Node> {
        TALLY.created();
        Gc::new(Node {
            edges: GcCell::new(Vec::new()),
        })
    }

    pub(super) struct Graph {
        slots: Vec<Gc<Node>>,
    }

    impl Graph {
        pub(super) fn new(slots: usize) -> Graph {
            TALLY.reset();
            Graph {
                slots: (0..slots).map(|_| new_node()).collect(),
            }
        }
    }

    impl super::Graph for Graph {
        fn link(&mut self, from: usize, to: usize) -> usize {
            let target = self.slots[to].clone();
            let mut edges = self.slots[from].edges.borrow_mut();
            edges.push(target);
            edges.len()
        }

        fn unlink(&mut self, from: usize) -> usize {
            let mut edges = self.slots[from].edges.borrow_mut();
            let popped = edges.pop();
            let len = edges.len();
            drop(edges);
            drop(popped);
            len
        }

        fn retarget(&mut self, from: usize, pick: usize, to: usize) -> usize {
            let target = self.slots[to].clone();
            let mut edges = self.slots[from].edges.borrow_mut();
            let len = edges.len();
            if len == 0 {
                edges.push(target);
                return 1;
            }
            let old = std::mem::replace(&mut edges[pick % len], target);
            drop(edges);
            drop(old);
            len
        }

        fn renew(&mut self, slot: usize) {
            self.slots[slot] = new_node();
        }

        fn finish(self) -> Option<Reclaimed> {
            drop(self);
            janitor::gc::unsync::collect();
            Some(TALLY.count())
        }
    }
}

/// Non-atomic reference counts: cyclic garbage is never dropped.
mod rc {
    use std::cell::RefCell;
    use std::rc::Rc;

    use super::{Reclaimed, Tally};

    static TALLY: Tally = Tally::new();

    struct Node {
        edges: RefCell<Vec<Rc<Node>>>,
    }

    impl Drop for Node {
        fn drop(&mut self) {
            TALLY.dropped();
        }
    }

    fn new_node() -> Rc<Node> {
        TALLY.created();
        Rc::new(Node {
            edges: RefCell::default(),
        })
    }

    pub(super) struct Graph {
        slots: Vec<Rc<Node>>,
    }

    impl Graph {
        pub(super) fn new(slots: usize) -> Graph {
            TALLY.reset();
            Graph {
                slots: (0..slots).map(|_| new_node()).collect(),
            }
        }
    }

    impl super::Graph for Graph {
        fn link(&mut self, from: usize, to: usize) -> usize {
            let target = self.slots[to].clone();
            let mut edges = self.slots[from].edges.borrow_mut();
            edges.push(target);
            edges.len()
        }

        fn unlink(&mut self, from: usize) -> usize {
            let mut edges = self.slots[from].edges.borrow_mut();
            let popped = edges.pop();
            let len = edges.len();
            drop(edges);
            drop(popped);
            len
        }

        fn retarget(&mut self, from: usize, pick: usize, to: usize) -> usize {
            let target = self.slots[to].clone();
            let mut edges = self.slots[from].edges.borrow_mut();
            let len = edges.len();
            if len == 0 {
                edges.push(target);
                return 1;
            }
            let old = std::mem::replace(&mut edges[pick % len], target);
            drop(edges);
            drop(old);
            len
        }

        fn renew(&mut self, slot: usize) {
            self.slots[slot] = new_node();
        }

        fn finish(self) -> Option<Reclaimed> {
            drop(self);
            Some(TALLY.count())
        }
    }
}

/// Atomic reference counts, edges behind `Mutex`: cyclic garbage is never dropped.
mod arc {
    use std::sync::{Arc, Mutex, MutexGuard};

    use super::{Reclaimed, Tally};

    static TALLY: Tally = Tally::new();

    struct Node {
        edges: Mutex<Vec<Arc<Node>>>,
    }

    impl Node {
        fn edges(&self) -> MutexGuard<'_, Vec<Arc<Node>>> {
            self.edges
                .lock()
                .expect("no benchmark code panics while holding a node's lock")
        }
    }

    impl Drop for Node {
        fn drop(&mut self) {
            TALLY.dropped();
        }
    }

    fn new_node() -> Arc<Node> {
        TALLY.created();
        Arc::new(Node {
            edges: Mutex::default(),
        })
    }

    pub(super) struct Graph {
        slots: Vec<Arc<Node>>,
    }

    impl Graph {
        pub(super) fn new(slots: usize) -> Graph {
            TALLY.reset();
            Graph {
                slots: (0..slots).map(|_| new_node()).collect(),
            }
        }
    }

    impl super::Graph for Graph {
        fn link(&mut self, from: usize, to: usize) -> usize {
            let target = self.slots[to].clone();
            let mut edges = self.slots[from].edges();
            edges.push(target);
            edges.len()
        }

        fn unlink(&mut self, from: usize) -> usize {
            let mut edges = self.slots[from].edges();
            let popped = edges.pop();
            let len = edges.len();
            drop(edges);
            drop(popped);
            len
        }

        fn retarget(&mut self, from: usize, pick: usize, to: usize) -> usize {
            let target = self.slots[to].clone();
            let mut edges = self.slots[from].edges();
            let len = edges.len();
            if len == 0 {
                edges.push(target);
                return 1;
            }
            let old = std::mem::replace(&mut edges[pick % len], target);
            drop(edges);
            drop(old);
            len
        }

        fn renew(&mut self, slot: usize) {
            self.slots[slot] = new_node();
        }

        fn finish(self) -> Option<Reclaimed> {
            drop(self);
            Some(TALLY.count())
        }
    }
}

/// Bump allocation: nodes and their edge vectors live in one arena until it is dropped at the end
/// (bumpalo runs no destructors, so nothing is counted).
mod arena {
    use std::cell::RefCell;

    use bumpalo::Bump;
    use bumpalo::collections::Vec as ArenaVec;

    use super::Reclaimed;

    struct Node<'a> {
        edges: RefCell<ArenaVec<'a, &'a Node<'a>>>,
    }

    pub(super) struct Graph<'a> {
        arena: &'a Bump,
        slots: Vec<&'a Node<'a>>,
    }

    impl<'a> Graph<'a> {
        pub(super) fn new(slots: usize, arena: &'a Bump) -> Graph<'a> {
            let mut graph = Graph {
                arena,
                slots: Vec::with_capacity(slots),
            };
            for _ in 0..slots {
                let node = graph.new_node();
                graph.slots.push(node);
            }
            graph
        }

        fn new_node(&self) -> &'a Node<'a> {
            self.arena.alloc(Node {
                edges: RefCell::new(ArenaVec::new_in(self.arena)),
            })
        }
    }

    impl super::Graph for Graph<'_> {
        fn link(&mut self, from: usize, to: usize) -> usize {
            let mut edges = self.slots[from].edges.borrow_mut();
            edges.push(self.slots[to]);
            edges.len()
        }

        fn unlink(&mut self, from: usize) -> usize {
            let mut edges = self.slots[from].edges.borrow_mut();
            edges.pop();
            edges.len()
        }

        fn retarget(&mut self, from: usize, pick: usize, to: usize) -> usize {
            let mut edges = self.slots[from].edges.borrow_mut();
            let len = edges.len();
            if len == 0 {
                edges.push(self.slots[to]);
                return 1;
            }
            edges[pick % len] = self.slots[to];
            len
        }

        fn renew(&mut self, slot: usize) {
            self.slots[slot] = self.new_node();
        }

        fn finish(self) -> Option<Reclaimed> {
            None
        }
    }
}

/// The `gc` crate: edges behind `GcCell`; it collects when its allocation threshold is crossed. Its
/// `Trace` derive owns `Drop`, so nodes are counted in `Finalize`, which it runs once for every
/// object it reclaims.
// gc's derives (built on an old synstructure) put their impls inside a constant.
#[allow(non_local_definitions)]
mod gc_crate {
    use gc::{Finalize, Gc, GcCell, Trace};

    use super::{Reclaimed, Tally};

    static TALLY: Tally = Tally::new();

    #[derive(Trace)]
    struct Node {
        edges: GcCell<Vec<Gc<Node>>>,
    }

    impl Finalize for Node {
        fn finalize(&self) {
            TALLY.dropped();
        }
    }

    fn new_node() -> Gc<Node> {
        TALLY.created();
        Gc::new(Node {
            edges: GcCell::new(Vec::new()),
        })
    }

    pub(super) struct Graph {
        slots: Vec<Gc<Node>>,
    }

    impl Graph {
        pub(super) fn new(slots: usize) -> Graph {
            TALLY.reset();
            Graph {
                slots: (0..slots).map(|_| new_node()).collect(),
            }
        }
    }

    impl super::Graph for Graph {
        fn link(&mut self, from: usize, to: usize) -> usize {
            let target = self.slots[to].clone();
            let mut edges = self.slots[from].edges.borrow_mut();
            edges.push(target);
            edges.len()
        }

        fn unlink(&mut self, from: usize) -> usize {
            let mut edges = self.slots[from].edges.borrow_mut();
            let popped = edges.pop();
            let len = edges.len();
            drop(edges);
            drop(popped);
            len
        }

        fn retarget(&mut self, from: usize, pick: usize, to: usize) -> usize {
            let target = self.slots[to].clone();
            let mut edges = self.slots[from].edges.borrow_mut();
            let len = edges.len();
            if len == 0 {
                edges.push(target);
                return 1;
            }
            let old = std::mem::replace(&mut edges[pick % len], target);
            drop(edges);
            drop(old);
            len
        }

        fn renew(&mut self, slot: usize) {
            self.slots[slot] = new_node();
        }

        fn finish(self) -> Option<Reclaimed> {
            drop(self);
            gc::force_collect();
            Some(TALLY.count())
        }
    }
}

/// `dumpster::sync`: edges behind `Mutex` (values must be `Sync`); it collects automatically.
mod dumpster_sync {
    use std::sync::{Mutex, MutexGuard};

    use dumpster::Trace;
    use dumpster::sync::Gc;

    use super::{Reclaimed, Tally};

    static TALLY: Tally = Tally::new();

    #[derive(Trace)]
    struct Node {
        edges: Mutex<Vec<Gc<Node>>>,
    }

    impl Node {
        fn edges(&self) -> MutexGuard<'_, Vec<Gc<Node>>> {
            self.edges
                .lock()
                .expect("no benchmark code panics while holding a node's lock")
        }
    }

    impl Drop for Node {
        fn drop(&mut self) {
            TALLY.dropped();
        }
    }

    fn new_node() -> Gc<Node> {
        TALLY.created();
        Gc::new(Node {
            edges: Mutex::default(),
        })
    }

    pub(super) struct Graph {
        slots: Vec<Gc<Node>>,
    }

    impl Graph {
        pub(super) fn new(slots: usize) -> Graph {
            TALLY.reset();
            Graph {
                slots: (0..slots).map(|_| new_node()).collect(),
            }
        }
    }

    impl super::Graph for Graph {
        fn link(&mut self, from: usize, to: usize) -> usize {
            let target = self.slots[to].clone();
            let mut edges = self.slots[from].edges();
            edges.push(target);
            edges.len()
        }

        fn unlink(&mut self, from: usize) -> usize {
            let mut edges = self.slots[from].edges();
            let popped = edges.pop();
            let len = edges.len();
            drop(edges);
            drop(popped);
            len
        }

        fn retarget(&mut self, from: usize, pick: usize, to: usize) -> usize {
            let target = self.slots[to].clone();
            let mut edges = self.slots[from].edges();
            let len = edges.len();
            if len == 0 {
                edges.push(target);
                return 1;
            }
            let old = std::mem::replace(&mut edges[pick % len], target);
            drop(edges);
            drop(old);
            len
        }

        fn renew(&mut self, slot: usize) {
            self.slots[slot] = new_node();
        }

        fn finish(self) -> Option<Reclaimed> {
            drop(self);
            dumpster::sync::collect();
            Some(TALLY.count())
        }
    }
}

/// `dumpster::unsync`: edges behind `RefCell`; it collects automatically.
mod dumpster_unsync {
    use std::cell::RefCell;

    use dumpster::Trace;
    use dumpster::unsync::Gc;

    use super::{Reclaimed, Tally};

    static TALLY: Tally = Tally::new();

    #[derive(Trace)]
    struct Node {
        edges: RefCell<Vec<Gc<Node>>>,
    }

    impl Drop for Node {
        fn drop(&mut self) {
            TALLY.dropped();
        }
    }

    fn new_node() -> Gc<Node> {
        TALLY.created();
        Gc::new(Node {
            edges: RefCell::default(),
        })
    }

    pub(super) struct Graph {
        slots: Vec<Gc<Node>>,
    }

    impl Graph {
        pub(super) fn new(slots: usize) -> Graph {
            TALLY.reset();
            Graph {
                slots: (0..slots).map(|_| new_node()).collect(),
            }
        }
    }

    impl super::Graph for Graph {
        fn link(&mut self, from: usize, to: usize) -> usize {
            let target = self.slots[to].clone();
            let mut edges = self.slots[from].edges.borrow_mut();
            edges.push(target);
            edges.len()
        }

        fn unlink(&mut self, from: usize) -> usize {
            let mut edges = self.slots[from].edges.borrow_mut();
            let popped = edges.pop();
            let len = edges.len();
            drop(edges);
            drop(popped);
            len
        }

        fn retarget(&mut self, from: usize, pick: usize, to: usize) -> usize {
            let target = self.slots[to].clone();
            let mut edges = self.slots[from].edges.borrow_mut();
            let len = edges.len();
            if len == 0 {
                edges.push(target);
                return 1;
            }
            let old = std::mem::replace(&mut edges[pick % len], target);
            drop(edges);
            drop(old);
            len
        }

        fn renew(&mut self, slot: usize) {
            self.slots[slot] = new_node();
        }

        fn finish(self) -> Option<Reclaimed> {
            drop(self);
            dumpster::unsync::collect();
            Some(TALLY.count())
        }
    }
}

/// `rust-cc`: edges behind `RefCell`; it collects cycles automatically. Its `Trace` derive owns
/// `Drop`, so nodes are counted in `Finalize`, which it runs once before freeing an object.
mod rust_cc_crate {
    use std::cell::RefCell;

    use rust_cc::{Cc, Finalize, Trace};

    use super::{Reclaimed, Tally};

    static TALLY: Tally = Tally::new();

    #[derive(Trace)]
    struct Node {
        edges: RefCell<Vec<Cc<Node>>>,
    }

    impl Finalize for Node {
        fn finalize(&self) {
            TALLY.dropped();
        }
    }

    fn new_node() -> Cc<Node> {
        TALLY.created();
        Cc::new(Node {
            edges: RefCell::default(),
        })
    }

    pub(super) struct Graph {
        slots: Vec<Cc<Node>>,
    }

    impl Graph {
        pub(super) fn new(slots: usize) -> Graph {
            TALLY.reset();
            Graph {
                slots: (0..slots).map(|_| new_node()).collect(),
            }
        }
    }

    impl super::Graph for Graph {
        fn link(&mut self, from: usize, to: usize) -> usize {
            let target = self.slots[to].clone();
            let mut edges = self.slots[from].edges.borrow_mut();
            edges.push(target);
            edges.len()
        }

        fn unlink(&mut self, from: usize) -> usize {
            let mut edges = self.slots[from].edges.borrow_mut();
            let popped = edges.pop();
            let len = edges.len();
            drop(edges);
            drop(popped);
            len
        }

        fn retarget(&mut self, from: usize, pick: usize, to: usize) -> usize {
            let target = self.slots[to].clone();
            let mut edges = self.slots[from].edges.borrow_mut();
            let len = edges.len();
            if len == 0 {
                edges.push(target);
                return 1;
            }
            let old = std::mem::replace(&mut edges[pick % len], target);
            drop(edges);
            drop(old);
            len
        }

        fn renew(&mut self, slot: usize) {
            self.slots[slot] = new_node();
        }

        fn finish(self) -> Option<Reclaimed> {
            drop(self);
            rust_cc::collect_cycles();
            Some(TALLY.count())
        }
    }
}

/// gc-arena: the slots are the arena's root; every operation is one `mutate` call, edges sit behind
/// `RefLock` (whose `borrow_mut` runs the write barrier), and the arena pays its allocation debt after
/// every renewal. At the end the current cycle is finished and one full cycle is run.
mod gc_arena_crate {
    use gc_arena::arena::CollectionPhase;
    use gc_arena::{Arena, Collect, Gc, Mutation, RefLock, Rootable};

    use super::{Reclaimed, Tally};

    static TALLY: Tally = Tally::new();

    // `unsafe_drop` because of the counting `Drop` below, which touches no `Gc` pointer (the only
    // thing gc-arena forbids a destructor to do).
    #[derive(Collect)]
    #[collect(unsafe_drop)]
    struct Node<'gc> {
        edges: Vec<NodePtr<'gc>>,
    }

    type NodePtr<'gc> = Gc<'gc, RefLock<Node<'gc>>>;

    impl Drop for Node<'_> {
        fn drop(&mut self) {
            TALLY.dropped();
        }
    }

    fn new_node<'gc>(mc: &Mutation<'gc>) -> NodePtr<'gc> {
        TALLY.created();
        Gc::new(mc, RefLock::new(Node { edges: Vec::new() }))
    }

    /// The arena's root: the slots.
    type Slots = Rootable![Vec<NodePtr<'_>>];

    pub(super) struct Graph {
        arena: Arena<Slots>,
    }

    impl Graph {
        pub(super) fn new(slots: usize) -> Graph {
            TALLY.reset();
            Graph {
                arena: Arena::new(|mc| (0..slots).map(|_| new_node(mc)).collect()),
            }
        }
    }

    impl super::Graph for Graph {
        fn link(&mut self, from: usize, to: usize) -> usize {
            self.arena.mutate(|mc, slots| {
                let mut node = slots[from].borrow_mut(mc);
                node.edges.push(slots[to]);
                node.edges.len()
            })
        }

        fn unlink(&mut self, from: usize) -> usize {
            self.arena.mutate(|mc, slots| {
                let mut node = slots[from].borrow_mut(mc);
                node.edges.pop();
                node.edges.len()
            })
        }

        fn retarget(&mut self, from: usize, pick: usize, to: usize) -> usize {
            self.arena.mutate(|mc, slots| {
                let mut node = slots[from].borrow_mut(mc);
                let len = node.edges.len();
                if len == 0 {
                    node.edges.push(slots[to]);
                    return 1;
                }
                node.edges[pick % len] = slots[to];
                len
            })
        }

        fn renew(&mut self, slot: usize) {
            self.arena
                .mutate_root(|mc, slots| slots[slot] = new_node(mc));
            self.arena.collect_debt();
        }

        fn finish(mut self) -> Option<Reclaimed> {
            self.arena.mutate_root(|_, slots| slots.clear());
            if self.arena.collection_phase() != CollectionPhase::Sleeping {
                self.arena.finish_cycle();
            }
            self.arena.finish_cycle();
            let count = TALLY.count();
            drop(self);
            Some(count)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMOKE: Sizes = Sizes {
        slots: 500,
        operations: 5_000,
    };

    #[test]
    fn the_operation_sequence_is_the_same_every_time() {
        let first: Vec<Operation> = Operations::new(SMOKE).collect();
        let second: Vec<Operation> = Operations::new(SMOKE).collect();
        assert_eq!(first.len(), SMOKE.operations);
        assert_eq!(first, second);
    }

    #[test]
    fn the_first_streams_start_from_distinct_non_zero_states() {
        let states: Vec<u64> = (0..16)
            .map(|index| Operations::stream(index, SMOKE).state)
            .collect();
        assert!(states.iter().all(|&state| state != 0));
        let mut distinct = states.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), states.len());
    }

    #[test]
    fn every_kind_of_operation_occurs() {
        let operations: Vec<Operation> = Operations::new(SMOKE).collect();
        assert!(
            operations
                .iter()
                .any(|op| matches!(op, Operation::Link { .. }))
        );
        assert!(
            operations
                .iter()
                .any(|op| matches!(op, Operation::Unlink { .. }))
        );
        assert!(
            operations
                .iter()
                .any(|op| matches!(op, Operation::Retarget { .. }))
        );
        assert!(
            operations
                .iter()
                .any(|op| matches!(op, Operation::Renew { .. }))
        );
    }

    #[test]
    fn reference_counts_alone_leak_cyclic_garbage() {
        let (_, reclaimed) = program(rc::Graph::new(SMOKE.slots), SMOKE);
        assert!(reclaimed.unwrap().never_dropped > 0);
    }

    #[test]
    fn collectors_reclaim_every_node_by_the_end() {
        let workload = workload(Scale::Smoke);
        for case in workload
            .cases
            .iter()
            .filter(|case| !matches!(case.implementation, "rc" | "arc" | "arena"))
        {
            assert_eq!(case.run().note, None, "{}", case.implementation);
        }
    }
}
