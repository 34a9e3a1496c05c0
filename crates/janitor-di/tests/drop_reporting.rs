//! Dropping an undisposed provider disposes it and reports, through `tracing`, what it could not
//! dispose synchronously, instead of panicking in `Drop`.

mod common;

use common::{AsyncRecorded, Journal, Recorded};
use janitor_di::{AsyncDisposable, Disposable, Resolve, ServiceCollection};
use std::any::type_name;
use std::sync::{Arc, Mutex};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Keeps the `failure` field of every event.
#[derive(Default, Clone)]
struct Failures(Arc<Mutex<Vec<String>>>);

impl Visit for Failures {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "failure" {
            self.0.lock().unwrap().push(format!("{value:?}"));
        }
    }
}

impl Subscriber for Failures {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        event.record(&mut self.clone());
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn dropping_a_provider_reports_its_async_only_services_through_tracing() {
    let journal = Journal::new();
    let mut services = ServiceCollection::new();
    let sync_journal = Arc::clone(&journal);
    services.add_singleton(Disposable, move |_| {
        Ok(Recorded::new("sync", &sync_journal))
    });
    let async_journal = Arc::clone(&journal);
    services.add_singleton(AsyncDisposable, move |_| {
        Ok(AsyncRecorded::new("async", &async_journal))
    });
    let provider = services.build_provider();
    provider.get_required::<Recorded>().unwrap();
    provider.get_required::<AsyncRecorded>().unwrap();
    let failures = Failures::default();

    tracing::subscriber::with_default(failures.clone(), || drop(provider));

    assert_eq!(journal.events(), ["disposed sync"]);
    assert_eq!(
        *failures.0.lock().unwrap(),
        [format!(
            "'{}' type only implements AsyncDispose. Use dispose_async to dispose the container.",
            type_name::<AsyncRecorded>()
        )]
    );
}

#[test]
fn dropping_a_disposed_provider_reports_nothing() {
    let mut services = ServiceCollection::new();
    let journal = Journal::new();
    services.add_singleton(AsyncDisposable, move |_| {
        Ok(AsyncRecorded::new("async", &journal))
    });
    let provider = services.build_provider();
    provider.get_required::<AsyncRecorded>().unwrap();
    pollster::block_on(provider.try_dispose_async()).unwrap();
    let failures = Failures::default();

    tracing::subscriber::with_default(failures.clone(), || drop(provider));

    assert!(failures.0.lock().unwrap().is_empty());
}
