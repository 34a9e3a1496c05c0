//! The shutdown policy. Shutdown is once per process, so each scenario runs in a child process
//! (this test binary, re-run with an environment variable naming the scenario) and reports what
//! its finalizers saw on its standard output.

use janitor::gc::{
    Finalize, Gc, GcCell, ShutdownPolicy, Trace, has_shutdown_started, shutdown_guard,
};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

const SCENARIO: &str = "JANITOR_SHUTDOWN_SCENARIO";

#[derive(Trace)]
#[trace(finalize)]
struct Reporter {
    cycle: GcCell<Option<Gc<Reporter>>>,
    #[trace(skip)]
    name: &'static str,
}

impl Finalize for Reporter {
    fn finalize(this: &Gc<Self>) {
        println!(
            "finalized {} shutdown_started={}",
            this.name,
            has_shutdown_started()
        );
    }
}

/// Blocks its finalizer until the gate opens, then reports whether shutdown had started.
#[derive(Trace)]
#[trace(finalize)]
struct Gatekeeper {
    #[trace(skip)]
    gate: Arc<(Mutex<bool>, Condvar)>,
    #[trace(skip)]
    started: Mutex<Sender<()>>,
    #[trace(skip)]
    report: Mutex<Sender<bool>>,
}

impl Finalize for Gatekeeper {
    fn finalize(this: &Gc<Self>) {
        this.started.lock().unwrap().send(()).unwrap();
        let (open, changed) = &*this.gate;
        let mut open = open.lock().unwrap();
        while !*open {
            open = changed.wait(open).unwrap();
        }
        this.report
            .lock()
            .unwrap()
            .send(has_shutdown_started())
            .unwrap();
    }
}

fn run_child(scenario: &str) -> String {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", scenario, "--nocapture", "--test-threads=1"])
        .env(SCENARIO, scenario)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs the scenario in a child process that must exit within `limit`; a child still running then
/// is killed and the test fails.
fn run_child_within(scenario: &str, limit: Duration) -> String {
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", scenario, "--nocapture", "--test-threads=1"])
        .env(SCENARIO, scenario)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the process did not end within {limit:?}: shutdown waited for a finalizer");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn in_child(scenario: &str) -> bool {
    std::env::var(SCENARIO).is_ok_and(|value| value == scenario)
}

#[test]
fn run_finalizers_finalizes_pending_garbage_with_shutdown_started() {
    const NAME: &str = "run_finalizers_finalizes_pending_garbage_with_shutdown_started";
    if in_child(NAME) {
        let guard = shutdown_guard(ShutdownPolicy::RunFinalizers);
        let cycle = Gc::new(Reporter {
            cycle: GcCell::new(None),
            name: "cycle",
        });
        *cycle.cycle.borrow_mut() = Some(cycle.clone());
        drop(cycle); // garbage, found only by the shutdown's collection
        assert!(!has_shutdown_started());
        drop(guard);
        assert!(has_shutdown_started());
        return;
    }
    let stdout = run_child(NAME);
    assert!(
        stdout.contains("finalized cycle shutdown_started=true"),
        "{stdout}"
    );
}

#[test]
fn skip_finalizers_stops_the_thread_after_the_running_finalizer() {
    const NAME: &str = "skip_finalizers_stops_the_thread_after_the_running_finalizer";
    if in_child(NAME) {
        let guard = shutdown_guard(ShutdownPolicy::SkipFinalizers);
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let (report, reported) = channel();
        let (started, has_started) = channel();
        drop(Gc::new(Gatekeeper {
            gate: gate.clone(),
            started: Mutex::new(started),
            report: Mutex::new(report),
        }));
        janitor::gc::collect(); // hands the dropped object to the finalizer thread
        has_started.recv().unwrap();
        drop(Gc::new(Reporter {
            cycle: GcCell::new(None),
            name: "queued behind",
        }));
        drop(guard);
        *gate.0.lock().unwrap() = true;
        gate.1.notify_all();
        assert!(
            reported.recv().unwrap(),
            "the running finalizer saw shutdown"
        );
        janitor::gc::wait_for_pending_finalizers(); // returns: the thread is stopped
        return;
    }
    let stdout = run_child(NAME);
    assert!(!stdout.contains("finalized queued behind"), "{stdout}");
}

/// Blocks the finalizer thread for ever: its finalizer waits on a channel nobody sends on.
#[derive(Trace)]
#[trace(finalize)]
struct Expensive {
    #[trace(skip)]
    started: Mutex<Sender<()>>,
    #[trace(skip)]
    never: Mutex<Receiver<()>>,
}

impl Finalize for Expensive {
    fn finalize(this: &Gc<Self>) {
        this.started.lock().unwrap().send(()).unwrap();
        let _ = this.never.lock().unwrap().recv();
    }
}

/// .NET's `ExpensiveFinalizerDoesNotBlockShutdown`: under `SkipFinalizers` the end of the program
/// does not wait for a finalizer that is still running; the guard's drop returns, waiting for
/// pending finalizers returns, and the process exits with the finalizer thread blocked.
#[test]
fn an_expensive_finalizer_does_not_block_shutdown() {
    const NAME: &str = "an_expensive_finalizer_does_not_block_shutdown";
    if in_child(NAME) {
        let guard = shutdown_guard(ShutdownPolicy::SkipFinalizers);
        let (started, has_started) = channel();
        let (never_sent, never) = channel();
        drop(Gc::new(Expensive {
            started: Mutex::new(started),
            never: Mutex::new(never),
        }));
        janitor::gc::collect(); // hands the dropped object to the finalizer thread
        has_started.recv().unwrap();
        drop(guard);
        janitor::gc::wait_for_pending_finalizers();
        println!("shutdown done");
        // The sender lives until the process ends, so the finalizer never returns.
        std::mem::forget(never_sent);
        return;
    }
    let stdout = run_child_within(NAME, Duration::from_secs(60));
    assert!(stdout.contains("shutdown done"), "{stdout}");
}
