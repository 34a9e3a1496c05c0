//! .NET's SafeHandle scenarios, on a handle kind that counts its releases.

use janitor::handle::{HandleKind, SafeHandle};
use janitor::{Dispose, ObjectDisposed};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};

/// A test resource: how often it was released, and whether releasing it fails.
#[derive(Debug)]
struct Resource {
    releases: AtomicUsize,
    release_fails: bool,
}

/// The raw value of the counting kind: a resource, or none (invalid).
#[derive(Debug, Clone, Copy)]
struct Raw(Option<&'static Resource>);

impl PartialEq for Raw {
    fn eq(&self, other: &Self) -> bool {
        match (self.0, other.0) {
            (Some(left), Some(right)) => std::ptr::eq(left, right),
            (None, None) => true,
            _ => false,
        }
    }
}
impl Eq for Raw {}

/// A kind whose release counts, so tests can see how often (and whether) it ran.
struct Counting;

impl HandleKind for Counting {
    type Raw = Raw;

    fn is_invalid(raw: Raw) -> bool {
        raw.0.is_none()
    }

    unsafe fn release(raw: Raw) -> bool {
        let resource = raw.0.expect("an invalid handle is never released");
        resource.releases.fetch_add(1, Ordering::SeqCst);
        !resource.release_fails
    }
}

fn resource(release_fails: bool) -> &'static Resource {
    Box::leak(Box::new(Resource {
        releases: AtomicUsize::new(0),
        release_fails,
    }))
}

/// An owned handle to a fresh resource, and the resource, to count its releases.
fn owned() -> (SafeHandle<Counting>, &'static Resource) {
    let resource = resource(false);
    // SAFETY: the resource is the handle's alone to release.
    (
        unsafe { SafeHandle::from_raw_owned(Raw(Some(resource))) },
        resource,
    )
}

fn releases(resource: &Resource) -> usize {
    resource.releases.load(Ordering::SeqCst)
}

#[test]
fn invalid_handle_dispose_closes_without_release_and_twice_is_fine() {
    // SAFETY: an invalid value names nothing and is never released.
    let handle = unsafe { SafeHandle::<Counting>::from_raw_owned(Raw(None)) };
    assert!(handle.is_invalid());
    assert!(!handle.is_closed());
    handle.dispose();
    assert!(handle.is_closed());
    handle.dispose();
    assert!(handle.is_closed());
    assert!(handle.add_ref().is_err());
}

#[test]
fn valid_handle_is_released_once() {
    let (handle, resource) = owned();
    handle.dispose();
    assert_eq!(releases(resource), 1);
    handle.dispose();
    handle.close();
    drop(handle);
    assert_eq!(releases(resource), 1);
}

#[test]
fn set_handle_as_invalid_closes_and_never_releases() {
    let (handle, resource) = owned();
    let guard = handle.add_ref().unwrap();
    handle.set_handle_as_invalid();
    assert!(handle.is_closed());
    assert!(handle.add_ref().is_err(), "no use starts once closed");
    handle.dispose();
    drop(guard);
    drop(handle);
    assert_eq!(releases(resource), 0);
}

#[test]
fn add_ref_dispose_release_releases_at_that_last_release() {
    let (handle, resource) = owned();
    handle.dangerous_add_ref().unwrap();
    handle.dispose();
    assert_eq!(releases(resource), 0);
    assert!(!handle.is_closed());
    // SAFETY: matches the dangerous_add_ref above.
    unsafe { handle.dangerous_release() }.unwrap();
    assert_eq!(releases(resource), 1);
    assert!(handle.is_closed());
}

#[test]
fn dropping_the_last_guard_after_dispose_releases() {
    let (handle, resource) = owned();
    let first = handle.add_ref().unwrap();
    let second = handle.add_ref().unwrap();
    handle.dispose();
    drop(first);
    assert_eq!(releases(resource), 0);
    drop(second);
    assert_eq!(releases(resource), 1);
}

#[test]
fn a_use_may_start_after_dispose_while_another_is_in_flight() {
    let (handle, resource) = owned();
    let in_flight = handle.add_ref().unwrap();
    handle.dispose();
    let late = handle
        .add_ref()
        .expect("DangerousAddRef does not check Disposed");
    drop(in_flight);
    assert_eq!(releases(resource), 0);
    drop(late);
    assert_eq!(releases(resource), 1);
}

#[test]
fn dangerous_release_without_add_ref_is_object_disposed() {
    let (handle, resource) = owned();
    handle.dispose();
    // SAFETY: deliberately unmatched; with no count left the call is refused and changes nothing.
    let error: ObjectDisposed = unsafe { handle.dangerous_release() }.unwrap_err();
    assert!(error.object_name().contains("SafeHandle"));
    assert_eq!(releases(resource), 1);
}

#[test]
fn a_handle_that_does_not_own_its_value_is_never_released() {
    let resource = resource(false);
    // SAFETY: the resource outlives the handle (it is leaked); the handle does not own it.
    let handle = unsafe { SafeHandle::<Counting>::from_raw_borrowed(Raw(Some(resource))) };
    assert!(!handle.owns_handle());
    handle.dispose();
    assert!(handle.is_closed());
    drop(handle);
    assert_eq!(releases(resource), 0);
}

#[test]
fn dropping_without_dispose_releases_on_the_finalization_path() {
    let (handle, resource) = owned();
    let events = capture_events(|| drop(handle));
    assert_eq!(releases(resource), 1);
    assert!(
        events
            .iter()
            .any(|(level, message)| *level == tracing::Level::DEBUG
                && message.contains("dropped without dispose")),
        "the finalization path is announced: {events:?}"
    );
}

#[test]
fn dropping_after_dispose_is_not_a_forgotten_dispose() {
    let (handle, resource) = owned();
    handle.dispose();
    let events = capture_events(|| drop(handle));
    assert_eq!(releases(resource), 1);
    assert!(events.is_empty(), "{events:?}");
}

#[test]
fn dropping_after_set_handle_as_invalid_is_not_a_forgotten_dispose() {
    let (handle, resource) = owned();
    handle.set_handle_as_invalid();
    let events = capture_events(|| drop(handle));
    assert_eq!(releases(resource), 0);
    assert!(
        !events
            .iter()
            .any(|(_, message)| message.contains("dropped without dispose"))
    );
}

#[test]
fn dropping_with_an_unreleased_dangerous_add_ref_leaks_instead_of_releasing() {
    let (handle, resource) = owned();
    handle.dangerous_add_ref().unwrap();
    let events = capture_events(|| drop(handle));
    assert_eq!(releases(resource), 0, "someone may still use the raw value");
    assert!(events.iter().any(
        |(level, message)| *level == tracing::Level::WARN && message.contains("never released")
    ));
}

#[test]
fn a_failed_release_is_reported_as_a_warning_not_a_panic() {
    let resource = resource(true);
    // SAFETY: the resource is the handle's alone to release.
    let handle = unsafe { SafeHandle::<Counting>::from_raw_owned(Raw(Some(resource))) };
    let events = capture_events(|| handle.dispose());
    assert_eq!(releases(resource), 1);
    assert!(events.iter().any(
        |(level, message)| *level == tracing::Level::WARN && message.contains("release failed")
    ));
}

#[test]
fn uses_in_flight_counts_guards_but_not_creation() {
    let (handle, _resource) = owned();
    assert_eq!(handle.uses_in_flight(), 0);
    let guard = handle.add_ref().unwrap();
    handle.dangerous_add_ref().unwrap();
    assert_eq!(handle.uses_in_flight(), 2);
    handle.dispose();
    assert_eq!(handle.uses_in_flight(), 2);
    drop(guard);
    // SAFETY: matches the dangerous_add_ref above.
    unsafe { handle.dangerous_release() }.unwrap();
    assert_eq!(handle.uses_in_flight(), 0);
}

#[test]
fn racing_uses_and_disposes_release_exactly_once_after_every_use() {
    const THREADS: usize = 4;
    for _ in 0..200 {
        let (handle, resource) = owned();
        let handle = Arc::new(handle);
        let start = Arc::new(Barrier::new(THREADS));
        let threads: Vec<_> = (0..THREADS)
            .map(|index| {
                let (handle, start) = (Arc::clone(&handle), Arc::clone(&start));
                std::thread::spawn(move || {
                    start.wait();
                    for _ in 0..50 {
                        if let Ok(guard) = handle.add_ref() {
                            assert_eq!(releases(resource), 0, "released under a use");
                            drop(guard);
                        }
                    }
                    if index % 2 == 0 {
                        handle.dispose();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert!(handle.is_closed());
        assert_eq!(releases(resource), 1);
    }
}

thread_local! {
    /// The events of this thread, while a `capture_events` body runs on it.
    static CAPTURED: std::cell::RefCell<Option<Vec<(tracing::Level, String)>>> =
        const { std::cell::RefCell::new(None) };
}

/// Runs `body` and returns every event (level and message) it emitted on this thread.
///
/// One global subscriber, installed before the first capture, rather than a scoped one per call:
/// `tracing` caches each callsite's interest, and a callsite first reached by a parallel test while
/// no subscriber was set would be cached as "never" and missed by a scoped subscriber.
fn capture_events(body: impl FnOnce()) -> Vec<(tracing::Level, String)> {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        tracing::subscriber::set_global_default(Recorder)
            .expect("no other global subscriber in this test binary");
    });
    CAPTURED.with(|captured| *captured.borrow_mut() = Some(Vec::new()));
    body();
    CAPTURED.with(|captured| captured.borrow_mut().take().unwrap_or_default())
}

/// Keeps the events of threads inside `capture_events`, drops the rest.
struct Recorder;

impl tracing::Subscriber for Recorder {
    fn enabled(&self, _metadata: &tracing::Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, _span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }

    fn record(&self, _span: &tracing::span::Id, _values: &tracing::span::Record<'_>) {}

    fn record_follows_from(&self, _span: &tracing::span::Id, _follows: &tracing::span::Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        CAPTURED.with(|captured| {
            if let Some(events) = captured.borrow_mut().as_mut() {
                let mut message = Message(String::new());
                event.record(&mut message);
                events.push((*event.metadata().level(), message.0));
            }
        });
    }

    fn enter(&self, _span: &tracing::span::Id) {}

    fn exit(&self, _span: &tracing::span::Id) {}
}

struct Message(String);

impl tracing::field::Visit for Message {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

/// A `SafeHandle` held in the managed heap by an object with a normal finalizer: the finalizer
/// can still use the handle, which is released once, after it.
#[test]
fn a_heap_safe_handle_is_released_after_the_finalizer_of_its_holder() {
    use janitor::gc::{Finalize, Gc, GcCell, Trace, collect, wait_for_pending_finalizers};
    #[derive(Trace)]
    #[trace(finalize)]
    struct Stream {
        handle: Gc<SafeHandle<Counting>>,
        cycle: GcCell<Option<Gc<Stream>>>,
        #[trace(skip)]
        resource: &'static Resource,
        #[trace(skip)]
        seen_in_finalizer: Arc<Mutex<Option<(bool, usize)>>>,
    }
    impl Finalize for Stream {
        fn finalize(this: &Gc<Self>) {
            let usable = this.handle.add_ref().is_ok();
            *this.seen_in_finalizer.lock().unwrap() =
                Some((usable, this.resource.releases.load(Ordering::SeqCst)));
        }
    }
    let (handle, resource) = owned();
    let seen = Arc::new(Mutex::new(None));
    let stream = Gc::new(Stream {
        handle: Gc::new(handle),
        cycle: GcCell::new(None),
        resource,
        seen_in_finalizer: seen.clone(),
    });
    *stream.cycle.borrow_mut() = Some(stream.clone());
    drop(stream);
    collect();
    wait_for_pending_finalizers();
    assert_eq!(
        *seen.lock().unwrap(),
        Some((true, 0)),
        "usable, not yet released"
    );
    collect();
    assert_eq!(resource.releases.load(Ordering::SeqCst), 1);
}
