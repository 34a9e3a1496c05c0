//! # janitor-di
//!
//! A service container with .NET's lifetimes and .NET's disposal rules
//! (`Microsoft.Extensions.DependencyInjection`), for Rust.
//!
//! - Register services on a [`ServiceCollection`]: singleton, scoped, transient, or a ready-made
//!   instance; trait objects (`dyn Trait`); several registrations of one service; keyed services.
//!   Every registration says how the container disposes what it creates ([`Disposable`],
//!   [`AsyncDisposable`], [`DualDisposable`], [`NotDisposable`]); there is no default to forget.
//! - Build a [`ServiceProvider`], resolve through [`Resolve`] (`get` answers `None` for an
//!   unregistered service, `get_required` fails), open [`Scope`]s.
//! - Dispose: the container disposes exactly the instances it created, newest first, each even if
//!   another fails, with the failures returned together; singletons with the root, scoped and
//!   transient instances with their scope. `try_dispose_async` prefers [`AsyncDispose`].
//! - Validate with [`ProviderOptions`]: scoped services captured by singletons or resolved from
//!   the root, cycles, missing dependencies. Cycles are always caught at resolution.
//! - With the `host` feature, a `Host` starts hosted services in order and stops them in reverse
//!   on SIGINT, SIGTERM or request, then disposes the provider.
//!
//! Thread safety: providers and scopes are `Send + Sync`; a singleton is created once however
//! many threads ask at once.
//!
//! ```
//! use janitor::{Dispose, DisposeFlag};
//! use janitor_di::{Disposable, NotDisposable, Resolve, ServiceCollection};
//! use std::sync::{Arc, Mutex};
//!
//! struct Journal(Mutex<Vec<&'static str>>);
//! struct Connection {
//!     journal: Arc<Journal>,
//!     disposed: DisposeFlag,
//! }
//! impl Dispose for Connection {
//!     fn dispose(&self) {
//!         if self.disposed.try_begin() {
//!             self.journal.0.lock().unwrap().push("connection closed");
//!         }
//!     }
//! }
//!
//! let mut services = ServiceCollection::new();
//! services.add_singleton(NotDisposable, |_| Ok(Arc::new(Journal(Mutex::new(Vec::new())))));
//! services.add_scoped(Disposable, |resolver| {
//!     let journal = resolver.get_required::<Journal>()?;
//!     Ok(Arc::new(Connection { journal, disposed: DisposeFlag::new() }))
//! });
//! let provider = services.build_provider();
//!
//! let request = provider.create_scope()?;
//! request.get_required::<Connection>()?;
//! request.try_dispose()?;
//!
//! let journal = provider.get_required::<Journal>()?;
//! assert_eq!(*journal.0.lock().unwrap(), ["connection closed"]);
//! provider.try_dispose()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

// The host waits for SIGINT and SIGTERM: say so here rather than with tokio's missing module.
#[cfg(all(feature = "host", not(unix)))]
compile_error!(
    "janitor-di's `host` feature waits for Unix signals (SIGINT, SIGTERM) and needs a Unix target; \
     the container itself builds here without it"
);

mod collection;
mod disposal;
mod error;
// Under `--cfg loom` (the loom runs of the workspace) tokio builds without its signal module, so
// the host is left out there; it takes part in no loom model.
#[cfg(all(feature = "host", unix, not(loom)))]
mod host;
mod options;
mod provider;
mod registry;
mod resolve;
mod scope;
mod stack;
mod validation;
mod vocabulary;

// The async disposal traits are janitor's own; re-exported so that a service needs one import.
pub use collection::{Registration, ServiceCollection};
pub use disposal::{AsyncDisposable, Disposable, Disposal, DualDisposable, NotDisposable};
pub use error::{DisposeError, DisposeFailure, FactoryError, ResolveError, ValidationError};
#[cfg(all(feature = "host", unix, not(loom)))]
pub use host::{
    ApplicationLifetime, Host, HostBuilder, HostError, HostFailure, HostedFuture, HostedService,
    LifetimeStage,
};
pub use janitor::dispose::{AsyncDispose, DynAsyncDispose};
pub use options::ProviderOptions;
pub use provider::{Scope, ScopeFactory, ServiceProvider};
pub use resolve::{Resolve, Resolver};

/// The crate's README (its page on the registry), compiled and run as doc tests so that it never
/// lies.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
