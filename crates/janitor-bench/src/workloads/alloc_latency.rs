//! `alloc-latency`: how long one allocation takes while another thread collects, against the same
//! loop with no collection running.
//!
//! Shape: a heap of `LIVE` live tracked objects (1,000,000 full, 100,000 quick, 10,000 smoke), in
//! chains of 100 like `gen0-pause`'s old generation, built once for all janitor rows and settled
//! into the oldest generation by two full collections; `dumpster-sync` rows get the same heap in
//! their own crate. A mutator thread then makes `ALLOCATIONS` allocations (500,000 full, 20,000
//! quick), timing each `Gc::new` alone with `Instant` (the overhead of the two clock reads is the
//! same for every row), and keeps the last 1,024 objects in a ring, so that objects die young as
//! in a program (the drop of the one a new object replaces is outside the timed part). Between two
//! allocations it spins for `THINK` (2 µs) without touching the heap, as a program does work
//! between its allocations: that spreads the allocations over many collections (about 40 during
//! the quick `janitor-tracked-collecting` loop) instead of packing them into the gaps between
//! collections, so the distribution samples every phase of a collection.
//!
//! Rows, each `implementation-kind-mode`:
//! * kinds: `tracked` (a node with a `GcCell` edge: the collector examines it, and janitor links
//!   it into its generation lists) and `untracked` (a `Gc<u64>`: no collection ever examines it);
//!   `dumpster-sync` makes one kind (its node has a `Mutex` edge).
//! * modes (janitor tracked has all four, untracked the first three, `dumpster-sync` `collecting`,
//!   `alone` and `growing`):
//!   - `collecting`: another thread runs full collections back to back (`janitor::gc::collect`,
//!     `dumpster::sync::collect`) from before the first allocation to after the last;
//!   - `busy`: the same loop with no collecting thread and no collection running: another thread
//!     spins without touching the heap (so the mutator shares the machine as in `collecting`), and
//!     the allocations during which an automatic collection ran (counted by `collection_count(0)`
//!     before and after the allocation) are left out;
//!   - `alone`: no other thread at all, every allocation, automatic collections included;
//!   - `growing`: as `alone`, but the mutator keeps every object it allocates, so the heap grows
//!     by `ALLOCATIONS` tracked objects and the automatic collections examine survivors (janitor's
//!     gen-0 budget grows with them, to 160,000 objects): the worst case of a collection that
//!     comes due inside an allocation, as a program building its data meets it.
//!
//!   The note says how many collections ran during the loop (janitor counts them; `dumpster` does
//!   not, except on the collecting thread), and for `busy` how many allocations were left out.
//!
//! What it measures: the latency distribution of an allocation (the `p50`, `p99`, `p99.9` and
//! `max` columns, nearest-rank percentiles). The row's time is the mutator's loop, all of it;
//! ratios are to `janitor-tracked-busy`. No peak memory: the live heap is set-up.
//!
//! Checksum: the live heap's size (read through its chains' heads) plus the sum of the ids the
//! mutator read back through the pointers it allocated.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::harness::{Case, Metric, Sample, Scale, Unit, Workload};

/// The sizes of one run.
#[derive(Clone, Copy, Debug)]
struct Sizes {
    live: usize,
    allocations: usize,
}

/// Objects per chain of the live heap.
const CHAIN: usize = 100;

/// Young objects the mutator keeps alive at once.
const RING: usize = 1_024;

/// The mutator's work between two allocations.
const THINK: Duration = Duration::from_micros(2);

/// Whether another thread collects while the mutator allocates, and which samples count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Another thread runs full collections back to back.
    Collecting,
    /// Another thread spins without touching the heap; only the samples during which no
    /// collection ran.
    Busy,
    /// No other thread; every sample.
    Alone,
    /// No other thread, every sample, and the mutator keeps every object it allocates: the heap
    /// grows by the loop's allocations, as a program building its data does, so the collections
    /// that come due examine survivors, not garbage.
    Growing,
}

/// One implementation's heap and allocations.
trait Subject {
    /// The live heap, kept for the rows' runs.
    type Heap;
    /// What the mutator allocates.
    type Young;
    fn build(live: usize) -> Self::Heap;
    /// The live heap's size, read from its chains' heads (a head's id is its chain's length - 1).
    fn live(heap: &Self::Heap) -> u64;
    fn allocate(id: u64) -> Self::Young;
    fn id(young: &Self::Young) -> u64;
    fn collect();
    /// Collections started so far, where the implementation counts them.
    fn collections() -> Option<u64>;
}

/// The mutator's loop: the latency of each allocation (left out where `keep` says a collection ran
/// during it), the sum of the ids read back, and the loop's own time.
struct Mutated {
    latencies: Vec<u64>,
    left_out: usize,
    ids: u64,
    elapsed: Duration,
}

fn mutate<S: Subject>(allocations: usize, mode: Mode) -> Mutated {
    let mut latencies = Vec::with_capacity(allocations);
    let mut ring: Vec<Option<S::Young>> = (0..RING).map(|_| None).collect();
    let mut kept = Vec::with_capacity(if mode == Mode::Growing {
        allocations
    } else {
        0
    });
    let mut left_out = 0;
    let mut ids = 0;
    let loop_start = Instant::now();
    for id in 0..allocations as u64 {
        let collections_before = S::collections();
        let start = Instant::now();
        let young = S::allocate(id);
        let end = Instant::now();
        let latency = end - start;
        if mode == Mode::Busy && S::collections() != collections_before {
            left_out += 1;
        } else {
            latencies.push(latency.as_nanos() as u64);
        }
        ids += S::id(&young);
        if mode == Mode::Growing {
            kept.push(young);
        } else {
            ring[id as usize % RING] = Some(young);
        }
        while end.elapsed() < THINK {
            std::hint::spin_loop();
        }
    }
    let elapsed = loop_start.elapsed();
    drop(ring);
    drop(kept);
    Mutated {
        latencies,
        left_out,
        ids,
        elapsed,
    }
}

/// The nearest-rank percentile `q` (0 to 1) of sorted `values`.
fn percentile(sorted: &[u64], q: f64) -> u64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// One run of a row: the other thread if the mode has one (under way before the first
/// allocation), the mutator, the distribution.
fn run<S: Subject>(heap: &S::Heap, allocations: usize, mode: Mode) -> Sample {
    let stop = AtomicBool::new(false);
    let started = AtomicBool::new(false);
    let (mutated, collections) = std::thread::scope(|scope| {
        let other = matches!(mode, Mode::Collecting | Mode::Busy).then(|| {
            scope.spawn(|| {
                let mut collections = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    started.store(true, Ordering::Release);
                    if mode == Mode::Collecting {
                        S::collect();
                        collections += 1;
                    } else {
                        std::hint::spin_loop();
                    }
                }
                (mode == Mode::Collecting).then_some(collections)
            })
        });
        if other.is_some() {
            while !started.load(Ordering::Acquire) {
                std::hint::spin_loop();
            }
        }
        let before = S::collections();
        let mutated = mutate::<S>(allocations, mode);
        let after = S::collections();
        stop.store(true, Ordering::Relaxed);
        let on_the_other_thread =
            other.and_then(|other| other.join().expect("a collection never panics"));
        let collected =
            on_the_other_thread.or_else(|| after.zip(before).map(|(after, before)| after - before));
        (mutated, collected)
    });
    let mut sorted = mutated.latencies;
    sorted.sort_unstable();
    let note = match (mode, collections) {
        (Mode::Busy, _) => Some(format!(
            "{} of {allocations} allocations left out: a collection ran",
            mutated.left_out
        )),
        (_, Some(collections)) => Some(format!("collections during the loop: {collections}")),
        (_, None) => None,
    };
    let sample = Sample::measured(mutated.elapsed, S::live(heap) + mutated.ids)
        .with(Metric::new(
            "p50",
            percentile(&sorted, 0.5) as f64,
            Unit::Nanos,
        ))
        .with(Metric::new(
            "p99",
            percentile(&sorted, 0.99) as f64,
            Unit::Nanos,
        ))
        .with(Metric::new(
            "p99.9",
            percentile(&sorted, 0.999) as f64,
            Unit::Nanos,
        ))
        .with(Metric::new(
            "max",
            sorted.last().copied().unwrap_or(0) as f64,
            Unit::Nanos,
        ));
    match note {
        Some(note) => sample.noted(note),
        None => sample,
    }
}

/// A row over `S`'s live heap, built by the first of the rows that share `heap`.
fn case<S: Subject + 'static>(
    name: &'static str,
    heap: &Rc<RefCell<Option<S::Heap>>>,
    sizes: Sizes,
    mode: Mode,
) -> Case {
    let heap = heap.clone();
    Case::new(name, move || {
        let mut heap = heap.borrow_mut();
        let heap = heap.get_or_insert_with(|| S::build(sizes.live));
        run::<S>(heap, sizes.allocations, mode)
    })
    .without_memory()
}

/// The workload at `scale`.
///
/// ```
/// use janitor_bench::harness::{measure, Scale};
/// let workload = janitor_bench::workloads::alloc_latency::workload(Scale::Smoke);
/// let measured = measure(&workload, 1, |_, _| {}).unwrap();
/// assert!(measured.rows.iter().all(|row| row.metrics.len() == 4));
/// ```
pub fn workload(scale: Scale) -> Workload {
    let sizes = match scale {
        Scale::Smoke => Sizes {
            live: 10_000,
            allocations: 2_000,
        },
        Scale::Quick => Sizes {
            live: 100_000,
            allocations: 20_000,
        },
        Scale::Full => Sizes {
            live: 1_000_000,
            allocations: 500_000,
        },
    };
    let janitor_heap = Rc::default();
    let dumpster_heap = Rc::default();
    use Mode::{Alone, Busy, Collecting, Growing};
    use janitor_heap::{Tracked, Untracked};
    Workload {
        name: "alloc-latency",
        baseline: "janitor-tracked-busy",
        cases: vec![
            case::<Tracked>(
                "janitor-tracked-collecting",
                &janitor_heap,
                sizes,
                Collecting,
            ),
            case::<Tracked>("janitor-tracked-busy", &janitor_heap, sizes, Busy),
            case::<Tracked>("janitor-tracked-alone", &janitor_heap, sizes, Alone),
            case::<Tracked>("janitor-tracked-growing", &janitor_heap, sizes, Growing),
            case::<Untracked>(
                "janitor-untracked-collecting",
                &janitor_heap,
                sizes,
                Collecting,
            ),
            case::<Untracked>("janitor-untracked-busy", &janitor_heap, sizes, Busy),
            case::<Untracked>("janitor-untracked-alone", &janitor_heap, sizes, Alone),
            case::<dumpster_heap::Subject>(
                "dumpster-sync-collecting",
                &dumpster_heap,
                sizes,
                Collecting,
            ),
            case::<dumpster_heap::Subject>("dumpster-sync-alone", &dumpster_heap, sizes, Alone),
            case::<dumpster_heap::Subject>("dumpster-sync-growing", &dumpster_heap, sizes, Growing),
        ],
        absent: vec![],
    }
}

/// janitor: the live heap is chains of tracked nodes; `Tracked` allocates such a node, `Untracked`
/// a `Gc<u64>`.
mod janitor_heap {
    use janitor::gc::{Gc, GcCell, Trace, collect, collection_count};

    use super::CHAIN;

    #[derive(Trace)]
    pub(super) struct Node {
        #[trace(skip)]
        id: u64,
        next: GcCell<Option<Gc<Node>>>,
    }

    fn node(id: u64, next: Option<Gc<Node>>) -> Gc<Node> {
        Gc::new(Node {
            id,
            next: GcCell::new(next),
        })
    }

    /// The heads of the live heap's chains.
    pub(super) struct Heap(Vec<Gc<Node>>);

    fn build(live: usize) -> Heap {
        let mut heads = Vec::with_capacity(live.div_ceil(CHAIN));
        let mut built = 0;
        while built < live {
            let length = CHAIN.min(live - built);
            let mut head = None;
            for id in 0..length {
                head = Some(node(id as u64, head));
            }
            heads.extend(head);
            built += length;
        }
        collect();
        collect();
        Heap(heads)
    }

    pub(super) struct Tracked;

    impl super::Subject for Tracked {
        type Heap = Heap;
        type Young = Gc<Node>;

        fn build(live: usize) -> Heap {
            build(live)
        }

        fn live(heap: &Heap) -> u64 {
            heap.0.iter().map(|head| head.id + 1).sum()
        }

        fn allocate(id: u64) -> Gc<Node> {
            node(id, None)
        }

        fn id(young: &Gc<Node>) -> u64 {
            young.id
        }

        fn collect() {
            collect();
        }

        fn collections() -> Option<u64> {
            Some(collection_count(0))
        }
    }

    pub(super) struct Untracked;

    impl super::Subject for Untracked {
        type Heap = Heap;
        type Young = Gc<u64>;

        fn build(live: usize) -> Heap {
            build(live)
        }

        fn live(heap: &Heap) -> u64 {
            heap.0.iter().map(|head| head.id + 1).sum()
        }

        fn allocate(id: u64) -> Gc<u64> {
            Gc::new(id)
        }

        fn id(young: &Gc<u64>) -> u64 {
            **young
        }

        fn collect() {
            collect();
        }

        fn collections() -> Option<u64> {
            Some(collection_count(0))
        }
    }
}

/// `dumpster::sync`: the same chains, edges behind `Mutex`; it does not count its collections.
mod dumpster_heap {
    use std::sync::Mutex;

    use dumpster::Trace;
    use dumpster::sync::{Gc, collect};

    use super::CHAIN;

    #[derive(Trace)]
    pub(super) struct Node {
        id: u64,
        next: Mutex<Option<Gc<Node>>>,
    }

    fn node(id: u64, next: Option<Gc<Node>>) -> Gc<Node> {
        Gc::new(Node {
            id,
            next: Mutex::new(next),
        })
    }

    /// The heads of the live heap's chains.
    pub(super) struct Heap(Vec<Gc<Node>>);

    pub(super) struct Subject;

    impl super::Subject for Subject {
        type Heap = Heap;
        type Young = Gc<Node>;

        fn build(live: usize) -> Heap {
            let mut heads = Vec::with_capacity(live.div_ceil(CHAIN));
            let mut built = 0;
            while built < live {
                let length = CHAIN.min(live - built);
                let mut head = None;
                for id in 0..length {
                    head = Some(node(id as u64, head));
                }
                heads.extend(head);
                built += length;
            }
            collect();
            Heap(heads)
        }

        fn live(heap: &Heap) -> u64 {
            heap.0.iter().map(|head| head.id + 1).sum()
        }

        fn allocate(id: u64) -> Gc<Node> {
            node(id, None)
        }

        fn id(young: &Gc<Node>) -> u64 {
            young.id
        }

        fn collect() {
            collect();
        }

        fn collections() -> Option<u64> {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let sorted: Vec<u64> = (1..=1_000).collect();
        assert_eq!(percentile(&sorted, 0.5), 500);
        assert_eq!(percentile(&sorted, 0.99), 990);
        assert_eq!(percentile(&sorted, 0.999), 999);
        assert_eq!(percentile(&[7], 0.999), 7);
    }

    #[test]
    fn every_mode_makes_every_allocation_and_reads_every_id_back() {
        let expected = 100 + (0..300u64).sum::<u64>();
        for mode in [Mode::Collecting, Mode::Busy, Mode::Alone, Mode::Growing] {
            let heap = <janitor_heap::Tracked as Subject>::build(100);
            assert_eq!(
                run::<janitor_heap::Tracked>(&heap, 300, mode).checksum,
                expected
            );
            assert_eq!(
                run::<janitor_heap::Untracked>(&heap, 300, mode).checksum,
                expected
            );
        }
        let heap = <dumpster_heap::Subject as Subject>::build(100);
        for mode in [Mode::Collecting, Mode::Alone, Mode::Growing] {
            assert_eq!(
                run::<dumpster_heap::Subject>(&heap, 300, mode).checksum,
                expected
            );
        }
    }

    #[test]
    fn the_collecting_thread_is_under_way_before_the_first_allocation() {
        let heap = <janitor_heap::Untracked as Subject>::build(100);
        let sample = run::<janitor_heap::Untracked>(&heap, 1, Mode::Collecting);
        let note = sample.note.unwrap();
        assert!(note.starts_with("collections during the loop: "), "{note}");
        assert!(!note.ends_with(": 0"), "{note}");
    }
}
