//! Dispose (scene 4): idempotent disposal and ObjectDisposed, `using` on every exit, cascading
//! disposal, and the dispose stacks with their failures and async forms.

use crate::timeline::Timeline;
use janitor::dispose::{AsyncDispose, AsyncDisposeStack, DisposeStack, using};
use janitor::{Dispose, DisposeFlag, ObjectDisposed};
use std::sync::{Arc, Mutex};

struct Widget {
    name: &'static str,
    disposed: DisposeFlag,
}

impl Widget {
    fn draw(&self) -> Result<&'static str, ObjectDisposed> {
        self.disposed.check::<Self>()?;
        Ok(self.name)
    }
}

impl Dispose for Widget {
    fn dispose(&self) {
        if self.disposed.try_begin() {
            println!(
                "            (widget '{}' releases its resources)",
                self.name
            );
        }
    }
}

/// What the scenes' resources did, in order, replayed as timeline events.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    fn write(&self, line: impl Into<String>) {
        self.0.lock().unwrap().push(line.into());
    }

    /// Moves what happened since the last replay onto the timeline.
    fn replay(&self, tour: &mut Timeline) {
        for line in self.0.lock().unwrap().drain(..) {
            tour.event(line);
        }
    }
}

/// A resource that logs its release.
struct Resource {
    name: &'static str,
    disposed: DisposeFlag,
    log: Log,
}

impl Resource {
    fn open(name: &'static str, log: &Log) -> Self {
        log.write(format!("open {name}"));
        Self {
            name,
            disposed: DisposeFlag::new(),
            log: log.clone(),
        }
    }
}

impl Dispose for Resource {
    fn dispose(&self) {
        if self.disposed.try_begin() {
            self.log.write(format!("dispose {}", self.name));
        }
    }
}

pub fn run(tour: &mut Timeline) {
    tour.scene("Dispose, using, ObjectDisposed, cascade dispose");
    tour.dotnet(
        "IDisposable.Dispose() releases what an object holds, deterministically, once; the GC \
         never calls it. using calls it on every exit; a container disposes what it owns.",
    );
    idempotent_dispose(tour);
    using_on_every_exit(tour);
    cascading_to_owned_not_borrowed(tour);
    building_in_steps(tour);
    failures_are_chained(tour);
    async_disposal(tour);
}

fn idempotent_dispose(tour: &mut Timeline) {
    tour.step("Dispose is idempotent; use after dispose is ObjectDisposed");
    tour.dotnet("Dispose() may be called many times; only the first does work. Later use throws ObjectDisposedException.");
    let widget = Widget {
        name: "toolbar",
        disposed: DisposeFlag::new(),
    };
    tour.event(format!("widget.draw() -> {:?}", widget.draw()));
    tour.event("widget.dispose(), first call:");
    widget.dispose();
    tour.event("widget.dispose(), second call: nothing happens");
    widget.dispose();
    match widget.draw() {
        Ok(_) => tour.event("widget.draw() after dispose unexpectedly succeeded"),
        Err(error) => tour.event(format!("widget.draw() after dispose -> Err: {error}")),
    }
}

fn using_on_every_exit(tour: &mut Timeline) {
    tour.step("using disposes on every exit: early return and panic");
    tour.dotnet("using (var r = ...) { ... } is try/finally: Dispose runs on return and when an exception escapes.");
    let log = Log::default();

    let read_header = |fail: bool| -> Result<&'static str, String> {
        using(Resource::open("config file", &log), |_file| {
            if fail {
                log.write("header is corrupt: return early with Err");
                return Err("corrupt header".to_owned());
            }
            Ok("v2")
        })
    };
    let outcome = read_header(true);
    log.write(format!("read_header returned {outcome:?}"));

    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let outcome = std::panic::catch_unwind(|| {
        using(Resource::open("socket", &log), |_socket| {
            log.write("the body panics");
            panic!("protocol violation");
        })
    });
    std::panic::set_hook(previous_hook);
    let message = outcome
        .err()
        .and_then(|payload| payload.downcast_ref::<&str>().map(|text| text.to_string()));
    log.write(format!(
        "catch_unwind caught the panic {message:?}, after the socket was disposed"
    ));
    log.replay(tour);
}

#[derive(Dispose)]
struct Editor {
    disposed: DisposeFlag,
    #[dispose]
    document: Resource,
    #[dispose]
    undo_history: Resource,
    /// Shared with every editor: borrowed, so not disposed with this one.
    spell_checker: Arc<Resource>,
}

fn cascading_to_owned_not_borrowed(tour: &mut Timeline) {
    tour.step("A container disposes what it owns, not what it borrows: #[derive(Dispose)]");
    tour.dotnet(
        "A type's Dispose must dispose the disposable fields it owns (analyzer CA2213), in reverse \
         order of creation, and leave alone the ones it was given.",
    );
    let log = Log::default();
    let spell_checker = Arc::new(Resource::open("spell checker (shared)", &log));
    let editor = Editor {
        disposed: DisposeFlag::new(),
        document: Resource::open("document", &log),
        undo_history: Resource::open("undo history", &log),
        spell_checker: Arc::clone(&spell_checker),
    };
    log.write("editor.dispose():");
    editor.dispose();
    log.write("editor.dispose() again: nothing happens");
    editor.dispose();
    log.write(format!(
        "the shared spell checker is still live: {}",
        !editor.spell_checker.disposed.is_disposed()
    ));
    log.replay(tour);
}

/// A service built from three resources; a failure while building releases what was built.
struct Service {
    resources: DisposeStack<'static>,
}

impl Service {
    fn build(log: &Log, fail_at: Option<&'static str>) -> Result<Self, String> {
        let building = DisposeStack::new();
        for name in ["log file", "database connection", "listening socket"] {
            if fail_at == Some(name) {
                log.write(format!(
                    "opening {name} fails: return Err, the stack is dropped"
                ));
                return Err(format!("cannot open {name}"));
            }
            building
                .push(Resource::open(name, log))
                .expect("the building stack is live");
        }
        log.write("all built: building.take() hands everything to the service");
        Ok(Self {
            resources: building.take().expect("the building stack is live"),
        })
    }
}

fn building_in_steps(tour: &mut Timeline) {
    tour.step("Building in steps: a failing step releases what was built so far (DisposeStack)");
    tour.dotnet(
        "JS: using stack = new DisposableStack(); stack.use(a); stack.use(b); ...; this.#res = stack.move(). \
         C#: try { ... } catch { dispose what was built; throw; }",
    );
    let log = Log::default();
    let failed = Service::build(&log, Some("listening socket"));
    log.write(format!("Service::build -> {:?}", failed.err()));
    let service = Service::build(&log, None).expect("nothing fails this time");
    log.write("service.resources.dispose():");
    service.resources.try_dispose().expect("no entry fails");
    log.write(format!(
        "using the stack after dispose: {}",
        service
            .resources
            .defer(|| ())
            .map_or_else(|error| error.to_string(), |()| "accepted".into())
    ));
    log.replay(tour);
}

fn failures_are_chained(tour: &mut Timeline) {
    tour.step(
        "Every entry runs; failures are chained, the latest wrapping the earlier (SuppressedError)",
    );
    tour.dotnet(
        "JS: DisposableStack.dispose() runs every disposer; errors become SuppressedError(error, suppressed). \
         .NET's container: all disposed, several failures -> AggregateException.",
    );
    let log = Log::default();
    let stack = DisposeStack::new();
    stack
        .push(Resource::open("cache", &log))
        .expect("live stack");
    stack
        .defer(|| Err::<(), _>("flush of the journal failed"))
        .expect("live stack");
    stack
        .push(Resource::open("lock file", &log))
        .expect("live stack");
    stack
        .defer(|| Err::<(), _>("remote refused the goodbye"))
        .expect("live stack");
    let error = stack.try_dispose().expect_err("two entries fail");
    log.write(format!("dispose() -> Err: {error}"));
    let mut source = std::error::Error::source(&error);
    while let Some(earlier) = source {
        log.write(format!("  caused by: {earlier}"));
        source = earlier.source();
    }
    log.replay(tour);
}

/// A stream whose release is asynchronous (a goodbye handshake).
struct Stream {
    disposed: DisposeFlag,
    log: Log,
}

impl AsyncDispose for Stream {
    async fn dispose_async(&self) {
        if self.disposed.try_begin() {
            self.log.write("stream: goodbye handshake awaited");
        }
    }
}

fn async_disposal(tour: &mut Timeline) {
    tour.step("Async disposal: AsyncDisposeStack mixes sync and async entries");
    tour.dotnet("await using / AsyncDisposableStack: DisposeAsync is awaited, in reverse order, each before the next.");
    let log = Log::default();
    let stack = AsyncDisposeStack::new();
    stack
        .push(Resource::open("temporary file", &log))
        .expect("live stack");
    stack
        .push_async(Stream {
            disposed: DisposeFlag::new(),
            log: log.clone(),
        })
        .expect("live stack");
    stack
        .defer_async(async || log.write("metrics flushed (async defer)"))
        .expect("live stack");
    log.write("pollster::block_on(stack.dispose_async()):");
    pollster::block_on(stack.try_dispose_async()).expect("no entry fails");
    log.replay(tour);
}
