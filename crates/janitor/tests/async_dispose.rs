//! AsyncDispose, using_async and AsyncDisposeStack, driven by pollster (the library has no
//! executor).

mod support;

use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};

use janitor::dispose::{AsyncDispose, AsyncDisposeStack, DynAsyncDispose, using_async};
use janitor::{DisposeFlag, ObjectDisposed};
use pollster::block_on;
use support::{Journal, Resource, capture_logs, panic_text};
use tracing::Level;

/// A resource whose release yields to the executor once before it completes, as real I/O would.
struct Uplink {
    name: &'static str,
    disposed: DisposeFlag,
    journal: Journal,
}

impl Uplink {
    fn new(name: &'static str, journal: &Journal) -> Self {
        Self {
            name,
            disposed: DisposeFlag::new(),
            journal: journal.clone(),
        }
    }

    fn send(&self) -> Result<(), ObjectDisposed> {
        self.disposed.check::<Self>()
    }
}

impl AsyncDispose for Uplink {
    async fn dispose_async(&self) {
        if self.disposed.try_begin() {
            yield_once().await;
            self.journal.write(format!("async dispose {}", self.name));
        }
    }
}

/// A future that is pending on its first poll (waking itself) and ready on the second.
async fn yield_once() {
    let mut yielded = false;
    std::future::poll_fn(|context| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            context.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}

fn fail(message: &'static str) {
    panic!("{message}");
}

#[test]
fn a_second_async_dispose_does_nothing() {
    let journal = Journal::default();
    let uplink = Uplink::new("uplink", &journal);
    block_on(uplink.dispose_async());
    block_on(uplink.dispose_async());
    assert_eq!(journal.entries(), ["async dispose uplink"]);
    assert!(uplink.send().is_err());
}

#[test]
fn using_async_disposes_after_the_body_and_returns_its_value() {
    let journal = Journal::default();
    let uplink = Uplink::new("uplink", &journal);
    let sent = block_on(using_async(&uplink, async |uplink| {
        yield_once().await;
        journal.write("body");
        uplink.send()
    }));
    assert_eq!(sent, Ok(()));
    assert_eq!(journal.entries(), ["body", "async dispose uplink"]);
}

#[test]
fn using_async_disposes_on_an_early_return() {
    async fn send_twice(uplink: &Uplink, journal: &Journal) -> Result<(), &'static str> {
        using_async(uplink, async |uplink| {
            uplink.send().map_err(|_| "disposed")?;
            journal.write("returning early");
            Err("remote closed")
        })
        .await
    }
    let journal = Journal::default();
    let uplink = Uplink::new("uplink", &journal);
    assert_eq!(
        block_on(send_twice(&uplink, &journal)),
        Err("remote closed")
    );
    assert_eq!(
        journal.entries(),
        ["returning early", "async dispose uplink"]
    );
}

#[test]
fn using_async_disposes_when_the_body_panics_and_the_panic_goes_on() {
    let journal = Journal::default();
    let uplink = Uplink::new("uplink", &journal);
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        block_on(using_async(&uplink, async |_| {
            yield_once().await;
            fail("body failed");
        }))
    }));
    assert_eq!(panic_text(&*outcome.unwrap_err()), "body failed");
    assert_eq!(journal.entries(), ["async dispose uplink"]);
}

#[test]
fn none_is_not_disposed_asynchronously_and_some_is() {
    let journal = Journal::default();
    block_on(None::<Uplink>.dispose_async());
    block_on(Some(Uplink::new("inner", &journal)).dispose_async());
    assert_eq!(journal.entries(), ["async dispose inner"]);
}

#[test]
fn type_erased_disposables_dispose_through_dyn() {
    let journal = Journal::default();
    let services: Vec<Arc<dyn DynAsyncDispose>> = vec![
        Arc::new(Uplink::new("a", &journal)),
        Arc::new(Uplink::new("b", &journal)),
    ];
    for service in services.iter().rev() {
        block_on(service.dispose_async());
    }
    let boxed: Box<dyn DynAsyncDispose> = Box::new(Uplink::new("boxed", &journal));
    block_on(using_async(boxed, async |_| ()));
    assert_eq!(
        journal.entries(),
        ["async dispose b", "async dispose a", "async dispose boxed"]
    );
}

#[test]
fn async_stack_entries_sync_and_async_run_last_registered_first() {
    let journal = Journal::default();
    let stack = AsyncDisposeStack::new();
    stack.push(Resource::new("sync pushed", &journal)).unwrap();
    stack
        .push_async(Uplink::new("async pushed", &journal))
        .unwrap();
    stack
        .adopt("sync adopted", |name| journal.write(name))
        .unwrap();
    stack
        .adopt_async("async adopted", async |name| {
            yield_once().await;
            journal.write(name);
        })
        .unwrap();
    stack.defer(|| journal.write("sync deferred")).unwrap();
    stack
        .defer_async(async || journal.write("async deferred"))
        .unwrap();
    block_on(stack.try_dispose_async()).unwrap();
    assert_eq!(
        journal.entries(),
        [
            "async deferred",
            "sync deferred",
            "async adopted",
            "sync adopted",
            "async dispose async pushed",
            "dispose sync pushed",
        ]
    );
}

#[test]
fn an_async_entry_finishes_before_the_one_registered_before_it_starts() {
    let journal = Journal::default();
    let stack = AsyncDisposeStack::new();
    stack
        .defer(|| journal.write("earlier entry starts"))
        .unwrap();
    stack
        .defer_async(async || {
            journal.write("later entry starts");
            yield_once().await;
            journal.write("later entry ends");
        })
        .unwrap();
    block_on(stack.try_dispose_async()).unwrap();
    assert_eq!(
        journal.entries(),
        [
            "later entry starts",
            "later entry ends",
            "earlier entry starts"
        ]
    );
}

#[test]
fn a_panicking_async_entry_in_the_middle_does_not_stop_the_others() {
    let journal = Journal::default();
    let stack = AsyncDisposeStack::new();
    stack.defer(|| journal.write("first")).unwrap();
    stack
        .defer_async(async || {
            yield_once().await;
            fail("the middle entry panicked");
        })
        .unwrap();
    stack.defer_async(async || journal.write("last")).unwrap();
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| block_on(stack.dispose_async())));
    assert_eq!(
        panic_text(&*outcome.unwrap_err()),
        "the middle entry panicked"
    );
    assert_eq!(journal.entries(), ["last", "first"]);
}

#[test]
fn async_stack_errors_are_chained_latest_failure_first() {
    let stack = AsyncDisposeStack::new();
    stack
        .defer(|| Err::<(), _>("sync, registered first"))
        .unwrap();
    stack
        .defer_async(async || Err::<(), _>("async, registered second"))
        .unwrap();
    let error = block_on(stack.try_dispose_async()).unwrap_err();
    let met: Vec<String> = error.errors().map(|error| error.to_string()).collect();
    assert_eq!(met, ["sync, registered first", "async, registered second"]);
}

#[test]
fn a_second_async_stack_dispose_runs_nothing() {
    let runs = AtomicUsize::new(0);
    let stack = AsyncDisposeStack::new();
    stack
        .defer_async(async || {
            runs.fetch_add(1, Ordering::Relaxed);
        })
        .unwrap();
    block_on(stack.try_dispose_async()).unwrap();
    block_on(stack.try_dispose_async()).unwrap();
    assert_eq!(runs.load(Ordering::Relaxed), 1);
    assert!(stack.is_disposed());
}

#[test]
fn registering_on_a_disposed_async_stack_is_object_disposed() {
    let journal = Journal::default();
    let stack = AsyncDisposeStack::new();
    block_on(stack.try_dispose_async()).unwrap();
    let (outcomes, logged) = capture_logs(|| {
        [
            stack.push(Resource::new("sync late", &journal)).map(drop),
            stack
                .push_async(Uplink::new("async late", &journal))
                .map(drop),
            stack.defer(|| journal.write("sync deferred")),
            stack.defer_async(async || journal.write("async deferred")),
            stack.take().map(drop),
        ]
    });
    assert!(outcomes.iter().all(Result::is_err));
    // Sync cleanups run at once; async ones cannot be awaited there and are reported.
    assert_eq!(journal.entries(), ["dispose sync late", "sync deferred"]);
    let warnings = logged
        .iter()
        .filter(|event| event.level == Level::WARN)
        .count();
    assert_eq!(warnings, 2);
}

#[test]
fn take_moves_every_async_entry_to_a_new_stack() {
    let journal = Journal::default();
    let building = AsyncDisposeStack::new();
    building
        .push_async(Uplink::new("uplink", &journal))
        .unwrap();
    let owner = building.take().unwrap();
    assert!(building.is_disposed());
    block_on(building.try_dispose_async()).unwrap();
    assert!(journal.entries().is_empty());
    block_on(owner.try_dispose_async()).unwrap();
    assert_eq!(journal.entries(), ["async dispose uplink"]);
}

#[test]
fn dropping_an_undisposed_async_stack_runs_nothing_and_says_so() {
    let journal = Journal::default();
    let ((), logged) = capture_logs(|| {
        let stack = AsyncDisposeStack::new();
        stack.defer(|| journal.write("never")).unwrap();
        stack
            .defer_async(async || journal.write("never either"))
            .unwrap();
    });
    assert!(journal.entries().is_empty());
    assert!(
        logged
            .iter()
            .any(|event| event.level == Level::WARN && event.fields.contains("abandoned=2"))
    );
}

#[test]
fn a_dispose_future_dropped_midway_reports_the_entries_it_abandoned() {
    let journal = Journal::default();
    let stack = AsyncDisposeStack::new();
    stack.defer(|| journal.write("abandoned a")).unwrap();
    stack.defer(|| journal.write("abandoned b")).unwrap();
    stack
        .defer_async(async || {
            journal.write("started");
            yield_once().await;
            journal.write("never finished");
        })
        .unwrap();
    let ((), logged) = capture_logs(|| {
        let mut dispose = pin!(stack.dispose_async());
        let mut context = Context::from_waker(Waker::noop());
        assert!(dispose.as_mut().poll(&mut context).is_pending());
    });
    assert_eq!(journal.entries(), ["started"]);
    assert!(stack.is_disposed());
    assert!(
        logged
            .iter()
            .any(|event| event.level == Level::WARN && event.fields.contains("abandoned=2"))
    );
}

#[test]
fn an_async_stack_is_send_and_sync_and_its_dispose_future_is_send() {
    fn assert_send_sync<T: Send + Sync>(_: &T) {}
    fn assert_send<T: Send>(_: T) {}
    let stack = AsyncDisposeStack::new();
    assert_send_sync(&stack);
    assert_send(stack.dispose_async());
}

#[test]
fn an_async_stack_inside_an_async_stack_is_disposed_with_it() {
    let journal = Journal::default();
    let outer = AsyncDisposeStack::new();
    outer.push_async(Uplink::new("outer", &journal)).unwrap();
    let inner = outer.push_async(AsyncDisposeStack::new()).unwrap();
    inner.push_async(Uplink::new("inner", &journal)).unwrap();
    block_on(outer.try_dispose_async()).unwrap();
    assert_eq!(
        journal.entries(),
        ["async dispose inner", "async dispose outer"]
    );
}
