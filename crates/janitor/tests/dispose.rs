//! The Dispose contract: once-only, thread-safe, ObjectDisposed after, the disposing/finalizer
//! split, and `using` on every exit.

mod support;

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

use janitor::dispose::{DisposeMode, Using, using};
use janitor::{Dispose, DisposeFlag};
use support::{Journal, Resource, capture_logs, panic_text};

#[test]
fn second_dispose_does_nothing() {
    let journal = Journal::default();
    let resource = Resource::new("file", &journal);
    resource.dispose();
    resource.dispose();
    assert_eq!(journal.entries(), ["dispose file"]);
}

#[test]
fn use_after_dispose_is_object_disposed_naming_the_type() {
    let journal = Journal::default();
    let resource = Resource::new("file", &journal);
    assert_eq!(resource.read(), Ok("file"));
    resource.dispose();
    let error = resource.read().unwrap_err();
    assert!(
        error.object_name().ends_with("support::Resource"),
        "{}",
        error.object_name()
    );
    assert!(
        error
            .to_string()
            .contains("Cannot access a disposed object")
    );
}

struct CountedCleanup {
    disposed: DisposeFlag,
    cleanups: AtomicUsize,
}

impl Dispose for CountedCleanup {
    fn dispose(&self) {
        if self.disposed.try_begin() {
            self.cleanups.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[test]
fn eight_threads_disposing_at_once_run_the_cleanup_exactly_once() {
    for _round in 0..50 {
        let value = Arc::new(CountedCleanup {
            disposed: DisposeFlag::new(),
            cleanups: AtomicUsize::new(0),
        });
        let start = Arc::new(Barrier::new(8));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (value, start) = (value.clone(), start.clone());
                thread::spawn(move || {
                    start.wait();
                    value.dispose();
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(value.cleanups.load(Ordering::Relaxed), 1);
    }
}

#[test]
fn exactly_one_of_eight_racing_try_begin_wins() {
    let flag = DisposeFlag::new();
    let start = Barrier::new(8);
    let winners = AtomicUsize::new(0);
    thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                start.wait();
                if flag.try_begin() {
                    winners.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    assert_eq!(winners.load(Ordering::Relaxed), 1);
    assert!(flag.is_disposed());
}

#[test]
fn none_is_not_disposed_and_some_is() {
    let journal = Journal::default();
    None::<Resource>.dispose();
    Some(Resource::new("inner", &journal)).dispose();
    assert_eq!(journal.entries(), ["dispose inner"]);
}

#[test]
fn smart_pointers_dispose_what_they_point_to() {
    let journal = Journal::default();
    Box::new(Resource::new("boxed", &journal)).dispose();
    Arc::new(Resource::new("shared", &journal)).dispose();
    std::rc::Rc::new(Resource::new("counted", &journal)).dispose();
    let boxed: Box<dyn Dispose> = Box::new(Resource::new("dyn", &journal));
    boxed.dispose();
    assert_eq!(
        journal.entries(),
        [
            "dispose boxed",
            "dispose shared",
            "dispose counted",
            "dispose dyn"
        ]
    );
}

/// The full `Dispose(bool disposing)` pattern: one cleanup, two paths.
struct Connection {
    disposed: DisposeFlag,
    buffered: Resource,
    journal: Journal,
}

impl Connection {
    fn cleanup(&self, mode: DisposeMode) {
        if !self.disposed.try_begin() {
            return;
        }
        if mode.releases_managed_state() {
            self.buffered.dispose();
        }
        self.journal.write(format!("close socket ({mode:?})"));
    }
}

impl Dispose for Connection {
    fn dispose(&self) {
        self.cleanup(DisposeMode::Explicit);
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.cleanup(DisposeMode::Finalizer);
    }
}

#[test]
fn explicit_mode_releases_managed_state_then_unmanaged() {
    let journal = Journal::default();
    let connection = Connection {
        disposed: DisposeFlag::new(),
        buffered: Resource::new("buffer", &journal),
        journal: journal.clone(),
    };
    connection.dispose();
    drop(connection);
    assert_eq!(
        journal.entries(),
        ["dispose buffer", "close socket (Explicit)"]
    );
}

#[test]
fn finalizer_mode_on_an_undisposed_drop_releases_only_unmanaged_state() {
    let journal = Journal::default();
    drop(Connection {
        disposed: DisposeFlag::new(),
        buffered: Resource::new("buffer", &journal),
        journal: journal.clone(),
    });
    assert_eq!(journal.entries(), ["close socket (Finalizer)"]);
}

#[test]
fn using_disposes_after_the_body_and_returns_its_value() {
    let journal = Journal::default();
    let resource = Resource::new("file", &journal);
    let read = using(&resource, |file| {
        journal.write("body");
        file.read()
    });
    assert_eq!(read, Ok("file"));
    assert_eq!(journal.entries(), ["body", "dispose file"]);
}

#[test]
fn using_disposes_on_an_early_return() {
    fn first_line(resource: &Resource, journal: &Journal) -> Result<&'static str, &'static str> {
        using(resource, |file| {
            file.read().map_err(|_| "disposed")?;
            journal.write("returning early");
            Err("empty file")
        })
    }
    let journal = Journal::default();
    let resource = Resource::new("file", &journal);
    assert_eq!(first_line(&resource, &journal), Err("empty file"));
    assert_eq!(journal.entries(), ["returning early", "dispose file"]);
}

#[test]
fn using_disposes_when_the_body_panics_and_the_panic_goes_on() {
    let journal = Journal::default();
    let resource = Resource::new("file", &journal);
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        using(&resource, |_| panic!("body failed"))
    }));
    assert_eq!(panic_text(&*outcome.unwrap_err()), "body failed");
    assert_eq!(journal.entries(), ["dispose file"]);
}

#[test]
fn a_using_guard_disposes_at_the_end_of_its_scope_and_on_question_mark() {
    fn open(journal: &Journal, fail: bool) -> Result<(), String> {
        let file = Using::new(Resource::new("file", journal));
        journal.write(format!("using {}", file.read().unwrap()));
        if fail {
            Err("parse error")?;
        }
        journal.write("end of scope");
        Ok(())
    }
    let journal = Journal::default();
    open(&journal, false).unwrap();
    open(&journal, true).unwrap_err();
    assert_eq!(
        journal.entries(),
        [
            "using file",
            "end of scope",
            "dispose file",
            "using file",
            "dispose file"
        ]
    );
}

struct PanickingDispose;

impl Dispose for PanickingDispose {
    fn dispose(&self) {
        panic!("dispose failed");
    }
}

#[test]
fn a_dispose_that_panics_while_unwinding_is_reported_and_the_first_panic_goes_on() {
    let (outcome, logged) = capture_logs(|| {
        panic::catch_unwind(|| {
            let _guard = Using::new(PanickingDispose);
            panic!("body failed");
        })
    });
    assert_eq!(panic_text(&*outcome.unwrap_err()), "body failed");
    assert!(logged.iter().any(
        |event| event.level == tracing::Level::ERROR && event.fields.contains("dispose failed")
    ));
}

#[test]
fn a_dispose_that_panics_on_the_normal_path_panics() {
    let outcome = panic::catch_unwind(|| using(PanickingDispose, |_| ()));
    assert_eq!(panic_text(&*outcome.unwrap_err()), "dispose failed");
}

#[test]
fn a_using_guard_gives_mutable_access_and_disposes_once_at_the_end() {
    struct Buffer {
        disposed: DisposeFlag,
        bytes: Vec<u8>,
        disposals: Arc<AtomicUsize>,
    }
    impl Dispose for Buffer {
        fn dispose(&self) {
            if self.disposed.try_begin() {
                self.disposals.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    let disposals = Arc::new(AtomicUsize::new(0));
    {
        let mut buffer = Using::new(Buffer {
            disposed: DisposeFlag::new(),
            bytes: Vec::new(),
            disposals: disposals.clone(),
        });
        buffer.bytes.extend_from_slice(b"abc");
        assert_eq!(buffer.bytes, b"abc");
        buffer.dispose(); // an explicit dispose inside the scope makes the guard's a no-op
    }
    assert_eq!(disposals.load(Ordering::Relaxed), 1);
}
