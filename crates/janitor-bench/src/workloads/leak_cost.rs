//! `leak-cost`: what the leak detector adds to a `SafeHandle`'s life at each level.
//!
//! Shape: `HANDLES` lifecycles (2,000,000 full, 250,000 quick), one after another on one thread. A
//! lifecycle creates a `SafeHandle` (through `from_raw`, `#[track_caller]`, where the tracker is
//! made), uses it once (`add_ref` and the guard's drop), disposes it (which closes the tracker and
//! releases the handle) and drops it. The handle kind, `Token`, releases nothing (its release is a
//! call that returns `true`), so no system call hides the detector's cost: this is the harshest
//! view of it. On a real descriptor, `dup` and `close` alone cost far more than any row here.
//!
//! Rows, by leak level (set with `leak::set_level` around the timed part, restored after):
//! - `untracked`, the baseline: the same lifecycle on a handle that does not own its value
//!   (`owns_handle = false`), which never consults the leak level and holds a null tracker. It is
//!   `SafeHandle` without the leak detector; the one other difference is that its final
//!   transition skips `Token`'s release, an empty call.
//! - `off`: `LeakLevel::Off`; the tracker costs one relaxed load at creation and null checks.
//! - `sampled`: `LeakLevel::DEFAULT`, one creation in 128 tracked (a thread-local counter per
//!   creation; every 128th allocates its record). Run without `RUST_BACKTRACE`, as in production:
//!   with it, each sampled creation also walks the stack.
//! - `full`: `LeakLevel::Full`: every creation allocates its record and walks the stack. For
//!   hunting a leak, not for production; shown for scale.
//!
//! What it measures: the issue's budget for the detector, "at Off, no measurable cost (within
//! noise, side by side); at the default level, under 5%", as the ratios of `off` and `sampled` to
//! `untracked`. No peak memory: only `full` allocates, and it frees each record at the dispose.
//!
//! Checksum: the number of uses that succeeded (each lifecycle's one use of an open handle).

use std::backtrace::{Backtrace, BacktraceStatus};
use std::hint::black_box;

use janitor::Dispose;
use janitor::handle::{HandleKind, SafeHandle};
use janitor::leak::{self, LeakLevel};

use crate::harness::{Case, Sample, Scale, Workload};

/// A handle kind whose values name nothing the system must release: the lifecycle is all janitor.
struct Token;

impl HandleKind for Token {
    type Raw = u64;

    fn is_invalid(raw: u64) -> bool {
        raw == u64::MAX
    }

    unsafe fn release(raw: u64) -> bool {
        black_box(raw);
        true
    }
}

/// Creates, uses, disposes and drops `handles` handles; returns how many uses succeeded.
fn lifecycles(handles: u64, owns_handle: bool) -> u64 {
    let mut succeeded = 0;
    for raw in 0..handles {
        // SAFETY: a `Token` names nothing, so any valid value may be owned and released once.
        let handle = unsafe { SafeHandle::<Token>::from_raw(black_box(raw), owns_handle) };
        if let Ok(guard) = handle.add_ref() {
            black_box(guard.raw());
            succeeded += 1;
        }
        handle.dispose();
    }
    succeeded
}

/// Times `handles` lifecycles with the leak level at `level` (`None`: unowned handles, which never
/// consult it), and puts the level back as it was.
fn timed_at(level: Option<LeakLevel>, handles: u64) -> Sample {
    let before = leak::level();
    if let Some(level) = level {
        leak::set_level(level);
    }
    let sample = Sample::timing(|| lifecycles(handles, level.is_some()));
    leak::set_level(before);
    let walks_the_stack = matches!(level, Some(LeakLevel::Sampled { .. }))
        && Backtrace::capture().status() == BacktraceStatus::Captured;
    if walks_the_stack {
        sample.noted("RUST_BACKTRACE is set: each sampled creation walks the stack")
    } else {
        sample
    }
}

/// The workload at `scale`: rows `untracked` (the baseline), `off`, `sampled`, `full`.
///
/// ```
/// use janitor_bench::harness::{measure, Scale};
/// let workload = janitor_bench::workloads::leak_cost::workload(Scale::Smoke);
/// assert_eq!(measure(&workload, 1, |_, _| {}).unwrap().rows.len(), 4);
/// ```
pub fn workload(scale: Scale) -> Workload {
    let handles: u64 = match scale {
        Scale::Smoke => 1_000,
        Scale::Quick => 250_000,
        Scale::Full => 2_000_000,
    };
    let case = |name: &'static str, level: Option<LeakLevel>| {
        Case::new(name, move || timed_at(level, handles)).without_memory()
    };
    Workload {
        name: "leak-cost",
        baseline: "untracked",
        cases: vec![
            case("untracked", None),
            case("off", Some(LeakLevel::Off)),
            case("sampled", Some(LeakLevel::DEFAULT)),
            case("full", Some(LeakLevel::Full)),
        ],
        absent: vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use janitor::leak::LeakCheck;

    /// One test, since the level is process-global and tests run in parallel.
    #[test]
    fn every_level_disposes_every_handle_reports_no_leak_and_is_put_back() {
        let before = leak::level();
        let check = LeakCheck::start();
        for level in [
            None,
            Some(LeakLevel::Off),
            Some(LeakLevel::DEFAULT),
            Some(LeakLevel::Full),
        ] {
            assert_eq!(timed_at(level, 300).checksum, 300);
            assert_eq!(leak::level(), before);
        }
        assert!(check.finish().is_empty());
    }
}
