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
    // Counts are at most `i32::MAX` (the count word aborts past it), so `i64` never overflows.
    let mut external: Vec<i64> = examined
        .iter()
        .map(|object| object.snapshot_count() as i64 - 1)
        .collect();
    for &target in edges {
        external[target as usize] -= 1;
    }
    let mut live = vec![false; examined.len()];
    let mut stack: Vec<usize> = Vec::new();
    for (index, object) in examined.iter().enumerate() {
        if external[index] > 0 || object.is_opaque() {
            live[index] = true;
            stack.push(index);
        }
    }
    while let Some(index) = stack.pop() {
        for &target in &edges[examined[index].edges()] {
            let target = target as usize;
            if !live[target] {
                live[target] = true;
                stack.push(target);
            }
        }
    }
    live
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
}
