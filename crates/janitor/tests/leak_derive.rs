//! `#[derive(Dispose)]` and the leak detector, at `Full` level: a `LeakTracker` field is closed by
//! the derived dispose, found by its type, with or without a cascade.

use janitor::leak::{self, LeakCheck, LeakLevel, LeakTracker};
use janitor::{Dispose, DisposeFlag};
use std::panic::{self, AssertUnwindSafe};

fn full_check() -> LeakCheck {
    leak::set_level(LeakLevel::Full);
    LeakCheck::start()
}

/// Nothing to cascade: the derive only wins the flag and closes the tracker.
#[derive(Dispose)]
struct Token {
    disposed: DisposeFlag,
    tracker: LeakTracker,
}

impl Token {
    #[track_caller]
    fn new() -> Self {
        Token {
            disposed: DisposeFlag::new(),
            tracker: LeakTracker::new::<Self>(),
        }
    }
}

/// A part whose dispose panics.
struct Fragile;

impl Dispose for Fragile {
    fn dispose(&self) {
        panic!("fragile part failed to dispose");
    }
}

/// A cascade, and a tracker named through its path.
#[derive(Dispose)]
struct Session {
    disposed: DisposeFlag,
    #[dispose]
    token: Token,
    tracker: janitor::leak::LeakTracker,
}

impl Session {
    #[track_caller]
    fn open() -> Self {
        Session {
            disposed: DisposeFlag::new(),
            token: Token::new(),
            tracker: LeakTracker::new::<Self>(),
        }
    }
}

/// A tuple struct whose cascade panics.
#[derive(Dispose)]
struct Brittle(DisposeFlag, #[dispose] Fragile, LeakTracker);

#[test]
fn a_derived_dispose_closes_the_tracker_without_a_cascade() {
    let check = full_check();
    let token = Token::new();
    token.dispose();
    drop(token);
    assert!(check.finish().is_empty());
}

#[test]
fn a_derived_dispose_closes_the_tracker_and_cascades_to_the_fields() {
    let check = full_check();
    let session = Session::open();
    session.dispose();
    drop(session);
    assert!(check.finish().is_empty());
}

#[test]
fn a_value_with_a_derived_dispose_dropped_undisposed_is_reported_with_its_fields() {
    let check = full_check();
    let session = Session::open();
    let line = line!() - 1;
    drop(session);
    let reports = check.finish();
    let mut names: Vec<&str> = reports.iter().map(|report| report.type_name()).collect();
    names.sort_unstable();
    assert_eq!(names, ["leak_derive::Session", "leak_derive::Token"]);
    assert!(
        reports
            .iter()
            .all(|report| report.created_at().line() == line)
    );
}

#[test]
fn the_tracker_is_closed_even_when_a_step_of_the_cascade_panics() {
    let check = full_check();
    let brittle = Brittle(DisposeFlag::new(), Fragile, LeakTracker::new::<Brittle>());
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| brittle.dispose()));
    assert!(outcome.is_err());
    drop(brittle);
    assert!(check.finish().is_empty());
}
