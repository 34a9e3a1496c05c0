//! `handle-guard`: the cost of one guarded use of a handle, on one thread and on two at once.
//!
//! Shape: `USES` uses (20,000,000 full, 4,000,000 quick) of one shared object. For `janitor`, a use is
//! `SafeHandle::add_ref` (a compare-and-swap on the handle's state word that fails once the handle is
//! closed) and the drop of the returned guard (a decrement that releases the descriptor if it was the
//! last use of a disposed handle); the handle is a `SafeFd` over `/dev/null`. For `arc`, a use is
//! `Arc::clone` and the drop of the clone: the smallest thing that keeps an object alive across a use,
//! without the closed check. The `-2t` rows split the same uses over two threads hammering the same
//! handle (or `Arc`), started together; their time is the wall time of both.
//!
//! What it measures: what .NET's `DangerousAddRef`/`DangerousRelease` pair costs in janitor against
//! the reference count it resembles, and how each behaves when two cores fight over one cache line.
//! No peak memory: a use allocates nothing.
//!
//! Checksum: the number of uses that succeeded (the guard was handed out, the clone was made).

use std::fs::File;
use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::Instant;

use janitor::Dispose;
use janitor::handle::SafeFd;

use crate::harness::{Case, Sample, Scale, Workload};

/// Uses `uses` times through `use_once`, which reports whether the use succeeded; returns the count.
fn uses(uses: u64, use_once: impl Fn() -> bool) -> u64 {
    (0..uses).map(|_| u64::from(use_once())).sum()
}

/// Runs `total` uses split over `threads` threads released together by a barrier. The time is from
/// the first thread's start to the last thread's end, each read by the threads themselves, so that
/// neither spawning nor joining is counted.
fn timed_on_threads(threads: u64, total: u64, use_once: impl Fn() -> bool + Sync) -> Sample {
    let start_line = Barrier::new(threads as usize);
    let per_thread = total / threads;
    let spans: Vec<(Instant, Instant, u64)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    start_line.wait();
                    let start = Instant::now();
                    let succeeded = uses(per_thread, &use_once);
                    (start, Instant::now(), succeeded)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().expect("a use never panics"))
            .collect()
    });
    let first_start = spans
        .iter()
        .map(|span| span.0)
        .min()
        .expect("at least one thread ran");
    let last_end = spans
        .iter()
        .map(|span| span.1)
        .max()
        .expect("at least one thread ran");
    let succeeded = spans.iter().map(|span| span.2).sum();
    Sample::measured(last_end - first_start, succeeded)
}

/// One guarded use of `handle`: the guard's raw descriptor is read, so the use is not optimised away.
fn janitor_use(handle: &SafeFd) -> bool {
    match handle.add_ref() {
        Ok(guard) => {
            black_box(guard.raw());
            true
        }
        Err(_) => false,
    }
}

/// One use of `shared` through a clone.
fn arc_use(shared: &Arc<File>) -> bool {
    black_box(Arc::clone(shared));
    true
}

fn null_device() -> File {
    File::open("/dev/null").expect("/dev/null opens for reading on every Unix")
}

/// The workload at `scale`: rows `janitor`, `arc`, `janitor-2t`, `arc-2t`.
///
/// ```
/// use janitor_bench::harness::{measure, Scale};
/// let workload = janitor_bench::workloads::handle_guard::workload(Scale::Smoke);
/// assert_eq!(measure(&workload, 1, |_, _| {}).unwrap().rows.len(), 4);
/// ```
pub fn workload(scale: Scale) -> Workload {
    let total: u64 = match scale {
        Scale::Smoke => 10_000,
        Scale::Quick => 4_000_000,
        Scale::Full => 20_000_000,
    };
    let janitor_case = |name: &'static str, threads: u64| {
        Case::new(name, move || {
            let handle = SafeFd::from(std::os::fd::OwnedFd::from(null_device()));
            let sample = timed_on_threads(threads, total, || janitor_use(&handle));
            // Closed the documented way, so that leak diagnostics have nothing to report.
            handle.dispose();
            sample
        })
        .without_memory()
    };
    let arc_case = |name: &'static str, threads: u64| {
        Case::new(name, move || {
            let shared = Arc::new(null_device());
            timed_on_threads(threads, total, || arc_use(&shared))
        })
        .without_memory()
    };
    Workload {
        name: "handle-guard",
        baseline: "janitor",
        cases: vec![
            janitor_case("janitor", 1),
            arc_case("arc", 1),
            janitor_case("janitor-2t", 2),
            arc_case("arc-2t", 2),
        ],
        absent: vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_use_of_an_open_handle_succeeds() {
        let handle = SafeFd::from(std::os::fd::OwnedFd::from(null_device()));
        assert_eq!(
            timed_on_threads(2, 1_000, || janitor_use(&handle)).checksum,
            1_000
        );
    }

    #[test]
    fn uses_of_a_disposed_handle_fail() {
        let handle = SafeFd::from(std::os::fd::OwnedFd::from(null_device()));
        handle.dispose();
        assert_eq!(uses(10, || janitor_use(&handle)), 0);
    }
}
