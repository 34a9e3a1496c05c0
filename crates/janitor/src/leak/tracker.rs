//! `LeakTracker`: the field a resource holds so that a forgotten dispose is reported.
//!
//! Invariant: **an untracked tracker is a null pointer and every operation on it is a null check;
//! a tracked one reports at most once, and only if it is dropped (or told to
//! [`report_leak`](LeakTracker::report_leak)) while still open.**
//!
//! The tracked state is a boxed `Record`, made only for the creations the level picks. "Open" is
//! one atomic flag: `close` clears it, the report clears it with a `swap` so that it files at most
//! once. Every access is `Relaxed`: the flag guards no other data (the record's other fields are
//! immutable, the uses have their own mutex), and a drop runs after every other access to the
//! tracker has ended, ordered by whatever gave the dropping thread sole ownership (an `Arc`'s last
//! decrement, a join). It is std's atomic, not `crate::sync`'s: a one-way flag, under no model.

use super::check;
use super::level::{self, Tracking};
use super::registry::{self, ScopeId};
use super::report::{LeakReport, RecordedUse};
use crate::sync::IgnorePoison;
use std::backtrace::{Backtrace, BacktraceStatus};
use std::collections::VecDeque;
use std::fmt;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// How many recent uses a tracker keeps at [`LeakLevel::Full`](super::LeakLevel::Full); older
/// ones are counted, not kept.
///
/// ```
/// assert_eq!(janitor::leak::RECENT_USES, 8);
/// ```
pub const RECENT_USES: usize = 8;

/// The field that makes a resource's forgotten dispose visible: created with the owning type's
/// name, closed by the type's dispose, and reported if dropped while still open.
///
/// Whether a given creation is tracked depends on the [`LeakLevel`](super::LeakLevel): every
/// creation at `Full`, one in N at `Sampled`, none at `Off`. An untracked tracker is one null
/// pointer, and its `close`, `record` and drop are a null check each, so a resource type can hold
/// one unconditionally.
///
/// A tracked tracker dropped while open files a [`LeakReport`] naming the type and the place of
/// creation (`file:line:column`, through `#[track_caller]`, in release builds too), with the
/// creation backtrace when one was captured and, at `Full`, the last [`RECENT_USES`] recorded
/// uses. The report goes to `tracing` at `warn` level and is kept for
/// [`take_reports`](super::take_reports).
///
/// ```
/// use janitor::leak::{self, LeakCheck, LeakLevel, LeakTracker};
/// use janitor::{Dispose, DisposeFlag};
///
/// struct Connection {
///     disposed: DisposeFlag,
///     tracker: LeakTracker,
/// }
///
/// impl Connection {
///     #[track_caller] // so that the report names the caller of `open`
///     fn open() -> Self {
///         Connection { disposed: DisposeFlag::new(), tracker: LeakTracker::new::<Self>() }
///     }
///
///     fn send(&self, bytes: &[u8]) {
///         self.tracker.record_with(format_args!("send {} bytes", bytes.len()));
///     }
/// }
///
/// impl Dispose for Connection {
///     fn dispose(&self) {
///         if self.disposed.try_begin() {
///             self.tracker.close();
///         }
///     }
/// }
///
/// leak::set_level(LeakLevel::Full);
/// let check = LeakCheck::start();
///
/// let kept = Connection::open();
/// kept.send(b"hello");
/// kept.dispose();
/// drop(kept); // disposed: nothing to report
///
/// let forgotten = Connection::open(); let line = line!();
/// forgotten.send(b"hi");
/// drop(forgotten); // never disposed: reported
///
/// let reports = check.finish();
/// assert_eq!(reports.len(), 1);
/// assert!(reports[0].type_name().ends_with("Connection"));
/// assert_eq!(reports[0].created_at().line(), line);
/// assert_eq!(reports[0].recent_uses()[0].hint(), Some("send 2 bytes"));
/// ```
pub struct LeakTracker {
    record: Option<Box<Record>>,
}

/// What a tracked creation keeps until it is closed or reported.
struct Record {
    type_name: &'static str,
    created_at: &'static Location<'static>,
    scope: Option<ScopeId>,
    backtrace: Option<Arc<Backtrace>>,
    open: AtomicBool,
    /// `Some` at `Full` only.
    uses: Option<Mutex<RecentUses>>,
}

/// The last [`RECENT_USES`] uses, and how many there were in all.
struct RecentUses {
    last: VecDeque<RecordedUse>,
    recorded: u64,
}

/// The tracker of an untracked creation is one null pointer, and a resource holding one stays
/// shareable across threads.
const _: () = {
    assert!(size_of::<LeakTracker>() == size_of::<usize>());
    const fn shareable<T: Send + Sync>() {}
    shareable::<LeakTracker>();
};

impl LeakTracker {
    /// A tracker for a new resource of type `T`, tracked if the level picks this creation. The
    /// creation site is the caller's; mark the constructors that call this `#[track_caller]` too,
    /// so that the site is their caller's.
    ///
    /// Cost: one relaxed atomic load of the level; at a sampled level, one thread-local counter.
    /// A tracked creation allocates its record and captures a backtrace (at `Full` always; when
    /// sampled, if `RUST_BACKTRACE` asks); the first creation of the process reads
    /// `JANITOR_LEAK` unless [`set_level`](super::set_level) came first.
    ///
    /// ```
    /// use janitor::leak::{self, LeakLevel, LeakTracker};
    ///
    /// leak::set_level(LeakLevel::Full);
    /// let tracker = LeakTracker::new::<std::fs::File>();
    /// assert!(tracker.is_tracked());
    /// tracker.close();
    /// ```
    #[inline]
    #[track_caller]
    pub fn new<T: ?Sized>() -> Self {
        match level::tracking() {
            Tracking::No => Self::untracked(),
            tracking => Self::track(std::any::type_name::<T>(), Location::caller(), tracking),
        }
    }

    /// A tracker that tracks nothing and never reports, whatever the level: for a resource that
    /// owns nothing (a borrowed handle, an invalid one), whose drop without dispose leaks nothing.
    ///
    /// ```
    /// use janitor::leak::LeakTracker;
    ///
    /// let tracker = LeakTracker::untracked();
    /// assert!(!tracker.is_tracked());
    /// drop(tracker); // never reports
    /// ```
    #[inline]
    pub const fn untracked() -> Self {
        Self { record: None }
    }

    /// Whether this creation is tracked (the level picked it): only a tracked tracker can report.
    ///
    /// ```
    /// use janitor::leak::{self, LeakLevel, LeakTracker};
    ///
    /// leak::set_level(LeakLevel::Full);
    /// assert!(LeakTracker::new::<u8>().is_tracked());
    /// assert!(!LeakTracker::untracked().is_tracked());
    /// ```
    #[inline]
    pub fn is_tracked(&self) -> bool {
        self.record.is_some()
    }

    /// Marks the resource disposed: the tracker will not report. Call it from `dispose` (and from
    /// any other way the resource gives up what it owns). Idempotent; on an untracked tracker, a
    /// null check.
    ///
    /// ```
    /// use janitor::leak::{self, LeakCheck, LeakLevel, LeakTracker};
    ///
    /// leak::set_level(LeakLevel::Full);
    /// let check = LeakCheck::start();
    /// let tracker = LeakTracker::new::<u8>();
    /// tracker.close();
    /// tracker.close();
    /// drop(tracker);
    /// assert!(check.finish().is_empty());
    /// ```
    #[inline]
    pub fn close(&self) {
        if let Some(record) = &self.record {
            record.open.store(false, Ordering::Relaxed);
        }
    }

    /// Records a use of the resource at the caller's place, for the report: at
    /// [`LeakLevel::Full`](super::LeakLevel::Full) only (the last [`RECENT_USES`] are kept);
    /// otherwise a null check (and a second one when tracked below `Full`).
    ///
    /// ```
    /// use janitor::leak::{self, LeakCheck, LeakLevel, LeakTracker};
    ///
    /// leak::set_level(LeakLevel::Full);
    /// let check = LeakCheck::start();
    /// let tracker = LeakTracker::new::<u8>();
    /// tracker.record(); let line = line!();
    /// drop(tracker);
    /// assert_eq!(check.finish()[0].recent_uses()[0].at().line(), line);
    /// ```
    #[inline]
    #[track_caller]
    pub fn record(&self) {
        if let Some(uses) = self.recent_uses() {
            push_use(uses, Location::caller(), None);
        }
    }

    /// Records a use with a hint (what the use did), as [`record`](Self::record). The hint is
    /// formatted only if the use is recorded, so `format_args!` costs nothing below `Full`.
    ///
    /// ```
    /// use janitor::leak::{self, LeakCheck, LeakLevel, LeakTracker};
    ///
    /// leak::set_level(LeakLevel::Full);
    /// let check = LeakCheck::start();
    /// let tracker = LeakTracker::new::<u8>();
    /// tracker.record_with(format_args!("wrote {} bytes", 3));
    /// drop(tracker);
    /// assert_eq!(check.finish()[0].recent_uses()[0].hint(), Some("wrote 3 bytes"));
    /// ```
    #[inline]
    #[track_caller]
    pub fn record_with(&self, hint: impl fmt::Display) {
        if let Some(uses) = self.recent_uses() {
            push_use(uses, Location::caller(), Some(hint.to_string()));
        }
    }

    /// Reports the resource as leaked now, if it is tracked and still open, and closes the
    /// tracker, so it reports at most once. For a finalization path that must report before its
    /// own cleanup runs (and closes the tracker); dropping an open tracker does the same.
    ///
    /// ```
    /// use janitor::leak::{self, LeakCheck, LeakLevel, LeakTracker};
    ///
    /// leak::set_level(LeakLevel::Full);
    /// let check = LeakCheck::start();
    /// let tracker = LeakTracker::new::<u8>();
    /// tracker.report_leak();
    /// tracker.close(); // what the cleanup would do: the report stands
    /// drop(tracker);   // already reported: not again
    /// assert_eq!(check.finish()[0].count(), 1);
    /// ```
    #[inline]
    pub fn report_leak(&self) {
        if let Some(record) = &self.record
            && record.open.swap(false, Ordering::Relaxed)
        {
            record.file();
        }
    }

    #[inline]
    fn recent_uses(&self) -> Option<&Mutex<RecentUses>> {
        self.record.as_ref()?.uses.as_ref()
    }

    /// Makes the record of a tracked creation, off the fast path.
    #[cold]
    #[inline(never)]
    fn track(
        type_name: &'static str,
        created_at: &'static Location<'static>,
        tracking: Tracking,
    ) -> Self {
        // `force_capture` at Full: the point of Full is to find the leak, whatever RUST_BACKTRACE
        // says. Capture walks the stack now (microseconds); symbols are resolved only if the report
        // is printed.
        let backtrace = if tracking == Tracking::Full {
            Backtrace::force_capture()
        } else {
            Backtrace::capture()
        };
        let backtrace =
            (backtrace.status() == BacktraceStatus::Captured).then(|| Arc::new(backtrace));
        let uses = (tracking == Tracking::Full).then(|| {
            Mutex::new(RecentUses {
                last: VecDeque::with_capacity(RECENT_USES),
                recorded: 0,
            })
        });
        Self {
            record: Some(Box::new(Record {
                type_name,
                created_at,
                scope: check::current_scope(),
                backtrace,
                open: AtomicBool::new(true),
                uses,
            })),
        }
    }
}

#[cold]
#[inline(never)]
fn push_use(uses: &Mutex<RecentUses>, at: &'static Location<'static>, hint: Option<String>) {
    let current = std::thread::current();
    let thread = match current.name() {
        Some(name) => name.to_owned(),
        None => format!("{:?}", current.id()),
    };
    let mut uses = uses.lock().ignore_poison();
    if uses.last.len() == RECENT_USES {
        uses.last.pop_front();
    }
    uses.last.push_back(RecordedUse { at, thread, hint });
    uses.recorded += 1;
}

impl Record {
    #[cold]
    #[inline(never)]
    fn file(&self) {
        registry::file(self.type_name, self.created_at, self.scope, || {
            let (recent_uses, uses_recorded) = match &self.uses {
                Some(uses) => {
                    let uses = uses.lock().ignore_poison();
                    (uses.last.iter().cloned().collect(), uses.recorded)
                }
                None => (Vec::new(), 0),
            };
            LeakReport {
                type_name: self.type_name,
                created_at: self.created_at,
                backtrace: self.backtrace.clone(),
                recent_uses,
                uses_recorded,
                count: 1,
            }
        });
    }
}

impl Drop for LeakTracker {
    /// The finalization path: an open tracked tracker reports the leak.
    #[inline]
    fn drop(&mut self) {
        self.report_leak();
    }
}

impl fmt::Debug for LeakTracker {
    /// Whether the creation is tracked and, if so, its type, place and whether it is still open.
    ///
    /// ```
    /// let tracker = janitor::leak::LeakTracker::untracked();
    /// assert_eq!(format!("{tracker:?}"), "LeakTracker { tracked: false }");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("LeakTracker");
        debug.field("tracked", &self.is_tracked());
        if let Some(record) = &self.record {
            debug
                .field("type_name", &record.type_name)
                .field("created_at", &format_args!("{}", record.created_at))
                .field("open", &record.open.load(Ordering::Relaxed));
        }
        debug.finish()
    }
}
