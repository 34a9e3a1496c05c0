//! `finalizable-churn`: objects with a finalizer, allocated and dropped at once, against the same
//! objects without one.
//!
//! Shape: `OBJECTS` objects (1,000,000 full, 200,000 quick) of a small type holding an id, each
//! dropped right after its allocation, then `collect` + `wait_for_pending_finalizers`; both are part
//! of the time. Row `janitor`: the type has a trivial finalizer (it adds the id to a sum), so every
//! drop hands the object to the finalizer thread, which runs the finalizer and then frees it. Row
//! `janitor-plain`: the same type without a finalizer, freed at its drop (the sum is made by the
//! mutator instead).
//!
//! What it measures: what registration and the finalizer thread add to an object's life. .NET
//! measures 25x to 48x for finalizable against plain objects; the issue's target for janitor is 3x.
//!
//! Checksum: the sum of the ids, made by the finalizers (`janitor`) or by the mutator.

use std::sync::atomic::{AtomicU64, Ordering};

use janitor::gc::{Finalize, Gc, Trace, collect, wait_for_pending_finalizers};

use crate::harness::{Case, Sample, Scale, Workload};

/// The sum of the ids the finalizers saw.
static FINALIZED_SUM: AtomicU64 = AtomicU64::new(0);

/// An object with a trivial finalizer.
#[derive(Trace)]
#[trace(finalize)]
struct Finalizable(#[trace(skip)] u64);

impl Finalize for Finalizable {
    fn finalize(this: &Gc<Self>) {
        FINALIZED_SUM.fetch_add(this.0, Ordering::Relaxed);
    }
}

/// The same object without one.
#[derive(Trace)]
struct Plain(#[trace(skip)] u64);

fn finalizable(objects: u64) -> u64 {
    let before = FINALIZED_SUM.load(Ordering::SeqCst);
    for id in 0..objects {
        drop(Gc::new(Finalizable(id)));
    }
    collect();
    wait_for_pending_finalizers();
    FINALIZED_SUM.load(Ordering::SeqCst) - before
}

fn plain(objects: u64) -> u64 {
    let mut sum = 0;
    for id in 0..objects {
        let object = Gc::new(Plain(id));
        sum += object.0;
    }
    collect();
    wait_for_pending_finalizers();
    sum
}

/// The workload at `scale`: rows `janitor` (with a finalizer) and `janitor-plain`.
///
/// ```
/// use janitor_bench::harness::{measure, Scale};
/// let workload = janitor_bench::workloads::finalizable_churn::workload(Scale::Smoke);
/// assert_eq!(measure(&workload, 1, |_, _| {}).unwrap().rows.len(), 2);
/// ```
pub fn workload(scale: Scale) -> Workload {
    let objects: u64 = match scale {
        Scale::Smoke => 1_000,
        Scale::Quick => 200_000,
        Scale::Full => 1_000_000,
    };
    Workload {
        name: "finalizable-churn",
        baseline: "janitor",
        cases: vec![
            Case::new("janitor", move || Sample::timing(|| finalizable(objects))),
            Case::new("janitor-plain", move || Sample::timing(|| plain(objects))),
        ],
        absent: vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_finalizer_runs_before_the_wait_returns() {
        let expected: u64 = (0..100).sum();
        assert_eq!(finalizable(100), expected);
        assert_eq!(plain(100), expected);
    }
}
