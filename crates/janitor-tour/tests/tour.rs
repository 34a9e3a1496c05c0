//! The tour, run as a user runs it, with its key lines checked: the thirteen scenes (issue 7's twelve and issue 13's thread-local heap) in
//! their order, each saying what .NET does, and the behaviour each scene is there to show.
//!
//! `cargo test` builds the package's examples before it runs tests, so the tour's binary sits in
//! `examples/` beside this test's own directory.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

fn tour_binary() -> PathBuf {
    let mut path = std::env::current_exe().expect("the test binary knows its own path");
    path.pop(); // the test binary
    path.pop(); // deps/
    path.push("examples");
    path.push(format!("tour{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "the tour is not built at {}; run the whole package's tests (`cargo test --workspace`), \
         which builds the examples first",
        path.display()
    );
    path
}

/// The tour's output: run once, shared by every test here.
fn run_tour() -> &'static str {
    static TOUR: OnceLock<String> = OnceLock::new();
    TOUR.get_or_init(run_tour_once)
}

fn run_tour_once() -> String {
    let output = Command::new(tour_binary())
        .env("JANITOR_LEAK", "sampled")
        .output()
        .expect("the tour starts");
    let stdout = String::from_utf8(output.stdout).expect("the tour prints UTF-8");
    assert!(
        output.status.success(),
        "the tour failed: {}\n--- stdout\n{stdout}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The thirteen scenes, in order: the start of each heading's title.
const SCENES: [&str; 13] = [
    "Finalization timing",
    "Collect + wait for pending finalizers makes it certain",
    "A spouse cycle is freed where Rc leaks; induced and automatic collections",
    "Dispose, using, ObjectDisposed, cascade dispose",
    "The Dispose-Finalize pattern: suppress, re-register, Dispose(bool disposing)",
    "Resurrection",
    "Short versus long weak references; an ephemeron table",
    "Critical finalizers run after the normal ones",
    "SafeHandle: released when forgotten, disposed during a read, recycling defeated",
    "A service scope disposes what it created, in reverse order",
    "A leak report names the forgotten resource and where it was created",
    "A thread-local heap: an interpreter's closure cycle with an Rc<dyn Fn> native",
    "GC statistics for the whole tour",
];

/// The tour's scenes: the text of each from its heading's title to the next heading.
fn scenes(tour: &str) -> Vec<&str> {
    tour.split("\n== Scene ").skip(1).collect()
}

/// Scene `number`'s text (1-based).
fn scene(tour: &str, number: usize) -> &str {
    scenes(tour)
        .get(number - 1)
        .copied()
        .unwrap_or_else(|| panic!("the tour has no scene {number}:\n{tour}"))
}

fn assert_says(text: &str, line: &str) {
    assert!(text.contains(line), "never says {line:?}:\n{text}");
}

/// Asserts that `first` is said, and `then` after it.
fn assert_in_order(text: &str, first: &str, then: &str) {
    let at = text
        .find(first)
        .unwrap_or_else(|| panic!("never says {first:?}:\n{text}"));
    assert!(
        text[at..].contains(then),
        "never says {then:?} after {first:?}:\n{text}"
    );
}

#[test]
fn the_thirteen_scenes_come_in_order_each_saying_what_dotnet_does() {
    let tour = run_tour();
    let scenes = scenes(tour);
    assert_eq!(scenes.len(), SCENES.len(), "{tour}");
    for (index, (scene, title)) in scenes.iter().zip(SCENES).enumerate() {
        let heading = format!("{}: {title}", index + 1);
        assert!(
            scene.starts_with(&heading),
            "scene {} is not {heading:?}:\n{scene}",
            index + 1
        );
        let dotnet = scene.lines().nth(1).unwrap_or_default();
        assert!(
            dotnet.starts_with("   .NET:    ") && dotnet.len() > 20,
            "scene {} does not say what .NET does under its heading:\n{scene}",
            index + 1
        );
        assert!(
            scene.contains("\n   ["),
            "scene {} shows nothing janitor did:\n{scene}",
            index + 1
        );
    }
    assert_says(tour, "Tour finished: 13 scenes");
}

#[test]
fn finalization_timing_differs_from_dotnet_and_collect_and_wait_makes_it_certain() {
    let tour = run_tour();
    let first = scene(tour, 1);
    assert_says(
        first,
        "acyclic Dee dropped: the finalizer thread already ran [\"~Person() for Dee\"]; \
         collections meanwhile: 0",
    );
    assert_says(
        first,
        "finalized so far [] (a cycle waits for a collection)",
    );
    assert_says(
        first,
        "an automatic collection found the cycle: finalized [\"~Person() for Eve\", \"~Person() for Fay\"]",
    );
    assert_says(
        scene(tour, 2),
        "gc::collect() + wait_for_pending_finalizers(): [\"~Person() for Gil\", \"~Person() for Hal\"]",
    );
}

#[test]
fn the_spouse_cycle_leaks_under_rc_and_is_collected_under_gc() {
    let tour = run_tour();
    let third = scene(tour, 3);
    assert_says(third, "0 of 2 dropped (the cycle leaks)");
    assert_in_order(third, "0 of 2 dropped so far", "2 of 2 dropped");
    assert_says(
        third,
        "Cyd is gone at once (1 more dropped), collections meanwhile: 0",
    );
    assert_says(third, "collections by memory pressure 0 -> 1");
    let by_reclaimer: usize = third
        .split("their Drops: ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|count| count.parse().ok())
        .expect("scene 3 says where the garbage's Drops ran");
    assert!(
        by_reclaimer > 0,
        "automatic collections dropped nothing on the reclaimer"
    );
    assert_says(third, "on the janitor-reclaimer thread");
}

#[test]
fn dispose_is_idempotent_then_object_disposed_and_cascades() {
    let tour = run_tour();
    let fourth = scene(tour, 4);
    assert_says(fourth, "second call: nothing happens");
    assert_says(fourth, "Cannot access a disposed object. Object name: '");
    assert_in_order(fourth, "the body panics", "dispose socket");
    assert_in_order(fourth, "dispose undo history", "dispose document");
    assert_says(fourth, "the shared spell checker is still live: true");
}

#[test]
fn the_dispose_finalize_pattern_releases_a_real_lock_on_both_paths() {
    let tour = run_tour();
    let fifth = scene(tour, 5);
    assert_says(
        fifth,
        "created, not opened: registered for finalization? false",
    );
    assert_says(fifth, "opened: registered? true; is the lock free? false");
    assert_says(
        fifth,
        "\"Explicit: released the lock\"]; registered? false; lock free: true",
    );
    assert_says(fifth, "dropped after dispose: finalizers run []");
    assert_says(
        fifth,
        "the finalizer ran [\"Finalizer: released the lock\"]; lock free: true",
    );
}

#[test]
fn resurrection_weak_references_and_critical_order() {
    let tour = run_tour();
    assert_says(scene(tour, 6), "it is usable: lives = 1");
    assert_says(
        scene(tour, 6),
        "dropped again without re-registering: finalizers run []",
    );
    let seventh = scene(tour, 7);
    assert_says(seventh, "short upgrades? false; long upgrades? true");
    assert_says(
        seventh,
        "after the last reference went: long upgrades? false",
    );
    assert_says(seventh, "entries: 1");
    assert_says(seventh, "gc::collect(): entries left 0");
    assert_says(
        scene(tour, 8),
        "finalized in the order [\"normal\", \"normal\", \"critical\", \"critical\"]",
    );
}

#[test]
fn a_safe_handle_closes_after_the_read_in_flight_and_never_reaches_a_recycled_number() {
    let tour = run_tour();
    let ninth = scene(tour, 9);
    assert_says(ninth, "writes to the pipe fail with EPIPE: true");
    assert_says(ninth, "main thread disposes: disposed true, closed false");
    assert_says(ninth, "A's use ended: closed true");
    assert_says(
        ninth,
        "the disposed SafeFile reads -> Err: Cannot access a disposed object.",
    );
}

#[test]
fn a_scope_disposes_in_reverse_order_and_the_leak_report_names_the_place() {
    let tour = run_tour();
    let tenth = scene(tour, 10);
    assert_in_order(
        tenth,
        "unit of work on connection #1 rolled back and disposed",
        "connection #1 closed",
    );
    assert_in_order(
        tenth,
        "hosted service 'requests' stopped",
        "hosted service 'metrics' stopped",
    );
    assert_says(
        tenth,
        "type only implements AsyncDispose. Use dispose_async to dispose the container.",
    );
    let eleventh = scene(tour, 11);
    assert_says(
        eleventh,
        "SafeHandle<janitor::handle::fd::FdKind> dropped without dispose, created at \
         crates/janitor-tour/examples/tour/leak.rs:",
    );
    assert_says(
        eleventh,
        "(3 times from this place; details are the first's)",
    );
}

#[test]
fn the_closing_table_reports_the_collections_the_tour_ran() {
    let tour = run_tour();
    let twelfth = scene(tour, 13);
    let row = twelfth
        .lines()
        .find(|line| {
            line.trim_start()
                .starts_with("induced / by allocation / by pressure")
        })
        .unwrap_or_else(|| panic!("no row of collections by trigger:\n{twelfth}"));
    let counts: Vec<u64> = row
        .rsplit("   ")
        .next()
        .expect("a value column")
        .split(" / ")
        .map(|count| count.trim().parse().expect("a count"))
        .collect();
    // The tour induces collections (scenes 2, 3, 7, 8), lets allocation trigger some (scenes 1
    // and 3) and passes the memory-pressure budget once (scene 3).
    assert!(
        counts.len() == 3 && counts[0] >= 4 && counts[1] >= 2 && counts[2] >= 1,
        "{row}"
    );
    let line = twelfth
        .lines()
        .find(|line| line.trim_start().starts_with("gc: "))
        .unwrap_or_else(|| panic!("no one-line gc::stats():\n{twelfth}"));
    assert_says(
        line,
        &format!(
            "{} induced, {} by allocation, {} by memory pressure",
            counts[0], counts[1], counts[2]
        ),
    );
}

#[test]
fn the_thread_local_heap_frees_a_closure_cycle_with_a_native_and_finalizes_on_its_thread() {
    let tour = run_tour();
    let twelfth = scene(tour, 12);
    assert_says(twelfth, "double(21) = 42");
    assert_says(
        twelfth,
        "scope <-> closure went out of scope: dropped [] (a cycle waits for a collection)",
    );
    assert_says(
        twelfth,
        "unsync::collect(): thread-local gen-2 collections 0 -> 1; dropped [\"double\", \"scope\"]",
    );
    assert_says(twelfth, "before collect() returned, on this thread: true");
}
