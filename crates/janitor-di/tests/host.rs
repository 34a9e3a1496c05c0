//! The host: start order, reverse stop order, lifetime stages, failures collected, provider
//! disposed last. Stopped here by request; `host_signal.rs` stops one with SIGTERM.

mod common;

use common::{Journal, Recorded};
use janitor::Dispose;
use janitor_di::{
    ApplicationLifetime, Disposable, Host, HostFailure, HostedFuture, HostedService, LifetimeStage,
    Resolve,
};
use std::sync::Arc;

/// Records its start and stop, the stage the application was in at each, and its disposal.
struct Worker {
    name: &'static str,
    journal: Arc<Journal>,
    lifetime: Arc<ApplicationLifetime>,
    fail_start: bool,
    fail_stop: bool,
}

impl HostedService for Worker {
    fn start(&self) -> HostedFuture<'_> {
        Box::pin(async move {
            self.journal
                .record(format!("start {} ({:?})", self.name, self.lifetime.stage()));
            if self.fail_start {
                Err(format!("{} cannot start", self.name).into())
            } else {
                Ok(())
            }
        })
    }

    fn stop(&self) -> HostedFuture<'_> {
        Box::pin(async move {
            self.journal
                .record(format!("stop {} ({:?})", self.name, self.lifetime.stage()));
            if self.fail_stop {
                Err(format!("{} cannot stop", self.name).into())
            } else {
                Ok(())
            }
        })
    }
}

impl Dispose for Worker {
    fn dispose(&self) {
        self.journal.record(format!("dispose {}", self.name));
    }
}

#[derive(Default, Clone, Copy)]
struct Faults {
    start: bool,
    stop: bool,
}

fn add_worker(
    builder: &mut janitor_di::HostBuilder,
    name: &'static str,
    journal: &Arc<Journal>,
    faults: Faults,
) {
    let journal = Arc::clone(journal);
    builder
        .add_hosted_service(Disposable, move |resolver| {
            Ok(Arc::new(Worker {
                name,
                journal: Arc::clone(&journal),
                lifetime: resolver.get_required::<ApplicationLifetime>()?,
                fail_start: faults.start,
                fail_stop: faults.stop,
            }))
        })
        .keyed(name);
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn hosted_services_start_in_order_and_stop_in_reverse_then_the_provider_is_disposed() {
    let journal = Journal::new();
    let mut builder = Host::builder();
    let singleton_journal = Arc::clone(&journal);
    builder.services().add_singleton(Disposable, move |_| {
        Ok(Recorded::new("database", &singleton_journal))
    });
    for name in ["first", "second", "third"] {
        add_worker(&mut builder, name, &journal, Faults::default());
    }
    let host = builder.build().unwrap();
    host.services().get_required::<Recorded>().unwrap();
    let lifetime = host.lifetime();

    runtime().block_on(async {
        let running = tokio::spawn(host.run());
        lifetime.started().await;
        assert_eq!(lifetime.stage(), LifetimeStage::Started);
        lifetime.stop_application();
        running.await.unwrap().unwrap();
    });

    assert_eq!(
        journal.events(),
        [
            "start first (Starting)",
            "start second (Starting)",
            "start third (Starting)",
            "stop third (Stopping)",
            "stop second (Stopping)",
            "stop first (Stopping)",
            // The provider's disposal, newest first: the workers were created after the database.
            "dispose third",
            "dispose second",
            "dispose first",
            "disposed database",
        ]
    );
    assert_eq!(lifetime.stage(), LifetimeStage::Stopped);
}

#[test]
fn stop_failures_are_collected_and_every_service_still_stops() {
    let journal = Journal::new();
    let mut builder = Host::builder();
    add_worker(
        &mut builder,
        "first",
        &journal,
        Faults {
            stop: true,
            ..Faults::default()
        },
    );
    add_worker(&mut builder, "second", &journal, Faults::default());
    add_worker(
        &mut builder,
        "third",
        &journal,
        Faults {
            stop: true,
            ..Faults::default()
        },
    );
    let host = builder.build().unwrap();
    host.lifetime().stop_application();

    let error = runtime().block_on(host.run()).unwrap_err();

    let stopped: Vec<String> = journal
        .events()
        .into_iter()
        .filter(|event| event.starts_with("stop"))
        .collect();
    assert_eq!(
        stopped,
        [
            "stop third (Stopping)",
            "stop second (Stopping)",
            "stop first (Stopping)"
        ]
    );
    let messages: Vec<String> = error.failures().iter().map(ToString::to_string).collect();
    assert_eq!(
        messages,
        [
            format!(
                "Hosted service '{}' failed to stop: third cannot stop",
                std::any::type_name::<Worker>()
            ),
            format!(
                "Hosted service '{}' failed to stop: first cannot stop",
                std::any::type_name::<Worker>()
            ),
        ]
    );
}

#[test]
fn a_start_failure_stops_the_services_already_started_and_disposes() {
    let journal = Journal::new();
    let mut builder = Host::builder();
    add_worker(&mut builder, "first", &journal, Faults::default());
    add_worker(
        &mut builder,
        "second",
        &journal,
        Faults {
            start: true,
            ..Faults::default()
        },
    );
    add_worker(&mut builder, "third", &journal, Faults::default());
    let host = builder.build().unwrap();
    let lifetime = host.lifetime();

    let error = runtime().block_on(host.run()).unwrap_err();

    assert!(matches!(error.failures(), [HostFailure::Start { .. }]));
    assert_eq!(
        journal.events(),
        [
            "start first (Starting)",
            "start second (Starting)",
            "stop first (Stopping)",
            "dispose second",
            "dispose first",
        ]
    );
    assert_eq!(lifetime.stage(), LifetimeStage::Stopped);
}

#[test]
fn lifetime_events_complete_in_order() {
    let host = Host::builder().build().unwrap();
    let lifetime = host.lifetime();
    let journal = Journal::new();

    runtime().block_on(async {
        let running = tokio::spawn(host.run());
        let watcher = {
            let lifetime = Arc::clone(&lifetime);
            let journal = Arc::clone(&journal);
            tokio::spawn(async move {
                lifetime.started().await;
                journal.record("started");
                lifetime.stopping().await;
                journal.record("stopping");
                lifetime.stopped().await;
                journal.record("stopped");
            })
        };
        lifetime.started().await;
        lifetime.stop_application();
        running.await.unwrap().unwrap();
        watcher.await.unwrap();
    });

    assert_eq!(journal.events(), ["started", "stopping", "stopped"]);
}

#[test]
fn the_lifetime_is_a_service_of_the_host() {
    let host = Host::builder().build().unwrap();
    let resolved = host
        .services()
        .get_required::<ApplicationLifetime>()
        .unwrap();
    assert!(Arc::ptr_eq(&resolved, &host.lifetime()));
}
