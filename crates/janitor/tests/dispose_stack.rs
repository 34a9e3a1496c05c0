//! DisposeStack: LIFO, every entry runs, failures chained and never lost, once-only, use after
//! dispose refused, take, drop, threads.

mod support;

use std::error::Error;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

use janitor::Dispose;
use janitor::dispose::DisposeStack;
use proptest::prelude::{Just, ProptestConfig, prop_assert_eq, proptest};
use support::{Journal, Resource, capture_logs, panic_text};
use tracing::Level;

/// A cleanup that panics (a closure whose body is only `panic!` would return `!`, not `()`).
fn fail(message: &'static str) {
    panic!("{message}");
}

#[test]
fn entries_run_last_registered_first() {
    let journal = Journal::default();
    let stack = DisposeStack::new();
    stack.push(Resource::new("pushed", &journal)).unwrap();
    stack
        .adopt("adopted", |name| journal.write(format!("release {name}")))
        .unwrap();
    stack.defer(|| journal.write("deferred")).unwrap();
    stack.try_dispose().unwrap();
    assert_eq!(
        journal.entries(),
        ["deferred", "release adopted", "dispose pushed"]
    );
}

#[test]
fn a_pushed_value_stays_usable_until_the_stack_is_disposed() {
    let journal = Journal::default();
    let stack = DisposeStack::new();
    let file = stack.push(Resource::new("file", &journal)).unwrap();
    assert_eq!(file.read(), Ok("file"));
    stack.try_dispose().unwrap();
    assert!(file.read().is_err());
}

#[test]
fn a_panicking_entry_in_the_middle_does_not_stop_the_others_and_is_resumed_after_them() {
    let journal = Journal::default();
    let stack = DisposeStack::new();
    stack.defer(|| journal.write("first")).unwrap();
    stack.defer(|| fail("the middle entry panicked")).unwrap();
    stack.defer(|| journal.write("last")).unwrap();
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| stack.try_dispose()));
    assert_eq!(
        panic_text(&*outcome.unwrap_err()),
        "the middle entry panicked"
    );
    assert_eq!(journal.entries(), ["last", "first"]);
    assert!(stack.is_disposed());
}

#[test]
fn of_two_panics_the_first_to_happen_is_resumed_and_the_second_reported() {
    let stack = DisposeStack::new();
    stack
        .defer(|| fail("registered first, panics second"))
        .unwrap();
    stack
        .defer(|| fail("registered second, panics first"))
        .unwrap();
    let (outcome, logged) =
        capture_logs(|| panic::catch_unwind(AssertUnwindSafe(|| stack.try_dispose())));
    assert_eq!(
        panic_text(&*outcome.unwrap_err()),
        "registered second, panics first"
    );
    assert!(
        logged
            .iter()
            .any(|event| event.fields.contains("registered first, panics second"))
    );
}

#[test]
fn errors_are_chained_with_the_latest_failure_wrapping_the_earlier_ones() {
    let journal = Journal::default();
    let stack = DisposeStack::new();
    stack.defer(|| Err::<(), _>("a")).unwrap();
    stack.defer(|| journal.write("between")).unwrap();
    stack
        .defer(|| Err::<(), _>(std::io::Error::other("b")))
        .unwrap();
    stack.defer(|| Err::<(), _>("c")).unwrap();
    let error = stack.try_dispose().unwrap_err();

    assert_eq!(journal.entries(), ["between"]);
    let in_order_met: Vec<String> = error.errors().map(|error| error.to_string()).collect();
    assert_eq!(in_order_met, ["a", "b", "c"]);
    assert_eq!(error.len(), 3);
    assert!(error.error().downcast_ref::<std::io::Error>().is_none());

    let earlier = error.suppressed().unwrap();
    assert_eq!(earlier.error().to_string(), "b");
    assert!(earlier.error().downcast_ref::<std::io::Error>().is_some());
    assert_eq!(earlier.suppressed().unwrap().error().to_string(), "c");

    let mut sources = Vec::new();
    let mut next: Option<&dyn Error> = Some(&error);
    while let Some(error) = next {
        sources.push(error.to_string());
        next = error.source();
    }
    assert_eq!(
        sources,
        [
            "a cleanup step failed: a (2 earlier failures are chained as its source)",
            "a cleanup step failed: b (1 earlier failure is chained as its source)",
            "a cleanup step failed: c",
        ]
    );
}

#[test]
fn errors_of_a_run_that_panicked_go_to_tracing() {
    let stack = DisposeStack::new();
    stack.defer(|| Err::<(), _>("flush failed")).unwrap();
    stack.defer(|| fail("bug")).unwrap();
    let (outcome, logged) =
        capture_logs(|| panic::catch_unwind(AssertUnwindSafe(|| stack.try_dispose())));
    assert_eq!(panic_text(&*outcome.unwrap_err()), "bug");
    assert!(
        logged
            .iter()
            .any(|event| event.level == Level::WARN && event.fields.contains("flush failed"))
    );
}

#[test]
fn a_second_dispose_runs_nothing() {
    let runs = AtomicUsize::new(0);
    let stack = DisposeStack::new();
    stack
        .defer(|| Err::<(), _>(format!("run {}", runs.fetch_add(1, Ordering::Relaxed))))
        .unwrap();
    assert!(stack.try_dispose().is_err());
    assert!(stack.try_dispose().is_ok());
    assert_eq!(runs.load(Ordering::Relaxed), 1);
}

#[test]
fn registering_on_a_disposed_stack_is_object_disposed_and_releases_the_value_at_once() {
    let journal = Journal::default();
    let stack = DisposeStack::new();
    stack.try_dispose().unwrap();

    let error = stack
        .push(Resource::new("late", &journal))
        .err()
        .expect("the stack is disposed");
    assert!(error.object_name().contains("DisposeStack"));
    assert!(
        stack
            .adopt(5, |descriptor| journal.write(format!("close {descriptor}")))
            .is_err()
    );
    assert!(stack.defer(|| journal.write("deferred")).is_err());
    assert!(stack.take().is_err());
    assert_eq!(journal.entries(), ["dispose late", "close 5", "deferred"]);
}

#[test]
fn a_failing_release_on_a_disposed_stack_goes_to_tracing() {
    let stack = DisposeStack::new();
    stack.try_dispose().unwrap();
    let (registered, logged) = capture_logs(|| stack.defer(|| Err::<(), _>("cannot close")));
    assert!(registered.is_err());
    assert!(
        logged
            .iter()
            .any(|event| event.level == Level::WARN && event.fields.contains("cannot close"))
    );
}

#[test]
fn take_moves_every_entry_and_leaves_the_old_stack_disposed_and_empty() {
    let journal = Journal::default();
    let building = DisposeStack::new();
    building.defer(|| journal.write("a")).unwrap();
    building.defer(|| journal.write("b")).unwrap();
    let owner = building.take().unwrap();
    assert!(building.is_disposed());
    assert!(!owner.is_disposed());
    building.try_dispose().unwrap();
    assert!(journal.entries().is_empty());
    owner.defer(|| journal.write("c")).unwrap();
    owner.try_dispose().unwrap();
    assert_eq!(journal.entries(), ["c", "b", "a"]);
}

#[test]
fn dropping_an_undisposed_stack_disposes_it() {
    let journal = Journal::default();
    {
        let stack = DisposeStack::new();
        stack.push(Resource::new("a", &journal)).unwrap();
        stack.push(Resource::new("b", &journal)).unwrap();
    }
    assert_eq!(journal.entries(), ["dispose b", "dispose a"]);
}

#[test]
fn errors_of_a_dropped_stack_go_to_tracing_warn() {
    let ((), logged) = capture_logs(|| {
        let stack = DisposeStack::new();
        stack.defer(|| Err::<(), _>("first failure")).unwrap();
        stack.defer(|| Err::<(), _>("second failure")).unwrap();
    });
    let warnings: Vec<&str> = logged
        .iter()
        .filter(|event| event.level == Level::WARN)
        .map(|event| event.fields.as_str())
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].contains("first failure"));
    assert!(warnings[1].contains("second failure"));
}

#[test]
fn an_entry_may_use_its_own_stack_while_it_is_disposed() {
    let stack = Arc::new(DisposeStack::new());
    let seen = Arc::new(AtomicUsize::new(0));
    {
        let (inner, seen) = (Arc::downgrade(&stack), seen.clone());
        stack
            .defer(move || {
                let stack = inner.upgrade().unwrap();
                if stack.is_disposed() && stack.defer(|| ()).is_err() {
                    seen.fetch_add(1, Ordering::Relaxed);
                }
            })
            .unwrap();
    }
    // Through an `Arc`, `.dispose()` would pick `Dispose for Arc<T>`, which cannot return errors.
    (*stack).try_dispose().unwrap();
    assert_eq!(seen.load(Ordering::Relaxed), 1);
}

#[test]
fn a_stack_inside_a_stack_is_disposed_with_it() {
    let journal = Journal::default();
    let outer = DisposeStack::new();
    outer.push(Resource::new("outer first", &journal)).unwrap();
    let inner = outer.push(DisposeStack::new()).unwrap();
    inner.push(Resource::new("inner", &journal)).unwrap();
    outer.try_dispose().unwrap();
    assert_eq!(journal.entries(), ["dispose inner", "dispose outer first"]);
}

#[test]
fn a_stack_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<DisposeStack<'static>>();
}

#[test]
fn eight_threads_registering_at_once_are_all_disposed_once() {
    let disposals = AtomicUsize::new(0);
    let stack = DisposeStack::new();
    let start = Barrier::new(8);
    thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                start.wait();
                for _ in 0..100 {
                    stack
                        .defer(|| {
                            disposals.fetch_add(1, Ordering::Relaxed);
                        })
                        .unwrap();
                }
            });
        }
    });
    stack.try_dispose().unwrap();
    assert_eq!(disposals.load(Ordering::Relaxed), 800);
}

#[test]
fn eight_threads_disposing_at_once_run_each_entry_once() {
    for _round in 0..50 {
        let runs = AtomicUsize::new(0);
        let stack = DisposeStack::new();
        for _ in 0..10 {
            stack
                .defer(|| {
                    runs.fetch_add(1, Ordering::Relaxed);
                })
                .unwrap();
        }
        let start = Barrier::new(8);
        thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| {
                    start.wait();
                    stack.try_dispose().unwrap();
                    Dispose::dispose(&stack);
                });
            }
        });
        assert_eq!(runs.load(Ordering::Relaxed), 10);
    }
}

#[test]
fn a_failed_build_releases_what_was_built_so_far_in_reverse() {
    fn build(journal: &Journal, fail_at: usize) -> Result<DisposeStack<'static>, String> {
        let stack = DisposeStack::new();
        for (step, name) in ["config", "socket", "cache"].into_iter().enumerate() {
            if step == fail_at {
                return Err(format!("cannot open {name}"));
            }
            stack.push(Resource::new(name, journal)).unwrap();
        }
        Ok(stack.take().unwrap())
    }
    let journal = Journal::default();
    assert_eq!(build(&journal, 2).err().unwrap(), "cannot open cache");
    assert_eq!(journal.entries(), ["dispose socket", "dispose config"]);
    let built = build(&journal, 3).unwrap();
    assert_eq!(journal.entries().len(), 2);
    built.try_dispose().unwrap();
    assert_eq!(
        journal.entries()[2..],
        ["dispose cache", "dispose socket", "dispose config"]
    );
}

#[test]
fn a_stack_dropped_while_unwinding_runs_every_entry_and_does_not_abort() {
    let journal = Journal::default();
    let (outcome, logged) = capture_logs(|| {
        panic::catch_unwind(AssertUnwindSafe(|| {
            let stack = DisposeStack::new();
            stack.defer(|| journal.write("first")).unwrap();
            stack
                .defer(|| fail("entry panicked during unwinding"))
                .unwrap();
            stack.defer(|| journal.write("last")).unwrap();
            fail("the scope panicked");
        }))
    });
    assert_eq!(panic_text(&*outcome.unwrap_err()), "the scope panicked");
    assert_eq!(journal.entries(), ["last", "first"]);
    assert!(logged.iter().any(|event| event.level == Level::ERROR
        && event.fields.contains("entry panicked during unwinding")));
}

/// What one entry of a generated stack does when it runs.
#[derive(Debug, Clone, Copy)]
enum Step {
    Succeeds,
    Fails,
    Panics,
}

fn step() -> impl proptest::strategy::Strategy<Value = Step> {
    proptest::prop_oneof![Just(Step::Succeeds), Just(Step::Fails), Just(Step::Panics)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Against a model: every entry runs, last registered first; with a panic, the first one to
    /// happen is resumed; without, the errors come back latest failure first.
    #[test]
    fn any_mix_of_outcomes_runs_every_entry_in_reverse_and_keeps_every_failure(
        steps in proptest::collection::vec(step(), 0..12)
    ) {
        let journal = Journal::default();
        let stack = DisposeStack::new();
        for (index, step) in steps.iter().copied().enumerate() {
            let journal = journal.clone();
            stack.defer(move || {
                journal.write(index.to_string());
                match step {
                    Step::Succeeds => Ok(()),
                    Step::Fails => Err(format!("entry {index} failed")),
                    Step::Panics => panic!("entry {index} panicked"),
                }
            }).unwrap();
        }
        let ((outcome, _), _logged) =
            capture_logs(|| (panic::catch_unwind(AssertUnwindSafe(|| stack.try_dispose())), ()));

        let ran: Vec<String> = (0..steps.len()).rev().map(|index| index.to_string()).collect();
        prop_assert_eq!(journal.entries(), ran);
        let first_panic = (0..steps.len()).rev().find(|&index| matches!(steps[index], Step::Panics));
        let failures: Vec<String> = (0..steps.len())
            .filter(|&index| matches!(steps[index], Step::Fails))
            .map(|index| format!("entry {index} failed"))
            .collect();
        match (first_panic, outcome) {
            (Some(index), Err(payload)) => prop_assert_eq!(panic_text(&*payload), format!("entry {index} panicked")),
            (None, Ok(Ok(()))) => prop_assert_eq!(failures.len(), 0),
            (None, Ok(Err(error))) => {
                let met: Vec<String> = error.errors().map(|error| error.to_string()).collect();
                prop_assert_eq!(met, failures);
            }
            (expected, got) => panic!("expected panic of {expected:?}, got {got:?}"),
        }
    }
}
