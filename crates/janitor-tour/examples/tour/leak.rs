//! Leak diagnostics (scene 11): a forgotten handle reported with its type and place of creation,
//! a leaked resource of one's own with its last uses, counted, and sampling at the default level.

use crate::timeline::Timeline;
use janitor::handle::{NativeMemory, SafeFile};
use janitor::leak::{self, LeakLevel, LeakReport, LeakTracker};
use janitor::{Dispose, DisposeFlag};
use std::thread;

pub fn run(tour: &mut Timeline) {
    tour.scene("A leak report names the forgotten resource and where it was created");
    tour.dotnet(
        "A SafeFileHandle nobody disposed is released by its finalizer at some later GC, on the \
         finalizer thread, silently: nothing says which code forgot Dispose.",
    );
    let level = leak::level();
    leak::set_level(LeakLevel::Full);
    forgotten_handle_is_named(tour);
    leaked_connections_with_their_uses(tour);
    leak::set_level(LeakLevel::DEFAULT);
    sampled_by_default(tour);
    leak::set_level(level);
}

fn sampled_by_default(tour: &mut Timeline) {
    tour.step("At the default level, one forgotten buffer in 128 is tracked, and reported");
    tour.dotnet(
        "Nothing is tracked: each buffer's finalizer frees it at some later GC and names no one.",
    );
    tour.event(format!(
        "leak::level() -> {} (each thread tracks its 128th creation, then every 128th)",
        leak::level()
    ));
    thread::spawn(|| {
        for _ in 0..1000 {
            drop(NativeMemory::alloc(64).expect("64 bytes"));
        }
    })
    .join()
    .expect("the allocating thread");
    tour.event("a thread allocates 1,000 native buffers and forgets to dispose every one");
    for report in leak::take_reports() {
        show(tour, &report);
    }
}

fn forgotten_handle_is_named(tour: &mut Timeline) {
    tour.step("A forgotten SafeFile is reported: its type and the place it was created");
    let (reader, _writer) = rustix::pipe::pipe().expect("pipe");
    let disposed = SafeFile::from(reader);
    disposed.dispose();
    drop(disposed);
    tour.event("level Full; a SafeFile disposed, then dropped: no report");
    let (reader, _writer) = rustix::pipe::pipe().expect("pipe");
    let forgotten = SafeFile::from(reader);
    drop(forgotten);
    tour.event("another SafeFile dropped without dispose: released now, and reported");
    for report in leak::take_reports() {
        show(tour, &report);
    }
}

/// A resource of the tour's own, written the way the leak detector asks.
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

    #[track_caller] // the recorded use is the caller's place
    fn send(&self, request: &str) {
        self.tracker.record_with(format_args!("send {request:?}"));
    }
}

impl Dispose for Connection {
    fn dispose(&self) {
        if self.disposed.try_begin() {
            self.tracker.close();
        }
    }
}

fn leaked_connections_with_their_uses(tour: &mut Timeline) {
    tour.step("Three connections leak from one place: one report, counted, with the last uses");
    tour.dotnet(
        "No equivalent: each leaked object is finalized on its own, if it has a finalizer at all.",
    );
    for request in ["GET /a", "GET /b", "GET /c"] {
        let connection = Connection::open();
        connection.send(request);
        connection.send("QUIT");
    }
    tour.event("three connections opened, used and dropped in a loop, none disposed");
    for report in leak::take_reports() {
        show(tour, &report);
    }
}

/// One report as `tracing` receives it, without the creation backtrace (it is in the report, but
/// long).
fn show(tour: &mut Timeline, report: &LeakReport) {
    let text = report.to_string();
    let without_backtrace = text.split("\n  created:").next().unwrap_or(&text);
    tour.event(format!("leak::take_reports() -> {without_backtrace}"));
}
