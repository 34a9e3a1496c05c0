//! The leak detector at `Full` level: what a report says, what is not reported, counting,
//! recorded uses, and the scoping of `LeakCheck` (every test here runs under its own check, in
//! parallel with the others, which is itself the test of the scoping).

use janitor::leak::{self, LeakCheck, LeakLevel, LeakReport, LeakTracker, RECENT_USES};
use janitor::{Dispose, DisposeFlag};
use support::capture_logs;

mod support;

/// A resource written the way the leak detector asks: a tracker made in a `#[track_caller]`
/// constructor, closed by dispose, uses recorded.
struct Connection {
    disposed: DisposeFlag,
    tracker: LeakTracker,
}

impl Connection {
    #[track_caller]
    fn open() -> Self {
        Connection {
            disposed: DisposeFlag::new(),
            tracker: LeakTracker::new::<Self>(),
        }
    }

    fn send(&self, message: &str) {
        self.tracker.record_with(message);
    }
}

impl Dispose for Connection {
    fn dispose(&self) {
        if self.disposed.try_begin() {
            self.tracker.close();
        }
    }
}

/// Every test sets the same level, so running in parallel they never disagree about it.
fn full_check() -> LeakCheck {
    leak::set_level(LeakLevel::Full);
    LeakCheck::start()
}

#[test]
fn a_report_names_the_type_and_the_place_of_creation() {
    let check = full_check();
    let connection = Connection::open();
    let line = line!() - 1;
    drop(connection);
    let reports = check.finish();
    assert_eq!(reports.len(), 1);
    let report = &reports[0];
    assert_eq!(report.type_name(), "leak::Connection");
    assert_eq!(
        (report.created_at().file(), report.created_at().line()),
        (file!(), line)
    );
    assert_eq!(report.count(), 1);
    let text = report.to_string();
    assert!(
        text.contains("leak::Connection dropped without dispose"),
        "{text}"
    );
    assert!(
        text.contains(&format!("{}:{line}:", file!())),
        "the text names file:line:column: {text}"
    );
}

#[test]
fn a_disposed_resource_is_not_reported() {
    let check = full_check();
    let connection = Connection::open();
    connection.send("hello");
    connection.dispose();
    drop(connection);
    assert!(check.finish().is_empty());
}

#[test]
fn an_untracked_tracker_never_reports() {
    let check = full_check();
    drop(LeakTracker::untracked());
    assert!(check.finish().is_empty());
}

#[test]
fn full_level_keeps_the_last_uses_with_their_hints_and_counts_all() {
    let check = full_check();
    let connection = Connection::open();
    for n in 0..20 {
        connection.send(&format!("message {n}"));
    }
    connection.tracker.record();
    drop(connection);
    let reports = check.finish();
    let report = &reports[0];
    assert_eq!(report.uses_recorded(), 21);
    assert_eq!(report.recent_uses().len(), RECENT_USES);
    let hints: Vec<Option<&str>> = report
        .recent_uses()
        .iter()
        .map(|used| used.hint())
        .collect();
    assert_eq!(
        hints,
        [
            Some("message 13"),
            Some("message 14"),
            Some("message 15"),
            Some("message 16"),
            Some("message 17"),
            Some("message 18"),
            Some("message 19"),
            None
        ]
    );
    assert!(
        report
            .recent_uses()
            .iter()
            .all(|used| used.at().file() == file!())
    );
    assert!(report.to_string().contains("last 8 of 21 recorded uses"));
}

#[test]
fn full_level_captures_the_creation_backtrace_whatever_rust_backtrace_says() {
    let check = full_check();
    drop(Connection::open());
    let reports = check.finish();
    let backtrace = reports[0].backtrace().expect("Full forces the capture");
    assert_eq!(
        backtrace.status(),
        std::backtrace::BacktraceStatus::Captured
    );
    assert!(reports[0].to_string().contains("created:\n"));
}

#[test]
fn identical_leaks_are_counted_not_repeated() {
    let check = full_check();
    for _ in 0..5 {
        drop(Connection::open());
    }
    let reports = check.finish();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].count(), 5);
    assert!(reports[0].to_string().contains("(5 times from this place"));
}

#[test]
fn leaks_from_different_places_are_separate_reports() {
    let check = full_check();
    drop(Connection::open());
    drop(Connection::open());
    let reports = check.finish();
    let lines: Vec<u32> = reports
        .iter()
        .map(|report| report.created_at().line())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1], lines[0] + 1);
    assert!(reports.iter().all(|report| report.count() == 1));
}

#[test]
fn report_leak_reports_once_and_the_later_close_and_drop_add_nothing() {
    let check = full_check();
    let connection = Connection::open();
    connection.tracker.report_leak();
    connection.tracker.report_leak();
    connection.dispose();
    drop(connection);
    let reports = check.finish();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].count(), 1);
}

#[test]
fn a_leak_is_sent_to_tracing_at_warn_level_once_per_place() {
    let check = full_check();
    let ((), logged) = capture_logs(|| {
        for _ in 0..3 {
            drop(Connection::open());
        }
    });
    let warnings: Vec<&str> = logged
        .iter()
        .filter(|event| event.level == tracing::Level::WARN)
        .map(|event| event.fields.as_str())
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0]
            .starts_with("message=LEAK: leak::Connection dropped without dispose, created at "),
        "{}",
        warnings[0]
    );
    assert!(
        warnings[0].contains("leaked_type=\"leak::Connection\""),
        "{}",
        warnings[0]
    );
    assert_eq!(check.finish()[0].count(), 3);
}

#[test]
fn a_leak_belongs_to_the_check_of_the_thread_that_created_the_resource() {
    let check = full_check();
    let connection = Connection::open();
    std::thread::spawn(move || drop(connection)).join().unwrap();
    let reports = check.finish();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].type_name(), "leak::Connection");
}

/// A type that only this test creates, to find its reports among the process-wide ones.
struct CreatedOnAnotherThread {
    _tracker: LeakTracker,
}

#[test]
fn a_resource_created_on_another_thread_is_not_the_checks_but_is_reported() {
    let check = full_check();
    std::thread::spawn(|| {
        drop(CreatedOnAnotherThread {
            _tracker: LeakTracker::new::<CreatedOnAnotherThread>(),
        })
    })
    .join()
    .unwrap();
    assert!(check.finish().is_empty());
    assert!(reports_of::<CreatedOnAnotherThread>(leak::take_reports()) == 1);
}

/// A type that only this test creates.
struct OutlivesItsCheck {
    _tracker: LeakTracker,
}

#[test]
fn a_leak_found_after_its_check_ended_is_reported_unscoped() {
    let check = full_check();
    let resource = OutlivesItsCheck {
        _tracker: LeakTracker::new::<OutlivesItsCheck>(),
    };
    assert!(check.finish().is_empty());
    drop(resource);
    assert!(reports_of::<OutlivesItsCheck>(leak::take_reports()) == 1);
}

#[test]
fn nested_checks_each_see_the_leaks_of_their_own_creations() {
    let outer = full_check();
    let outer_resource = Connection::open();
    let inner = LeakCheck::start();
    let inner_resource = Connection::open();
    let inner_line = line!() - 1;
    drop(outer_resource);
    drop(inner_resource);
    let inner_reports = inner.finish();
    let outer_reports = outer.finish();
    assert_eq!(inner_reports.len(), 1);
    assert_eq!(inner_reports[0].created_at().line(), inner_line);
    assert_eq!(outer_reports.len(), 1);
    assert_eq!(outer_reports[0].created_at().line(), inner_line - 2);
}

#[test]
#[should_panic(expected = "1 leak: resources dropped without dispose\nLEAK: leak::Connection")]
fn a_check_that_saw_a_leak_panics_when_dropped() {
    let _check = full_check();
    drop(Connection::open());
}

#[test]
fn a_check_dropped_while_panicking_does_not_panic_again() {
    let unwound = std::panic::catch_unwind(|| {
        let _check = full_check();
        drop(Connection::open());
        panic!("the test failed first");
    });
    let payload = unwound.unwrap_err();
    assert_eq!(
        payload.downcast_ref::<&str>(),
        Some(&"the test failed first")
    );
}

fn reports_of<T>(reports: Vec<LeakReport>) -> u64 {
    reports
        .iter()
        .filter(|report| report.type_name() == std::any::type_name::<T>())
        .map(LeakReport::count)
        .sum()
}

/// A resource held by a garbage cycle is dropped only by a collection: ending the check
/// collects first, so the leak is the check's.
#[test]
fn a_check_reports_a_resource_held_by_a_garbage_cycle() {
    use janitor::gc::{Gc, GcCell, Trace};
    #[derive(Trace)]
    struct Holder {
        next: GcCell<Option<Gc<Holder>>>,
        #[trace(skip)]
        /// Held for its drop, which reports the leak.
        _tracker: LeakTracker,
    }
    leak::set_level(LeakLevel::Full);
    let check = LeakCheck::start();
    let holder = Gc::new(Holder {
        next: GcCell::new(None),
        _tracker: LeakTracker::new::<Holder>(),
    });
    *holder.next.borrow_mut() = Some(holder.clone());
    drop(holder);
    let reports = check.finish();
    assert_eq!(reports.len(), 1);
    assert!(reports[0].type_name().ends_with("Holder"));
}
