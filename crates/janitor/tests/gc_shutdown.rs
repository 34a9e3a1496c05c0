//! The shutdown policy. Shutdown is once per process, so each scenario runs in a child process
//! (this test binary, re-run with an environment variable naming the scenario) and reports what
//! its finalizers saw on its standard output.

use janitor::gc::{
    Finalize, Gc, GcCell, ShutdownPolicy, Trace, has_shutdown_started, shutdown_guard,
};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Condvar, Mutex};

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
