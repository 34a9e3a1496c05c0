//! `mt-churn`: cycle-churn on several threads at once, each thread on its own graph, sharing nothing.
//!
//! Shape: `STREAMS` (4) independent cycle-churn streams, each the `cycle-churn` program (its own
//! `SLOTS` slots, 10,000, and its own seeded sequence of `OPERATIONS` link, unlink, retarget and
//! renew operations: 250,000 full, 50,000 quick), building its graph, running its operations, then
//! dropping its slots and collecting once. Each run of a row runs the four streams at every thread
//! count T in turn: T = 1, 2, and 4 where `available_parallelism` reports at least 4 cores. At T
//! threads, thread `t` runs streams `t`, `t + T`, ... one after the other, so every thread count
//! does the same work, and a thread never touches another's objects. After the threads are joined
//! the main thread collects once more (part of the time), so that every row ends with its garbage
//! reclaimed. The collectors run when their own policy says so (janitor and `dumpster` collect
//! automatically), as in `cycle-churn`.
//!
//! Rows: `janitor-mutex` (edges behind `GcMutex`), `janitor-cell` (edges behind `GcCell`), `arc`
//! (`Arc` with edges behind `std::sync::Mutex`: it leaks the cycles, it does not break them, and its
//! note counts the nodes never dropped), `dumpster-sync` (edges behind `std::sync::Mutex`).
//!
//! What it measures, per thread count: the wall time per operation (`ns/op Tt`, from the spawn of
//! the threads to the end of the final collection, over `4 x OPERATIONS`), the throughput at T
//! threads over one (`Tt/1t`: the 1-thread wall time over the T-thread one; 2.0 is perfect scaling
//! on two cores), the CPU time per operation (`cpu/op Tt`: the process CPU clock,
//! `CLOCK_PROCESS_CPUTIME_ID`, over the same window, so that work a collector does on a thread of
//! its own is charged too; equal to `ns/op` at one thread when nothing else runs), and the cores
//! the run kept busy (`cores Tt`: CPU time over wall time). On a shared machine the last says
//! whether the threads had the cores at all: when `cores Tt` is well below T, other processes had
//! them, and `Tt/1t` says little about the implementation while `cpu/op Tt` still counts its work.
//! The row's time is the sum of its wall times over the thread counts. No peak memory: the heaps
//! of several thread counts are in one window.
//!
//! Checksum: the sum, over thread counts and streams, of the `cycle-churn` checksum of each stream
//! (the touched node's edge count after every link, unlink and retarget, plus the renewals).

use std::time::{Duration, Instant};

use rustix::time::{ClockId, clock_gettime};

use super::cycle_churn::{Expect, Operation, Operations, Reclaimed, Sizes, Tally, noted};
use crate::harness::{Case, Metric, Sample, Scale, Unit, Workload};

/// Independent streams per thread count; every thread count in [`thread_counts`] divides it.
pub(super) const STREAMS: usize = 4;

/// The thread counts a run measures: 1 and 2, and 4 where the machine has four cores.
///
/// ```
/// assert_eq!(janitor_bench::workloads::mt_churn::thread_counts()[..2], [1, 2]);
/// ```
pub fn thread_counts() -> Vec<usize> {
    let cores = std::thread::available_parallelism().map_or(1, |cores| cores.get());
    if cores >= 4 {
        vec![1, 2, 4]
    } else {
        vec![1, 2]
    }
}

/// One implementation's nodes: a node holds a vector of pointers to nodes behind the
/// implementation's lock or cell, and counts its creation and its drop in the implementation's
/// [`Tally`].
pub(super) trait Heap: 'static {
    /// A pointer to a node.
    type Ptr: Clone + Send + Sync;
    /// What the implementation is expected to reclaim.
    const EXPECT: Expect;
    /// The counts of this implementation's nodes.
    fn tally() -> &'static Tally;
    /// A fresh node without edges.
    fn new_node() -> Self::Ptr;
    /// Runs `change` on `node`'s edges, holding them exclusively.
    fn edges<R>(node: &Self::Ptr, change: impl FnOnce(&mut Vec<Self::Ptr>) -> R) -> R;
    /// Collects cycles (nothing where the implementation cannot).
    fn collect();
}

/// Pushes `target` onto `from`'s edges; returns the new edge count.
fn link<H: Heap>(from: &H::Ptr, target: H::Ptr) -> usize {
    H::edges(from, |edges| {
        edges.push(target);
        edges.len()
    })
}

/// Pops an edge of `from`, if any; returns the new edge count and the popped edge, which the
/// caller drops once it holds no lock (a drop may start a collection).
fn unlink<H: Heap>(from: &H::Ptr) -> (usize, Option<H::Ptr>) {
    H::edges(from, |edges| {
        let popped = edges.pop();
        (edges.len(), popped)
    })
}

/// Overwrites edge `pick % len` of `from` with `target` (pushes it when there is none); returns
/// the edge count and the overwritten edge, for the caller to drop.
fn retarget<H: Heap>(from: &H::Ptr, pick: usize, target: H::Ptr) -> (usize, Option<H::Ptr>) {
    H::edges(from, |edges| {
        let len = edges.len();
        if len == 0 {
            edges.push(target);
            return (1, None);
        }
        (len, Some(std::mem::replace(&mut edges[pick % len], target)))
    })
}

/// Applies `operation` to the slots of one thread's own graph; returns what the checksum adds.
fn apply<H: Heap>(slots: &mut [H::Ptr], operation: Operation) -> u64 {
    let (len, removed) = match operation {
        Operation::Link { from, to } => (link::<H>(&slots[from], slots[to].clone()), None),
        Operation::Unlink { from } => unlink::<H>(&slots[from]),
        Operation::Retarget { from, pick, to } => {
            retarget::<H>(&slots[from], pick, slots[to].clone())
        }
        Operation::Renew { slot } => {
            slots[slot] = H::new_node();
            (1, None)
        }
    };
    drop(removed);
    len as u64
}

/// One whole stream on its own graph: build, operations, drop, one collection.
fn stream<H: Heap>(index: usize, sizes: Sizes) -> u64 {
    let mut slots: Vec<H::Ptr> = (0..sizes.slots).map(|_| H::new_node()).collect();
    let checksum = Operations::stream(index as u64, sizes)
        .map(|operation| apply::<H>(&mut slots, operation))
        .sum();
    drop(slots);
    H::collect();
    checksum
}

/// The process's CPU time so far, every thread's.
pub(super) fn process_cpu_time() -> Duration {
    let now = clock_gettime(ClockId::ProcessCPUTime);
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// What one thread count took.
#[derive(Clone, Copy, Debug)]
pub(super) struct ThreadRun {
    pub(super) threads: usize,
    pub(super) wall: Duration,
    pub(super) cpu: Duration,
    pub(super) checksum: u64,
}

/// Runs streams `0..STREAMS` on `threads` threads (thread `t` takes streams `t`, `t + threads`,
/// ...) over the shared `state`, then `finish` with it on the calling thread; times all of it, in
/// wall and process CPU time.
pub(super) fn on_threads<S: Sync>(
    threads: usize,
    state: S,
    run_stream: impl Fn(&S, usize) -> u64 + Sync,
    finish: impl FnOnce(S),
) -> ThreadRun {
    let cpu_start = process_cpu_time();
    let start = Instant::now();
    let checksum = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|first| {
                let (run_stream, state) = (&run_stream, &state);
                scope.spawn(move || {
                    (first..STREAMS)
                        .step_by(threads)
                        .map(|index| run_stream(state, index))
                        .sum::<u64>()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().expect("no stream panics"))
            .sum()
    });
    finish(state);
    ThreadRun {
        threads,
        wall: start.elapsed(),
        cpu: process_cpu_time() - cpu_start,
        checksum,
    }
}

/// The row's sample from its thread counts' runs: the time is the sum of the wall times, the
/// checksum the sum of theirs; the metrics per thread count are described at the top.
pub(super) fn scaling_sample(
    runs: &[ThreadRun],
    operations_per_run: usize,
    expect: Expect,
    reclaimed: Reclaimed,
) -> Sample {
    let mut sample = Sample::measured(
        runs.iter().map(|run| run.wall).sum(),
        runs.iter().map(|run| run.checksum).sum(),
    );
    let per_operation = |time: Duration| time.as_secs_f64() * 1e9 / operations_per_run as f64;
    for run in runs {
        sample = sample.with(Metric::new(
            format!("ns/op {}t", run.threads),
            per_operation(run.wall),
            Unit::Nanos,
        ));
    }
    let one = runs
        .iter()
        .find(|run| run.threads == 1)
        .expect("every run measures one thread");
    for run in runs.iter().filter(|run| run.threads > 1) {
        sample = sample.with(Metric::new(
            format!("{}t/1t", run.threads),
            one.wall.as_secs_f64() / run.wall.as_secs_f64(),
            Unit::Ratio,
        ));
    }
    for run in runs {
        sample = sample.with(Metric::new(
            format!("cpu/op {}t", run.threads),
            per_operation(run.cpu),
            Unit::Nanos,
        ));
    }
    for run in runs.iter().filter(|run| run.threads > 1) {
        sample = sample.with(Metric::new(
            format!("cores {}t", run.threads),
            run.cpu.as_secs_f64() / run.wall.as_secs_f64(),
            Unit::Ratio,
        ));
    }
    noted(sample, expect, Some(reclaimed), "nodes")
}

/// One row: every thread count in turn, each on fresh graphs.
fn case<H: Heap>(name: &'static str, sizes: Sizes) -> Case {
    Case::new(name, move || {
        H::tally().reset();
        let runs: Vec<ThreadRun> = thread_counts()
            .into_iter()
            .map(|threads| {
                on_threads(
                    threads,
                    (),
                    |(), index| stream::<H>(index, sizes),
                    |()| H::collect(),
                )
            })
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
/// let workload = janitor_bench::workloads::mt_churn::workload(Scale::Smoke);
/// let measured = measure(&workload, 1, |_, _| {}).unwrap();
/// let arc = measured.rows.iter().find(|row| row.implementation == "arc").unwrap();
/// assert!(arc.note.as_deref().unwrap().starts_with("leaks cycles"));
/// assert!(arc.metrics.iter().any(|metric| metric.key == "2t/1t"));
/// ```
pub fn workload(scale: Scale) -> Workload {
    let sizes = stream_sizes(scale);
    Workload {
        name: "mt-churn",
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

/// The sizes of one stream at `scale` (`mt-shared` replays streams of the same sizes).
pub(super) fn stream_sizes(scale: Scale) -> Sizes {
    match scale {
        Scale::Smoke => Sizes {
            slots: 500,
            operations: 2_000,
        },
        Scale::Quick => Sizes {
            slots: 10_000,
            operations: 50_000,
        },
        Scale::Full => Sizes {
            slots: 10_000,
            operations: 250_000,
        },
    }
}

/// janitor, edges behind `GcMutex`: a thread that finds a node's lock held by a collection blocks
/// for the collection's pause.
pub(super) mod janitor_mutex {
    use janitor::gc::{Gc, GcMutex, Trace, collect};

    use super::super::cycle_churn::{Expect, Tally};

    static TALLY: Tally = Tally::new();

    #[derive(Trace)]
    pub(in super::super) struct Node {
        edges: GcMutex<Vec<Gc<Node>>>,
    }

    impl Drop for Node {
        fn drop(&mut self) {
            TALLY.dropped();
        }
    }

    pub(in super::super) struct Heap;

    impl super::Heap for Heap {
        type Ptr = Gc<Node>;
        const EXPECT: Expect = Expect::ReclaimsCycles;

        fn tally() -> &'static Tally {
            &TALLY
        }

        fn new_node() -> Gc<Node> {
            TALLY.created();
            Gc::new(Node {
                edges: GcMutex::new(Vec::new()),
            })
        }

        fn edges<R>(node: &Gc<Node>, change: impl FnOnce(&mut Vec<Gc<Node>>) -> R) -> R {
            change(&mut node.edges.lock())
        }

        fn collect() {
            collect();
        }
    }
}

/// janitor, edges behind `GcCell`: one atomic operation per borrow; a `borrow_mut` that finds the
/// collector holding the cell waits for it.
pub(super) mod janitor_cell {
    use janitor::gc::{Gc, GcCell, Trace, collect};

    use super::super::cycle_churn::{Expect, Tally};

    static TALLY: Tally = Tally::new();

    #[derive(Trace)]
    pub(in super::super) struct Node {
        edges: GcCell<Vec<Gc<Node>>>,
    }

    impl Drop for Node {
        fn drop(&mut self) {
            TALLY.dropped();
        }
    }

    pub(in super::super) struct Heap;

    impl super::Heap for Heap {
        type Ptr = Gc<Node>;
        const EXPECT: Expect = Expect::ReclaimsCycles;

        fn tally() -> &'static Tally {
            &TALLY
        }

        fn new_node() -> Gc<Node> {
            TALLY.created();
            Gc::new(Node {
                edges: GcCell::new(Vec::new()),
            })
        }

        fn edges<R>(node: &Gc<Node>, change: impl FnOnce(&mut Vec<Gc<Node>>) -> R) -> R {
            change(&mut node.edges.borrow_mut())
        }

        fn collect() {
            collect();
        }
    }
}

/// `Arc`, edges behind `std::sync::Mutex`: cyclic garbage is never dropped (the row leaks it).
pub(super) mod arc {
    use std::sync::{Arc, Mutex};

    use super::super::cycle_churn::{Expect, Tally};

    static TALLY: Tally = Tally::new();

    pub(in super::super) struct Node {
        edges: Mutex<Vec<Arc<Node>>>,
    }

    impl Drop for Node {
        fn drop(&mut self) {
            TALLY.dropped();
        }
    }

    pub(in super::super) struct Heap;

    impl super::Heap for Heap {
        type Ptr = Arc<Node>;
        const EXPECT: Expect = Expect::LeaksCycles;

        fn tally() -> &'static Tally {
            &TALLY
        }

        fn new_node() -> Arc<Node> {
            TALLY.created();
            Arc::new(Node {
                edges: Mutex::default(),
            })
        }

        fn edges<R>(node: &Arc<Node>, change: impl FnOnce(&mut Vec<Arc<Node>>) -> R) -> R {
            change(
                &mut node
                    .edges
                    .lock()
                    .expect("no benchmark code panics while holding a node's lock"),
            )
        }

        fn collect() {}
    }
}

/// `dumpster::sync`, edges behind `std::sync::Mutex` (its collector try-locks them); it collects
/// automatically.
pub(super) mod dumpster_sync {
    use std::sync::Mutex;

    use dumpster::Trace;
    use dumpster::sync::{Gc, collect};

    use super::super::cycle_churn::{Expect, Tally};

    static TALLY: Tally = Tally::new();

    #[derive(Trace)]
    pub(in super::super) struct Node {
        edges: Mutex<Vec<Gc<Node>>>,
    }

    impl Drop for Node {
        fn drop(&mut self) {
            TALLY.dropped();
        }
    }

    pub(in super::super) struct Heap;

    impl super::Heap for Heap {
        type Ptr = Gc<Node>;
        const EXPECT: Expect = Expect::ReclaimsCycles;

        fn tally() -> &'static Tally {
            &TALLY
        }

        fn new_node() -> Gc<Node> {
            TALLY.created();
            Gc::new(Node {
                edges: Mutex::default(),
            })
        }

        fn edges<R>(node: &Gc<Node>, change: impl FnOnce(&mut Vec<Gc<Node>>) -> R) -> R {
            change(
                &mut node
                    .edges
                    .lock()
                    .expect("no benchmark code panics while holding a node's lock"),
            )
        }

        fn collect() {
            collect();
        }
    }
}

/// The tallies are statics: tests that count nodes (here and in `mt-shared`) take turns.
#[cfg(test)]
pub(super) fn tally_turn() -> std::sync::MutexGuard<'static, ()> {
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    TURN.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TINY: Sizes = Sizes {
        slots: 50,
        operations: 500,
    };

    /// Every stream of `H`, on `threads` threads, and the nodes it never dropped.
    fn run<H: Heap>(threads: usize) -> (u64, Reclaimed) {
        H::tally().reset();
        let run = on_threads(
            threads,
            (),
            |(), index| stream::<H>(index, TINY),
            |()| H::collect(),
        );
        (run.checksum, H::tally().count())
    }

    #[test]
    fn every_thread_count_does_the_same_work_on_every_implementation() {
        let _turn = tally_turn();
        let expected = run::<arc::Heap>(1).0;
        for threads in [1, 2, 4] {
            assert_eq!(run::<janitor_mutex::Heap>(threads).0, expected);
            assert_eq!(run::<janitor_cell::Heap>(threads).0, expected);
            assert_eq!(run::<arc::Heap>(threads).0, expected);
            assert_eq!(run::<dumpster_sync::Heap>(threads).0, expected);
        }
    }

    #[test]
    fn janitor_reclaims_every_node_and_arc_leaks_cycles() {
        // `dumpster-sync` is left out: its `collect` may miss garbage other threads made (its
        // documentation says so, and full-scale runs show it), which the row's note reports.
        let _turn = tally_turn();
        assert_eq!(run::<janitor_mutex::Heap>(2).1.never_dropped, 0);
        assert_eq!(run::<janitor_cell::Heap>(2).1.never_dropped, 0);
        assert!(run::<arc::Heap>(2).1.never_dropped > 0);
    }

    #[test]
    fn streams_differ_from_each_other() {
        let _turn = tally_turn();
        assert_ne!(stream::<arc::Heap>(0, TINY), stream::<arc::Heap>(1, TINY));
    }

    #[test]
    fn the_sample_reports_time_per_operation_scaling_cpu_per_operation_and_cores() {
        let runs = [
            ThreadRun {
                threads: 1,
                wall: Duration::from_micros(400),
                cpu: Duration::from_micros(400),
                checksum: 7,
            },
            ThreadRun {
                threads: 2,
                wall: Duration::from_micros(250),
                cpu: Duration::from_micros(500),
                checksum: 7,
            },
        ];
        let reclaimed = Reclaimed {
            created: 10,
            never_dropped: 0,
        };
        let sample = scaling_sample(&runs, 100, Expect::ReclaimsCycles, reclaimed);
        assert_eq!(sample.elapsed, Duration::from_micros(650));
        assert_eq!(sample.checksum, 14);
        let metric = |key: &str| {
            sample
                .metrics
                .iter()
                .find(|metric| metric.key == key)
                .unwrap()
                .value
        };
        assert_eq!(metric("ns/op 1t"), 4_000.0);
        assert_eq!(metric("ns/op 2t"), 2_500.0);
        assert_eq!(metric("2t/1t"), 1.6);
        assert_eq!(metric("cpu/op 2t"), 5_000.0);
        assert_eq!(metric("cores 2t"), 2.0);
        assert_eq!(sample.note, None);
    }
}
