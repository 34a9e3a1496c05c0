//! `binary-trees`: the Benchmarks Game program, single-threaded.
//!
//! Shape: with `max` the maximum depth (21 full, 16 quick), build and check a stretch tree of depth
//! `max + 1` and let it go; build a long-lived tree of depth `max` and keep it; then for every depth
//! `d` in `4, 6, ..= max`, build, check and let go `2^(max - d + 4)` trees of depth `d`; finally check
//! the long-lived tree. A tree of depth `d` is a perfect binary tree of `2^(d+1) - 1` nodes whose
//! children are `Option<Ptr<Node>>`; checking it counts its nodes by walking it.
//!
//! What it measures: the cost of allocating and freeing many small, short-lived, acyclic objects
//! while a large old structure stays alive (the generational hypothesis in its purest form). It
//! contains no cycles, so a reference-counted heap frees every tree the moment its root is dropped,
//! while a tracing heap frees it at its next collection. `box` is the single-owner baseline; `arena`
//! is the allocation limit (one bump arena reset before every short-lived tree, a second one for the
//! long-lived tree).
//!
//! Checksum: the sum of every check, identical for all implementations when they built the same trees.
//! Every run ends with all its memory released (the GC crates collect once at the end), so that no run
//! leaves garbage for the next one to pay for.

use crate::harness::{Case, Sample, Scale, Workload};

/// The smallest depth of the short-lived trees, as in the Benchmarks Game.
const MIN_DEPTH: u32 = 4;

/// One implementation's way of building, checking and releasing trees.
trait Trees {
    /// Builds a tree of `depth`, checks it, lets it go; returns the check.
    fn short_lived(&mut self, depth: u32) -> u64;
    /// Builds a tree of `depth` and keeps it until [`Trees::finish`].
    fn keep_long_lived(&mut self, depth: u32);
    /// Checks the kept tree.
    fn check_long_lived(&mut self) -> u64;
    /// Releases everything, collecting if the implementation needs to.
    fn finish(self);
}

/// The Benchmarks Game program over `trees`; returns the sum of all checks.
fn program(mut trees: impl Trees, max_depth: u32) -> u64 {
    let max_depth = max_depth.max(MIN_DEPTH + 2);
    let mut checksum = trees.short_lived(max_depth + 1);
    trees.keep_long_lived(max_depth);
    for depth in (MIN_DEPTH..=max_depth).step_by(2) {
        let iterations = 1u64 << (max_depth - depth + MIN_DEPTH);
        for _ in 0..iterations {
            checksum += trees.short_lived(depth);
        }
    }
    checksum += trees.check_long_lived();
    trees.finish();
    checksum
}

/// The workload at `scale`, with one case per implementation.
///
/// ```
/// use janitor_bench::harness::{measure, Scale};
/// let workload = janitor_bench::workloads::binary_trees::workload(Scale::Smoke);
/// assert!(measure(&workload, 1, |_, _| {}).is_ok());
/// ```
pub fn workload(scale: Scale) -> Workload {
    let max_depth = match scale {
        Scale::Smoke => 6,
        Scale::Quick => 16,
        Scale::Full => 21,
    };
    fn case<T: Trees + 'static>(name: &'static str, max_depth: u32, make: fn() -> T) -> Case {
        Case::new(name, move || Sample::timing(|| program(make(), max_depth)))
    }
    Workload {
        name: "binary-trees",
        baseline: "janitor",
        cases: vec![
            case("janitor", max_depth, janitor_heap::Heap::default),
            case(
                "janitor-unsync",
                max_depth,
                janitor_unsync_heap::Heap::default,
            ),
            case("box", max_depth, boxed::Heap::default),
            case("rc", max_depth, rc::Heap::default),
            case("arc", max_depth, arc::Heap::default),
            Case::new("arena", move || {
                Sample::timing(|| {
                    let long_lived = bumpalo::Bump::new();
                    program(arena::Heap::new(&long_lived), max_depth)
                })
            }),
            case("gc", max_depth, gc_crate::Heap::default),
            case("dumpster-sync", max_depth, dumpster_sync::Heap::default),
            case("dumpster-unsync", max_depth, dumpster_unsync::Heap::default),
            case("gc-arena", max_depth, gc_arena_crate::Heap::default),
            case("rust-cc", max_depth, rust_cc_crate::Heap::default),
        ],
        absent: vec![],
    }
}

/// janitor: counted `Gc` pointers; nodes whose edges never change and whose children are untracked
/// are never examined by the cycle collector, so these trees cost counts only. One collection at the
/// end, like the other collecting crates.
mod janitor_heap {
    use janitor::gc::{Gc, Trace};

    #[derive(Trace)]
    struct Node {
        left: Option<Gc<Node>>,
        right: Option<Gc<Node>>,
    }

    fn build(depth: u32) -> Gc<Node> {
        if depth == 0 {
            Gc::new(Node {
                left: None,
                right: None,
            })
        } else {
            Gc::new(Node {
                left: Some(build(depth - 1)),
                right: Some(build(depth - 1)),
            })
        }
    }

    fn check(node: &Node) -> u64 {
        1 + node.left.as_deref().map_or(0, check) + node.right.as_deref().map_or(0, check)
    }

    #[derive(Default)]
    pub(super) struct Heap {
        long_lived: Option<Gc<Node>>,
    }

    impl super::Trees for Heap {
        fn short_lived(&mut self, depth: u32) -> u64 {
            check(&build(depth))
        }

        fn keep_long_lived(&mut self, depth: u32) {
            self.long_lived = Some(build(depth));
        }

        fn check_long_lived(&mut self) -> u64 {
            self.long_lived.as_deref().map_or(0, check)
        }

        fn finish(self) {
            drop(self);
            janitor::gc::collect();
        }
    }
}

/// janitor's thread-local heap (`janitor::gc::unsync`): plain counts; as on the shared heap, nodes
/// whose edges never change and whose children are untracked are never tracked.
mod janitor_unsync_heap {
    use janitor::gc::Trace;
    use janitor::gc::unsync::Gc;

    #[derive(Trace)]
    struct Node {
        left: Option<Gc<Node>>,
        right: Option<Gc<Node>>,
    }

    fn build(depth: u32) -> Gc<Node> {
        if depth == 0 {
            Gc::new(Node {
                left: None,
                right: None,
            })
        } else {
            Gc::new(Node {
                left: Some(build(depth - 1)),
                right: Some(build(depth - 1)),
            })
        }
    }

    fn check(node: &Node) -> u64 {
        1 + node.left.as_deref().map_or(0, check) + node.right.as_deref().map_or(0, check)
    }

    #[derive(Default)]
    pub(super) struct Heap {
        long_lived: Option<Gc<Node>>,
    }

    impl super::Trees for Heap {
        fn short_lived(&mut self, depth: u32) -> u64 {
            check(&build(depth))
        }

        fn keep_long_lived(&mut self, depth: u32) {
            self.long_lived = Some(build(depth));
        }

        fn check_long_lived(&mut self) -> u64 {
            self.long_lived.as_deref().map_or(0, check)
        }

        fn finish(self) {
            drop(self);
            janitor::gc::unsync::collect();
        }
    }
}

/// Single ownership: the tree owns its children, dropping the root frees the tree.
mod boxed {

    struct Node {
        left: Option<Box<Node>>,
        right: Option<Box<Node>>,
    }

    fn build(depth: u32) -> Box<Node> {
        if depth == 0 {
            Box::new(Node {
                left: None,
                right: None,
            })
        } else {
            Box::new(Node {
                left: Some(build(depth - 1)),
                right: Some(build(depth - 1)),
            })
        }
    }

    fn check(node: &Node) -> u64 {
        1 + node.left.as_deref().map_or(0, check) + node.right.as_deref().map_or(0, check)
    }

    #[derive(Default)]
    pub(super) struct Heap {
        long_lived: Option<Box<Node>>,
    }

    impl super::Trees for Heap {
        fn short_lived(&mut self, depth: u32) -> u64 {
            check(&build(depth))
        }

        fn keep_long_lived(&mut self, depth: u32) {
            self.long_lived = Some(build(depth));
        }

        fn check_long_lived(&mut self) -> u64 {
            self.long_lived.as_deref().map_or(0, check)
        }

        fn finish(self) {}
    }
}

/// Non-atomic reference counts.
mod rc {
    use std::rc::Rc;

    struct Node {
        left: Option<Rc<Node>>,
        right: Option<Rc<Node>>,
    }

    fn build(depth: u32) -> Rc<Node> {
        if depth == 0 {
            Rc::new(Node {
                left: None,
                right: None,
            })
        } else {
            Rc::new(Node {
                left: Some(build(depth - 1)),
                right: Some(build(depth - 1)),
            })
        }
    }

    fn check(node: &Node) -> u64 {
        1 + node.left.as_deref().map_or(0, check) + node.right.as_deref().map_or(0, check)
    }

    #[derive(Default)]
    pub(super) struct Heap {
        long_lived: Option<Rc<Node>>,
    }

    impl super::Trees for Heap {
        fn short_lived(&mut self, depth: u32) -> u64 {
            check(&build(depth))
        }

        fn keep_long_lived(&mut self, depth: u32) {
            self.long_lived = Some(build(depth));
        }

        fn check_long_lived(&mut self) -> u64 {
            self.long_lived.as_deref().map_or(0, check)
        }

        fn finish(self) {}
    }
}

/// Atomic reference counts.
mod arc {
    use std::sync::Arc;

    struct Node {
        left: Option<Arc<Node>>,
        right: Option<Arc<Node>>,
    }

    fn build(depth: u32) -> Arc<Node> {
        if depth == 0 {
            Arc::new(Node {
                left: None,
                right: None,
            })
        } else {
            Arc::new(Node {
                left: Some(build(depth - 1)),
                right: Some(build(depth - 1)),
            })
        }
    }

    fn check(node: &Node) -> u64 {
        1 + node.left.as_deref().map_or(0, check) + node.right.as_deref().map_or(0, check)
    }

    #[derive(Default)]
    pub(super) struct Heap {
        long_lived: Option<Arc<Node>>,
    }

    impl super::Trees for Heap {
        fn short_lived(&mut self, depth: u32) -> u64 {
            check(&build(depth))
        }

        fn keep_long_lived(&mut self, depth: u32) {
            self.long_lived = Some(build(depth));
        }

        fn check_long_lived(&mut self) -> u64 {
            self.long_lived.as_deref().map_or(0, check)
        }

        fn finish(self) {}
    }
}

/// The `gc` crate: a thread-local mark-and-sweep heap with rooted pointers; it collects when
/// its allocation threshold is crossed, and once more at the end.
// gc's derives (built on an old synstructure) put their impls inside a constant.
#[allow(non_local_definitions)]
mod gc_crate {
    use gc::{Finalize, Gc, Trace};

    #[derive(Trace, Finalize)]
    struct Node {
        left: Option<Gc<Node>>,
        right: Option<Gc<Node>>,
    }

    fn build(depth: u32) -> Gc<Node> {
        if depth == 0 {
            Gc::new(Node {
                left: None,
                right: None,
            })
        } else {
            Gc::new(Node {
                left: Some(build(depth - 1)),
                right: Some(build(depth - 1)),
            })
        }
    }

    fn check(node: &Node) -> u64 {
        1 + node.left.as_deref().map_or(0, check) + node.right.as_deref().map_or(0, check)
    }

    #[derive(Default)]
    pub(super) struct Heap {
        long_lived: Option<Gc<Node>>,
    }

    impl super::Trees for Heap {
        fn short_lived(&mut self, depth: u32) -> u64 {
            check(&build(depth))
        }

        fn keep_long_lived(&mut self, depth: u32) {
            self.long_lived = Some(build(depth));
        }

        fn check_long_lived(&mut self) -> u64 {
            self.long_lived.as_deref().map_or(0, check)
        }

        fn finish(self) {
            drop(self);
            gc::force_collect();
        }
    }
}

/// `dumpster::sync`: thread-safe reference counts with a concurrent cycle collector.
mod dumpster_sync {
    use dumpster::Trace;
    use dumpster::sync::Gc;

    #[derive(Trace)]
    struct Node {
        left: Option<Gc<Node>>,
        right: Option<Gc<Node>>,
    }

    fn build(depth: u32) -> Gc<Node> {
        if depth == 0 {
            Gc::new(Node {
                left: None,
                right: None,
            })
        } else {
            Gc::new(Node {
                left: Some(build(depth - 1)),
                right: Some(build(depth - 1)),
            })
        }
    }

    fn check(node: &Node) -> u64 {
        1 + node.left.as_deref().map_or(0, check) + node.right.as_deref().map_or(0, check)
    }

    #[derive(Default)]
    pub(super) struct Heap {
        long_lived: Option<Gc<Node>>,
    }

    impl super::Trees for Heap {
        fn short_lived(&mut self, depth: u32) -> u64 {
            check(&build(depth))
        }

        fn keep_long_lived(&mut self, depth: u32) {
            self.long_lived = Some(build(depth));
        }

        fn check_long_lived(&mut self) -> u64 {
            self.long_lived.as_deref().map_or(0, check)
        }

        fn finish(self) {
            drop(self);
            dumpster::sync::collect();
        }
    }
}

/// `dumpster::unsync`: thread-local reference counts with a cycle collector.
mod dumpster_unsync {
    use dumpster::Trace;
    use dumpster::unsync::Gc;

    #[derive(Trace)]
    struct Node {
        left: Option<Gc<Node>>,
        right: Option<Gc<Node>>,
    }

    fn build(depth: u32) -> Gc<Node> {
        if depth == 0 {
            Gc::new(Node {
                left: None,
                right: None,
            })
        } else {
            Gc::new(Node {
                left: Some(build(depth - 1)),
                right: Some(build(depth - 1)),
            })
        }
    }

    fn check(node: &Node) -> u64 {
        1 + node.left.as_deref().map_or(0, check) + node.right.as_deref().map_or(0, check)
    }

    #[derive(Default)]
    pub(super) struct Heap {
        long_lived: Option<Gc<Node>>,
    }

    impl super::Trees for Heap {
        fn short_lived(&mut self, depth: u32) -> u64 {
            check(&build(depth))
        }

        fn keep_long_lived(&mut self, depth: u32) {
            self.long_lived = Some(build(depth));
        }

        fn check_long_lived(&mut self) -> u64 {
            self.long_lived.as_deref().map_or(0, check)
        }

        fn finish(self) {
            drop(self);
            dumpster::unsync::collect();
        }
    }
}

/// `rust-cc`: thread-local reference counts with a cycle collector that runs automatically.
mod rust_cc_crate {
    use rust_cc::{Cc, Finalize, Trace};

    #[derive(Trace, Finalize)]
    struct Node {
        left: Option<Cc<Node>>,
        right: Option<Cc<Node>>,
    }

    fn build(depth: u32) -> Cc<Node> {
        if depth == 0 {
            Cc::new(Node {
                left: None,
                right: None,
            })
        } else {
            Cc::new(Node {
                left: Some(build(depth - 1)),
                right: Some(build(depth - 1)),
            })
        }
    }

    fn check(node: &Node) -> u64 {
        1 + node.left.as_deref().map_or(0, check) + node.right.as_deref().map_or(0, check)
    }

    #[derive(Default)]
    pub(super) struct Heap {
        long_lived: Option<Cc<Node>>,
    }

    impl super::Trees for Heap {
        fn short_lived(&mut self, depth: u32) -> u64 {
            check(&build(depth))
        }

        fn keep_long_lived(&mut self, depth: u32) {
            self.long_lived = Some(build(depth));
        }

        fn check_long_lived(&mut self) -> u64 {
            self.long_lived.as_deref().map_or(0, check)
        }

        fn finish(self) {
            drop(self);
            rust_cc::collect_cycles();
        }
    }
}

/// Bump allocation: nodes are references into an arena that frees everything at once.
mod arena {
    use bumpalo::Bump;

    struct Node<'a> {
        left: Option<&'a Node<'a>>,
        right: Option<&'a Node<'a>>,
    }

    fn build(arena: &Bump, depth: u32) -> &Node<'_> {
        let (left, right) = if depth == 0 {
            (None, None)
        } else {
            (Some(build(arena, depth - 1)), Some(build(arena, depth - 1)))
        };
        arena.alloc(Node { left, right })
    }

    fn check(node: &Node<'_>) -> u64 {
        1 + node.left.map_or(0, check) + node.right.map_or(0, check)
    }

    /// The short-lived trees share one arena, reset before each tree; the long-lived tree lives in an
    /// arena owned by the caller, so that it can be borrowed for the whole program.
    pub(super) struct Heap<'a> {
        short_lived: Bump,
        long_lived_arena: &'a Bump,
        long_lived: Option<&'a Node<'a>>,
    }

    impl<'a> Heap<'a> {
        pub(super) fn new(long_lived_arena: &'a Bump) -> Heap<'a> {
            Heap {
                short_lived: Bump::new(),
                long_lived_arena,
                long_lived: None,
            }
        }
    }

    impl super::Trees for Heap<'_> {
        fn short_lived(&mut self, depth: u32) -> u64 {
            self.short_lived.reset();
            check(build(&self.short_lived, depth))
        }

        fn keep_long_lived(&mut self, depth: u32) {
            self.long_lived = Some(build(self.long_lived_arena, depth));
        }

        fn check_long_lived(&mut self) -> u64 {
            self.long_lived.map_or(0, check)
        }

        fn finish(self) {}
    }
}

/// gc-arena: every tree is built and checked inside one `mutate` call, and the arena pays its
/// allocation debt between calls, which is when it may collect.
mod gc_arena_crate {
    use gc_arena::{Arena, Collect, Gc, Mutation, Rootable};

    #[derive(Collect)]
    #[collect(no_drop)]
    struct Node<'gc> {
        left: Option<Gc<'gc, Node<'gc>>>,
        right: Option<Gc<'gc, Node<'gc>>>,
    }

    fn build<'gc>(mc: &Mutation<'gc>, depth: u32) -> Gc<'gc, Node<'gc>> {
        let (left, right) = if depth == 0 {
            (None, None)
        } else {
            (Some(build(mc, depth - 1)), Some(build(mc, depth - 1)))
        };
        Gc::new(mc, Node { left, right })
    }

    fn check(node: Gc<'_, Node<'_>>) -> u64 {
        1 + node.left.map_or(0, check) + node.right.map_or(0, check)
    }

    /// The arena's root: the long-lived tree.
    type LongLived = Rootable![Option<Gc<'_, Node<'_>>>];

    pub(super) struct Heap {
        arena: Arena<LongLived>,
    }

    impl Default for Heap {
        fn default() -> Heap {
            Heap {
                arena: Arena::new(|_| None),
            }
        }
    }

    impl super::Trees for Heap {
        fn short_lived(&mut self, depth: u32) -> u64 {
            let checked = self.arena.mutate(|mc, _| check(build(mc, depth)));
            self.arena.collect_debt();
            checked
        }

        fn keep_long_lived(&mut self, depth: u32) {
            self.arena
                .mutate_root(|mc, root| *root = Some(build(mc, depth)));
            self.arena.collect_debt();
        }

        fn check_long_lived(&mut self) -> u64 {
            self.arena.mutate(|_, root| root.map_or(0, check))
        }

        fn finish(self) {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The nodes the program checks for `max`, from the shape alone.
    fn expected_checksum(max: u32) -> u64 {
        let nodes = |depth: u32| (1u64 << (depth + 1)) - 1;
        let short_lived: u64 = (MIN_DEPTH..=max)
            .step_by(2)
            .map(|depth| (1u64 << (max - depth + MIN_DEPTH)) * nodes(depth))
            .sum();
        nodes(max + 1) + short_lived + nodes(max)
    }

    #[test]
    fn checksum_counts_every_node_of_every_tree() {
        assert_eq!(program(boxed::Heap::default(), 6), expected_checksum(6));
        assert_eq!(
            program(gc_arena_crate::Heap::default(), 8),
            expected_checksum(8)
        );
    }

    #[test]
    fn every_implementation_checks_the_same_nodes() {
        let workload = workload(Scale::Smoke);
        for case in &workload.cases {
            assert_eq!(
                case.run().checksum,
                expected_checksum(6),
                "{}",
                case.implementation
            );
        }
    }
}
