//! The pacer: threads that allocate faster than collections free keep the collector's pace.
//!
//! Invariant owned here: **an allocating thread waits only when the heap has outgrown the
//! collector, only for the next examination, and never unboundedly.** Allocations do not take the
//! heap lock (`core/arrivals.rs`), so nothing else slows a thread that allocates garbage cycles
//! while another thread holds the collection turn: two such threads beside one that collects
//! (`collect` in a loop) made garbage faster than the collector dropped it, and the heap grew
//! without bound. When an allocation finds the heap grew by a gen-0 budget and a quarter
//! (`heap::PACE_QUARTERS`), and by at least 1,024 objects past the budget
//! (`heap::PACE_SLACK_OBJECTS`), since the last examination began, it asks the background
//! collector for a collection (`background.rs`) and waits here until the next examination ends,
//! as Go's allocation assists park a goroutine until the cycle ends.
//!
//! The wait is bounded by [`MAX_WAIT`]: the collection it waits for may be held up by a garbage
//! `Drop` that needs a lock the allocating thread holds (an induced collection drops its garbage
//! under the turn), and an unbounded wait would then deadlock. A bound keeps that case a delay of
//! at most [`MAX_WAIT`] per report of allocations (`heap::REPORT_EVERY`), during which the thread
//! allocates nothing; the wait is a pace, not a correctness condition, so no promise depends on
//! how long it lasts.

use crate::gc::core::heap::Heap;
use crate::sync::EventCount;
use std::time::{Duration, Instant};

/// The longest an overdue allocation waits for the next examination.
const MAX_WAIT: Duration = Duration::from_millis(10);

/// Examinations ended since the program started.
static EXAMINATIONS: EventCount = EventCount::new();

/// Records that a collection's examination ended (its lists are updated and its budgets reset),
/// waking the allocations that wait for it.
pub(crate) fn examination_ended() {
    EXAMINATIONS.signal();
}

/// Waits until the next examination ends, for at most [`MAX_WAIT`], and counts the wait in the
/// heap's statistics (`GcStats::collector_waits`).
pub(crate) fn wait_for_next_examination() {
    let started = Instant::now();
    EXAMINATIONS.wait_past(EXAMINATIONS.current(), Some(started + MAX_WAIT));
    Heap::global().count_collector_wait(started.elapsed());
}
