//! `gcbench`: the shape of Hans Boehm's GCBench (after John Ellis and Pete Kovac).
//!
//! Shape: build and drop a stretch tree of depth `STRETCH` bottom-up; create a long-lived tree of depth
//! `LONG_LIVED` top-down (a fresh node whose children are assigned, then populated, recursively) and a
//! long-lived array of `ARRAY` doubles (the first half set to `1/i`), and keep both; then for every
//! depth `d` in `MIN, MIN + 2, ..= MAX`, build `2 * size(STRETCH) / size(d)` trees of depth `d` top-down
//! and drop each, then as many bottom-up and drop each; finally check that the long-lived tree and the
//! array are intact. Sizes: stretch 18, long-lived 16, array 500,000, depths 4..=16 (full); stretch 16,
//! long-lived 14, array 125,000, depths 4..=14 (quick).
//!
//! Nodes are `{ left, right, i, j }`. Top-down population writes a child into a node that already
//! exists, so every shared-pointer implementation needs its crate's interior mutability: `RefCell`
//! (`rc`, `dumpster-unsync`, `rust-cc`), `Mutex` (`arc`, `dumpster-sync`, whose values must be
//! `Sync`), `GcCell` (`gc`), `RefLock` behind `Gc` (`gc-arena`), `Cell` (`arena`); `box` populates
//! through `&mut`.
//!
//! What it measures: allocation throughput with two construction orders (top-down stores young objects
//! into older ones, the case a generational collector's write barrier exists for), while a large tree
//! and a pointer-free array stay alive and must not be re-scanned at every collection.
//!
//! Checksum: the number of nodes created, plus the nodes of the long-lived tree counted by walking it
//! at the end, plus the bits of `array[1000]`.

use crate::harness::{Case, Sample, Scale, Workload};

/// The sizes of one run.
#[derive(Clone, Copy, Debug)]
struct Sizes {
    stretch: u32,
    long_lived: u32,
    array: usize,
    min: u32,
    max: u32,
}

/// The index of the array element checked at the end, as in GCBench.
const CHECKED_INDEX: usize = 1000;

/// One implementation's nodes and arrays.
trait Heap {
    /// Builds a tree of `depth` bottom-up and drops it; returns the nodes created.
    fn made_tree(&mut self, depth: u32) -> u64;
    /// Creates a node, populates it to `depth` top-down and drops it; returns the nodes created.
    fn populated_tree(&mut self, depth: u32) -> u64;
    /// Creates the long-lived tree top-down and keeps it; returns the nodes created.
    fn keep_long_lived_tree(&mut self, depth: u32) -> u64;
    /// Keeps `values` as the long-lived array.
    fn keep_array(&mut self, values: &[f64]);
    /// Counts the long-lived tree's nodes by walking it and reads `array[index]`.
    fn check(&mut self, index: usize) -> (u64, f64);
    /// Releases everything, collecting if the implementation needs to.
    fn finish(self);
}

/// The number of nodes in a tree of `depth`.
fn tree_size(depth: u32) -> u64 {
    (1 << (depth + 1)) - 1
}

/// The array GCBench keeps: `1/i` in the first half (the first element is infinite, as there).
fn array_values(len: usize) -> Vec<f64> {
    let mut values = vec![0.0; len];
    for (i, value) in values.iter_mut().take(len / 2).enumerate() {
        *value = 1.0 / i as f64;
    }
    values
}

/// GCBench over `heap`; returns the checksum.
fn program(mut heap: impl Heap, sizes: Sizes) -> u64 {
    let mut created = heap.made_tree(sizes.stretch);
    created += heap.keep_long_lived_tree(sizes.long_lived);
    heap.keep_array(&array_values(sizes.array));
    for depth in (sizes.min..=sizes.max).step_by(2) {
        let iterations = 2 * tree_size(sizes.stretch) / tree_size(depth);
        for _ in 0..iterations {
            created += heap.populated_tree(depth);
        }
        for _ in 0..iterations {
            created += heap.made_tree(depth);
        }
    }
    let (long_lived_nodes, checked) = heap.check(CHECKED_INDEX);
    heap.finish();
    created + long_lived_nodes + checked.to_bits()
}

/// The workload at `scale`, with one case per implementation.
///
/// ```
/// use janitor_bench::harness::{measure, Scale};
/// let workload = janitor_bench::workloads::gcbench::workload(Scale::Smoke);
/// assert!(measure(&workload, 1, |_, _| {}).is_ok());
/// ```
pub fn workload(scale: Scale) -> Workload {
    let sizes = match scale {
        Scale::Smoke => Sizes {
            stretch: 8,
            long_lived: 6,
            array: 4_000,
            min: 4,
            max: 6,
        },
        Scale::Quick => Sizes {
            stretch: 16,
            long_lived: 14,
            array: 125_000,
            min: 4,
            max: 14,
        },
        Scale::Full => Sizes {
            stretch: 18,
            long_lived: 16,
            array: 500_000,
            min: 4,
            max: 16,
        },
    };
    fn case<H: Heap + 'static>(name: &'static str, sizes: Sizes, make: fn() -> H) -> Case {
        Case::new(name, move || Sample::timing(|| program(make(), sizes)))
    }
    Workload {
        name: "gcbench",
        baseline: "janitor",
        cases: vec![
            case("janitor", sizes, janitor_heap::Heap::default),
            case("janitor-unsync", sizes, janitor_unsync_heap::Heap::default),
            case("box", sizes, boxed::Heap::default),
            case("rc", sizes, rc::Heap::default),
            case("arc", sizes, arc::Heap::default),
            Case::new("arena", move || {
                Sample::timing(|| {
                    let long_lived = bumpalo::Bump::new();
                    program(arena::Heap::new(&long_lived), sizes)
                })
            }),
            case("gc", sizes, gc_crate::Heap::default),
            case("dumpster-sync", sizes, dumpster_sync::Heap::default),
            case("dumpster-unsync", sizes, dumpster_unsync::Heap::default),
            case("gc-arena", sizes, gc_arena_crate::Heap::default),
            case("rust-cc", sizes, rust_cc_crate::Heap::default),
        ],
        absent: vec![],
    }
}

/// janitor: counted `Gc` pointers into the managed heap; children behind `GcCell` (an atomic borrow
/// flag, since every traced value is `Sync`), which makes the nodes tracked by the cycle collector.
mod janitor_heap {
    use janitor::gc::{Gc, GcCell, Trace};

    #[derive(Default, Trace)]
    struct Node {
        left: GcCell<Option<Gc<Node>>>,
        right: GcCell<Option<Gc<Node>>>,
        #[trace(skip)]
        i: i32,
        #[trace(skip)]
        j: i32,
    }

    fn populate(depth: u32, node: &Node) -> u64 {
        if depth == 0 {
            return 0;
        }
        let left = Gc::new(Node::default());
        let right = Gc::new(Node::default());
        *node.left.borrow_mut() = Some(left.clone());
        *node.right.borrow_mut() = Some(right.clone());
        2 + populate(depth - 1, &left) + populate(depth - 1, &right)
    }

    fn make(depth: u32) -> (Gc<Node>, u64) {
        if depth == 0 {
            return (Gc::new(Node::default()), 1);
        }
        let (left, in_left) = make(depth - 1);
        let (right, in_right) = make(depth - 1);
        let node = Node {
            left: GcCell::new(Some(left)),
            right: GcCell::new(Some(right)),
            i: 0,
            j: 0,
        };
        (Gc::new(node), 1 + in_left + in_right)
    }

    fn count(node: &Node) -> u64 {
        std::hint::black_box((node.i, node.j));
        1 + node.left.borrow().as_deref().map_or(0, count)
            + node.right.borrow().as_deref().map_or(0, count)
    }

    #[derive(Default)]
    pub(super) struct Heap {
        long_lived: Option<Gc<Node>>,
        array: Option<Gc<Vec<f64>>>,
    }

    impl super::Heap for Heap {
        fn made_tree(&mut self, depth: u32) -> u64 {
            make(depth).1
        }

        fn populated_tree(&mut self, depth: u32) -> u64 {
            1 + populate(depth, &Gc::new(Node::default()))
        }

        fn keep_long_lived_tree(&mut self, depth: u32) -> u64 {
            let root = self.long_lived.insert(Gc::new(Node::default()));
            1 + populate(depth, root)
        }

        fn keep_array(&mut self, values: &[f64]) {
            self.array = Some(Gc::new(values.to_vec()));
        }

        fn check(&mut self, index: usize) -> (u64, f64) {
            let nodes = self.long_lived.as_deref().map_or(0, count);
            (
                nodes,
                self.array.as_ref().map_or(f64::NAN, |array| array[index]),
            )
        }

        fn finish(self) {
            drop(self);
            janitor::gc::collect();
        }
    }
}

/// janitor's thread-local heap (`janitor::gc::unsync`): plain counts, children behind its
/// `GcCell` (a `RefCell`), which makes the nodes tracked.
mod janitor_unsync_heap {
    use janitor::gc::Trace;
    use janitor::gc::unsync::{Gc, GcCell};

    #[derive(Default, Trace)]
    struct Node {
        left: GcCell<Option<Gc<Node>>>,
        right: GcCell<Option<Gc<Node>>>,
        #[trace(skip)]
        i: i32,
        #[trace(skip)]
        j: i32,
    }

    fn populate(depth: u32, node: &Node) -> u64 {
        if depth == 0 {
            return 0;
        }
        let left = Gc::new(Node::default());
        let right = Gc::new(Node::default());
        *node.left.borrow_mut() = Some(left.clone());
        *node.right.borrow_mut() = Some(right.clone());
        2 + populate(depth - 1, &left) + populate(depth - 1, &right)
    }

    fn make(depth: u32) -> (Gc<Node>, u64) {
        if depth == 0 {
            return (Gc::new(Node::default()), 1);
        }
        let (left, in_left) = make(depth - 1);
        let (right, in_right) = make(depth - 1);
        let node = Node {
            left: GcCell::new(Some(left)),
            right: GcCell::new(Some(right)),
            i: 0,
            j: 0,
        };
        (Gc::new(node), 1 + in_left + in_right)
    }

    fn count(node: &Node) -> u64 {
        std::hint::black_box((node.i, node.j));
        1 + node.left.borrow().as_deref().map_or(0, count)
            + node.right.borrow().as_deref().map_or(0, count)
    }

    #[derive(Default)]
    pub(super) struct Heap {
        long_lived: Option<Gc<Node>>,
        array: Option<Gc<Vec<f64>>>,
    }

    impl super::Heap for Heap {
        fn made_tree(&mut self, depth: u32) -> u64 {
            make(depth).1
        }

        fn populated_tree(&mut self, depth: u32) -> u64 {
            1 + populate(depth, &Gc::new(Node::default()))
        }

        fn keep_long_lived_tree(&mut self, depth: u32) -> u64 {
            let root = self.long_lived.insert(Gc::new(Node::default()));
            1 + populate(depth, root)
        }

        fn keep_array(&mut self, values: &[f64]) {
            self.array = Some(Gc::new(values.to_vec()));
        }

        fn check(&mut self, index: usize) -> (u64, f64) {
            let nodes = self.long_lived.as_deref().map_or(0, count);
            (
                nodes,
                self.array.as_ref().map_or(f64::NAN, |array| array[index]),
            )
        }

        fn finish(self) {
            drop(self);
            janitor::gc::unsync::collect();
        }
    }
}

/// Single ownership: population writes through `&mut`.
mod boxed {
    #[derive(Default)]
    struct Node {
        left: Option<Box<Node>>,
        right: Option<Box<Node>>,
        i: i32,
        j: i32,
    }

    fn populate(depth: u32, node: &mut Node) -> u64 {
        if depth == 0 {
            return 0;
        }
        let left = node.left.insert(Box::default());
        let mut created = 2 + populate(depth - 1, left);
        let right = node.right.insert(Box::default());
        created += populate(depth - 1, right);
        created
    }

    fn make(depth: u32) -> (Box<Node>, u64) {
        if depth == 0 {
            return (Box::default(), 1);
        }
        let (left, in_left) = make(depth - 1);
        let (right, in_right) = make(depth - 1);
        let node = Node {
            left: Some(left),
            right: Some(right),
            i: 0,
            j: 0,
        };
        (Box::new(node), 1 + in_left + in_right)
    }

    fn count(node: &Node) -> u64 {
        std::hint::black_box((node.i, node.j));
        1 + node.left.as_deref().map_or(0, count) + node.right.as_deref().map_or(0, count)
    }

    #[derive(Default)]
    pub(super) struct Heap {
        long_lived: Option<Box<Node>>,
        array: Option<Box<[f64]>>,
    }

    impl super::Heap for Heap {
        fn made_tree(&mut self, depth: u32) -> u64 {
            make(depth).1
        }

        fn populated_tree(&mut self, depth: u32) -> u64 {
            let mut root = Box::<Node>::default();
            1 + populate(depth, &mut root)
        }

        fn keep_long_lived_tree(&mut self, depth: u32) -> u64 {
            let root = self.long_lived.insert(Box::default());
            1 + populate(depth, root)
        }

        fn keep_array(&mut self, values: &[f64]) {
            self.array = Some(values.into());
        }

        fn check(&mut self, index: usize) -> (u64, f64) {
            let nodes = self.long_lived.as_deref().map_or(0, count);
            (
                nodes,
                self.array.as_ref().map_or(f64::NAN, |array| array[index]),
            )
        }

        fn finish(self) {}
    }
}

/// Non-atomic reference counts; children behind `RefCell`.
mod rc {
    use std::cell::RefCell;
    use std::rc::Rc;

    #[derive(Default)]
    struct Node {
        left: RefCell<Option<Rc<Node>>>,
        right: RefCell<Option<Rc<Node>>>,
        i: i32,
        j: i32,
    }

    fn populate(depth: u32, node: &Node) -> u64 {
        if depth == 0 {
            return 0;
        }
        let left = Rc::new(Node::default());
        let right = Rc::new(Node::default());
        *node.left.borrow_mut() = Some(left.clone());
        *node.right.borrow_mut() = Some(right.clone());
        2 + populate(depth - 1, &left) + populate(depth - 1, &right)
    }

    fn make(depth: u32) -> (Rc<Node>, u64) {
        if depth == 0 {
            return (Rc::default(), 1);
        }
        let (left, in_left) = make(depth - 1);
        let (right, in_right) = make(depth - 1);
        let node = Node {
            left: RefCell::new(Some(left)),
            right: RefCell::new(Some(right)),
            i: 0,
            j: 0,
        };
        (Rc::new(node), 1 + in_left + in_right)
    }

    fn count(node: &Node) -> u64 {
        std::hint::black_box((node.i, node.j));
        1 + node.left.borrow().as_deref().map_or(0, count)
            + node.right.borrow().as_deref().map_or(0, count)
    }

    #[derive(Default)]
    pub(super) struct Heap {
        long_lived: Option<Rc<Node>>,
        array: Option<Rc<[f64]>>,
    }

    impl super::Heap for Heap {
        fn made_tree(&mut self, depth: u32) -> u64 {
            make(depth).1
        }

        fn populated_tree(&mut self, depth: u32) -> u64 {
            1 + populate(depth, &Rc::new(Node::default()))
        }

        fn keep_long_lived_tree(&mut self, depth: u32) -> u64 {
            let root = self.long_lived.insert(Rc::new(Node::default()));
            1 + populate(depth, root)
        }

        fn keep_array(&mut self, values: &[f64]) {
            self.array = Some(values.into());
        }

        fn check(&mut self, index: usize) -> (u64, f64) {
            let nodes = self.long_lived.as_deref().map_or(0, count);
            (
                nodes,
                self.array.as_ref().map_or(f64::NAN, |array| array[index]),
            )
        }

        fn finish(self) {}
    }
}

/// Atomic reference counts; children behind `Mutex`, since `Arc` values are shared across threads.
mod arc {
    use std::sync::{Arc, Mutex};

    #[derive(Default)]
    struct Node {
        left: Mutex<Option<Arc<Node>>>,
        right: Mutex<Option<Arc<Node>>>,
        i: i32,
        j: i32,
    }

    fn set(field: &Mutex<Option<Arc<Node>>>, child: Arc<Node>) {
        *field
            .lock()
            .expect("no benchmark code panics while holding a node's lock") = Some(child);
    }

    fn child(field: &Mutex<Option<Arc<Node>>>) -> Option<Arc<Node>> {
        field
            .lock()
            .expect("no benchmark code panics while holding a node's lock")
            .clone()
    }

    fn populate(depth: u32, node: &Node) -> u64 {
        if depth == 0 {
            return 0;
        }
        let left = Arc::new(Node::default());
        let right = Arc::new(Node::default());
        set(&node.left, left.clone());
        set(&node.right, right.clone());
        2 + populate(depth - 1, &left) + populate(depth - 1, &right)
    }

    fn make(depth: u32) -> (Arc<Node>, u64) {
        if depth == 0 {
            return (Arc::default(), 1);
        }
        let (left, in_left) = make(depth - 1);
        let (right, in_right) = make(depth - 1);
        let node = Node {
            left: Mutex::new(Some(left)),
            right: Mutex::new(Some(right)),
            i: 0,
            j: 0,
        };
        (Arc::new(node), 1 + in_left + in_right)
    }

    fn count(node: &Node) -> u64 {
        std::hint::black_box((node.i, node.j));
        1 + child(&node.left).map_or(0, |left| count(&left))
            + child(&node.right).map_or(0, |right| count(&right))
    }

    #[derive(Default)]
    pub(super) struct Heap {
        long_lived: Option<Arc<Node>>,
        array: Option<Arc<[f64]>>,
    }

    impl super::Heap for Heap {
        fn made_tree(&mut self, depth: u32) -> u64 {
            make(depth).1
        }

        fn populated_tree(&mut self, depth: u32) -> u64 {
            1 + populate(depth, &Arc::new(Node::default()))
        }

        fn keep_long_lived_tree(&mut self, depth: u32) -> u64 {
            let root = self.long_lived.insert(Arc::new(Node::default()));
            1 + populate(depth, root)
        }

        fn keep_array(&mut self, values: &[f64]) {
            self.array = Some(values.into());
        }

        fn check(&mut self, index: usize) -> (u64, f64) {
            let nodes = self.long_lived.as_deref().map_or(0, count);
            (
                nodes,
                self.array.as_ref().map_or(f64::NAN, |array| array[index]),
            )
        }

        fn finish(self) {}
    }
}

/// Bump allocation; children behind `Cell`, since arena references are shared. The short-lived trees
/// share one arena, reset before each tree; the long-lived tree and array live in the caller's arena.
mod arena {
    use std::cell::Cell;

    use bumpalo::Bump;

    #[derive(Default)]
    struct Node<'a> {
        left: Cell<Option<&'a Node<'a>>>,
        right: Cell<Option<&'a Node<'a>>>,
        i: i32,
        j: i32,
    }

    fn populate<'a>(arena: &'a Bump, depth: u32, node: &Node<'a>) -> u64 {
        if depth == 0 {
            return 0;
        }
        let left = arena.alloc(Node::default());
        let right = arena.alloc(Node::default());
        node.left.set(Some(left));
        node.right.set(Some(right));
        2 + populate(arena, depth - 1, left) + populate(arena, depth - 1, right)
    }

    fn make(arena: &Bump, depth: u32) -> (&Node<'_>, u64) {
        if depth == 0 {
            return (arena.alloc(Node::default()), 1);
        }
        let (left, in_left) = make(arena, depth - 1);
        let (right, in_right) = make(arena, depth - 1);
        let node = Node {
            left: Cell::new(Some(left)),
            right: Cell::new(Some(right)),
            i: 0,
            j: 0,
        };
        (arena.alloc(node), 1 + in_left + in_right)
    }

    fn count(node: &Node<'_>) -> u64 {
        std::hint::black_box((node.i, node.j));
        1 + node.left.get().map_or(0, count) + node.right.get().map_or(0, count)
    }

    pub(super) struct Heap<'a> {
        short_lived: Bump,
        long_lived_arena: &'a Bump,
        long_lived: Option<&'a Node<'a>>,
        array: Option<&'a [f64]>,
    }

    impl<'a> Heap<'a> {
        pub(super) fn new(long_lived_arena: &'a Bump) -> Heap<'a> {
            Heap {
                short_lived: Bump::new(),
                long_lived_arena,
                long_lived: None,
                array: None,
            }
        }
    }

    impl super::Heap for Heap<'_> {
        fn made_tree(&mut self, depth: u32) -> u64 {
            self.short_lived.reset();
            make(&self.short_lived, depth).1
        }

        fn populated_tree(&mut self, depth: u32) -> u64 {
            self.short_lived.reset();
            let root = self.short_lived.alloc(Node::default());
            1 + populate(&self.short_lived, depth, root)
        }

        fn keep_long_lived_tree(&mut self, depth: u32) -> u64 {
            let root = self.long_lived_arena.alloc(Node::default());
            self.long_lived = Some(root);
            1 + populate(self.long_lived_arena, depth, root)
        }

        fn keep_array(&mut self, values: &[f64]) {
            self.array = Some(self.long_lived_arena.alloc_slice_copy(values));
        }

        fn check(&mut self, index: usize) -> (u64, f64) {
            let nodes = self.long_lived.map_or(0, count);
            (nodes, self.array.map_or(f64::NAN, |array| array[index]))
        }

        fn finish(self) {}
    }
}

/// The `gc` crate: rooted pointers into a thread-local mark-and-sweep heap; children behind `GcCell`.
// gc's derives (built on an old synstructure) put their impls inside a constant.
#[allow(non_local_definitions)]
mod gc_crate {
    use gc::{Finalize, Gc, GcCell, Trace};

    #[derive(Default, Trace, Finalize)]
    struct Node {
        left: GcCell<Option<Gc<Node>>>,
        right: GcCell<Option<Gc<Node>>>,
        i: i32,
        j: i32,
    }

    fn populate(depth: u32, node: &Node) -> u64 {
        if depth == 0 {
            return 0;
        }
        let left = Gc::new(Node::default());
        let right = Gc::new(Node::default());
        *node.left.borrow_mut() = Some(left.clone());
        *node.right.borrow_mut() = Some(right.clone());
        2 + populate(depth - 1, &left) + populate(depth - 1, &right)
    }

    fn make(depth: u32) -> (Gc<Node>, u64) {
        if depth == 0 {
            return (Gc::new(Node::default()), 1);
        }
        let (left, in_left) = make(depth - 1);
        let (right, in_right) = make(depth - 1);
        let node = Node {
            left: GcCell::new(Some(left)),
            right: GcCell::new(Some(right)),
            i: 0,
            j: 0,
        };
        (Gc::new(node), 1 + in_left + in_right)
    }

    fn count(node: &Node) -> u64 {
        std::hint::black_box((node.i, node.j));
        1 + node.left.borrow().as_deref().map_or(0, count)
            + node.right.borrow().as_deref().map_or(0, count)
    }

    #[derive(Default)]
    pub(super) struct Heap {
        long_lived: Option<Gc<Node>>,
        array: Option<Gc<Vec<f64>>>,
    }

    impl super::Heap for Heap {
        fn made_tree(&mut self, depth: u32) -> u64 {
            make(depth).1
        }

        fn populated_tree(&mut self, depth: u32) -> u64 {
            1 + populate(depth, &Gc::new(Node::default()))
        }

        fn keep_long_lived_tree(&mut self, depth: u32) -> u64 {
            let root = self.long_lived.insert(Gc::new(Node::default()));
            1 + populate(depth, root)
        }

        fn keep_array(&mut self, values: &[f64]) {
            self.array = Some(Gc::new(values.to_vec()));
        }

        fn check(&mut self, index: usize) -> (u64, f64) {
            let nodes = self.long_lived.as_deref().map_or(0, count);
            (
                nodes,
                self.array.as_ref().map_or(f64::NAN, |array| array[index]),
            )
        }

        fn finish(self) {
            drop(self);
            gc::force_collect();
        }
    }
}

/// `dumpster::sync`: thread-safe counted pointers with a concurrent cycle collector; children behind
/// `Mutex`, since its values must be `Sync`.
mod dumpster_sync {
    use std::sync::Mutex;

    use dumpster::Trace;
    use dumpster::sync::Gc;

    #[derive(Default, Trace)]
    struct Node {
        left: Mutex<Option<Gc<Node>>>,
        right: Mutex<Option<Gc<Node>>>,
        i: i32,
        j: i32,
    }

    fn set(field: &Mutex<Option<Gc<Node>>>, child: Gc<Node>) {
        *field
            .lock()
            .expect("no benchmark code panics while holding a node's lock") = Some(child);
    }

    fn child(field: &Mutex<Option<Gc<Node>>>) -> Option<Gc<Node>> {
        field
            .lock()
            .expect("no benchmark code panics while holding a node's lock")
            .clone()
    }

    fn populate(depth: u32, node: &Node) -> u64 {
        if depth == 0 {
            return 0;
        }
        let left = Gc::new(Node::default());
        let right = Gc::new(Node::default());
        set(&node.left, left.clone());
        set(&node.right, right.clone());
        2 + populate(depth - 1, &left) + populate(depth - 1, &right)
    }

    fn make(depth: u32) -> (Gc<Node>, u64) {
        if depth == 0 {
            return (Gc::new(Node::default()), 1);
        }
        let (left, in_left) = make(depth - 1);
        let (right, in_right) = make(depth - 1);
        let node = Node {
            left: Mutex::new(Some(left)),
            right: Mutex::new(Some(right)),
            i: 0,
            j: 0,
        };
        (Gc::new(node), 1 + in_left + in_right)
    }

    fn count(node: &Node) -> u64 {
        std::hint::black_box((node.i, node.j));
        1 + child(&node.left).map_or(0, |left| count(&left))
            + child(&node.right).map_or(0, |right| count(&right))
    }

    #[derive(Default)]
    pub(super) struct Heap {
        long_lived: Option<Gc<Node>>,
        array: Option<Gc<Vec<f64>>>,
    }

    impl super::Heap for Heap {
        fn made_tree(&mut self, depth: u32) -> u64 {
            make(depth).1
        }

        fn populated_tree(&mut self, depth: u32) -> u64 {
            1 + populate(depth, &Gc::new(Node::default()))
        }

        fn keep_long_lived_tree(&mut self, depth: u32) -> u64 {
            let root = self.long_lived.insert(Gc::new(Node::default()));
            1 + populate(depth, root)
        }

        fn keep_array(&mut self, values: &[f64]) {
            self.array = Some(Gc::new(values.to_vec()));
        }

        fn check(&mut self, index: usize) -> (u64, f64) {
            let nodes = self.long_lived.as_deref().map_or(0, count);
            (
                nodes,
                self.array.as_ref().map_or(f64::NAN, |array| array[index]),
            )
        }

        fn finish(self) {
            drop(self);
            dumpster::sync::collect();
        }
    }
}

/// `dumpster::unsync`: thread-local counted pointers with a cycle collector; children behind `RefCell`.
mod dumpster_unsync {
    use std::cell::RefCell;

    use dumpster::Trace;
    use dumpster::unsync::Gc;

    #[derive(Default, Trace)]
    struct Node {
        left: RefCell<Option<Gc<Node>>>,
        right: RefCell<Option<Gc<Node>>>,
        i: i32,
        j: i32,
    }

    fn populate(depth: u32, node: &Node) -> u64 {
        if depth == 0 {
            return 0;
        }
        let left = Gc::new(Node::default());
        let right = Gc::new(Node::default());
        *node.left.borrow_mut() = Some(left.clone());
        *node.right.borrow_mut() = Some(right.clone());
        2 + populate(depth - 1, &left) + populate(depth - 1, &right)
    }

    fn make(depth: u32) -> (Gc<Node>, u64) {
        if depth == 0 {
            return (Gc::new(Node::default()), 1);
        }
        let (left, in_left) = make(depth - 1);
        let (right, in_right) = make(depth - 1);
        let node = Node {
            left: RefCell::new(Some(left)),
            right: RefCell::new(Some(right)),
            i: 0,
            j: 0,
        };
        (Gc::new(node), 1 + in_left + in_right)
    }

    fn count(node: &Node) -> u64 {
        std::hint::black_box((node.i, node.j));
        1 + node.left.borrow().as_deref().map_or(0, count)
            + node.right.borrow().as_deref().map_or(0, count)
    }

    #[derive(Default)]
    pub(super) struct Heap {
        long_lived: Option<Gc<Node>>,
        array: Option<Gc<Vec<f64>>>,
    }

    impl super::Heap for Heap {
        fn made_tree(&mut self, depth: u32) -> u64 {
            make(depth).1
        }

        fn populated_tree(&mut self, depth: u32) -> u64 {
            1 + populate(depth, &Gc::new(Node::default()))
        }

        fn keep_long_lived_tree(&mut self, depth: u32) -> u64 {
            let root = self.long_lived.insert(Gc::new(Node::default()));
            1 + populate(depth, root)
        }

        fn keep_array(&mut self, values: &[f64]) {
            self.array = Some(Gc::new(values.to_vec()));
        }

        fn check(&mut self, index: usize) -> (u64, f64) {
            let nodes = self.long_lived.as_deref().map_or(0, count);
            (
                nodes,
                self.array.as_ref().map_or(f64::NAN, |array| array[index]),
            )
        }

        fn finish(self) {
            drop(self);
            dumpster::unsync::collect();
        }
    }
}

/// `rust-cc`: thread-local counted pointers with an automatic cycle collector; children behind
/// `RefCell`.
mod rust_cc_crate {
    use std::cell::RefCell;

    use rust_cc::{Cc, Finalize, Trace};

    #[derive(Default, Trace, Finalize)]
    struct Node {
        left: RefCell<Option<Cc<Node>>>,
        right: RefCell<Option<Cc<Node>>>,
        i: i32,
        j: i32,
    }

    fn populate(depth: u32, node: &Node) -> u64 {
        if depth == 0 {
            return 0;
        }
        let left = Cc::new(Node::default());
        let right = Cc::new(Node::default());
        *node.left.borrow_mut() = Some(left.clone());
        *node.right.borrow_mut() = Some(right.clone());
        2 + populate(depth - 1, &left) + populate(depth - 1, &right)
    }

    fn make(depth: u32) -> (Cc<Node>, u64) {
        if depth == 0 {
            return (Cc::new(Node::default()), 1);
        }
        let (left, in_left) = make(depth - 1);
        let (right, in_right) = make(depth - 1);
        let node = Node {
            left: RefCell::new(Some(left)),
            right: RefCell::new(Some(right)),
            i: 0,
            j: 0,
        };
        (Cc::new(node), 1 + in_left + in_right)
    }

    fn count(node: &Node) -> u64 {
        std::hint::black_box((node.i, node.j));
        1 + node.left.borrow().as_deref().map_or(0, count)
            + node.right.borrow().as_deref().map_or(0, count)
    }

    #[derive(Default)]
    pub(super) struct Heap {
        long_lived: Option<Cc<Node>>,
        array: Option<Cc<Vec<f64>>>,
    }

    impl super::Heap for Heap {
        fn made_tree(&mut self, depth: u32) -> u64 {
            make(depth).1
        }

        fn populated_tree(&mut self, depth: u32) -> u64 {
            1 + populate(depth, &Cc::new(Node::default()))
        }

        fn keep_long_lived_tree(&mut self, depth: u32) -> u64 {
            let root = self.long_lived.insert(Cc::new(Node::default()));
            1 + populate(depth, root)
        }

        fn keep_array(&mut self, values: &[f64]) {
            self.array = Some(Cc::new(values.to_vec()));
        }

        fn check(&mut self, index: usize) -> (u64, f64) {
            let nodes = self.long_lived.as_deref().map_or(0, count);
            (
                nodes,
                self.array.as_ref().map_or(f64::NAN, |array| array[index]),
            )
        }

        fn finish(self) {
            drop(self);
            rust_cc::collect_cycles();
        }
    }
}

/// gc-arena: every tree is built inside one `mutate` call and the arena pays its allocation debt
/// between calls; children behind `RefLock`, whose `borrow_mut` takes the mutation context so that
/// the write barrier runs. The root holds the long-lived tree and array.
mod gc_arena_crate {
    use gc_arena::{Arena, Collect, Gc, Mutation, RefLock, Rootable};

    #[derive(Default, Collect)]
    #[collect(no_drop)]
    struct Node<'gc> {
        left: Option<NodePtr<'gc>>,
        right: Option<NodePtr<'gc>>,
        i: i32,
        j: i32,
    }

    type NodePtr<'gc> = Gc<'gc, RefLock<Node<'gc>>>;

    #[derive(Default, Collect)]
    #[collect(no_drop)]
    struct Root<'gc> {
        long_lived: Option<NodePtr<'gc>>,
        array: Option<Gc<'gc, Vec<f64>>>,
    }

    fn new_node<'gc>(mc: &Mutation<'gc>) -> NodePtr<'gc> {
        Gc::new(mc, RefLock::new(Node::default()))
    }

    fn populate<'gc>(mc: &Mutation<'gc>, depth: u32, node: NodePtr<'gc>) -> u64 {
        if depth == 0 {
            return 0;
        }
        let left = new_node(mc);
        let right = new_node(mc);
        {
            let mut node = node.borrow_mut(mc);
            node.left = Some(left);
            node.right = Some(right);
        }
        2 + populate(mc, depth - 1, left) + populate(mc, depth - 1, right)
    }

    fn make<'gc>(mc: &Mutation<'gc>, depth: u32) -> (NodePtr<'gc>, u64) {
        if depth == 0 {
            return (new_node(mc), 1);
        }
        let (left, in_left) = make(mc, depth - 1);
        let (right, in_right) = make(mc, depth - 1);
        let node = Node {
            left: Some(left),
            right: Some(right),
            i: 0,
            j: 0,
        };
        (Gc::new(mc, RefLock::new(node)), 1 + in_left + in_right)
    }

    fn count(node: NodePtr<'_>) -> u64 {
        let node = node.borrow();
        std::hint::black_box((node.i, node.j));
        1 + node.left.map_or(0, count) + node.right.map_or(0, count)
    }

    pub(super) struct Heap {
        arena: Arena<Rootable![Root<'_>]>,
    }

    impl Default for Heap {
        fn default() -> Heap {
            Heap {
                arena: Arena::new(|_| Root::default()),
            }
        }
    }

    impl super::Heap for Heap {
        fn made_tree(&mut self, depth: u32) -> u64 {
            let created = self.arena.mutate(|mc, _| make(mc, depth).1);
            self.arena.collect_debt();
            created
        }

        fn populated_tree(&mut self, depth: u32) -> u64 {
            let created = self
                .arena
                .mutate(|mc, _| 1 + populate(mc, depth, new_node(mc)));
            self.arena.collect_debt();
            created
        }

        fn keep_long_lived_tree(&mut self, depth: u32) -> u64 {
            let created = self.arena.mutate_root(|mc, root| {
                let tree = new_node(mc);
                root.long_lived = Some(tree);
                1 + populate(mc, depth, tree)
            });
            self.arena.collect_debt();
            created
        }

        fn keep_array(&mut self, values: &[f64]) {
            self.arena
                .mutate_root(|mc, root| root.array = Some(Gc::new(mc, values.to_vec())));
            self.arena.collect_debt();
        }

        fn check(&mut self, index: usize) -> (u64, f64) {
            self.arena.mutate(|_, root| {
                let nodes = root.long_lived.map_or(0, count);
                (nodes, root.array.map_or(f64::NAN, |array| array[index]))
            })
        }

        fn finish(self) {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMOKE: Sizes = Sizes {
        stretch: 8,
        long_lived: 6,
        array: 4_000,
        min: 4,
        max: 6,
    };

    /// The checksum GCBench must produce for `sizes`, from the shape alone.
    fn expected_checksum(sizes: Sizes) -> u64 {
        let temporary: u64 = (sizes.min..=sizes.max)
            .step_by(2)
            .map(|depth| 2 * (2 * tree_size(sizes.stretch) / tree_size(depth)) * tree_size(depth))
            .sum();
        let created = tree_size(sizes.stretch) + tree_size(sizes.long_lived) + temporary;
        created + tree_size(sizes.long_lived) + (1.0f64 / CHECKED_INDEX as f64).to_bits()
    }

    #[test]
    fn every_implementation_creates_and_keeps_the_same_objects() {
        for case in &workload(Scale::Smoke).cases {
            assert_eq!(
                case.run().checksum,
                expected_checksum(SMOKE),
                "{}",
                case.implementation
            );
        }
    }

    #[test]
    fn the_array_holds_reciprocals_in_its_first_half() {
        let values = array_values(8);
        assert_eq!(values[2], 0.5);
        assert_eq!(values[4], 0.0);
    }
}
