//! `leak-cost` and `leak-cost-fd`: what the leak detector adds to a `SafeHandle`'s life at each
//! level.
//!
//! Shape: lifecycles (`leak-cost`: 2,000,000 full, 250,000 quick; `leak-cost-fd`: 800,000 full,
//! 100,000 quick, since each costs two system calls), one after another on one thread. A
//! lifecycle creates a `SafeHandle` (through `from_raw_owned`, `#[track_caller]`, where the tracker is
//! made), uses it once (`add_ref` and the guard's drop), disposes it (which closes the tracker and
//! releases the handle) and drops it. In `leak-cost` the handle kind, `Token`, releases nothing
//! (its release is a call that returns `true`), so no system call hides the detector's cost: this
//! is the harshest view of it. `leak-cost-fd` is the same lifecycle on what a `SafeHandle` is for:
//! each life opens an eventfd and the dispose closes it, as a program's handles do.
//!
//! Rows, by leak level (set with `leak::set_level` around the timed part, restored after):
//! - `untracked`, the baseline: the same lifecycle on a handle that does not own its value
//!   (`from_raw_borrowed`), which never consults the leak level and holds a null tracker. It is
//!   `SafeHandle` without the leak detector; the one other difference is that its final
//!   transition skips the kind's release (for `leak-cost-fd` the lifecycle closes the descriptor
//!   itself, so both rows pay for the same system calls).
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
use janitor::handle::{FdKind, HandleKind, SafeHandle};
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

/// What a lifecycle runs on: where each raw value comes from, and how one the handle does not own
/// is given back.
trait Subject {
    type Kind: HandleKind;
    /// A fresh raw value for life number `index`.
    fn open(index: u64) -> <Self::Kind as HandleKind>::Raw;
    /// Gives back a value the handle did not own.
    ///
    /// # Safety
    /// `raw` came from [`Subject::open`] and is given back once.
    unsafe fn close_unowned(raw: <Self::Kind as HandleKind>::Raw);
}

/// Values that name nothing: the lifecycle is all janitor.
struct Tokens;

impl Subject for Tokens {
    type Kind = Token;

    fn open(index: u64) -> u64 {
        black_box(index)
    }

    unsafe fn close_unowned(raw: u64) {
        black_box(raw);
    }
}

/// A new eventfd per life: the system calls a real handle costs.
struct EventFds;

impl Subject for EventFds {
    type Kind = FdKind;

    fn open(_index: u64) -> i32 {
        // SAFETY: `eventfd` takes no pointers.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
        assert!(
            fd >= 0,
            "eventfd failed ({}): raise the descriptor limit or close descriptors before the run",
            std::io::Error::last_os_error()
        );
        fd
    }

    unsafe fn close_unowned(raw: i32) {
        // SAFETY: the caller gives back a descriptor `open` returned, once.
        unsafe { libc::close(raw) };
    }
}

/// Whether a lifecycle's handle owns its value (the tracked rows) or not (`untracked`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ownership {
    Owned,
    Borrowed,
}

/// Creates, uses, disposes and drops `handles` handles; returns how many uses succeeded.
fn lifecycles<S: Subject>(handles: u64, ownership: Ownership) -> u64 {
    let mut succeeded = 0;
    for index in 0..handles {
        let raw = S::open(index);
        // SAFETY: the value is fresh from `open`; an owning handle releases it once at the
        // dispose, and a non-owning one never does (it is given back below instead).
        let handle = unsafe {
            match ownership {
                Ownership::Owned => SafeHandle::<S::Kind>::from_raw_owned(raw),
                Ownership::Borrowed => SafeHandle::<S::Kind>::from_raw_borrowed(raw),
            }
        };
        if let Ok(guard) = handle.add_ref() {
            black_box(guard.raw());
            succeeded += 1;
        }
        handle.dispose();
        drop(handle);
        if ownership == Ownership::Borrowed {
            // SAFETY: the handle did not own the value, and it is gone.
            unsafe { S::close_unowned(raw) };
        }
    }
    succeeded
}

/// Times `handles` lifecycles with the leak level at `level` (`None`: unowned handles, which never
/// consult it), and puts the level back as it was.
fn timed_at<S: Subject>(level: Option<LeakLevel>, handles: u64) -> Sample {
    let before = leak::level();
    if let Some(level) = level {
        leak::set_level(level);
    }
    let ownership = if level.is_some() {
        Ownership::Owned
    } else {
        Ownership::Borrowed
    };
    let sample = Sample::timing(|| lifecycles::<S>(handles, ownership));
    leak::set_level(before);
    let walks_the_stack = matches!(level, Some(LeakLevel::Sampled { .. }))
        && Backtrace::capture().status() == BacktraceStatus::Captured;
    if walks_the_stack {
        sample.noted("RUST_BACKTRACE is set: each sampled creation walks the stack")
    } else {
        sample
    }
}

/// The workload on `Token`s at `scale`: rows `untracked` (the baseline), `off`, `sampled`, `full`.
///
/// ```
/// use janitor_bench::harness::{measure, Scale};
/// let workload = janitor_bench::workloads::leak_cost::workload(Scale::Smoke);
/// assert_eq!(measure(&workload, 1, |_, _| {}).unwrap().rows.len(), 4);
/// ```
pub fn workload(scale: Scale) -> Workload {
    let handles = match scale {
        Scale::Smoke => 1_000,
        Scale::Quick => 250_000,
        Scale::Full => 2_000_000,
    };
    workload_on::<Tokens>("leak-cost", handles)
}

/// The same workload on eventfds, one per life (`leak-cost-fd`).
///
/// ```
/// use janitor_bench::harness::{measure, Scale};
/// let workload = janitor_bench::workloads::leak_cost::workload_on_descriptors(Scale::Smoke);
/// assert_eq!(measure(&workload, 1, |_, _| {}).unwrap().rows.len(), 4);
/// ```
pub fn workload_on_descriptors(scale: Scale) -> Workload {
    // Two system calls per life: fewer lives keep `--quick` under its minute.
    let handles = match scale {
        Scale::Smoke => 1_000,
        Scale::Quick => 100_000,
        Scale::Full => 800_000,
    };
    workload_on::<EventFds>("leak-cost-fd", handles)
}

fn workload_on<S: Subject + 'static>(name: &'static str, handles: u64) -> Workload {
    let case = |name: &'static str, level: Option<LeakLevel>| {
        Case::new(name, move || timed_at::<S>(level, handles)).without_memory()
    };
    Workload {
        name,
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
            assert_eq!(timed_at::<Tokens>(level, 300).checksum, 300);
            assert_eq!(timed_at::<EventFds>(level, 300).checksum, 300);
            assert_eq!(leak::level(), before);
        }
        assert!(check.finish().is_empty());
    }
}
