//! Leak checks for tests: [`LeakCheck`], a guard that fails if a resource created under it
//! leaked, and [`assert_no_leaks`], which fails on any unscoped report.
//!
//! Invariant: **a leak belongs to the innermost `LeakCheck` running on the thread that created
//! the resource, for as long as that check runs**, whichever thread drops the resource. That is
//! what lets tests run in parallel in one process: the level is process-global, but a check only
//! sees the leaks of its own resources. The scope is captured at creation, from a thread-local,
//! and only for tracked creations.
//!
//! Limits, as they are: resources created on other threads (a pool, a spawned helper) belong to
//! no check, their leaks go to [`take_reports`]; a leak found after its check ended (the resource
//! outlived the check) is unscoped too; a check sees only what the level tracks (nothing at
//! `Off`, one creation in N when sampled, so tests set [`LeakLevel::Full`](super::LeakLevel::Full));
//! and [`take_reports`] / [`assert_no_leaks`] are process-wide, so two tests that both use them
//! in parallel see each other's unscoped leaks.

use super::registry::{self, ScopeId};
use super::report::LeakReport;
use std::cell::Cell;
use std::fmt::Write;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::sync::OnceLock;

/// What lets a program's other parts settle before a check ends: the managed heap installs its
/// `collect` + `wait_for_pending_finalizers` here when it starts (`leak` sits below `gc` and
/// never names it). A program that never used the heap has nothing to settle.
static SETTLE: OnceLock<fn()> = OnceLock::new();

/// Installs the step a check runs before it ends (see [`SETTLE`]); the first one installed stays.
pub(crate) fn settle_before_checks_end(settle: fn()) {
    let _ = SETTLE.set(settle);
}

thread_local! {
    /// The innermost check running on this thread.
    static CURRENT_SCOPE: Cell<Option<ScopeId>> = const { Cell::new(None) };
}

/// The innermost check running on this thread, for a tracked creation to belong to.
pub(super) fn current_scope() -> Option<ScopeId> {
    CURRENT_SCOPE.try_with(Cell::get).ok().flatten()
}

/// Takes the leak reports filed so far that belong to no running [`LeakCheck`], oldest first,
/// and forgets them: the next call returns only newer ones. Identical leaks (same type, same
/// creation site) come as one report with a [`count`](LeakReport::count).
///
/// Process-wide: reports of leaks from every thread, except those that belong to a running check.
///
/// ```
/// use janitor::leak::{self, LeakLevel, LeakTracker};
///
/// leak::set_level(LeakLevel::Full);
/// drop(LeakTracker::new::<String>());
/// let reports = leak::take_reports();
/// assert_eq!(reports.len(), 1);
/// assert_eq!(reports[0].type_name(), "alloc::string::String");
/// assert!(leak::take_reports().is_empty());
/// ```
pub fn take_reports() -> Vec<LeakReport> {
    registry::take_unscoped()
}

/// Panics, listing every report, if [`take_reports`] has any; the reports are taken either way.
/// For tests that run alone in their process (their own test binary), or at the end of one that
/// owns the process; tests that share the process use a [`LeakCheck`].
///
/// ```should_panic
/// use janitor::leak::{self, LeakLevel, LeakTracker};
///
/// leak::set_level(LeakLevel::Full);
/// leak::assert_no_leaks(); // nothing leaked yet: passes
/// drop(LeakTracker::new::<String>());
/// leak::assert_no_leaks(); // panics: "1 leak: ... LEAK: alloc::string::String dropped without
///                          // dispose, created at ...".
/// ```
#[track_caller]
pub fn assert_no_leaks() {
    let reports = take_reports();
    if !reports.is_empty() {
        panic!("{}", describe(&reports));
    }
}

/// A guard for a test: every tracked resource created on this thread while it runs and dropped
/// without dispose is reported to it, and dropping the guard panics, listing the leaks, if there
/// were any. [`finish`](Self::finish) ends it and returns the leaks instead. Ending a check first
/// collects and waits for pending finalizers, so resources held by garbage cycles or finalizable
/// objects are reported to it.
///
/// Checks nest (the innermost one owns a creation) and stay on their thread (`!Send`). A leak
/// found while its check runs is the check's alone: it never reaches [`take_reports`]. Set the level to
/// [`LeakLevel::Full`](super::LeakLevel::Full) first: a check sees only what the level tracks.
/// Resources created on other threads are not its own (see the module documentation).
///
/// ```should_panic
/// use janitor::leak::{self, LeakCheck, LeakLevel, LeakTracker};
///
/// leak::set_level(LeakLevel::Full);
/// let _check = LeakCheck::start();
/// let tracker = LeakTracker::new::<std::fs::File>();
/// drop(tracker); // a File-like resource dropped without dispose
/// // _check drops here and panics: "1 leak: LEAK: std::fs::File dropped without dispose, ..."
/// ```
#[must_use = "a check ends, and checks, when it is dropped"]
pub struct LeakCheck {
    scope: ScopeId,
    enclosing: Option<ScopeId>,
    /// The scope is this thread's; the guard must end on it.
    on_this_thread: PhantomData<*const ()>,
}

impl LeakCheck {
    /// Starts a check on this thread.
    ///
    /// ```
    /// use janitor::leak::{self, LeakCheck, LeakLevel, LeakTracker};
    ///
    /// leak::set_level(LeakLevel::Full);
    /// let check = LeakCheck::start();
    /// let tracker = LeakTracker::new::<u8>();
    /// tracker.close();
    /// drop(tracker);
    /// drop(check); // nothing leaked: no panic
    /// ```
    pub fn start() -> Self {
        let scope = registry::open_scope();
        let enclosing = CURRENT_SCOPE.with(|current| current.replace(Some(scope)));
        Self {
            scope,
            enclosing,
            on_this_thread: PhantomData,
        }
    }

    /// Ends the check and returns its leaks, oldest first, without panicking: for a test that
    /// asserts on them.
    ///
    /// ```
    /// use janitor::leak::{self, LeakCheck, LeakLevel, LeakTracker};
    ///
    /// leak::set_level(LeakLevel::Full);
    /// let check = LeakCheck::start();
    /// let tracker = LeakTracker::new::<u8>();
    /// std::thread::spawn(move || drop(tracker)).join().unwrap(); // dropped on another thread
    /// let reports = check.finish();
    /// assert_eq!(reports.len(), 1);
    /// assert_eq!(reports[0].type_name(), "u8");
    /// ```
    pub fn finish(self) -> Vec<LeakReport> {
        ManuallyDrop::new(self).end()
    }

    fn end(&self) -> Vec<LeakReport> {
        // Resources held by garbage cycles or waiting for their finalizer are reported on their
        // finalization path: let it run first, so their leaks land in this check. Not while
        // unwinding: a collection runs `Drop`s, and a second panic would abort.
        if !std::thread::panicking()
            && let Some(settle) = SETTLE.get()
        {
            settle();
        }
        // The guard is `!Send`, so this is the thread whose current scope it set. `try_with`: a
        // guard kept in another thread-local may end after ours is destroyed, with nothing left
        // to restore.
        let _ = CURRENT_SCOPE.try_with(|current| current.set(self.enclosing));
        registry::close_scope(self.scope)
    }
}

impl Drop for LeakCheck {
    /// Ends the check; panics listing the leaks if there were any, unless the thread is already
    /// panicking (the test failed anyway; a second panic would abort).
    fn drop(&mut self) {
        let reports = self.end();
        if !reports.is_empty() && !std::thread::panicking() {
            panic!("{}", describe(&reports));
        }
    }
}

/// The failure message: how many leaks, each report, and what to do.
fn describe(reports: &[LeakReport]) -> String {
    let leaks: u64 = reports.iter().map(LeakReport::count).sum();
    let mut message = format!(
        "{leaks} leak{}: resources dropped without dispose",
        if leaks == 1 { "" } else { "s" }
    );
    for report in reports {
        let _ = write!(message, "\n{report}");
    }
    message
}
