//! Random graphs against a reference model, on both heaps (the body of `gc_model.rs`, expanded for
//! each heap by `model!`, with young collections added): after every `collect`, exactly the objects
//! that are unreachable in the model have been freed, and at no time is a reachable one freed.

macro_rules! model {
    ($heap:ident, $($path:ident)::+) => {
        mod $heap {
            use janitor::gc::Trace;
            use $($path)::+::{Gc, GcCell, collect, collect_generation};
            use proptest::prelude::*;
            use std::sync::{Arc, Mutex};

        #[derive(Trace)]
        struct ModelNode {
            #[trace(skip)]
            id: usize,
            #[trace(skip)]
            freed: Arc<Mutex<Vec<bool>>>,
            edges: GcCell<Vec<Gc<ModelNode>>>,
        }

        impl Drop for ModelNode {
            fn drop(&mut self) {
                let mut freed = self.freed.lock().unwrap();
                assert!(!freed[self.id], "node {} dropped twice", self.id);
                freed[self.id] = true;
            }
        }

        #[derive(Clone, Debug)]
        enum Step {
            Allocate,
            Link(usize, usize),
            Unlink(usize, usize),
            DropRoot(usize),
            Collect,
            CollectYoung,
        }

        fn step() -> impl Strategy<Value = Step> {
            prop_oneof![
                3 => Just(Step::Allocate),
                4 => (any::<usize>(), any::<usize>()).prop_map(|(from, to)| Step::Link(from, to)),
                1 => (any::<usize>(), any::<usize>()).prop_map(|(from, edge)| Step::Unlink(from, edge)),
                2 => any::<usize>().prop_map(Step::DropRoot),
                1 => Just(Step::Collect),
                1 => Just(Step::CollectYoung),
            ]
        }

        /// The model: each node's edges and whether a root (a `Gc` outside the heap) holds it.
        struct Model {
            edges: Vec<Vec<usize>>,
            rooted: Vec<bool>,
        }

        impl Model {
            fn reachable(&self) -> Vec<bool> {
                let mut seen = self.rooted.clone();
                let mut stack: Vec<usize> = (0..seen.len()).filter(|&node| seen[node]).collect();
                while let Some(node) = stack.pop() {
                    for &next in &self.edges[node] {
                        if !seen[next] {
                            seen[next] = true;
                            stack.push(next);
                        }
                    }
                }
                seen
            }
        }

        fn pick_rooted(rooted: &[bool], choice: usize) -> Option<usize> {
            let candidates: Vec<usize> = (0..rooted.len()).filter(|&node| rooted[node]).collect();
            (!candidates.is_empty()).then(|| candidates[choice % candidates.len()])
        }

        fn run(steps: Vec<Step>) -> Result<(), TestCaseError> {
            let freed = Arc::new(Mutex::new(Vec::new()));
            let mut model = Model {
                edges: Vec::new(),
                rooted: Vec::new(),
            };
            let mut roots: Vec<Option<Gc<ModelNode>>> = Vec::new();
            for step in steps {
                match step {
                    Step::Allocate => {
                        let id = roots.len();
                        freed.lock().unwrap().push(false);
                        roots.push(Some(Gc::new(ModelNode {
                            id,
                            freed: freed.clone(),
                            edges: GcCell::new(Vec::new()),
                        })));
                        model.edges.push(Vec::new());
                        model.rooted.push(true);
                    }
                    Step::Link(from, to) => {
                        if let (Some(from), Some(to)) = (
                            pick_rooted(&model.rooted, from),
                            pick_rooted(&model.rooted, to),
                        ) {
                            let target = roots[to].clone().unwrap();
                            roots[from]
                                .as_ref()
                                .unwrap()
                                .edges
                                .borrow_mut()
                                .push(target);
                            model.edges[from].push(to);
                        }
                    }
                    Step::Unlink(from, edge) => {
                        if let Some(from) = pick_rooted(&model.rooted, from)
                            && !model.edges[from].is_empty()
                        {
                            let edge = edge % model.edges[from].len();
                            model.edges[from].remove(edge);
                            let removed = roots[from]
                                .as_ref()
                                .unwrap()
                                .edges
                                .borrow_mut()
                                .remove(edge);
                            drop(removed);
                        }
                    }
                    Step::DropRoot(node) => {
                        if let Some(node) = pick_rooted(&model.rooted, node) {
                            model.rooted[node] = false;
                            roots[node] = None;
                        }
                    }
                    Step::CollectYoung => collect_generation(0),
                    Step::Collect => {
                        collect();
                        let reachable = model.reachable();
                        let freed = freed.lock().unwrap();
                        for node in 0..reachable.len() {
                            prop_assert_eq!(freed[node], !reachable[node], "node {} after collect", node);
                        }
                    }
                }
                let reachable = model.reachable();
                let freed = freed.lock().unwrap();
                for node in 0..reachable.len() {
                    prop_assert!(
                        !(reachable[node] && freed[node]),
                        "reachable node {} was freed",
                        node
                    );
                }
            }
            Ok(())
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

            #[test]
            fn after_every_collect_exactly_the_unreachable_objects_are_freed(steps in proptest::collection::vec(step(), 1..120)) {
                run(steps)?;
            }
        }
        }
    };
}

model!(shared_heap, janitor::gc);
model!(thread_local_heap, janitor::gc::unsync);
