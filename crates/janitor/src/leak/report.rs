//! What a leak report says: the type, where it was created, how it was used, how often.
//!
//! A report is a plain value, built once when a tracked resource is found undisposed and kept in
//! the registry; identical leaks (same type, same creation site) only raise its count.

use std::backtrace::Backtrace;
use std::fmt;
use std::panic::Location;
use std::sync::Arc;

/// A resource that was dropped (or finalized) without dispose: its type, where it was created,
/// the backtrace of its creation when one was captured, its last recorded uses at
/// [`LeakLevel::Full`](super::LeakLevel::Full), and how many leaks of the same type from the same
/// place were seen.
///
/// Reports are read back with [`take_reports`](super::take_reports) (or a
/// [`LeakCheck`](super::LeakCheck)); each was also sent to `tracing` at `warn` level when first
/// seen. `Display` prints the whole report.
///
/// ```
/// use janitor::leak::{self, LeakCheck, LeakLevel, LeakTracker};
///
/// struct Socket { tracker: LeakTracker }
///
/// leak::set_level(LeakLevel::Full);
/// let check = LeakCheck::start();
/// let line = line!() + 1;
/// let socket = Socket { tracker: LeakTracker::new::<Socket>() };
/// socket.tracker.record_with("connected");
/// drop(socket);
/// let reports = check.finish();
///
/// let report = &reports[0];
/// assert!(report.type_name().ends_with("Socket"));
/// assert_eq!(report.created_at().line(), line);
/// assert_eq!(report.recent_uses()[0].hint(), Some("connected"));
/// assert_eq!(report.count(), 1);
/// assert!(report.backtrace().is_some()); // always captured at Full
/// assert!(report.to_string().contains("dropped without dispose"));
/// ```
#[derive(Debug, Clone)]
pub struct LeakReport {
    pub(super) type_name: &'static str,
    pub(super) created_at: &'static Location<'static>,
    pub(super) backtrace: Option<Arc<Backtrace>>,
    pub(super) recent_uses: Vec<RecordedUse>,
    pub(super) uses_recorded: u64,
    pub(super) count: u64,
}

impl LeakReport {
    /// The leaked resource's type, as given to [`LeakTracker::new`](super::LeakTracker::new).
    ///
    /// ```
    /// # use janitor::leak::{self, LeakCheck, LeakLevel, LeakTracker};
    /// # leak::set_level(LeakLevel::Full);
    /// # let check = LeakCheck::start();
    /// drop(LeakTracker::new::<Vec<u8>>());
    /// assert_eq!(check.finish()[0].type_name(), "alloc::vec::Vec<u8>");
    /// ```
    pub fn type_name(&self) -> &'static str {
        self.type_name
    }

    /// Where the resource was created: the caller of the `#[track_caller]` chain that made its
    /// tracker, as `file:line:column` (known in release builds too).
    ///
    /// ```
    /// # use janitor::leak::{self, LeakCheck, LeakLevel, LeakTracker};
    /// # leak::set_level(LeakLevel::Full);
    /// # let check = LeakCheck::start();
    /// let tracker = LeakTracker::new::<u32>(); let line = line!();
    /// drop(tracker);
    /// let report = &check.finish()[0];
    /// assert_eq!((report.created_at().file(), report.created_at().line()), (file!(), line));
    /// ```
    pub fn created_at(&self) -> &'static Location<'static> {
        self.created_at
    }

    /// The backtrace of the creation, if one was captured: always at
    /// [`LeakLevel::Full`](super::LeakLevel::Full); when sampled, only if `RUST_BACKTRACE` (or
    /// `RUST_LIB_BACKTRACE`) enables backtraces. Its frames have file and line where the build
    /// has debug line tables.
    ///
    /// ```
    /// # use janitor::leak::{self, LeakCheck, LeakLevel, LeakTracker};
    /// # leak::set_level(LeakLevel::Full);
    /// # let check = LeakCheck::start();
    /// drop(LeakTracker::new::<u32>());
    /// assert!(check.finish()[0].backtrace().is_some());
    /// ```
    pub fn backtrace(&self) -> Option<&Backtrace> {
        self.backtrace.as_deref()
    }

    /// The last recorded uses, oldest first, at most
    /// [`RECENT_USES`](super::RECENT_USES); empty below [`LeakLevel::Full`](super::LeakLevel::Full).
    ///
    /// ```
    /// # use janitor::leak::{self, LeakCheck, LeakLevel, LeakTracker};
    /// # leak::set_level(LeakLevel::Full);
    /// # let check = LeakCheck::start();
    /// let tracker = LeakTracker::new::<u32>();
    /// tracker.record();
    /// tracker.record_with(format_args!("read {} bytes", 12));
    /// drop(tracker);
    /// let report = &check.finish()[0];
    /// let hints: Vec<_> = report.recent_uses().iter().map(|used| used.hint()).collect();
    /// assert_eq!(hints, [None, Some("read 12 bytes")]);
    /// ```
    pub fn recent_uses(&self) -> &[RecordedUse] {
        &self.recent_uses
    }

    /// How many uses were recorded in all, of which [`recent_uses`](Self::recent_uses) are the
    /// last.
    ///
    /// ```
    /// # use janitor::leak::{self, LeakCheck, LeakLevel, LeakTracker, RECENT_USES};
    /// # leak::set_level(LeakLevel::Full);
    /// # let check = LeakCheck::start();
    /// let tracker = LeakTracker::new::<u32>();
    /// for _ in 0..20 {
    ///     tracker.record();
    /// }
    /// drop(tracker);
    /// let report = &check.finish()[0];
    /// assert_eq!((report.uses_recorded(), report.recent_uses().len()), (20, RECENT_USES));
    /// ```
    pub fn uses_recorded(&self) -> u64 {
        self.uses_recorded
    }

    /// How many resources of this type, created at this place, leaked: identical reports are
    /// counted, not repeated (within one [`LeakCheck`](super::LeakCheck), or among the leaks of
    /// no check). The recent uses and backtrace are the first one's.
    ///
    /// ```
    /// # use janitor::leak::{self, LeakCheck, LeakLevel, LeakTracker};
    /// # leak::set_level(LeakLevel::Full);
    /// # let check = LeakCheck::start();
    /// for _ in 0..3 {
    ///     drop(LeakTracker::new::<u32>());
    /// }
    /// let reports = check.finish();
    /// assert_eq!((reports.len(), reports[0].count()), (1, 3));
    /// ```
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Whether `other` is a leak of the same type from the same place.
    pub(super) fn is_same_leak(&self, type_name: &str, created_at: &Location<'_>) -> bool {
        self.type_name == type_name && self.created_at == created_at
    }
}

impl fmt::Display for LeakReport {
    /// The report as `tracing` receives it: a headline naming the type, the creation site and the
    /// count, the recent uses, then the creation backtrace (or how to get one).
    ///
    /// ```
    /// # use janitor::leak::{self, LeakCheck, LeakLevel, LeakTracker};
    /// # leak::set_level(LeakLevel::Full);
    /// # let check = LeakCheck::start();
    /// drop(LeakTracker::new::<u32>());
    /// let text = check.finish()[0].to_string();
    /// assert!(text.starts_with("LEAK: u32 dropped without dispose, created at "));
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "LEAK: {} dropped without dispose, created at {}",
            self.type_name, self.created_at
        )?;
        if self.count > 1 {
            write!(
                f,
                " ({} times from this place; details are the first's)",
                self.count
            )?;
        }
        f.write_str("; dispose it before its last owner drops it")?;
        if !self.recent_uses.is_empty() {
            write!(
                f,
                "\n  last {} of {} recorded uses, oldest first:",
                self.recent_uses.len(),
                self.uses_recorded
            )?;
            for used in &self.recent_uses {
                write!(f, "\n    {used}")?;
            }
        }
        match &self.backtrace {
            Some(backtrace) => write!(f, "\n  created:\n{backtrace}"),
            None => f.write_str(
                "\n  creation backtrace not captured: run with RUST_BACKTRACE=1, or set the leak \
                 level to full (JANITOR_LEAK=full)",
            ),
        }
    }
}

/// One recorded use of a tracked resource ([`LeakTracker::record`](super::LeakTracker::record)):
/// where, on which thread, and the hint given, if any.
///
/// ```
/// use janitor::leak::{self, LeakCheck, LeakLevel, LeakTracker};
///
/// leak::set_level(LeakLevel::Full);
/// let check = LeakCheck::start();
/// let tracker = LeakTracker::new::<u32>();
/// tracker.record_with("flushed"); let line = line!();
/// drop(tracker);
/// let reports = check.finish();
/// let used = &reports[0].recent_uses()[0];
/// assert_eq!((used.at().line(), used.hint()), (line, Some("flushed")));
/// assert!(used.to_string().contains("flushed"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedUse {
    pub(super) at: &'static Location<'static>,
    pub(super) thread: String,
    pub(super) hint: Option<String>,
}

impl RecordedUse {
    /// Where the use was recorded (the caller of `record`, through `#[track_caller]`).
    ///
    /// ```
    /// # use janitor::leak::{self, LeakCheck, LeakLevel, LeakTracker};
    /// # leak::set_level(LeakLevel::Full);
    /// # let check = LeakCheck::start();
    /// let tracker = LeakTracker::new::<u32>();
    /// tracker.record();
    /// drop(tracker);
    /// assert_eq!(check.finish()[0].recent_uses()[0].at().file(), file!());
    /// ```
    pub fn at(&self) -> &'static Location<'static> {
        self.at
    }

    /// The recording thread's name, or its id if it has none.
    ///
    /// ```
    /// # use janitor::leak::{self, LeakCheck, LeakLevel, LeakTracker};
    /// # leak::set_level(LeakLevel::Full);
    /// # let check = LeakCheck::start();
    /// let tracker = LeakTracker::new::<u32>();
    /// std::thread::scope(|scope| {
    ///     let worker = std::thread::Builder::new().name("worker".into());
    ///     worker.spawn_scoped(scope, || tracker.record()).unwrap();
    /// });
    /// drop(tracker);
    /// assert_eq!(check.finish()[0].recent_uses()[0].thread(), "worker");
    /// ```
    pub fn thread(&self) -> &str {
        &self.thread
    }

    /// The hint given to [`record_with`](super::LeakTracker::record_with), formatted when the use
    /// was recorded; `None` for [`record`](super::LeakTracker::record).
    ///
    /// ```
    /// # use janitor::leak::{self, LeakCheck, LeakLevel, LeakTracker};
    /// # leak::set_level(LeakLevel::Full);
    /// # let check = LeakCheck::start();
    /// let tracker = LeakTracker::new::<u32>();
    /// tracker.record_with(7);
    /// drop(tracker);
    /// assert_eq!(check.finish()[0].recent_uses()[0].hint(), Some("7"));
    /// ```
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }
}

impl fmt::Display for RecordedUse {
    /// `at file:line:column on thread name[: hint]`.
    ///
    /// ```
    /// # use janitor::leak::{self, LeakCheck, LeakLevel, LeakTracker};
    /// # leak::set_level(LeakLevel::Full);
    /// # let check = LeakCheck::start();
    /// let tracker = LeakTracker::new::<u32>();
    /// tracker.record_with("sent");
    /// drop(tracker);
    /// let text = check.finish()[0].recent_uses()[0].to_string();
    /// assert!(text.starts_with("at ") && text.ends_with(": sent"));
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at {} on thread {}", self.at, self.thread)?;
        if let Some(hint) = &self.hint {
            write!(f, ": {hint}")?;
        }
        Ok(())
    }
}

/// A location as its three parts, for serializers: `Location` itself has no serde form.
#[cfg(feature = "serde")]
struct SerializedLocation(&'static Location<'static>);

#[cfg(feature = "serde")]
impl serde::Serialize for SerializedLocation {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut location = serializer.serialize_struct("Location", 3)?;
        location.serialize_field("file", self.0.file())?;
        location.serialize_field("line", &self.0.line())?;
        location.serialize_field("column", &self.0.column())?;
        location.end()
    }
}

/// With the `serde` feature: the report's fields, the creation site as `{file, line, column}`
/// and the backtrace as its text (or none). There is no `Deserialize`: a report names places in
/// this program's code, which a read-back value could not point to.
///
/// ```
/// use janitor::leak::{self, LeakCheck, LeakLevel, LeakTracker};
///
/// leak::set_level(LeakLevel::Full);
/// let check = LeakCheck::start();
/// drop(LeakTracker::new::<u32>());
/// let json = serde_json::to_value(&check.finish()[0]).unwrap();
/// assert_eq!(json["type_name"], "u32");
/// assert_eq!(json["created_at"]["file"], file!());
/// assert_eq!(json["count"], 1);
/// ```
#[cfg(feature = "serde")]
impl serde::Serialize for LeakReport {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut report = serializer.serialize_struct("LeakReport", 6)?;
        report.serialize_field("type_name", self.type_name)?;
        report.serialize_field("created_at", &SerializedLocation(self.created_at))?;
        report.serialize_field(
            "backtrace",
            &self
                .backtrace
                .as_ref()
                .map(|backtrace| backtrace.to_string()),
        )?;
        report.serialize_field("recent_uses", &self.recent_uses)?;
        report.serialize_field("uses_recorded", &self.uses_recorded)?;
        report.serialize_field("count", &self.count)?;
        report.end()
    }
}

/// With the `serde` feature: where (`{file, line, column}`), the thread and the hint.
///
/// ```
/// use janitor::leak::{self, LeakCheck, LeakLevel, LeakTracker};
///
/// leak::set_level(LeakLevel::Full);
/// let check = LeakCheck::start();
/// let tracker = LeakTracker::new::<u32>();
/// tracker.record_with("sent");
/// drop(tracker);
/// let json = serde_json::to_value(&check.finish()[0].recent_uses()[0]).unwrap();
/// assert_eq!(json["hint"], "sent");
/// assert_eq!(json["at"]["file"], file!());
/// ```
#[cfg(feature = "serde")]
impl serde::Serialize for RecordedUse {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut used = serializer.serialize_struct("RecordedUse", 3)?;
        used.serialize_field("at", &SerializedLocation(self.at))?;
        used.serialize_field("thread", &self.thread)?;
        used.serialize_field("hint", &self.hint)?;
        used.end()
    }
}
