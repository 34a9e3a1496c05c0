//! `gen0-pause`: how long janitor pauses for a gen-0 collection next to a full one, on the same heap.
//!
//! Shape: `OLD` tracked objects (1,000,000; 100,000 quick), chained in runs of `CHAIN` so that the
//! collector has edges to follow, are promoted to generation 2 by two full collections and kept for the
//! whole workload. Each run then allocates `YOUNG` fresh tracked objects (10,000; 1,000 quick), each
//! pointing at an old one, and times one collection: `collect_generation(0)` for the `janitor-gen0`
//! row, `collect()` for `janitor-full`. The young objects are dropped after the timed collection
//! (they are acyclic, so their counts free them at once). Both rows run on the one old heap, built on
//! the first run and dropped with the workload. A young generation of 10,000 spends janitor's gen-0
//! allocation budget on its last object, which starts an automatic collection that would promote it
//! before the timed one; such an attempt is dropped and the young generation allocated again, once
//! the budget has grown with the survivors (see `young_generation`).
//!
//! What it measures: that a gen-0 collection costs what the young generation costs, not what the
//! whole heap costs. The ratio of the `janitor-gen0` row is gen-0 time over full time; the target is
//! below 0.05. No peer has generations, so this workload has janitor rows only, and no peak memory
//! (the runs' allocations are the young objects; the old heap is set-up).
//!
//! Checksum: the objects alive after the collection (old plus young), read back through the pointers
//! the collection must have left intact. A young object that an automatic collection promoted before
//! the timed one is reported in the note, since the gen-0 collection then had less to examine.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

use janitor::gc::{Gc, GcCell, Trace, collect, collect_generation, collection_count, generation};

use crate::harness::{Case, Sample, Scale, Workload};

/// The sizes of one run.
#[derive(Clone, Copy, Debug)]
struct Sizes {
    old: usize,
    young: usize,
}

/// Old objects per chain.
const CHAIN: usize = 100;

/// A tracked object: its edge sits in a `GcCell`, so the collector examines it.
#[derive(Trace)]
struct Node {
    next: GcCell<Option<Gc<Node>>>,
}

impl Node {
    fn pointing_at(next: Option<Gc<Node>>) -> Gc<Node> {
        Gc::new(Node {
            next: GcCell::new(next),
        })
    }
}

/// The old generation: the heads of the chains.
struct OldHeap {
    heads: Vec<Gc<Node>>,
}

impl OldHeap {
    fn build(objects: usize) -> OldHeap {
        let mut heads = Vec::with_capacity(objects.div_ceil(CHAIN));
        let mut built = 0;
        while built < objects {
            let length = CHAIN.min(objects - built);
            let mut head = None;
            for _ in 0..length {
                head = Some(Node::pointing_at(head));
            }
            heads.extend(head);
            built += length;
        }
        collect();
        collect();
        OldHeap { heads }
    }

    /// Walks every chain and counts its objects.
    fn count(&self) -> usize {
        let mut counted = 0;
        for head in &self.heads {
            let mut node = Some(head.clone());
            while let Some(current) = node {
                counted += 1;
                node = current.next.borrow().clone();
            }
        }
        counted
    }
}

/// Attempts at allocating a young generation that no automatic collection promotes.
const ATTEMPTS: usize = 3;

/// `count` new tracked objects, each pointing at an old one, all still in generation 0.
///
/// janitor starts a gen-0 collection when its allocation budget is spent, and a young generation as
/// large as the budget spends it on its last allocation. The budget grows with the survivors of that
/// collection, so the allocation is tried again (the promoted attempt is dropped); if every attempt is
/// promoted, the last one is kept and the row's note says so.
fn young_generation(old: &OldHeap, count: usize) -> Vec<Gc<Node>> {
    let allocate = || -> Vec<Gc<Node>> {
        (0..count)
            .map(|index| Node::pointing_at(Some(old.heads[index % old.heads.len()].clone())))
            .collect()
    };
    for _ in 1..ATTEMPTS {
        let collections_before = collection_count(0);
        let young = allocate();
        if collection_count(0) == collections_before {
            return young;
        }
    }
    allocate()
}

/// Which collection a row times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Collection {
    Gen0,
    Full,
}

/// One run: young objects, one timed collection, the survivors counted.
fn run(old: &OldHeap, young: usize, collection: Collection) -> Sample {
    let young = young_generation(old, young);
    let promoted_early = young.iter().filter(|node| generation(node) != 0).count();
    let start = Instant::now();
    match collection {
        Collection::Gen0 => collect_generation(0),
        Collection::Full => collect(),
    }
    let elapsed = start.elapsed();
    let young_alive = young
        .iter()
        .filter(|node| node.next.borrow().is_some())
        .count();
    let checksum = (old.count() + young_alive) as u64;
    let sample = Sample::measured(elapsed, checksum);
    if promoted_early > 0 {
        sample.noted(format!(
            "{promoted_early} young objects were promoted by an automatic collection before the timed one"
        ))
    } else {
        sample
    }
}

/// The workload at `scale`: rows `janitor-gen0` and `janitor-full`, ratios relative to the full one.
///
/// ```
/// use janitor_bench::harness::{measure, Scale};
/// let workload = janitor_bench::workloads::gen0_pause::workload(Scale::Smoke);
/// let measured = measure(&workload, 1, |_, _| {}).unwrap();
/// assert_eq!(measured.rows.len(), 2);
/// ```
pub fn workload(scale: Scale) -> Workload {
    let sizes = match scale {
        Scale::Smoke => Sizes {
            old: 10_000,
            young: 100,
        },
        Scale::Quick => Sizes {
            old: 100_000,
            young: 1_000,
        },
        Scale::Full => Sizes {
            old: 1_000_000,
            young: 10_000,
        },
    };
    let old: Rc<RefCell<Option<OldHeap>>> = Rc::default();
    let case = |name: &'static str, collection: Collection| {
        let old = old.clone();
        Case::new(name, move || {
            let mut old = old.borrow_mut();
            let old = old.get_or_insert_with(|| OldHeap::build(sizes.old));
            run(old, sizes.young, collection)
        })
        .without_memory()
    };
    Workload {
        name: "gen0-pause",
        baseline: "janitor-full",
        cases: vec![
            case("janitor-gen0", Collection::Gen0),
            case("janitor-full", Collection::Full),
        ],
        absent: vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_objects_reach_the_oldest_generation() {
        let old = OldHeap::build(1_000);
        assert!(
            old.heads
                .iter()
                .all(|head| generation(head) == janitor::gc::MAX_GENERATION)
        );
        assert_eq!(old.count(), 1_000);
    }

    #[test]
    fn both_collections_leave_every_object_alive() {
        let old = OldHeap::build(1_000);
        assert_eq!(run(&old, 50, Collection::Gen0).checksum, 1_050);
        assert_eq!(run(&old, 50, Collection::Full).checksum, 1_050);
    }
}
