//! Leak diagnostics: which resource was dropped without dispose, and where it was created.
//!
//! In .NET a forgotten `Dispose` is silent: a finalizer releases the resource at some later
//! collection, and nothing says who leaked it. Here a resource type holds a [`LeakTracker`],
//! made with its type's name when the resource is created and closed by its dispose. A tracked
//! resource dropped (or finalized) without dispose files a [`LeakReport`]: the type, the place of
//! creation (`file:line:column`), the creation backtrace when captured, and at
//! [`LeakLevel::Full`] the last recorded uses. Reports go to `tracing` at `warn` level, and are
//! kept for [`take_reports`], [`assert_no_leaks`] and [`LeakCheck`]. Identical reports (same
//! type, same creation site) are counted, not repeated.
//!
//! How many creations are tracked is the [`LeakLevel`]: `Off`, `Sampled { one_in }` (the default,
//! one in 128, as Netty's `SIMPLE` level) or `Full`; set in code with [`set_level`] or with the
//! `JANITOR_LEAK` environment variable (`off`, `sampled`, `sampled:N`, `full`), read once. An
//! untracked tracker is one null pointer, so types can hold one unconditionally: at `Off` the
//! cost is a relaxed load at creation and a null check at dispose and drop.
//!
//! [`SafeHandle`](crate::handle::SafeHandle) holds one: an owned, valid handle dropped without
//! dispose is reported on its finalization path.
//!
//! ```
//! use janitor::Dispose;
//! use janitor::handle::SafeFile;
//! use janitor::leak::{self, LeakCheck, LeakLevel};
//!
//! leak::set_level(LeakLevel::Full);
//! let check = LeakCheck::start();
//!
//! let (reader, _writer) = rustix::pipe::pipe().unwrap();
//! let disposed = SafeFile::from(reader);
//! disposed.dispose();
//! drop(disposed);
//!
//! let (reader, _writer) = rustix::pipe::pipe().unwrap();
//! let forgotten = SafeFile::from(reader); let line = line!();
//! drop(forgotten); // released on the finalization path, and reported
//!
//! let reports = check.finish();
//! assert_eq!(reports.len(), 1);
//! assert!(reports[0].type_name().contains("SafeHandle") && reports[0].type_name().contains("FdKind"));
//! assert_eq!(reports[0].created_at().line(), line);
//! ```

mod check;
mod level;
mod registry;
mod report;
mod tracker;

pub(crate) use check::settle_before_checks_end;
pub use check::{LeakCheck, assert_no_leaks, take_reports};
pub use level::{LeakLevel, ParseLeakLevelError, level, set_level};
pub use report::{LeakReport, RecordedUse};
pub use tracker::{LeakTracker, RECENT_USES};
