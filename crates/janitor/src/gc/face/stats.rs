//! `gc::stats()`: what the collector has done since the process started, in one value that
//! prints in one line.
//!
//! Invariant owned here: a [`GcStats`] is read from the live counters, never kept or derived by
//! hand: the per-collection totals come from the heap's statistics (written by the collector under
//! the heap lock, read here under it, so they agree with each other), the rest from the same
//! sources as [`memory_info`](crate::gc::memory_info).

use crate::gc::core::alloc;
use crate::gc::core::heap::Heap;
use crate::gc::core::heap::{OLDEST, Trigger};
use crate::gc::face::api::MAX_GENERATION;
use crate::gc::side::queue;
use std::fmt;
use std::time::Duration;

/// A summary of the collector's work so far and of the heap now, printable in one line: the
/// counterpart of the numbers .NET spreads over `GC.CollectionCount`, `GC.GetTotalMemory`,
/// `GC.GetTotalPauseDuration` and `GC.GetGCMemoryInfo`.
///
/// Every field is public; [`Display`](fmt::Display) writes them on a single line, for a log line
/// or the end of a run.
///
/// ```
/// use janitor::gc::{self, Gc, GcCell, Trace};
///
/// #[derive(Trace)]
/// struct Node(GcCell<Option<Gc<Node>>>);
///
/// let before = gc::stats();
/// let node = Gc::new(Node(GcCell::new(None)));
/// *node.0.borrow_mut() = Some(node.clone()); // a self-loop: only a collection frees it
/// drop(node);
/// gc::collect();
/// let after = gc::stats();
///
/// assert!(after.collections[2] > before.collections[2]);
/// assert!(after.induced_collections > before.induced_collections);
/// assert!(after.freed_objects > before.freed_objects);
/// let line = after.to_string();
/// assert!(line.starts_with("gc: ") && !line.contains('\n'));
/// println!("{line}");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct GcStats {
    /// Collections per generation, counted as [`collection_count`](crate::gc::collection_count): a
    /// collection of generation N counts for every generation up to N, so `collections[0]` is
    /// the number of collections of any kind.
    pub collections: [u64; OLDEST as usize + 1],
    /// Collections asked for by [`collect`](crate::gc::collect) or
    /// [`collect_generation`](crate::gc::collect_generation) (.NET's induced collections).
    pub induced_collections: u64,
    /// Collections started by an allocation that found the tracked objects grown by a gen-0
    /// budget (allocations minus frees by counting) since the last examination began.
    pub allocation_collections: u64,
    /// Collections started by [`add_memory_pressure`](crate::gc::add_memory_pressure) passing its
    /// budget.
    pub pressure_collections: u64,
    /// Objects all collections have examined (pinned and traced), summed.
    pub examined_objects: u64,
    /// Objects all collections have freed: members of garbage cycles. Acyclic garbage is freed by
    /// counting when its last `Gc` drops and never passes through a collection.
    pub freed_objects: u64,
    /// Bytes of all live objects now, tracked or not (as [`total_memory`](crate::gc::total_memory)
    /// without a collection).
    pub heap_bytes: usize,
    /// Objects the collector tracks now (those that can be part of a cycle), all generations.
    pub tracked_objects: usize,
    /// Memory pressure declared and not withdrawn.
    pub memory_pressure: usize,
    /// The pause of the last collection.
    pub last_pause: Duration,
    /// The pauses of all collections, summed (.NET's `GC.GetTotalPauseDuration`): each from its
    /// start to its decision, on whatever thread ran it. Collections due to allocation run on the
    /// background collector thread while the program's threads go on: their part is
    /// [`background_pause`](Self::background_pause), and [`program_pause`](Self::program_pause)
    /// is the time the program's threads were stopped.
    pub total_pause: Duration,
    /// The part of [`total_pause`](Self::total_pause) spent on the background collector thread.
    pub background_pause: Duration,
    /// Times a program thread waited for the collector: an allocation that found the heap a
    /// budget and a quarter past its last examination's start, and waited for the next
    /// examination to end (at most 10 ms), as Go's allocation assists pace a program that
    /// allocates faster than its collector; or a [`GcCell::borrow_mut`](crate::gc::GcCell::borrow_mut)
    /// of a cell an examination held, until the examination gave it back.
    pub collector_waits: u64,
    /// The waits of [`collector_waits`](Self::collector_waits), summed.
    pub collector_wait_time: Duration,
    /// Objects waiting for their finalizer now.
    pub pending_finalizers: usize,
    /// Objects the finalizer thread is done with: finalizers run, plus queued ones whose
    /// finalizer [`suppress_finalize`](crate::gc::suppress_finalize) cancelled before it ran.
    pub finalized_objects: u64,
}

impl GcStats {
    /// The time the program's threads were stopped for the collector: the pauses of the
    /// collections that ran on them (induced ones, and memory pressure's), plus their
    /// [waits for the background collector](Self::collector_waits). A program's share of time lost to collection
    /// is this over its run time.
    ///
    /// ```
    /// use janitor::gc::{self, Gc, GcCell, Trace};
    ///
    /// #[derive(Trace)]
    /// struct Node(GcCell<Option<Gc<Node>>>);
    ///
    /// let before = gc::stats();
    /// for _ in 0..100_000 {
    ///     let node = Gc::new(Node(GcCell::new(None)));
    ///     *node.0.borrow_mut() = Some(node.clone()); // garbage only a collection frees
    /// }
    /// gc::collect(); // runs on this thread: its pause counts
    /// let after = gc::stats();
    /// assert!(after.program_pause() > before.program_pause());
    /// assert!(after.background_pause <= after.total_pause);
    /// ```
    #[must_use]
    pub fn program_pause(&self) -> Duration {
        self.total_pause.saturating_sub(self.background_pause) + self.collector_wait_time
    }
}

/// The collector's statistics now.
///
/// Cheap enough to call after every request: it takes the heap lock once and the finalizer
/// queue's lock once, in the same read as [`memory_info`](crate::gc::memory_info). It never waits
/// for a collection: while one examines the heap (which holds the heap lock for tens of
/// milliseconds on a heap of a million tracked objects), the sizes and the collections' totals are
/// those that collection found when it began; the counts of collections, waits, memory and
/// finalizers are read as they are.
///
/// ```
/// let stats = janitor::gc::stats();
/// assert!(stats.total_pause >= stats.last_pause);
/// assert_eq!(
///     stats.induced_collections + stats.allocation_collections + stats.pressure_collections,
///     stats.collections[0],
/// );
/// ```
pub fn stats() -> GcStats {
    read().0
}

/// [`stats`] and [`memory_info`](crate::gc::memory_info) from one read of the counters: the heap's
/// sizes and totals once ([`Heap::sizes_and_stats`], which never waits for an examination), the
/// finalizer queue's lock once, so the two views of one moment agree.
pub(super) fn read() -> (GcStats, MemoryInfo) {
    let heap = Heap::global();
    let (pending_finalizers, finalized_objects) = queue::pending_and_finished();
    let (sizes, totals) = heap.sizes_and_stats();
    let heap_bytes = alloc::total_bytes();
    let memory_pressure = heap.pressure();
    let collections = std::array::from_fn(|generation| heap.collection_count(generation as u8));
    let (collector_waits, collector_wait_time) = heap.collector_waits();
    let stats = GcStats {
        collections,
        induced_collections: totals.by_trigger[Trigger::Induced.index()],
        allocation_collections: totals.by_trigger[Trigger::Allocation.index()],
        pressure_collections: totals.by_trigger[Trigger::MemoryPressure.index()],
        examined_objects: totals.examined_objects,
        freed_objects: totals.freed_objects,
        heap_bytes,
        tracked_objects: sizes.objects.iter().sum(),
        memory_pressure,
        last_pause: totals.last_pause,
        total_pause: totals.total_pause,
        background_pause: totals.background_pause,
        collector_waits,
        collector_wait_time,
        pending_finalizers,
        finalized_objects,
    };
    let memory = MemoryInfo {
        heap_bytes,
        generations: std::array::from_fn(|generation| GenerationInfo {
            objects: sizes.objects[generation],
            bytes: sizes.bytes[generation],
        }),
        memory_pressure,
        last_pause: totals.last_pause,
        total_pause: totals.total_pause,
        collections,
        promoted_objects: totals.promoted_objects,
        promoted_bytes: totals.promoted_bytes,
        pending_finalizers,
    };
    (stats, memory)
}

impl fmt::Display for GcStats {
    /// One line: `gc: 12 collections (gen0 12, gen1 1, gen2 1; 2 induced, 10 by allocation,
    /// 0 by memory pressure), 40213 objects examined, 120 freed; heap 1.2 MiB, 301 tracked
    /// objects, 0 B memory pressure; pause last 85.0µs, total 1.9ms (1.5ms in the background);
    /// 3 collector waits, 2.0ms; 0 pending finalizers, 7 finalized`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [gen0, gen1, gen2] = self.collections;
        write!(
            f,
            "gc: {gen0} collections (gen0 {gen0}, gen1 {gen1}, gen2 {gen2}; {} induced, {} by \
             allocation, {} by memory pressure), {} objects examined, {} freed; heap {}, {} \
             tracked objects, {} memory pressure; pause last {:.1?}, total {:.1?} ({:.1?} in the \
             background); {} collector waits, {:.1?}; {} pending finalizers, {} finalized",
            self.induced_collections,
            self.allocation_collections,
            self.pressure_collections,
            self.examined_objects,
            self.freed_objects,
            Bytes(self.heap_bytes),
            self.tracked_objects,
            Bytes(self.memory_pressure),
            self.last_pause,
            self.total_pause,
            self.background_pause,
            self.collector_waits,
            self.collector_wait_time,
            self.pending_finalizers,
            self.finalized_objects,
        )
    }
}

/// A byte count in the largest binary unit that keeps it at 1 or more, one decimal.
struct Bytes(usize);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
        if self.0 < 1024 {
            return write!(f, "{} B", self.0);
        }
        let mut value = self.0 as f64 / 1024.0;
        let mut unit = 0;
        while value >= 1024.0 && unit + 1 < UNITS.len() {
            value /= 1024.0;
            unit += 1;
        }
        write!(f, "{value:.1} {}", UNITS[unit])
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn bytes_print_in_the_largest_unit_that_keeps_them_whole() {
        assert_eq!(Bytes(0).to_string(), "0 B");
        assert_eq!(Bytes(1023).to_string(), "1023 B");
        assert_eq!(Bytes(1536).to_string(), "1.5 KiB");
        assert_eq!(Bytes(3 << 20).to_string(), "3.0 MiB");
    }

    #[test]
    fn every_field_is_printed_on_one_line() {
        let stats = GcStats {
            collections: [12, 3, 1],
            induced_collections: 2,
            allocation_collections: 9,
            pressure_collections: 1,
            examined_objects: 40_213,
            freed_objects: 120,
            heap_bytes: 5 << 20,
            tracked_objects: 301,
            memory_pressure: 2048,
            last_pause: Duration::from_micros(85),
            total_pause: Duration::from_micros(1900),
            background_pause: Duration::from_micros(1500),
            collector_waits: 3,
            collector_wait_time: Duration::from_millis(2),
            pending_finalizers: 4,
            finalized_objects: 7,
        };
        assert_eq!(
            stats.to_string(),
            "gc: 12 collections (gen0 12, gen1 3, gen2 1; 2 induced, 9 by allocation, 1 by \
             memory pressure), 40213 objects examined, 120 freed; heap 5.0 MiB, 301 tracked \
             objects, 2.0 KiB memory pressure; pause last 85.0µs, total 1.9ms (1.5ms in the \
             background); 3 collector waits, 2.0ms; 4 pending finalizers, 7 finalized"
        );
    }
}

/// The size of one generation, in [`MemoryInfo`].
///
/// ```
/// let gen0: janitor::gc::GenerationInfo = janitor::gc::memory_info().generations[0];
/// let _ = (gen0.objects, gen0.bytes);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct GenerationInfo {
    /// Tracked objects in the generation.
    pub objects: usize,
    /// Their bytes.
    pub bytes: usize,
}

/// A snapshot of the heap, as .NET's `GC.GetGCMemoryInfo`.
///
/// ```
/// use janitor::gc::{Gc, GcCell, collect, memory_info};
///
/// let kept = Gc::new(GcCell::new(Vec::<Gc<u8>>::new()));
/// collect();
/// let info = memory_info();
/// assert!(info.heap_bytes > 0);
/// assert!(info.generations[1].objects + info.generations[2].objects >= 1);
/// assert!(info.collections[2] >= 1);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct MemoryInfo {
    /// Bytes of all live objects, tracked or not (see [`total_memory`](crate::gc::total_memory) for the precision).
    pub heap_bytes: usize,
    /// Tracked objects and bytes per generation.
    pub generations: [GenerationInfo; MAX_GENERATION as usize + 1],
    /// Memory pressure declared and not withdrawn.
    pub memory_pressure: usize,
    /// The pause of the last collection (the time it held the heap lock).
    pub last_pause: Duration,
    /// The pauses of all collections so far, summed.
    pub total_pause: Duration,
    /// Collections per generation, as [`collection_count`](crate::gc::collection_count).
    pub collections: [u64; MAX_GENERATION as usize + 1],
    /// Objects the last collection promoted to an older generation.
    pub promoted_objects: usize,
    /// Their bytes.
    pub promoted_bytes: usize,
    /// Objects waiting in the f-reachable queue for their finalizer (.NET's
    /// `FinalizationPendingCount`).
    pub pending_finalizers: usize,
}

/// The state of the heap now.
///
/// ```
/// let info = janitor::gc::memory_info();
/// assert!(info.total_pause >= info.last_pause);
/// ```
pub fn memory_info() -> MemoryInfo {
    read().1
}
