//! The host (feature `host`): runs hosted services for the life of the application and shuts
//! everything down in order (.NET's `IHost`, `IHostedService`, `IHostApplicationLifetime`).
//!
//! Invariants: hosted services start in registration order and only after the shutdown signals
//! are being listened for (so a signal can never kill a half-started host); those that started
//! stop in reverse order, each even if another failed; the provider is disposed asynchronously
//! after the last stop; every failure along the way is returned together.
//!
//! The container itself runs no futures; only the host needs a runtime, and it is tokio's
//! (signals need a reactor).

use crate::collection::{Registration, ServiceCollection};
use crate::disposal::Disposal;
use crate::error::{DisposeError, FactoryError, ResolveError, ValidationError};
use crate::options::ProviderOptions;
use crate::provider::ServiceProvider;
use crate::resolve::{Resolve, Resolver};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

/// The future a hosted service returns from `start` and `stop`: boxed, so that
/// [`HostedService`] stays object-safe, and `Send`, so that any runtime thread can drive it.
///
/// ```
/// use janitor_di::HostedFuture;
///
/// fn warm_up(cache: &Vec<u8>) -> HostedFuture<'_> {
///     Box::pin(async move {
///         if cache.is_empty() { Err("nothing to warm up".into()) } else { Ok(()) }
///     })
/// }
///
/// assert!(pollster::block_on(warm_up(&vec![1])).is_ok());
/// assert!(pollster::block_on(warm_up(&Vec::new())).is_err());
/// ```
pub type HostedFuture<'a> =
    Pin<Box<dyn Future<Output = Result<(), Box<dyn std::error::Error + Send + Sync>>> + Send + 'a>>;

/// A service that runs for the life of the host (.NET's `IHostedService`): started when the host
/// starts, stopped when it stops. Object-safe: both methods return boxed futures.
///
/// `start` should return once the service is running (spawn long work as a task); `stop` should
/// return once it has wound down.
///
/// ```
/// use janitor_di::{HostedFuture, HostedService};
/// use std::sync::atomic::{AtomicBool, Ordering};
///
/// #[derive(Default)]
/// struct Heartbeat {
///     running: AtomicBool,
/// }
///
/// impl HostedService for Heartbeat {
///     fn start(&self) -> HostedFuture<'_> {
///         Box::pin(async move {
///             self.running.store(true, Ordering::SeqCst);
///             Ok(())
///         })
///     }
///     fn stop(&self) -> HostedFuture<'_> {
///         Box::pin(async move {
///             self.running.store(false, Ordering::SeqCst);
///             Ok(())
///         })
///     }
/// }
///
/// let heartbeat = Heartbeat::default();
/// pollster::block_on(heartbeat.start()).unwrap();
/// assert!(heartbeat.running.load(Ordering::SeqCst));
/// ```
pub trait HostedService: Send + Sync {
    /// Starts the service.
    fn start(&self) -> HostedFuture<'_>;
    /// Stops the service.
    fn stop(&self) -> HostedFuture<'_>;
}

/// Where the application is in its life.
///
/// ```
/// use janitor_di::LifetimeStage;
/// assert!(LifetimeStage::Starting < LifetimeStage::Stopped);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LifetimeStage {
    /// Hosted services are starting.
    Starting,
    /// Every hosted service has started (.NET's `ApplicationStarted`).
    Started,
    /// Shutdown has begun: hosted services are stopping (.NET's `ApplicationStopping`).
    Stopping,
    /// Every hosted service has stopped; the provider is being disposed (.NET's
    /// `ApplicationStopped`).
    Stopped,
}

#[derive(Clone, Copy)]
struct LifetimeState {
    stage: LifetimeStage,
    stop_requested: bool,
}

/// The application's lifetime events and its stop button (.NET's `IHostApplicationLifetime`).
/// Every host registers one as a singleton, so services can resolve it.
///
/// ```
/// use janitor_di::{Host, LifetimeStage};
///
/// let host = Host::builder().build().unwrap();
/// let lifetime = host.lifetime();
/// assert_eq!(lifetime.stage(), LifetimeStage::Starting);
/// lifetime.stop_application(); // the host stops as soon as it has started
///
/// let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
/// runtime.block_on(host.run()).unwrap();
/// assert_eq!(lifetime.stage(), LifetimeStage::Stopped);
/// ```
pub struct ApplicationLifetime {
    state: watch::Sender<LifetimeState>,
}

impl fmt::Debug for ApplicationLifetime {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("ApplicationLifetime")
            .field("stage", &self.stage())
            .finish_non_exhaustive()
    }
}

impl ApplicationLifetime {
    fn new() -> Self {
        let (state, _) = watch::channel(LifetimeState {
            stage: LifetimeStage::Starting,
            stop_requested: false,
        });
        Self { state }
    }

    /// Asks the host to stop, as a shutdown signal would; returns at once. Asking before the
    /// host has started makes it stop right after starting.
    ///
    /// ```
    /// let host = janitor_di::Host::builder().build().unwrap();
    /// host.lifetime().stop_application();
    /// ```
    pub fn stop_application(&self) {
        self.state.send_modify(|state| state.stop_requested = true);
    }

    /// The current stage.
    ///
    /// ```
    /// let host = janitor_di::Host::builder().build().unwrap();
    /// assert_eq!(host.lifetime().stage(), janitor_di::LifetimeStage::Starting);
    /// ```
    pub fn stage(&self) -> LifetimeStage {
        self.state.borrow().stage
    }

    /// Completes once every hosted service has started.
    ///
    /// ```
    /// # let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    /// # runtime.block_on(async {
    /// let host = janitor_di::Host::builder().build().unwrap();
    /// let lifetime = host.lifetime();
    /// let running = tokio::spawn(host.run());
    /// lifetime.started().await;
    /// lifetime.stop_application();
    /// running.await.unwrap().unwrap();
    /// # });
    /// ```
    pub async fn started(&self) {
        self.reached(LifetimeStage::Started).await;
    }

    /// Completes once shutdown has begun.
    ///
    /// ```
    /// # let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    /// # runtime.block_on(async {
    /// let host = janitor_di::Host::builder().build().unwrap();
    /// let lifetime = host.lifetime();
    /// lifetime.stop_application();
    /// let ((), result) = tokio::join!(lifetime.stopping(), host.run());
    /// result.unwrap();
    /// # });
    /// ```
    pub async fn stopping(&self) {
        self.reached(LifetimeStage::Stopping).await;
    }

    /// Completes once every hosted service has stopped.
    ///
    /// ```
    /// # let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    /// # runtime.block_on(async {
    /// let host = janitor_di::Host::builder().build().unwrap();
    /// let lifetime = host.lifetime();
    /// lifetime.stop_application();
    /// let ((), result) = tokio::join!(lifetime.stopped(), host.run());
    /// result.unwrap();
    /// assert_eq!(lifetime.stage(), janitor_di::LifetimeStage::Stopped);
    /// # });
    /// ```
    pub async fn stopped(&self) {
        self.reached(LifetimeStage::Stopped).await;
    }

    async fn reached(&self, stage: LifetimeStage) {
        let mut receiver = self.state.subscribe();
        // The sender lives in `self`, so the channel cannot close while this waits.
        let _ = receiver.wait_for(|state| state.stage >= stage).await;
    }

    async fn stop_requested(&self) {
        let mut receiver = self.state.subscribe();
        let _ = receiver.wait_for(|state| state.stop_requested).await;
    }

    fn enter(&self, stage: LifetimeStage) {
        self.state.send_modify(|state| state.stage = stage);
    }
}

type ResolveHosted =
    fn(&ServiceProvider, Option<&str>) -> Result<Arc<dyn HostedService>, ResolveError>;

struct HostedEntry {
    service: &'static str,
    /// The registration's place in the collection, to read its key at build.
    registration: usize,
    /// The registration's key, known once the builder can no longer change it.
    key: Option<Box<str>>,
    resolve: ResolveHosted,
}

/// Builds a [`Host`]: its services, its hosted services, its provider options.
///
/// ```
/// use janitor_di::{Host, NotDisposable, ProviderOptions, Resolve};
/// use std::sync::Arc;
///
/// let mut builder = Host::builder();
/// builder.services().add_singleton(NotDisposable, |_| Ok(Arc::new(String::from("config"))));
/// builder.provider_options(ProviderOptions::default().with_scope_validation().with_build_validation());
/// let host = builder.build().unwrap();
/// assert_eq!(*host.services().get_required::<String>().unwrap(), "config");
/// ```
pub struct HostBuilder {
    services: ServiceCollection,
    hosted: Vec<HostedEntry>,
    options: ProviderOptions,
}

impl fmt::Debug for HostBuilder {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("HostBuilder")
            .field("services", &self.services)
            .field(
                "hosted_services",
                &self
                    .hosted
                    .iter()
                    .map(|entry| entry.service)
                    .collect::<Vec<_>>(),
            )
            .field("options", &self.options)
            .finish()
    }
}

impl HostBuilder {
    /// The services the host's provider will offer.
    ///
    /// ```
    /// let mut builder = janitor_di::Host::builder();
    /// assert!(builder.services().is_empty());
    /// ```
    pub fn services(&mut self) -> &mut ServiceCollection {
        &mut self.services
    }

    /// The options of the host's provider (both validations off by default).
    ///
    /// ```
    /// use janitor_di::{Host, ProviderOptions};
    /// let mut builder = Host::builder();
    /// builder.provider_options(ProviderOptions::default().with_scope_validation().with_build_validation());
    /// assert!(builder.build().is_ok());
    /// ```
    pub fn provider_options(&mut self, options: ProviderOptions) -> &mut Self {
        self.options = options;
        self
    }

    /// Registers a hosted service: a singleton of `T`, made by `factory` and disposed as
    /// `disposal` says, started in registration order and stopped in reverse. Register each type
    /// once.
    ///
    /// ```
    /// use janitor_di::{Host, HostedFuture, HostedService, NotDisposable};
    /// use std::sync::Arc;
    ///
    /// struct Listener;
    /// impl HostedService for Listener {
    ///     fn start(&self) -> HostedFuture<'_> {
    ///         Box::pin(async { Ok(()) })
    ///     }
    ///     fn stop(&self) -> HostedFuture<'_> {
    ///         Box::pin(async { Ok(()) })
    ///     }
    /// }
    ///
    /// let mut builder = Host::builder();
    /// builder.add_hosted_service(NotDisposable, |_| Ok(Arc::new(Listener)));
    /// let host = builder.build().unwrap();
    /// host.lifetime().stop_application();
    /// let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    /// runtime.block_on(host.run()).unwrap();
    /// ```
    pub fn add_hosted_service<T, D>(
        &mut self,
        disposal: D,
        factory: impl Fn(&Resolver<'_>) -> Result<Arc<T>, FactoryError> + Send + Sync + 'static,
    ) -> Registration<'_>
    where
        T: HostedService + 'static,
        D: Disposal<T>,
    {
        self.hosted.push(HostedEntry {
            service: std::any::type_name::<T>(),
            registration: self.services.len(),
            key: None,
            resolve: resolve_hosted::<T>,
        });
        self.services.add_singleton(disposal, factory)
    }

    /// Builds the host and its provider (validated as the options say). Nothing starts yet.
    ///
    /// ```
    /// let host = janitor_di::Host::builder().build().unwrap();
    /// # drop(host);
    /// ```
    pub fn build(mut self) -> Result<Host, ValidationError> {
        for entry in &mut self.hosted {
            entry.key = self.services.key_of(entry.registration).map(Box::from);
        }
        let lifetime = Arc::new(ApplicationLifetime::new());
        self.services.add_singleton_instance(Arc::clone(&lifetime));
        let provider = self.services.build_provider_with(self.options)?;
        Ok(Host {
            provider,
            hosted: self.hosted,
            lifetime,
        })
    }
}

fn resolve_hosted<T: HostedService + 'static>(
    provider: &ServiceProvider,
    key: Option<&str>,
) -> Result<Arc<dyn HostedService>, ResolveError> {
    let service: Arc<dyn HostedService> = match key {
        None => provider.get_required::<T>()?,
        Some(key) => provider.get_required_keyed::<T>(key)?,
    };
    Ok(service)
}

/// A built application: a provider, hosted services and a lifetime (.NET's `IHost`).
///
/// [`run`](Self::run) listens for SIGINT and SIGTERM, starts the hosted services in order, waits
/// for a signal or [`ApplicationLifetime::stop_application`], stops the started services in
/// reverse order, and disposes the provider asynchronously.
///
/// ```
/// use janitor_di::{Host, HostedFuture, HostedService, NotDisposable};
/// use std::sync::{Arc, Mutex};
///
/// struct Worker(&'static str, Arc<Mutex<Vec<String>>>);
/// impl HostedService for Worker {
///     fn start(&self) -> HostedFuture<'_> {
///         Box::pin(async move {
///             self.1.lock().unwrap().push(format!("start {}", self.0));
///             Ok(())
///         })
///     }
///     fn stop(&self) -> HostedFuture<'_> {
///         Box::pin(async move {
///             self.1.lock().unwrap().push(format!("stop {}", self.0));
///             Ok(())
///         })
///     }
/// }
///
/// let journal = Arc::new(Mutex::new(Vec::new()));
/// let mut builder = Host::builder();
/// let (a, b) = (Arc::clone(&journal), Arc::clone(&journal));
/// builder.add_hosted_service(NotDisposable, move |_| Ok(Arc::new(Worker("a", Arc::clone(&a)))));
/// builder.add_hosted_service(NotDisposable, move |_| Ok(Arc::new(Worker("b", Arc::clone(&b))))).keyed("b");
/// let host = builder.build().unwrap();
/// let lifetime = host.lifetime();
///
/// let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
/// runtime.block_on(async {
///     let running = tokio::spawn(host.run());
///     lifetime.started().await;
///     lifetime.stop_application();
///     running.await.unwrap().unwrap();
/// });
/// assert_eq!(*journal.lock().unwrap(), ["start a", "start b", "stop b", "stop a"]);
/// ```
pub struct Host {
    provider: ServiceProvider,
    hosted: Vec<HostedEntry>,
    lifetime: Arc<ApplicationLifetime>,
}

impl fmt::Debug for Host {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Host")
            .field("services", &self.provider)
            .field(
                "hosted_services",
                &self
                    .hosted
                    .iter()
                    .map(|entry| entry.service)
                    .collect::<Vec<_>>(),
            )
            .field("lifetime", &self.lifetime)
            .finish()
    }
}

impl Host {
    /// A builder with no services.
    ///
    /// ```
    /// let builder = janitor_di::Host::builder();
    /// # drop(builder);
    /// ```
    pub fn builder() -> HostBuilder {
        HostBuilder {
            services: ServiceCollection::new(),
            hosted: Vec::new(),
            options: ProviderOptions::default(),
        }
    }

    /// The host's provider.
    ///
    /// ```
    /// use janitor_di::{ApplicationLifetime, Resolve};
    /// let host = janitor_di::Host::builder().build().unwrap();
    /// assert!(host.services().get::<ApplicationLifetime>().unwrap().is_some());
    /// ```
    pub fn services(&self) -> &ServiceProvider {
        &self.provider
    }

    /// The application's lifetime: its stages, and the way to stop it.
    ///
    /// ```
    /// let host = janitor_di::Host::builder().build().unwrap();
    /// host.lifetime().stop_application();
    /// ```
    pub fn lifetime(&self) -> Arc<ApplicationLifetime> {
        Arc::clone(&self.lifetime)
    }

    /// Runs the application to its end: starts, waits for SIGINT, SIGTERM or
    /// [`ApplicationLifetime::stop_application`], stops, disposes. Must run inside a tokio
    /// runtime with its I/O driver enabled (signals need it).
    ///
    /// If a hosted service fails to start, the ones started before it are stopped (in reverse)
    /// and the provider is disposed; .NET leaves them to the host's disposal instead.
    ///
    /// Once a host has listened for SIGINT and SIGTERM, tokio keeps its handlers for the rest of
    /// the process: those signals no longer end it by default.
    ///
    /// ```
    /// let host = janitor_di::Host::builder().build().unwrap();
    /// host.lifetime().stop_application();
    /// let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    /// runtime.block_on(host.run()).unwrap();
    /// ```
    pub async fn run(self) -> Result<(), HostError> {
        let mut failures = Vec::new();
        let shutdown = match ShutdownSignals::listen() {
            Ok(signals) => Some(signals),
            Err(error) => {
                failures.push(HostFailure::Signal(error));
                None
            }
        };
        let started = match shutdown {
            Some(_) => self.start(&mut failures).await,
            None => Vec::new(),
        };
        self.lifetime.enter(LifetimeStage::Started);
        if let (Some(mut shutdown), true) = (shutdown, failures.is_empty()) {
            tokio::select! {
                () = shutdown.received() => {}
                () = self.lifetime.stop_requested() => {}
            }
        }
        self.lifetime.enter(LifetimeStage::Stopping);
        for (service, hosted) in started.iter().rev() {
            if let Err(source) = hosted.stop().await {
                failures.push(HostFailure::Stop { service, source });
            }
        }
        self.lifetime.enter(LifetimeStage::Stopped);
        if let Err(error) = self.provider.try_dispose_async().await {
            failures.push(HostFailure::Dispose(error));
        }
        HostError::check(failures)
    }

    /// Runs the application to its end on a runtime of its own, blocking this thread (.NET's
    /// `host.Run()` beside `RunAsync`): for a synchronous `main`. Fails with
    /// [`HostFailure::Runtime`] if the runtime cannot be built; call it outside any tokio runtime.
    ///
    /// ```
    /// let host = janitor_di::Host::builder().build().unwrap();
    /// host.lifetime().stop_application();
    /// host.run_blocking().unwrap();
    /// ```
    pub fn run_blocking(self) -> Result<(), HostError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| HostError {
                failures: vec![HostFailure::Runtime(error)],
            })?;
        runtime.block_on(self.run())
    }

    /// Resolves and starts the hosted services in order, up to the first failure; returns those
    /// that started.
    async fn start(
        &self,
        failures: &mut Vec<HostFailure>,
    ) -> Vec<(&'static str, Arc<dyn HostedService>)> {
        let mut started = Vec::with_capacity(self.hosted.len());
        for entry in &self.hosted {
            let hosted = match (entry.resolve)(&self.provider, entry.key.as_deref()) {
                Ok(hosted) => hosted,
                Err(error) => {
                    failures.push(HostFailure::Resolve(error));
                    break;
                }
            };
            if let Err(source) = hosted.start().await {
                failures.push(HostFailure::Start {
                    service: entry.service,
                    source,
                });
                break;
            }
            started.push((entry.service, hosted));
        }
        started
    }
}

/// SIGINT and SIGTERM, listened for from the moment this exists.
struct ShutdownSignals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl ShutdownSignals {
    fn listen() -> std::io::Result<Self> {
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    async fn received(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}

/// One thing that went wrong while a host ran.
///
/// ```
/// use janitor_di::HostFailure;
///
/// let failure = HostFailure::Stop { service: "app::Worker", source: "queue closed".into() };
/// assert_eq!(failure.to_string(), "Hosted service 'app::Worker' failed to stop: queue closed");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HostFailure {
    /// [`Host::run_blocking`] could not build its runtime; nothing was started.
    #[error("Could not build the host's runtime: {0}")]
    Runtime(std::io::Error),
    /// The shutdown signals could not be listened for; nothing was started.
    #[error(
        "Could not listen for SIGINT and SIGTERM: {0}. Run the host inside a tokio runtime with I/O enabled."
    )]
    Signal(std::io::Error),
    /// A hosted service could not be resolved; it and those after it were not started.
    #[error(transparent)]
    Resolve(ResolveError),
    /// A hosted service failed to start; those after it were not started.
    #[error("Hosted service '{service}' failed to start: {source}")]
    Start {
        /// The hosted service.
        service: &'static str,
        /// What its `start` returned.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A hosted service failed to stop; the others were still stopped.
    #[error("Hosted service '{service}' failed to stop: {source}")]
    Stop {
        /// The hosted service.
        service: &'static str,
        /// What its `stop` returned.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Disposing the provider failed.
    #[error(transparent)]
    Dispose(DisposeError),
}

/// Everything that went wrong while a host ran, in the order it happened.
///
/// ```
/// use janitor_di::{Host, HostedFuture, HostedService, NotDisposable};
/// use std::sync::Arc;
///
/// struct Flaky;
/// impl HostedService for Flaky {
///     fn start(&self) -> HostedFuture<'_> {
///         Box::pin(async { Ok(()) })
///     }
///     fn stop(&self) -> HostedFuture<'_> {
///         Box::pin(async { Err("the queue did not drain".into()) })
///     }
/// }
///
/// let mut builder = Host::builder();
/// builder.add_hosted_service(NotDisposable, |_| Ok(Arc::new(Flaky)));
/// let host = builder.build().unwrap();
/// host.lifetime().stop_application();
/// let error = host.run_blocking().unwrap_err();
/// assert!(error.to_string().contains("failed to stop: the queue did not drain"));
/// ```
#[derive(Debug)]
pub struct HostError {
    failures: Vec<HostFailure>,
}

impl HostError {
    fn check(failures: Vec<HostFailure>) -> Result<(), Self> {
        if failures.is_empty() {
            Ok(())
        } else {
            Err(Self { failures })
        }
    }

    /// The failures, in the order they happened.
    ///
    /// ```
    /// use janitor_di::{Host, HostFailure, HostedFuture, HostedService, NotDisposable};
    /// use std::sync::Arc;
    ///
    /// struct Broken;
    /// impl HostedService for Broken {
    ///     fn start(&self) -> HostedFuture<'_> {
    ///         Box::pin(async { Err("port in use".into()) })
    ///     }
    ///     fn stop(&self) -> HostedFuture<'_> {
    ///         Box::pin(async { Ok(()) })
    ///     }
    /// }
    ///
    /// let mut builder = Host::builder();
    /// builder.add_hosted_service(NotDisposable, |_| Ok(Arc::new(Broken)));
    /// let host = builder.build().unwrap();
    /// let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    /// let error = runtime.block_on(host.run()).unwrap_err();
    /// assert!(matches!(error.failures(), [HostFailure::Start { .. }]));
    /// ```
    pub fn failures(&self) -> &[HostFailure] {
        &self.failures
    }
}

impl fmt::Display for HostError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("The host did not run cleanly.")?;
        for failure in &self.failures {
            write!(formatter, " ({failure})")?;
        }
        Ok(())
    }
}

impl std::error::Error for HostError {}
