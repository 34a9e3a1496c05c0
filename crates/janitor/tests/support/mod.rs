//! Helpers shared by the integration tests: a recording resource, a `tracing` capture, and a way
//! to see that another thread is parked.

#![allow(dead_code)] // each test file uses its own subset of these helpers

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::sync::{Arc, Mutex, Once};

use janitor::{Dispose, DisposeFlag, ObjectDisposed};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber, span};

/// A shared, ordered record of what happened.
#[derive(Clone, Default)]
pub struct Journal(Arc<Mutex<Vec<String>>>);

impl Journal {
    pub fn write(&self, entry: impl Into<String>) {
        self.0.lock().unwrap().push(entry.into());
    }

    pub fn entries(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

/// A resource that writes `dispose <name>` to a journal, once.
pub struct Resource {
    pub name: &'static str,
    pub disposed: DisposeFlag,
    journal: Journal,
}

impl Resource {
    pub fn new(name: &'static str, journal: &Journal) -> Self {
        Self {
            name,
            disposed: DisposeFlag::new(),
            journal: journal.clone(),
        }
    }

    pub fn read(&self) -> Result<&'static str, ObjectDisposed> {
        self.disposed.check::<Self>()?;
        Ok(self.name)
    }
}

impl Dispose for Resource {
    fn dispose(&self) {
        if self.disposed.try_begin() {
            self.journal.write(format!("dispose {}", self.name));
        }
    }
}

/// One `tracing` event: its level and its fields, `name=value` separated by spaces.
#[derive(Debug, Clone)]
pub struct Logged {
    pub level: Level,
    pub fields: String,
}

thread_local! {
    /// The events of this thread, while a `capture_logs` body runs on it.
    static CAPTURED: RefCell<Option<Vec<Logged>>> = const { RefCell::new(None) };
}

/// The process-wide subscriber of a test binary: it keeps the events of threads that are inside
/// `capture_logs`, and drops the rest. One global subscriber, installed before the first capture,
/// rather than a scoped one per capture: `tracing` caches each callsite's interest, and a callsite
/// first reached by another thread while no subscriber was set would be cached as "never", so a
/// scoped subscriber could miss it (a flaky test, seen).
struct Capture;

struct FieldText<'a>(&'a mut String);

impl Visit for FieldText<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        write!(self.0, "{}={:?} ", field.name(), value).unwrap();
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
        span::Id::from_u64(1)
    }

    fn record(&self, _: &span::Id, _: &span::Record<'_>) {}

    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}

    fn event(&self, event: &Event<'_>) {
        let logged = || {
            let mut fields = String::new();
            event.record(&mut FieldText(&mut fields));
            Logged {
                level: *event.metadata().level(),
                fields,
            }
        };
        if is_a_janitor_thread() {
            JANITOR_THREADS.lock().unwrap().push(logged());
            return;
        }
        CAPTURED.with(|captured| {
            if let Some(captured) = captured.borrow_mut().as_mut() {
                captured.push(logged());
            }
        });
    }

    fn enter(&self, _: &span::Id) {}

    fn exit(&self, _: &span::Id) {}
}

/// Every event logged on janitor's own threads (`janitor-collector`, `janitor-reclaimer`, the
/// finalizer thread) since the subscriber was installed: they belong to no test's thread.
static JANITOR_THREADS: Mutex<Vec<Logged>> = Mutex::new(Vec::new());

fn is_a_janitor_thread() -> bool {
    std::thread::current()
        .name()
        .is_some_and(|name| name.starts_with("janitor-"))
}

fn install_the_subscriber() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        tracing::subscriber::set_global_default(Capture)
            .expect("no other global subscriber in the integration tests");
    });
}

/// Runs `body` with every `tracing` event of this thread captured, and returns them with its result.
pub fn capture_logs<R>(body: impl FnOnce() -> R) -> (R, Vec<Logged>) {
    install_the_subscriber();
    CAPTURED.with(|captured| *captured.borrow_mut() = Some(Vec::new()));
    let result = body();
    let logged = CAPTURED.with(|captured| captured.borrow_mut().take().unwrap_or_default());
    (result, logged)
}

/// As [`capture_logs`], plus the events janitor's own threads logged while `body` ran (for
/// whatever thread's sake: in a binary whose tests run in parallel, other tests' too).
pub fn capture_logs_with_janitor_threads<R>(body: impl FnOnce() -> R) -> (R, Vec<Logged>) {
    install_the_subscriber();
    let start = JANITOR_THREADS.lock().unwrap().len();
    let (result, mut logged) = capture_logs(body);
    logged.extend(JANITOR_THREADS.lock().unwrap()[start..].iter().cloned());
    (result, logged)
}

/// The message of a caught panic.
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|text| text.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

/// Whether the thread `tid` of this process is asleep (state `S` in `/proc`): parked on a lock or
/// a condition variable, or blocked in a system call.
pub fn is_asleep(tid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/self/task/{tid}/stat"))
        .ok()
        .and_then(|stat| {
            // The state follows the command name, which is in parentheses.
            let after_name = &stat[stat.rfind(')')? + 1..];
            after_name
                .split_whitespace()
                .next()
                .map(|state| state == "S")
        })
        .unwrap_or(false)
}

/// Yields until `tid` has been seen asleep `times` times in a row, or panics after a minute.
/// Tests use it to let another thread reach the wait they mean to race; seen too early, a test
/// can only miss a bug, never fail on correct code.
pub fn until_asleep(tid: i32, times: usize) {
    let started = std::time::Instant::now();
    let mut seen = 0;
    while seen < times {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "thread {tid} never slept"
        );
        seen = if is_asleep(tid) { seen + 1 } else { 0 };
        std::thread::yield_now();
    }
}

/// The calling thread's id, as `/proc` names it.
pub fn current_tid() -> i32 {
    rustix::thread::gettid().as_raw_nonzero().get()
}

/// The value of field `name` in a captured event (`name=value` separated by spaces).
pub fn field<'a>(event: &'a Logged, name: &str) -> Option<&'a str> {
    let prefix = format!("{name}=");
    event
        .fields
        .split(' ')
        .find_map(|pair| pair.strip_prefix(prefix.as_str()))
}

pub fn number(event: &Logged, name: &str) -> u64 {
    field(event, name)
        .unwrap_or_else(|| panic!("the event has no field {name}: {}", event.fields))
        .parse()
        .unwrap_or_else(|_| panic!("field {name} is not a number: {}", event.fields))
}

pub fn collection_events(logged: &[Logged]) -> Vec<&Logged> {
    logged
        .iter()
        .filter(|event| event.fields.starts_with("message=janitor: collection "))
        .collect()
}

/// A one-way gate between two threads of a test: closed until opened, then open for good.
pub struct Gate(Mutex<bool>, std::sync::Condvar);

impl Gate {
    pub const fn new() -> Gate {
        Gate(Mutex::new(false), std::sync::Condvar::new())
    }

    pub fn open(&self) {
        *self.0.lock().unwrap() = true;
        self.1.notify_all();
    }

    /// Blocks until the gate is open.
    pub fn wait(&self) {
        let mut open = self.0.lock().unwrap();
        while !*open {
            open = self.1.wait(open).unwrap();
        }
    }
}

/// Holds this test binary's one lock, so that the tests which take it run one at a time: tests
/// that read the one global heap's counts, or need its collector or finalizer thread to
/// themselves. A test that panicked while holding it leaves it usable.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
