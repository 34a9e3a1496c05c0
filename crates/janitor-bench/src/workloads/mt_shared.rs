//! `mt-shared`: cycle-churn streams replayed by several threads at once on one shared graph.
//!
//! Shape: one array of `SLOTS` slots (10,000), each a `std::sync::Mutex` holding a pointer to a node,
//! the nodes built as in `mt-churn` (edges behind the implementation's lock or cell). `STREAMS` (4)
//! cycle-churn operation sequences (`OPERATIONS` each: 250,000 full, 50,000 quick, the `mt-churn`
//! streams) are replayed on it at every thread count T in turn (1, 2, and 4 where
//! `available_parallelism` reports at least 4 cores), each on a fresh graph: thread `t` replays
//! streams `t`, `t + T`, ... An operation locks the slots it reads one at a time (the target's to
//! clone its pointer, then the source's for as long as it changes that node's edges), so a node's
//! edges are only ever changed under its slot's lock, which is what makes a `GcCell` usable here.
//! Edges a thread removes are dropped after it let go of the locks. After the threads are joined the
//! main thread drops the slots and collects once (part of the time).
//!
//! Rows and measures are those of `mt-churn` (`ns/op Tt`, `Tt/1t`, `cpu/op Tt`, `cores Tt`):
//! `janitor-mutex`, `janitor-cell`, `arc` (leaks cycles; its note counts the nodes never dropped)
//! and `dumpster-sync`.
//!
//! Checksum: the order in which threads reach the slots decides the edge counts an operation sees,
//! so they cannot be compared across runs. The checksum is the sum over the replayed operations of
//! `(kind + 1) * (slot + 1)` (kind 0 to 3 for link, unlink, retarget, renew; slot the one changed),
//! which proves that every operation of every stream was applied, plus the number of nodes the run
//! created (the graphs' slots and one per renewal).

use std::sync::{Mutex, MutexGuard};

use super::cycle_churn::{Operation, Operations, Sizes};
use super::mt_churn::{self, Heap, STREAMS, ThreadRun, on_threads, scaling_sample};
use super::mt_churn::{arc, dumpster_sync, janitor_cell, janitor_mutex};
use crate::harness::{Case, Scale, Workload};

/// The slots of the shared graph.
type Slots<H> = Vec<Mutex<<H as Heap>::Ptr>>;

fn slot<P>(slots: &[Mutex<P>], index: usize) -> MutexGuard<'_, P> {
    slots[index]
        .lock()
        .expect("no benchmark code panics while holding a slot's lock")
}

/// What `operation` adds to the checksum, whatever the interleaving.
fn weight(operation: Operation) -> u64 {
    let (kind, slot) = match operation {
        Operation::Link { from, .. } => (0, from),
        Operation::Unlink { from } => (1, from),
        Operation::Retarget { from, .. } => (2, from),
        Operation::Renew { slot } => (3, slot),
    };
    (kind + 1) * (slot as u64 + 1)
}

/// Applies `operation` to the shared slots, each slot's lock taken for as long as its node is read
/// or changed, and none while a removed edge or node is dropped.
fn apply<H: Heap>(slots: &[Mutex<H::Ptr>], operation: Operation) {
    let removed = match operation {
        Operation::Link { from, to } => {
            let target = slot(slots, to).clone();
            H::edges(&slot(slots, from), |edges| edges.push(target));
            None
        }
        Operation::Unlink { from } => H::edges(&slot(slots, from), Vec::pop),
        Operation::Retarget { from, pick, to } => {
            let target = slot(slots, to).clone();
            H::edges(&slot(slots, from), |edges| {
                let len = edges.len();
                if len == 0 {
                    edges.push(target);
                    None
                } else {
                    Some(std::mem::replace(&mut edges[pick % len], target))
                }
            })
        }
        Operation::Renew { slot: index } => {
            let fresh = H::new_node();
            Some(std::mem::replace(&mut *slot(slots, index), fresh))
        }
    };
    drop(removed);
}

/// Replays stream `index` on the shared slots; returns its checksum.
fn replay<H: Heap>(slots: &[Mutex<H::Ptr>], index: usize, sizes: Sizes) -> u64 {
    Operations::stream(index as u64, sizes)
        .map(|operation| {
            apply::<H>(slots, operation);
            weight(operation)
        })
        .sum()
}

/// One thread count: a fresh shared graph, every stream replayed on it, the slots dropped and one
/// collection. The nodes created are added to the checksum.
fn shared_run<H: Heap>(threads: usize, sizes: Sizes) -> ThreadRun {
    let created_before = H::tally().count().created;
    let slots: Slots<H> = (0..sizes.slots)
        .map(|_| Mutex::new(H::new_node()))
        .collect();
    let mut run = on_threads(
        threads,
        slots,
        |slots, index| replay::<H>(slots, index, sizes),
        |slots| {
            drop(slots);
            H::collect();
        },
    );
    run.checksum += H::tally().count().created - created_before;
    run
}

/// One row: every thread count in turn.
fn case<H: Heap>(name: &'static str, sizes: Sizes) -> Case {
    Case::new(name, move || {
        H::tally().reset();
        let runs: Vec<ThreadRun> = mt_churn::thread_counts()
            .into_iter()
            .map(|threads| shared_run::<H>(threads, sizes))
            .collect();
        scaling_sample(
            &runs,
            STREAMS * sizes.operations,
            H::EXPECT,
            H::tally().count(),
        )
    })
    .without_memory()
}

/// The workload at `scale`: rows `janitor-mutex`, `janitor-cell`, `arc`, `dumpster-sync`.
///
/// ```
/// use janitor_bench::harness::{measure, Scale};
/// let workload = janitor_bench::workloads::mt_shared::workload(Scale::Smoke);
/// let measured = measure(&workload, 1, |_, _| {}).unwrap();
/// assert_eq!(measured.rows.len(), 4);
/// ```
pub fn workload(scale: Scale) -> Workload {
    let sizes = mt_churn::stream_sizes(scale);
    Workload {
        name: "mt-shared",
        baseline: "janitor-mutex",
        cases: vec![
            case::<janitor_mutex::Heap>("janitor-mutex", sizes),
            case::<janitor_cell::Heap>("janitor-cell", sizes),
            case::<arc::Heap>("arc", sizes),
            case::<dumpster_sync::Heap>("dumpster-sync", sizes),
        ],
        absent: vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TINY: Sizes = Sizes {
        slots: 50,
        operations: 500,
    };

    #[test]
    fn every_thread_count_applies_every_operation_on_every_implementation() {
        let _turn = mt_churn::tally_turn();
        let expected = shared_run::<arc::Heap>(1, TINY).checksum;
        for threads in [1, 2, 4] {
            assert_eq!(
                shared_run::<janitor_mutex::Heap>(threads, TINY).checksum,
                expected
            );
            assert_eq!(
                shared_run::<janitor_cell::Heap>(threads, TINY).checksum,
                expected
            );
            assert_eq!(shared_run::<arc::Heap>(threads, TINY).checksum, expected);
            assert_eq!(
                shared_run::<dumpster_sync::Heap>(threads, TINY).checksum,
                expected
            );
        }
    }

    #[test]
    fn janitor_reclaims_the_shared_graph() {
        // `dumpster-sync` is left out, as in `mt-churn`'s test: its `collect` may miss garbage
        // other threads made.
        let _turn = mt_churn::tally_turn();
        janitor_mutex::Heap::tally().reset();
        shared_run::<janitor_mutex::Heap>(2, TINY);
        assert_eq!(janitor_mutex::Heap::tally().count().never_dropped, 0);
        janitor_cell::Heap::tally().reset();
        shared_run::<janitor_cell::Heap>(2, TINY);
        assert_eq!(janitor_cell::Heap::tally().count().never_dropped, 0);
    }
}
