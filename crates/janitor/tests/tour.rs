//! The tour, run as a user runs it, with its key lines checked: every scene says what .NET does,
//! the headline behaviours happen, and it finishes quickly.
//!
//! `cargo test` builds the package's examples before it runs tests, so the tour's binary sits in
//! `examples/` beside this test's own directory.

use std::path::PathBuf;
use std::process::Command;

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

fn run_tour() -> String {
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

fn assert_says(tour: &str, line: &str) {
    assert!(tour.contains(line), "the tour never says {line:?}:\n{tour}");
}

#[test]
fn every_scene_says_what_dotnet_does_and_the_tour_finishes() {
    let tour = run_tour();
    let scenes = tour.matches("\n== Scene ").count();
    assert!(scenes >= 20, "only {scenes} scenes:\n{tour}");
    assert_eq!(
        tour.matches("\n   .NET:    ").count(),
        scenes,
        "a scene does not say what .NET does:\n{tour}"
    );
    assert_says(&tour, &format!("Tour finished: {scenes} scenes"));
}

#[test]
fn the_tour_shows_the_headline_behaviours() {
    let tour = run_tour();
    // The spouse cycle: leaked under Rc, freed by a collection.
    assert_says(&tour, "0 of 2 dropped (the cycle leaks)");
    assert_says(&tour, "2 of 2 dropped");
    // Dispose: idempotent, then ObjectDisposed with .NET's message.
    assert_says(&tour, "second call: nothing happens");
    assert_says(&tour, "Cannot access a disposed object. Object name: '");
    // SafeHandle: a dispose during a read closes the descriptor only when the read ends.
    assert_says(&tour, "A's use ended: closed true");
    // The container: .NET's message for an async-only service under a sync dispose.
    assert_says(
        &tour,
        "type only implements AsyncDispose. Use dispose_async to dispose the container.",
    );
    // The leak detector names the forgotten resource and where it was created.
    assert_says(
        &tour,
        "dropped without dispose, created at crates/janitor/examples/tour/",
    );
}
