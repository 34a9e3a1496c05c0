//! The service container (scene 10): a request scope disposing in reverse order, async-only
//! services, and a host that stops its hosted services in reverse order before disposing the
//! singletons.

use crate::timeline::Timeline;
use janitor::{Dispose, DisposeFlag};
use janitor_di::{
    AsyncDisposable, AsyncDispose, Disposable, Host, HostedFuture, HostedService, Resolve,
    ScopeFactory, ServiceCollection,
};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// What the services did, in order; replayed onto the timeline.
#[derive(Default)]
struct Journal(Mutex<Vec<String>>);

impl Journal {
    fn record(&self, event: impl Into<String>) {
        self.0.lock().unwrap().push(event.into());
    }

    fn replay(&self, tour: &mut Timeline) {
        for event in self.0.lock().unwrap().drain(..) {
            tour.event(event);
        }
    }
}

/// A singleton: the pool every request's connection comes from.
struct ConnectionPool {
    journal: Arc<Journal>,
    opened: AtomicUsize,
    disposed: DisposeFlag,
}

impl Dispose for ConnectionPool {
    fn dispose(&self) {
        if self.disposed.try_begin() {
            self.journal
                .record("connection pool disposed (singleton, with the root)");
        }
    }
}

/// Scoped: one connection per request.
struct Connection {
    number: usize,
    journal: Arc<Journal>,
    disposed: DisposeFlag,
}

impl Dispose for Connection {
    fn dispose(&self) {
        if self.disposed.try_begin() {
            self.journal
                .record(format!("connection #{} closed", self.number));
        }
    }
}

/// Scoped, built on the connection: created after it, so disposed before it.
struct UnitOfWork {
    connection: Arc<Connection>,
    journal: Arc<Journal>,
    disposed: DisposeFlag,
}

impl Dispose for UnitOfWork {
    fn dispose(&self) {
        if self.disposed.try_begin() {
            self.journal.record(format!(
                "unit of work on connection #{} rolled back and disposed",
                self.connection.number
            ));
        }
    }
}

/// Disposes only asynchronously.
struct Uploader {
    journal: Arc<Journal>,
    disposed: DisposeFlag,
}

impl AsyncDispose for Uploader {
    async fn dispose_async(&self) {
        if self.disposed.try_begin() {
            self.journal
                .record("uploader flushed and disposed asynchronously");
        }
    }
}

fn register_data_services(services: &mut ServiceCollection, journal: &Arc<Journal>) {
    let pool_journal = Arc::clone(journal);
    services.add_singleton(Disposable, move |_| {
        pool_journal.record("connection pool created (singleton)");
        Ok(Arc::new(ConnectionPool {
            journal: Arc::clone(&pool_journal),
            opened: AtomicUsize::new(0),
            disposed: DisposeFlag::new(),
        }))
    });
    let connection_journal = Arc::clone(journal);
    services
        .add_scoped(Disposable, move |resolver| {
            let pool = resolver.get_required::<ConnectionPool>()?;
            let number = pool.opened.fetch_add(1, Ordering::Relaxed) + 1;
            connection_journal.record(format!("connection #{number} opened (scoped)"));
            Ok(Arc::new(Connection {
                number,
                journal: Arc::clone(&connection_journal),
                disposed: DisposeFlag::new(),
            }))
        })
        .depends_on::<ConnectionPool>();
    let work_journal = Arc::clone(journal);
    services
        .add_scoped(Disposable, move |resolver| {
            let connection = resolver.get_required::<Connection>()?;
            work_journal.record(format!(
                "unit of work begun on connection #{} (scoped)",
                connection.number
            ));
            Ok(Arc::new(UnitOfWork {
                connection,
                journal: Arc::clone(&work_journal),
                disposed: DisposeFlag::new(),
            }))
        })
        .depends_on::<Connection>();
}

pub fn run(tour: &mut Timeline) {
    tour.scene("A service scope disposes what it created, in reverse order");
    tour.dotnet("Disposing an IServiceScope disposes its scoped and transient services in reverse order of creation; singletons belong to the root provider.");
    request_scopes(tour);
    async_only_services(tour);
    host_shutdown(tour);
}

fn request_scopes(tour: &mut Timeline) {
    tour.step("Two requests, each in its scope: newest first; the singleton lives on");
    let journal = Arc::new(Journal::default());
    let mut services = ServiceCollection::new();
    register_data_services(&mut services, &journal);
    let provider = services.build_provider();

    for request in 1..=2 {
        let scope = provider.create_scope().expect("the provider is live");
        let work = scope.get_required::<UnitOfWork>().expect("registered");
        journal.record(format!("request {request} handled"));
        scope.try_dispose().expect("nothing fails to dispose");
        journal.record(format!(
            "request {request} scope disposed: unit of work disposed? {}",
            work.disposed.is_disposed()
        ));
        journal.replay(tour);
    }
    let pool = provider
        .get_required::<ConnectionPool>()
        .expect("registered");
    tour.event(format!(
        "after both requests the pool is still live: disposed? {}",
        pool.disposed.is_disposed()
    ));
    provider.try_dispose().expect("nothing fails to dispose");
    journal.replay(tour);
}

fn async_only_services(tour: &mut Timeline) {
    tour.step("Only async disposal can dispose an async-only service");
    tour.dotnet("Dispose() on a provider holding an IAsyncDisposable-only service throws InvalidOperationException; DisposeAsync() disposes it.");
    let journal = Arc::new(Journal::default());
    let mut services = ServiceCollection::new();
    let uploader_journal = Arc::clone(&journal);
    services.add_singleton(AsyncDisposable, move |_| {
        Ok(Arc::new(Uploader {
            journal: Arc::clone(&uploader_journal),
            disposed: DisposeFlag::new(),
        }))
    });

    let provider = services.build_provider();
    let uploader = provider.get_required::<Uploader>().expect("registered");
    match provider.try_dispose() {
        Ok(()) => tour.event("provider.dispose() unexpectedly succeeded"),
        Err(error) => tour.event(format!("provider.dispose() -> Err: {error}")),
    }
    tour.event(format!(
        "the uploader was left undisposed: disposed? {}",
        uploader.disposed.is_disposed()
    ));

    let mut services = ServiceCollection::new();
    let uploader_journal = Arc::clone(&journal);
    services.add_singleton(AsyncDisposable, move |_| {
        Ok(Arc::new(Uploader {
            journal: Arc::clone(&uploader_journal),
            disposed: DisposeFlag::new(),
        }))
    });
    let provider = services.build_provider();
    provider.get_required::<Uploader>().expect("registered");
    tour.event("a second provider, disposed with dispose_async:");
    pollster::block_on(provider.try_dispose_async()).expect("nothing fails to dispose");
    journal.replay(tour);
}

/// A hosted service that handles one request in a scope of its own, then asks the host to stop.
struct RequestLoop {
    name: &'static str,
    scopes: Arc<ScopeFactory>,
    lifetime: Arc<janitor_di::ApplicationLifetime>,
    journal: Arc<Journal>,
}

impl HostedService for RequestLoop {
    fn start(&self) -> HostedFuture<'_> {
        Box::pin(async move {
            self.journal
                .record(format!("hosted service '{}' started", self.name));
            let scope = self.scopes.create_scope()?;
            scope.get_required::<UnitOfWork>()?;
            scope.try_dispose()?;
            self.lifetime.stop_application();
            Ok(())
        })
    }

    fn stop(&self) -> HostedFuture<'_> {
        Box::pin(async move {
            self.journal
                .record(format!("hosted service '{}' stopped", self.name));
            Ok(())
        })
    }
}

fn host_shutdown(tour: &mut Timeline) {
    tour.step("A host stops its hosted services in reverse order, then disposes the singletons");
    tour.dotnet("IHost.StopAsync stops hosted services in reverse registration order, fires ApplicationStopped, then disposes the provider.");
    let journal = Arc::new(Journal::default());
    let mut builder = Host::builder();
    register_data_services(builder.services(), &journal);
    for name in ["metrics", "requests"] {
        let service_journal = Arc::clone(&journal);
        builder
            .add_hosted_service(janitor_di::NotDisposable, move |resolver| {
                Ok(Arc::new(RequestLoop {
                    name,
                    scopes: resolver.get_required::<ScopeFactory>()?,
                    lifetime: resolver.get_required::<janitor_di::ApplicationLifetime>()?,
                    journal: Arc::clone(&service_journal),
                }))
            })
            .keyed(name);
    }
    let host = builder
        .build()
        .expect("the declared dependencies are registered");
    host.run_blocking().expect("the host runs cleanly");
    journal.replay(tour);
}
