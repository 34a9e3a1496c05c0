//! The tracked set: the three generation lists of the objects the cycle collector examines, with
//! their sizes, the growth budgets that trigger automatic collections, and the statistics.
//!
//! Invariant owned here: every tracked object whose memory is allocated and that has not been
//! condemned is either linked in exactly one generation list, the one its node's `generation`
//! names, or waiting in the arrivals (`arrivals.rs`), which the heap lock's holder links as it
//! takes the lock; the lists and every node field of a linked object are read and written only
//! with the heap lock held. An object enters the arrivals in `Gc::new` before its first `Gc`
//! exists, and is unlinked by whoever frees it (the thread that dropped its last reference, in a
//! batch, see `retire.rs`; or the collector for a garbage isolate) before its memory is freed. A
//! linked object with a count of zero is dead: its value may be dropped or being dropped, and the
//! collector must not trace it.

use crate::gc::core::alloc;
use crate::gc::core::arrivals::Arrivals;
use crate::gc::core::departures::Departures;
use crate::gc::core::object::{
    self, ARRIVING, DIED_ARRIVING, Header, Node, header_of_node, node_of,
};
use crate::gc::core::trace::NOT_EXAMINED;
use crate::sync::{
    AtomicBool, AtomicU64, AtomicUsize, FairMutex, FairMutexGuard, IgnorePoison, Mutex, Ordering,
};
use std::ptr::NonNull;
use std::time::Duration;

/// The highest generation.
pub(crate) const OLDEST: u8 = 2;
const GENERATIONS: usize = OLDEST as usize + 1;

/// How far the tracked objects may grow (allocations minus frees by counts, see [`Heap::due`])
/// between two gen-0 collections when nothing survives.
const GEN0_BASE_BUDGET: usize = 10_000;
/// The most the gen-0 budget grows to when many objects survive.
const GEN0_MAX_BUDGET: usize = 16 * GEN0_BASE_BUDGET;
/// The gen-0 budget before the first collection and after a gen-0 collection that found more than
/// three quarters of what it examined garbage (an interpreter's frames and callbacks): collecting
/// again sooner keeps the garbage waiting small, and costs the collector little more, since each
/// examination is then mostly of garbage that some collection must examine once. Measured on
/// `closures` (quick, the row alone, first round / second round): the base budget of 10,000, peak
/// 3.5 / 2.1 MiB; 1,000, 0.9 / 0.4 MiB and 116 collections; 256 (the thread-local heap's, with
/// one-magazine slabs and [`PACE_SLACK_OBJECTS`]), 0.5–0.7 / 0.12–0.24 MiB and about 460
/// collections, for the same background time. The collector still lags: a young collection
/// examines 200 to 960 objects, what the program made while the previous one ran. `gcbench` and
/// `cycle-churn`, whose young objects survive, run the same instructions within 1%.
const GEN0_PRODUCTIVE_BUDGET: usize = 256;
/// How far the tracked bytes may grow between two gen-0 collections when nothing survives.
/// Counting objects alone lets large objects pile up (10,000 garbage objects of 1 MiB are 10 GiB
/// before the first collection); .NET's gen-0 budget is in bytes, a few MiB sized to the cache.
/// 8 MiB is spent before the object budget only when the average tracked object is above
/// 8 MiB / 10,000, about 840 bytes, so small-object programs collect exactly as before, while
/// garbage of large objects waits for at most a few budgets' worth of bytes.
const GEN0_BASE_BYTES: usize = 8 << 20;
/// The most the gen-0 byte budget grows to when much survives (16 times, as the object budget):
/// a program whose young objects live is not collected every few large allocations, and young
/// garbage still never exceeds 128 MiB between two collections.
const GEN0_MAX_BYTES: usize = 16 * GEN0_BASE_BYTES;
/// Tracked allocations a thread counts before it reports them to the heap (see `Heap::link`).
const REPORT_EVERY: usize = 64;
/// Tracked bytes a thread counts before it reports them to the heap: a large object is reported
/// at once.
const REPORT_EVERY_BYTES: usize = 64 << 10;

crate::sync::thread_local! {
    // Not `const`: loom's `thread_local!` has no const form.
    #[allow(clippy::missing_const_for_thread_local)]
    /// This thread's tracked allocations and bytes not reported to the heap yet.
    static UNREPORTED: std::cell::Cell<(usize, usize)> = std::cell::Cell::new((0, 0));
}

/// How far, in quarters of a gen-0 budget, the heap may grow (allocations minus frees by
/// counting) since the last examination began before an allocating thread waits for the next one
/// (`engine/pacer.rs`). A budget spent makes a collection due, which the allocating thread asks
/// the background collector for (`engine/background.rs`) and goes on; past this growth, it waits
/// for that collection's examination. A budget and a quarter: the quarter lets a thread go on while
/// the collector starts (a program that builds its data, whose every object survives, waited up to
/// 10 ms per collection with no slack: `alloc-latency`'s `growing` rows, 14.5 ms at most before the
/// background collector, 0.9 ms with it and the quarter). No more: the garbage a collection finds
/// grows with it, and with two budgets `gc_collect_under_load` took 33 s instead of 14 s (with four,
/// reset at each examination's end, `stress_hostile_mutators` took over 12 minutes under
/// AddressSanitizer instead of 11 s).
const PACE_QUARTERS: usize = 5;
/// The least slack, in objects, past a gen-0 budget before an allocation waits, so that a small
/// budget makes collections come sooner without making allocations wait sooner than a budget of
/// 1,000 did. A quarter of the productive budget (64 objects, a few microseconds of `closures`) is
/// less than the collector's wake-up: the program waited again and again (`closures`, quick: 5 to
/// 41 ms of waits in three runs of 63 to 102 ms, against 0.1 to 2.8 ms in eight runs with a slack
/// of 768). And a program's young live data grows while a long examination runs: `alloc-latency`'s
/// `collecting` row, which keeps its last 1,024 objects while another thread examines a million,
/// waited the pacer's whole 10 ms in two runs of four with the overdue point at 1,024 objects.
const PACE_SLACK_OBJECTS: usize = 1_024;
/// Gen-0 collections between two gen-1 collections (as CPython's `threshold1`).
const GEN1_EVERY: u32 = 10;
/// Gen-1 collections between two full collections (as CPython's `threshold2`), provided the
/// objects promoted into gen 2 since the last full collection are a quarter of what it left.
const GEN2_EVERY: u32 = 10;
/// Memory pressure added since the last full collection that starts one (.NET's initial budget).
const PRESSURE_BUDGET: usize = 4 << 20;

/// The global heap.
pub(crate) struct Heap {
    /// Fair: a collection holds it for its scan and hands it to a waiting thread when it lets go
    /// (`collector.rs`), so back-to-back collections cannot starve the retiring of dead objects.
    lists: FairMutex<Lists>,
    /// New tracked objects not linked yet: allocations push them here without the lock, and the
    /// lock's next holder links them (`arrivals.rs`).
    arrivals: Arrivals,
    /// Batches of dead tracked objects whose threads found the lock taken: its next drainer
    /// unlinks them (`departures.rs`, `engine/retire.rs`).
    departures: Departures,
    /// Tracked objects and bytes allocated since the last examination began, as reported by the
    /// allocating threads (each reports every [`REPORT_EVERY`] objects or [`REPORT_EVERY_BYTES`]),
    /// and the budgets of growth that make a gen-0 collection due, set by each collection.
    gen0_allocated: AtomicUsize,
    gen0_allocated_bytes: AtomicUsize,
    gen0_budget: AtomicUsize,
    gen0_byte_budget: AtomicUsize,
    /// Tracked objects and bytes freed by their counts since the last examination began. The heap's
    /// growth, what only a collection can free, is what was allocated minus these; an allocation
    /// finds a collection overdue when it passes [`PACE_QUARTERS`] quarters of a gen-0 budget.
    gen0_freed: AtomicUsize,
    gen0_freed_bytes: AtomicUsize,
    /// The collection turn, held for a whole collection, its drops and unpins included; only an
    /// induced collection waits for it (`api.rs`).
    pub(crate) collection: Mutex<()>,
    /// Whether memory pressure that passed its budget found the turn taken and left its full
    /// collection to the holder. Written, and the turn given back, only under this lock
    /// (`api.rs`).
    /// Set while the turn's holder waits for the reclaimer holding it: a collection induced on
    /// the reclaimer (by a `Drop` it runs) runs under that turn instead of waiting for it.
    turn_lent_to_reclaimer: AtomicBool,
    pub(crate) pressure_owed: Mutex<bool>,
    /// Collections of each generation, counted as .NET does: a gen-N collection counts for every
    /// generation up to N.
    collections: [AtomicU64; GENERATIONS],
    /// Waits of program threads for the collector (allocations in `engine/pacer.rs`, cell writes
    /// in `face/cell.rs`), and their durations in nanoseconds, summed.
    collector_waits: AtomicU64,
    collector_wait_nanos: AtomicU64,
    /// Memory pressure declared by `add_memory_pressure` and not yet removed.
    pressure: AtomicUsize,
    /// Memory pressure added since the last full collection.
    pressure_since_full: AtomicUsize,
    /// While an examination holds the lock, the sizes and statistics as it found them, which
    /// readers take instead of waiting for it ([`Heap::sizes_and_stats`]); `None` otherwise.
    examined_view: Mutex<Option<(GenerationSizes, Stats)>>,
}

/// The generation lists and everything that changes with them.
pub(crate) struct Lists {
    heads: [*const Node; GENERATIONS],
    tails: [*const Node; GENERATIONS],
    objects: [usize; GENERATIONS],
    bytes: [usize; GENERATIONS],
    /// The gen-0 budgets the last collection set (`Heap::gen0_budget` mirrors them for the
    /// allocating threads): a gen-0 collection is due when the heap grows by either.
    gen0_budget: usize,
    gen0_byte_budget: usize,
    /// Whether the last gen-0 collection found more than three quarters of what it examined
    /// garbage ([`GEN0_PRODUCTIVE_BUDGET`]).
    gen0_productive: bool,
    gen0_since_gen1: u32,
    gen1_since_gen2: u32,
    promoted_into_gen2: usize,
    gen2_after_full: usize,
    pub(crate) stats: Stats,
}

/// What the last collection did, and what all of them did together.
#[derive(Clone, Copy, Default)]
pub(crate) struct Stats {
    pub(crate) last_pause: Duration,
    pub(crate) total_pause: Duration,
    /// The part of `total_pause` spent by the background collector (collections due to
    /// allocation), while the program's threads ran on.
    pub(crate) background_pause: Duration,
    pub(crate) promoted_objects: usize,
    pub(crate) promoted_bytes: usize,
    /// Collections so far, by [`Trigger`] (indexed by `Trigger::index`).
    pub(crate) by_trigger: [u64; Trigger::COUNT],
    /// Objects pinned and traced by all collections so far.
    pub(crate) examined_objects: u64,
    /// Objects all collections so far condemned and freed (garbage cycles; acyclic garbage is
    /// freed by counting, without a collection).
    pub(crate) freed_objects: u64,
}

impl Stats {
    /// The statistics after one more collection, of the given trigger and pause, that promoted
    /// `promoted` (objects, bytes), examined `examined` objects and freed `freed`.
    pub(crate) fn after_collection(
        self,
        trigger: Trigger,
        pause: Duration,
        promoted: (usize, usize),
        examined: u64,
        freed: u64,
    ) -> Stats {
        let mut by_trigger = self.by_trigger;
        by_trigger[trigger.index()] += 1;
        let background = if trigger == Trigger::Allocation {
            pause
        } else {
            Duration::ZERO
        };
        Stats {
            last_pause: pause,
            total_pause: self.total_pause + pause,
            background_pause: self.background_pause + background,
            promoted_objects: promoted.0,
            promoted_bytes: promoted.1,
            by_trigger,
            examined_objects: self.examined_objects + examined,
            freed_objects: self.freed_objects + freed,
        }
    }
}

// SAFETY: the node pointers in `Lists` are only followed with the heap lock held, and the objects
// they point to are `Send + Sync` (`Gc::new` requires it).
unsafe impl Send for Lists {}

/// Why a collection ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Trigger {
    /// `collect` or `collect_generation`.
    Induced,
    /// An allocation found the heap grown by a gen-0 budget.
    Allocation,
    /// `add_memory_pressure` passed its budget.
    MemoryPressure,
}

impl Trigger {
    /// How many triggers there are.
    pub(crate) const COUNT: usize = 3;

    /// The trigger's place in per-trigger counts.
    pub(crate) const fn index(self) -> usize {
        match self {
            Trigger::Induced => 0,
            Trigger::Allocation => 1,
            Trigger::MemoryPressure => 2,
        }
    }
}

/// What an allocation that reported its thread's allocations found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Due {
    /// The heap grew by a gen-0 budget since the last examination began: a collection is due.
    Budget,
    /// The heap grew by [`PACE_QUARTERS`] quarters of a budget since the last examination began:
    /// the allocating thread waits for the next examination.
    Overdue,
}

/// An `add_memory_pressure` call that passed the budget: a full collection is due.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PressureDue {
    /// Pressure added since the last full collection, this call's included.
    pub(crate) since_full: usize,
    /// The budget it passed: `PRESSURE_BUDGET`, or a third of the heap if that is larger.
    pub(crate) budget: usize,
}

impl Heap {
    /// The process's heap, made on first use.
    #[cfg(not(loom))]
    pub(crate) fn global() -> &'static Heap {
        static HEAP: std::sync::OnceLock<Heap> = std::sync::OnceLock::new();
        HEAP.get_or_init(Heap::new)
    }

    /// The model's heap: loom's statics are made afresh for each execution.
    #[cfg(loom)]
    pub(crate) fn global() -> &'static Heap {
        ::loom::lazy_static! {
            static ref HEAP: Heap = Heap::new();
        }
        &HEAP
    }

    pub(crate) fn new() -> Self {
        Self {
            lists: FairMutex::new(Lists {
                heads: [std::ptr::null(); GENERATIONS],
                tails: [std::ptr::null(); GENERATIONS],
                objects: [0; GENERATIONS],
                bytes: [0; GENERATIONS],
                gen0_budget: GEN0_PRODUCTIVE_BUDGET,
                gen0_byte_budget: GEN0_BASE_BYTES,
                gen0_productive: true,
                gen0_since_gen1: 0,
                gen1_since_gen2: 0,
                promoted_into_gen2: 0,
                gen2_after_full: 0,
                stats: Stats::default(),
            }),
            arrivals: Arrivals::new(),
            departures: Departures::new(),
            gen0_allocated: AtomicUsize::new(0),
            gen0_allocated_bytes: AtomicUsize::new(0),
            gen0_budget: AtomicUsize::new(GEN0_PRODUCTIVE_BUDGET),
            gen0_byte_budget: AtomicUsize::new(GEN0_BASE_BYTES),
            gen0_freed: AtomicUsize::new(0),
            gen0_freed_bytes: AtomicUsize::new(0),
            collection: Mutex::new(()),
            pressure_owed: Mutex::new(false),
            turn_lent_to_reclaimer: AtomicBool::new(false),
            collections: std::array::from_fn(|_| AtomicU64::new(0)),
            collector_waits: AtomicU64::new(0),
            collector_wait_nanos: AtomicU64::new(0),
            pressure: AtomicUsize::new(0),
            pressure_since_full: AtomicUsize::new(0),
            examined_view: Mutex::new(None),
        }
    }

    /// Marks the start of an examination, which holds the lock (`lists` is its guard's) until
    /// [`Heap::end_examination`]: meanwhile [`Heap::sizes_and_stats`] answers with the figures as
    /// they stand now.
    pub(crate) fn begin_examination(&self, lists: &Lists) {
        *self.examined_view.lock().ignore_poison() = Some((lists.sizes(), lists.stats));
    }

    /// Marks the end of the examination begun with [`Heap::begin_examination`], before it lets the
    /// lock go (`lists` is its guard's).
    pub(crate) fn end_examination(&self, _lists: &Lists) {
        *self.examined_view.lock().ignore_poison() = None;
    }

    /// The tracked objects and bytes of each generation, and the collections' statistics, without
    /// waiting for an examination: exact when the heap lock is free or only briefly held (a
    /// thread unlinking its dead objects), and as the running examination found them while one
    /// holds it, since it may hold it for tens of milliseconds on a large heap.
    pub(crate) fn sizes_and_stats(&self) -> (GenerationSizes, Stats) {
        loop {
            if let Some(lists) = self.try_lock() {
                return (lists.sizes(), lists.stats);
            }
            if let Some(view) = *self.examined_view.lock().ignore_poison() {
                return view;
            }
            crate::sync::yield_now();
        }
    }

    /// Takes the heap lock, and links the objects that arrived since its last holder, so that
    /// the lists hold every tracked object allocated before this call. A panic never leaves the
    /// lists half-updated (no user code runs while they change), so the lock needs no poisoning,
    /// and has none.
    pub(crate) fn lock(&self) -> FairMutexGuard<'_, Lists> {
        let mut lists = self.lists.lock();
        self.link_arrivals(&mut lists);
        lists
    }

    /// Links every arrival into gen 0 but those found dead ([`DIED_ARRIVING`], which only
    /// [`Heap::take_departures`] marks, in the same hold of the lock, and whose caller frees
    /// them); the caller holds the lock (`lists` is its guard's).
    fn link_arrivals(&self, lists: &mut Lists) {
        // SAFETY: the lock is held.
        unsafe {
            self.arrivals.take_all(|header| {
                // SAFETY: an arrival is a tracked object, allocated until it is freed, which
                // for one marked dead happens after this take (the marker's caller frees it).
                let generation = &node_of(header).as_ref().generation;
                if generation.get() != DIED_ARRIVING {
                    // SAFETY: an unmarked arrival is a live tracked object in no list, now
                    // the lists'.
                    lists.link_young(header);
                }
            });
        }
    }

    /// Takes the heap lock if no other thread holds it (see [`Heap::lock`]).
    pub(crate) fn try_lock(&self) -> Option<FairMutexGuard<'_, Lists>> {
        let mut lists = self.lists.try_lock()?;
        self.link_arrivals(&mut lists);
        Some(lists)
    }

    /// Takes the heap lock to unlink `dead`, a thread's retired objects: appends every departed
    /// object to `dead`, and links the arrivals but the dead ones ([`Heap::take_departures`]).
    /// Taking the lock as [`Heap::lock`] does, which links the arrivals first, would link the
    /// objects that died before any holder linked them, only for the caller to unlink them at
    /// once: temporaries, which die before their thread's next hold of the lock (5.8% of the
    /// instructions of a loop of them, `docs/measurements.md`).
    ///
    /// # Safety
    /// Every object of `dead` is a tracked object whose count is zero and whose value has been
    /// dropped, linked or arrived, and nothing else will free it.
    pub(crate) unsafe fn lock_to_retire(
        &self,
        dead: &mut Vec<NonNull<Header>>,
    ) -> FairMutexGuard<'_, Lists> {
        let mut lists = self.lists.lock();
        // SAFETY: the caller's contract, and the lock is held.
        unsafe { self.take_departures(&mut lists, dead) };
        lists
    }

    /// [`Heap::lock_to_retire`] if no other thread holds the lock; `dead` is left as it was
    /// otherwise.
    ///
    /// # Safety
    /// As [`Heap::lock_to_retire`].
    pub(crate) unsafe fn try_lock_to_retire(
        &self,
        dead: &mut Vec<NonNull<Header>>,
    ) -> Option<FairMutexGuard<'_, Lists>> {
        let mut lists = self.lists.try_lock()?;
        // SAFETY: the caller's contract, and the lock is held.
        unsafe { self.take_departures(&mut lists, dead) };
        Some(lists)
    }

    /// Hands a batch of dead tracked objects to the heap lock's next drainer, for a thread that
    /// could not take the lock to unlink them itself (`engine/retire.rs`). Each object's count
    /// is zero, its value dropped, and it is linked or arrived; nothing else will free it.
    pub(crate) fn depart(&self, batch: Vec<NonNull<Header>>) {
        self.departures.push(batch);
    }

    /// Takes every departed object into `into`, with the lock held (`lists` is its guard's),
    /// then marks the objects of `into` (departed or the caller's) that still wait in the
    /// arrivals, and links the other arrivals, so that every object of `into` is either linked
    /// or marked [`DIED_ARRIVING`] and in no list or shard any more: the caller unlinks it with
    /// [`Lists::remove_dead`] and frees it. A dead object may have arrived after this lock's
    /// holder linked the arrivals, and its arrival push happened before its death, so before
    /// its departure, whose `Release` push this take's `Acquire` swap reads (or before the
    /// caller's own retirement of it): the take of the arrivals below finds it, and skips it.
    ///
    /// # Safety
    /// Every object of `into` is a tracked object whose count is zero and whose value has been
    /// dropped, linked or arrived, and nothing else will free it.
    pub(crate) unsafe fn take_departures(
        &self,
        lists: &mut Lists,
        into: &mut Vec<NonNull<Header>>,
    ) {
        self.departures.take_all(into);
        for &header in into.iter() {
            // SAFETY: the caller's and `Heap::depart`'s contract: a dead tracked object,
            // allocated until it is freed; only holders of the lock, held, write `generation`.
            let generation = &unsafe { node_of(header).as_ref() }.generation;
            if generation.get() == ARRIVING {
                generation.set(DIED_ARRIVING);
            }
        }
        self.link_arrivals(lists);
    }

    /// Adds a new tracked object to gen 0 without taking the heap lock (it waits in the arrivals
    /// until the lock's next holder links it); returns whether an automatic collection is due,
    /// and whether it is overdue (see [`Due`]).
    ///
    /// The allocations are counted per thread and reported to the heap every
    /// [`REPORT_EVERY`] objects or [`REPORT_EVERY_BYTES`] bytes, so that threads do not write one
    /// shared counter at every allocation: a budget is found spent up to one report late per
    /// thread, and a thread's unreported count is lost when it exits.
    ///
    /// # Safety
    /// `header` is a new tracked object, in no list and no shard, not shared with another thread.
    pub(crate) unsafe fn link(&self, header: NonNull<Header>) -> Option<Due> {
        // SAFETY: the object is new and tracked.
        let size = unsafe { object::size(header) };
        // SAFETY: the caller's contract.
        unsafe { self.arrivals.push(header) };
        let report = UNREPORTED
            .try_with(|unreported| {
                let (objects, bytes) = unreported.get();
                let (objects, bytes) = (objects + 1, bytes + size);
                if objects >= REPORT_EVERY || bytes >= REPORT_EVERY_BYTES {
                    unreported.set((0, 0));
                    Some((objects, bytes))
                } else {
                    unreported.set((objects, bytes));
                    None
                }
            })
            .unwrap_or(Some((1, size)));
        let (objects, bytes) = report?;
        self.gen0_allocated.fetch_add(objects, Ordering::Relaxed);
        self.gen0_allocated_bytes
            .fetch_add(bytes, Ordering::Relaxed);
        self.due()
    }

    /// Whether an automatic collection is due, and whether it is overdue (see [`Due`]), as far as
    /// the allocations reported so far say: due once the tracked objects or bytes have grown by a
    /// gen-0 budget since the last examination began.
    ///
    /// Growth is what was allocated minus what counting freed, as CPython counts its gen 0, not
    /// what was allocated, as .NET counts: a tracing collector must trace to free anything, but
    /// here a collection can only free what counting did not, so acyclic garbage that dies young
    /// never makes one due. Counting allocations, GCBench's rounds ran about 150 gen-0
    /// collections that found nothing, and the collector thread, walking, linking and unlinking
    /// the objects the program's thread made and dropped meanwhile, took 43% of the CPU time
    /// (`docs/measurements.md#collections`).
    pub(crate) fn due(&self) -> Option<Due> {
        let allocated = self.gen0_allocated.load(Ordering::Relaxed);
        let allocated_bytes = self.gen0_allocated_bytes.load(Ordering::Relaxed);
        let (budget, byte_budget) = (
            self.gen0_budget.load(Ordering::Relaxed),
            self.gen0_byte_budget.load(Ordering::Relaxed),
        );
        if allocated < budget && allocated_bytes < byte_budget {
            // Growth never exceeds allocations.
            return None;
        }
        // Frees of objects older than the last collection can outnumber the allocations since.
        let grown = allocated.saturating_sub(self.gen0_freed.load(Ordering::Relaxed));
        let grown_bytes =
            allocated_bytes.saturating_sub(self.gen0_freed_bytes.load(Ordering::Relaxed));
        let overdue = budget + (budget * (PACE_QUARTERS - 4) / 4).max(PACE_SLACK_OBJECTS);
        if grown >= overdue || 4 * grown_bytes >= PACE_QUARTERS * byte_budget {
            Some(Due::Overdue)
        } else if grown >= budget || grown_bytes >= byte_budget {
            Some(Due::Budget)
        } else {
            None
        }
    }

    /// Counts tracked objects freed by their counts (`retire.rs`): they no longer count towards
    /// the heap's growth since the last examination began.
    pub(crate) fn count_frees(&self, objects: usize, bytes: usize) {
        self.gen0_freed.fetch_add(objects, Ordering::Relaxed);
        self.gen0_freed_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Starts counting gen-0 allocations and frees afresh, as an examination begins (`lists` is
    /// the lock's guard, under which the arrivals so far were linked into gen 0 for it to
    /// examine). What is allocated while it runs is not examined by it: it counts towards the
    /// next collection, so a thread that allocates during a long examination is due, and
    /// overdue, one budget later than that examination's start, not its end.
    pub(crate) fn start_counting_afresh(&self, _lists: &mut Lists) {
        self.gen0_allocated.store(0, Ordering::Relaxed);
        self.gen0_allocated_bytes.store(0, Ordering::Relaxed);
        self.gen0_freed.store(0, Ordering::Relaxed);
        self.gen0_freed_bytes.store(0, Ordering::Relaxed);
    }

    /// Promotes the survivors of a collection of `0..=max_generation` (see
    /// [`Lists::promote_survivors`]) that examined `examined` objects and condemned `condemned`,
    /// and sets the gen-0 budgets it chose. Returns the objects and bytes promoted.
    pub(crate) fn promote_survivors(
        &self,
        lists: &mut Lists,
        max_generation: u8,
        examined: usize,
        condemned: usize,
    ) -> (usize, usize) {
        // Judged on gen-0 collections alone: the older generations a larger one adds hold what
        // survived before, and would make a young heap of garbage look mostly live.
        if max_generation == 0 {
            lists.gen0_productive = condemned * 4 > examined * 3;
        }
        let promoted = lists.promote_survivors(max_generation);
        self.gen0_budget.store(lists.gen0_budget, Ordering::Relaxed);
        self.gen0_byte_budget
            .store(lists.gen0_byte_budget, Ordering::Relaxed);
        promoted
    }

    /// The generation a tracked object is in.
    ///
    /// # Safety
    /// `header` is a live tracked object.
    pub(crate) unsafe fn generation_of(&self, header: NonNull<Header>) -> u8 {
        let _lists = self.lock();
        // SAFETY: the object is tracked and the lock guards its node.
        unsafe { node_of(header).as_ref() }.generation.get()
    }

    /// Records that a program thread waited `waited` for the collector.
    pub(crate) fn count_collector_wait(&self, waited: Duration) {
        // `Relaxed`: statistics, read without ordering against anything else.
        self.collector_waits.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(waited.as_nanos()).unwrap_or(u64::MAX);
        self.collector_wait_nanos
            .fetch_add(nanos, Ordering::Relaxed);
    }

    /// The waits of program threads for the collector so far, and their durations, summed.
    pub(crate) fn collector_waits(&self) -> (u64, Duration) {
        (
            self.collector_waits.load(Ordering::Relaxed),
            Duration::from_nanos(self.collector_wait_nanos.load(Ordering::Relaxed)),
        )
    }

    /// Records a finished collection of generations `0..=generation`.
    pub(crate) fn count_collection(&self, generation: u8) {
        for count in &self.collections[..=generation as usize] {
            count.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Collections of `generation` so far.
    pub(crate) fn collection_count(&self, generation: u8) -> u64 {
        self.collections[generation.min(OLDEST) as usize].load(Ordering::Relaxed)
    }

    /// Declares `bytes` of unmanaged memory; returns the numbers that made a full collection due,
    /// if one is.
    pub(crate) fn add_pressure(&self, bytes: usize) -> Option<PressureDue> {
        self.pressure.fetch_add(bytes, Ordering::Relaxed);
        let since_full = self.pressure_since_full.fetch_add(bytes, Ordering::Relaxed) + bytes;
        let budget = PRESSURE_BUDGET.max(alloc::published_bytes().max(0).unsigned_abs() / 3);
        (since_full >= budget).then_some(PressureDue { since_full, budget })
    }

    /// Withdraws `bytes` of declared unmanaged memory.
    pub(crate) fn remove_pressure(&self, bytes: usize) {
        let _ = self
            .pressure
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |pressure| {
                Some(pressure.saturating_sub(bytes))
            });
    }

    /// Memory pressure currently declared.
    pub(crate) fn pressure(&self) -> usize {
        self.pressure.load(Ordering::Relaxed)
    }

    /// Runs `wait` (the turn's holder waiting for the reclaimer) with the turn lent to the
    /// reclaimer thread, whose induced collections then run under it. Why lending is sound, and
    /// why the flag is `SeqCst`: `docs/gc-soundness.md#the-aftermath-and-the-reclaimer`.
    pub(crate) fn lend_turn_to_reclaimer(&self, wait: impl FnOnce()) {
        struct Lent<'a>(&'a AtomicBool);
        impl Drop for Lent<'_> {
            fn drop(&mut self) {
                self.0.store(false, Ordering::SeqCst);
            }
        }
        self.turn_lent_to_reclaimer.store(true, Ordering::SeqCst);
        let _lent = Lent(&self.turn_lent_to_reclaimer);
        wait();
    }

    /// Whether the turn's holder lends it to the reclaimer now.
    pub(crate) fn is_turn_lent_to_reclaimer(&self) -> bool {
        self.turn_lent_to_reclaimer.load(Ordering::SeqCst)
    }

    /// Resets the pressure counted towards the next full collection.
    pub(crate) fn reset_pressure_since_full(&self) {
        self.pressure_since_full.store(0, Ordering::Relaxed);
    }
}

/// Per-generation tracked objects and bytes.
#[derive(Clone, Copy)]
pub(crate) struct GenerationSizes {
    pub(crate) objects: [usize; GENERATIONS],
    pub(crate) bytes: [usize; GENERATIONS],
}

impl Lists {
    /// The tracked objects and bytes of each generation.
    pub(crate) fn sizes(&self) -> GenerationSizes {
        GenerationSizes {
            objects: self.objects,
            bytes: self.bytes,
        }
    }

    /// Which generation an automatic collection should examine: gen 0, gen 1 every
    /// [`GEN1_EVERY`] gen-0 collections, gen 2 every [`GEN2_EVERY`] gen-1 collections when gen 2
    /// has grown by a quarter since the last full collection (CPython's guard against
    /// quadratic full collections while a large heap is built).
    pub(crate) fn generation_to_collect(&self) -> u8 {
        if self.gen0_since_gen1 + 1 < GEN1_EVERY {
            0
        } else if self.gen1_since_gen2 + 1 < GEN2_EVERY
            || self.promoted_into_gen2 < self.gen2_after_full / 4
        {
            1
        } else {
            OLDEST
        }
    }

    /// Appends a node to a generation's list.
    ///
    /// # Safety
    /// The lock is held (through `self`) and the node is a live tracked object's, unlinked.
    unsafe fn push(&mut self, node: NonNull<Node>, generation: u8) {
        let generation_index = generation as usize;
        // SAFETY: the node is live and the lock guards it.
        let node_ref = unsafe { node.as_ref() };
        let tail = self.tails[generation_index];
        node_ref.prev.set(tail);
        node_ref.next.set(std::ptr::null());
        node_ref.generation.set(generation);
        if tail.is_null() {
            self.heads[generation_index] = node.as_ptr();
        } else {
            // SAFETY: linked nodes are live and the lock guards them.
            unsafe { &*tail }.next.set(node.as_ptr());
        }
        self.tails[generation_index] = node.as_ptr();
    }

    /// Unlinks a tracked object and takes it out of its generation's sizes.
    ///
    /// # Safety
    /// The object is tracked and linked.
    pub(crate) unsafe fn remove(&mut self, header: NonNull<Header>) {
        // SAFETY: the object is tracked; linked nodes are live and the lock guards them.
        let node = unsafe { node_of(header).as_ref() };
        // SAFETY: as above.
        let size = unsafe { object::size(header) };
        let generation = node.generation.get() as usize;
        let (prev, next) = (node.prev.get(), node.next.get());
        if prev.is_null() {
            self.heads[generation] = next;
        } else {
            // SAFETY: linked nodes are live and the lock guards them.
            unsafe { &*prev }.next.set(next);
        }
        if next.is_null() {
            self.tails[generation] = prev;
        } else {
            // SAFETY: as above.
            unsafe { &*next }.prev.set(prev);
        }
        self.objects[generation] -= 1;
        self.bytes[generation] -= size;
    }

    /// Unlinks a dead tracked object that [`Heap::take_departures`] took or marked, unless it
    /// died before it was linked ([`DIED_ARRIVING`]): that one is in no list.
    ///
    /// # Safety
    /// The object went through [`Heap::take_departures`] in this hold of the lock.
    pub(crate) unsafe fn remove_dead(&mut self, header: NonNull<Header>) {
        // SAFETY: the object is tracked and allocated; the lock guards its node.
        if unsafe { node_of(header).as_ref() }.generation.get() != DIED_ARRIVING {
            // SAFETY: linked, by the caller's contract.
            unsafe { self.remove(header) };
        }
    }

    /// Calls `visit` on the header of every object in generations `0..=max_generation`, and
    /// `pause` on the lists after every `every`th object of generations 1 and up for which
    /// `visit` returned `true`, which promises that the object stays linked whatever `pause`
    /// does (it pinned it): the walk goes on from that object's successor as it then stands.
    /// `pause` may link objects into gen 0 and unlink objects other than the visited ones; gen 0,
    /// walked first, has no pause, so every object visited was linked when the walk began.
    pub(crate) fn for_each_with_pauses(
        &mut self,
        max_generation: u8,
        every: usize,
        mut visit: impl FnMut(NonNull<Header>, &Node) -> bool,
        mut pause: impl FnMut(&mut Lists),
    ) {
        let mut until_pause = every;
        for generation in 0..=max_generation as usize {
            let mut cursor = self.heads[generation];
            while let Some(node) = NonNull::new(cursor.cast_mut()) {
                // SAFETY: linked nodes are live tracked objects and the lock guards them.
                let (header, node_ref) = unsafe { (header_of_node(node), node.as_ref()) };
                let stays = visit(header, node_ref);
                if stays && generation > 0 {
                    until_pause -= 1;
                    if until_pause == 0 {
                        pause(self);
                        until_pause = every;
                    }
                }
                // SAFETY: as above: `node` is still linked, if `pause` ran, since it stays.
                cursor = unsafe { node.as_ref() }.next.get();
            }
        }
    }

    /// Promotes the survivors of a collection of `0..=max_generation`: generation `g` moves to
    /// `g + 1`, the oldest stays. Returns the objects and bytes promoted. Resets the budgets the
    /// collection answered, adapting the gen-0 budgets to how many objects, and bytes, survived.
    /// The young objects the collection did not examine stay young ([`Lists::promote_examined`]).
    fn promote_survivors(&mut self, max_generation: u8) -> (usize, usize) {
        let mut unexamined = Vec::new();
        let promoted = self.promote_examined(max_generation, &mut unexamined);
        for header in unexamined {
            // SAFETY: taken out of gen 0 by the promotion, live (linked objects are freed only
            // once unlinked, under this lock), and the lock is held.
            unsafe { self.link_young(header) };
        }
        promoted
    }

    /// Links a tracked object at the end of gen 0 and counts it there.
    ///
    /// # Safety
    /// The lock is held (through `self`) and the object is a live tracked object in no list.
    unsafe fn link_young(&mut self, header: NonNull<Header>) {
        // SAFETY: the caller's contract.
        let size = unsafe { object::size(header) };
        // SAFETY: as above.
        unsafe { self.push(node_of(header), 0) };
        self.objects[0] += 1;
        self.bytes[0] += size;
    }

    /// Promotes every object of generations `0..=max_generation` (see
    /// [`promote_survivors`](Lists::promote_survivors)) but the young ones the collection ending
    /// did not examine (their index says so), which it takes out into `unexamined`: those linked
    /// while it examined (arrivals linked with the departures it freed as it went,
    /// `engine/retire.rs`), and those whose count was zero when it pinned. Neither survived an
    /// examination, so neither is promoted.
    fn promote_examined(
        &mut self,
        max_generation: u8,
        unexamined: &mut Vec<NonNull<Header>>,
    ) -> (usize, usize) {
        let mut promoted = (0, 0);
        for generation in (0..=max_generation.min(OLDEST - 1) as usize).rev() {
            let target = generation + 1;
            let mut cursor = self.heads[generation];
            while let Some(node) = NonNull::new(cursor.cast_mut()) {
                // SAFETY: linked nodes are live tracked objects and the lock guards them.
                let (header, node_ref) = unsafe { (header_of_node(node), node.as_ref()) };
                cursor = node_ref.next.get();
                if generation == 0 && node_ref.index.get() == NOT_EXAMINED {
                    // SAFETY: linked in gen 0, and the lock is held.
                    unsafe { self.remove(header) };
                    unexamined.push(header);
                } else {
                    node_ref.generation.set(target as u8);
                }
            }
            let (head, tail) = (self.heads[generation], self.tails[generation]);
            if !head.is_null() {
                let target_tail = self.tails[target];
                // SAFETY: as above.
                unsafe { &*head }.prev.set(target_tail);
                if target_tail.is_null() {
                    self.heads[target] = head;
                } else {
                    // SAFETY: as above.
                    unsafe { &*target_tail }.next.set(head);
                }
                self.tails[target] = tail;
            }
            self.heads[generation] = std::ptr::null();
            self.tails[generation] = std::ptr::null();
            promoted.0 += self.objects[generation];
            promoted.1 += self.bytes[generation];
            self.objects[target] += self.objects[generation];
            self.bytes[target] += self.bytes[generation];
            if target == OLDEST as usize {
                self.promoted_into_gen2 += self.objects[generation];
            }
            self.objects[generation] = 0;
            self.bytes[generation] = 0;
        }
        let (survivors_of_gen0, survivor_bytes_of_gen0) = if max_generation == 0 {
            promoted
        } else {
            (self.objects[1], self.bytes[1])
        };
        self.gen0_budget = if self.gen0_productive {
            GEN0_PRODUCTIVE_BUDGET
        } else {
            (GEN0_BASE_BUDGET + 2 * survivors_of_gen0).min(GEN0_MAX_BUDGET)
        };
        self.gen0_byte_budget = (GEN0_BASE_BYTES + 2 * survivor_bytes_of_gen0).min(GEN0_MAX_BYTES);
        match max_generation {
            0 => self.gen0_since_gen1 += 1,
            1 => {
                self.gen0_since_gen1 = 0;
                self.gen1_since_gen2 += 1;
            }
            _ => {
                self.gen0_since_gen1 = 0;
                self.gen1_since_gen2 = 0;
                self.promoted_into_gen2 = 0;
                self.gen2_after_full = self.objects[OLDEST as usize];
            }
        }
        promoted
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::gc::core::object::VTables;
    use crate::gc::core::trace::{Trace, TraceMeta, Tracer};

    struct Payload;

    // SAFETY: a payload holds no `Gc`.
    unsafe impl Trace for Payload {
        fn trace(&self, _: &mut Tracer<'_>) {}
    }

    // SAFETY: as above: no `Gc`, no cell, no finalizer.
    unsafe impl TraceMeta for Payload {
        const HOLDS_GC: bool = false;
        const MUTABLE_EDGES: bool = false;
    }

    /// A tracked object of this heap's own (not the global one's), pushed to its arrivals.
    fn arrive(heap: &Heap) -> NonNull<Header> {
        let header = object::allocate(Payload, &VTables::<Payload>::TRACKED);
        // SAFETY: new and tracked, in no list and no shard.
        unsafe { heap.arrivals.push(header) };
        header
    }

    /// Frees a test object that no list and no shard holds any more.
    fn free(header: NonNull<Header>) {
        // SAFETY: this test's object, used by no one else, its value not dropped yet.
        unsafe {
            object::drop_value(header);
            object::deallocate(header);
        }
    }

    #[test]
    fn an_object_retired_before_any_holder_linked_it_is_never_linked() {
        let heap = Heap::new();
        let (died_young, lives) = (arrive(&heap), arrive(&heap));
        let mut dead = vec![died_young];
        let mut lists = heap.lists.lock();
        // SAFETY: `died_young` stands for a retired object: nothing else frees it.
        unsafe { heap.take_departures(&mut lists, &mut dead) };
        assert_eq!(lists.objects[0], 1, "only the living arrival is linked");
        // SAFETY: node fields are read under the lock.
        let generation_of = |header| unsafe { node_of(header).as_ref() }.generation.get();
        assert_eq!(generation_of(died_young), DIED_ARRIVING);
        assert_eq!(generation_of(lives), 0);
        // SAFETY: taken through `take_departures` in this hold.
        unsafe { lists.remove_dead(died_young) };
        assert_eq!(lists.objects[0], 1, "a dead arrival leaves the lists alone");
        drop(lists);
        free(died_young);

        // Linked by an earlier hold, it is unlinked when it dies.
        let mut dead = vec![lives];
        let mut lists = heap.lists.lock();
        // SAFETY: as above.
        unsafe { heap.take_departures(&mut lists, &mut dead) };
        // SAFETY: as above.
        unsafe { lists.remove_dead(lives) };
        assert_eq!(lists.objects[0], 0);
        assert!(lists.heads[0].is_null());
        drop(lists);
        free(lives);
    }

    #[test]
    fn memory_pressure_is_due_while_flushed_frees_run_ahead_of_allocations() {
        let heap = Heap::new();
        // One thread flushed the free of bytes whose allocation another has not flushed yet
        // (far more than any other test's unflushed bytes, and given back at the end).
        const RUN_AHEAD: isize = 1 << 40;
        alloc::flush(-RUN_AHEAD);
        let negative = alloc::published_bytes() < 0;
        let due = heap.add_pressure(PRESSURE_BUDGET).is_some();
        alloc::flush(RUN_AHEAD);
        assert!(negative);
        assert!(due);
    }
}
