//! Trial deletion's mark step, shared by the collector (`collector.rs`) and the finalizer
//! thread's pass over queued objects (`confined.rs`).
//!
//! Invariant owned here: an examined object is marked live exactly when it is reachable, along
//! recorded edges, from an object that is held from outside the examined set (its count, less the
//! examiner's own hold and the recorded edges into it, is above zero) or from an *opaque* object
//! (one with a cell that could not be held: what that cell holds was never recorded, so it must
//! count as held from outside). The caller owns what makes the counts and edges trustworthy: the
//! pins, the held cells, and the validation that follows.

use std::ops::Range;

/// What the mark step reads of one examined object.
pub(crate) trait Examinee {
    /// The object's count in its snapshot, the examiner's own hold (a pin, or the finalizer
    /// queue's count) included.
    fn snapshot_count(&self) -> u64;
    /// Whether a cell of the object could not be held.
    fn is_opaque(&self) -> bool;
    /// The object's recorded edges: a range of the edge table, each entry an examined index.
    fn edges(&self) -> Range<usize>;
}

/// Which examined objects are reachable from one held from outside (see the module's text).
pub(crate) fn mark_live<E: Examinee>(examined: &[E], edges: &[u32]) -> Vec<bool> {
    mark_live_pausing(examined, edges, usize::MAX, &mut || {})
}

/// [`mark_live`], calling `pause` after every `every` objects marked, so that an examiner holding
/// a lock can do its chores between them (the collector frees what threads departed meanwhile).
pub(crate) fn mark_live_pausing<E: Examinee>(
    examined: &[E],
    edges: &[u32],
    every: usize,
    pause: &mut dyn FnMut(),
) -> Vec<bool> {
    let mut live = Vec::new();
    mark(
        examined,
        edges,
        Pause { every, call: pause },
        &mut MarkBuffers::new(),
        &mut live,
    );
    live
}

/// The mark step's working memory, which an examiner that runs often keeps from one examination
/// to the next (the thread-local heap's young collections), so that marking allocates nothing.
pub(crate) struct MarkBuffers {
    external: Vec<i64>,
    roots: Vec<usize>,
    stack: Vec<usize>,
}

impl MarkBuffers {
    pub(crate) const fn new() -> Self {
        Self {
            external: Vec::new(),
            roots: Vec::new(),
            stack: Vec::new(),
        }
    }
}

/// [`mark_live`] into `live`, with the working memory of `buffers`.
pub(crate) fn mark_live_reusing<E: Examinee>(
    examined: &[E],
    edges: &[u32],
    buffers: &mut MarkBuffers,
    live: &mut Vec<bool>,
) {
    let never = Pause {
        every: usize::MAX,
        call: &mut || {},
    };
    mark(examined, edges, never, buffers, live);
}

/// What the mark step calls between marks: `call` after every `every` objects marked.
struct Pause<'a> {
    every: usize,
    call: &'a mut dyn FnMut(),
}

fn mark<E: Examinee>(
    examined: &[E],
    edges: &[u32],
    pause: Pause<'_>,
    buffers: &mut MarkBuffers,
    live: &mut Vec<bool>,
) {
    // Counts are at most `i32::MAX` (the count word aborts past it), so `i64` never overflows.
    let external = &mut buffers.external;
    external.clear();
    external.extend(
        examined
            .iter()
            .map(|object| object.snapshot_count() as i64 - 1),
    );
    for &target in edges {
        external[target as usize] -= 1;
    }
    live.clear();
    live.resize(examined.len(), false);
    let mut roots = std::mem::take(&mut buffers.roots);
    roots.clear();
    roots.extend(
        (0..examined.len()).filter(|&index| external[index] > 0 || examined[index].is_opaque()),
    );
    spread(
        examined,
        edges,
        live,
        &roots,
        pause,
        &mut buffers.stack,
        None,
    );
    buffers.roots = roots;
}

/// Marks `roots` live, and everything reachable from them along recorded edges; returns the
/// objects this call marked (those that were not live before). An examiner calls it again with
/// the objects a thread touched after their snapshot (their freeze failed): such an object was
/// reached by a reference the snapshot did not count, so it is held from outside too.
pub(crate) fn spread_life<E: Examinee>(
    examined: &[E],
    edges: &[u32],
    live: &mut [bool],
    roots: &[usize],
) -> Vec<usize> {
    let mut marked = Vec::new();
    let never = Pause {
        every: usize::MAX,
        call: &mut || {},
    };
    spread(
        examined,
        edges,
        live,
        roots,
        never,
        &mut Vec::new(),
        Some(&mut marked),
    );
    marked
}

/// Marks `roots` and what they reach, appending each object it marks to `marked` if given (only
/// [`spread_life`]'s callers want them); `stack` is working memory, left empty.
fn spread<E: Examinee>(
    examined: &[E],
    edges: &[u32],
    live: &mut [bool],
    roots: &[usize],
    pause: Pause<'_>,
    stack: &mut Vec<usize>,
    mut marked: Option<&mut Vec<usize>>,
) {
    // Counted down, not a remainder per mark: a division per object costs more than the mark.
    let mut until_pause = pause.every;
    for &root in roots {
        if !live[root] {
            live[root] = true;
            if let Some(marked) = marked.as_deref_mut() {
                marked.push(root);
            }
            stack.push(root);
        }
    }
    while let Some(index) = stack.pop() {
        for &target in &edges[examined[index].edges()] {
            let target = target as usize;
            if !live[target] {
                live[target] = true;
                if let Some(marked) = marked.as_deref_mut() {
                    marked.push(target);
                }
                stack.push(target);
                until_pause -= 1;
                if until_pause == 0 {
                    (pause.call)();
                    until_pause = pause.every;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Object {
        count: u64,
        opaque: bool,
        edges: Range<usize>,
    }

    impl Examinee for Object {
        fn snapshot_count(&self) -> u64 {
            self.count
        }
        fn is_opaque(&self) -> bool {
            self.opaque
        }
        fn edges(&self) -> Range<usize> {
            self.edges.clone()
        }
    }

    #[test]
    fn a_cycle_held_only_by_its_own_edges_is_not_live_but_what_outside_holds_reaches_is() {
        // 0 <-> 1 is a garbage cycle (each count: the pin and the other's edge); 2 is held from
        // outside (pin, edge-free reference) and points to 3 (pin and that edge).
        let edges = [1, 0, 3];
        let examined = [
            Object {
                count: 2,
                opaque: false,
                edges: 0..1,
            },
            Object {
                count: 2,
                opaque: false,
                edges: 1..2,
            },
            Object {
                count: 2,
                opaque: false,
                edges: 2..3,
            },
            Object {
                count: 2,
                opaque: false,
                edges: 3..3,
            },
        ];
        assert_eq!(mark_live(&examined, &edges), [false, false, true, true]);
    }

    #[test]
    fn an_opaque_object_is_live_with_everything_it_reaches() {
        let edges = [1, 0];
        let examined = [
            Object {
                count: 2,
                opaque: true,
                edges: 0..1,
            },
            Object {
                count: 2,
                opaque: false,
                edges: 1..2,
            },
        ];
        assert_eq!(mark_live(&examined, &edges), [true, true]);
    }

    #[test]
    fn a_touched_object_brings_to_life_what_it_reaches_and_nothing_else() {
        // Two garbage cycles, 0 <-> 1 and 2 <-> 3, and 1 -> 2: touching 1 (a thread reached it)
        // revives both; touching 3 revives only the second.
        let cycle_member = |count, edges| Object {
            count,
            opaque: false,
            edges,
        };
        let edges = [1, 0, 2, 3, 2];
        let examined = [
            cycle_member(2, 0..1),
            cycle_member(2, 1..3),
            cycle_member(3, 3..4),
            cycle_member(2, 4..5),
        ];
        let mut live = mark_live(&examined, &edges);
        assert_eq!(live, [false; 4]);
        assert_eq!(spread_life(&examined, &edges, &mut live, &[3]), [3, 2]);
        assert_eq!(live, [false, false, true, true]);
        let mut marked = spread_life(&examined, &edges, &mut live, &[1]);
        marked.sort();
        assert_eq!(marked, [0, 1]);
    }
}
