//! The errors of the container: resolving a service, disposing a scope, validating a collection.

use janitor::ObjectDisposed;
use std::fmt;

/// The error a factory may return: any error, boxed. A factory's `?` works on its own errors and
/// on the [`ResolveError`]s of the services it resolves.
///
/// ```
/// use janitor_di::{FactoryError, NotDisposable, Resolve, ServiceCollection};
/// use std::sync::Arc;
///
/// struct Port(u16);
///
/// let mut services = ServiceCollection::new();
/// services.add_singleton(NotDisposable, |_| -> Result<Arc<Port>, FactoryError> {
///     let port: u16 = "80a".parse()?;
///     Ok(Arc::new(Port(port)))
/// });
/// let provider = services.build_provider();
/// let error = provider.get::<Port>().err().unwrap();
/// assert!(error.to_string().contains("invalid digit"));
/// ```
pub type FactoryError = Box<dyn std::error::Error + Send + Sync>;

/// Why a service could not be resolved.
///
/// The messages of the scope checks are .NET's, word for word, so that a port finds what it knows.
///
/// ```
/// use janitor_di::{Resolve, ResolveError, ServiceCollection};
///
/// struct Missing;
/// let provider = ServiceCollection::new().build_provider();
/// let error = provider.get_required::<Missing>().err().unwrap();
/// assert!(matches!(error, ResolveError::NotRegistered { .. }));
/// assert!(error.to_string().starts_with("No service for type '"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// `get_required` asked for a service with no registration.
    #[error(
        "No service for type '{service}' has been registered. Register it on the \
         ServiceCollection before building the provider, or resolve it with `get` if it is optional."
    )]
    NotRegistered {
        /// The service asked for.
        service: String,
    },
    /// A factory asked for a service that has no registration.
    #[error(
        "Unable to resolve service for type '{dependency}' while attempting to activate '{service}'. \
         Register '{dependency}' on the ServiceCollection."
    )]
    MissingDependency {
        /// The service whose factory needed the dependency.
        service: String,
        /// The service that is not registered.
        dependency: String,
    },
    /// The provider or scope asked was disposed, or the root provider it belongs to was.
    #[error(transparent)]
    Disposed(#[from] ObjectDisposed),
    /// Resolving the service needs the service itself: `path` is the chain of services being
    /// created, from the first occurrence of the repeated one to its repetition.
    #[error(
        "A circular dependency was detected for the service of type '{service}': {path}. \
         Break the cycle: let one of them take what it needs later, not in its factory."
    )]
    Cycle {
        /// The service that depends on itself.
        service: String,
        /// The chain of services, `A -> B -> A`.
        path: String,
    },
    /// A singleton needs a scoped service (checked with
    /// [`ProviderOptions::validate_scopes`](crate::ProviderOptions::validate_scopes)).
    #[error("Cannot consume scoped service '{scoped}' from singleton '{singleton}'.")]
    ScopedFromSingleton {
        /// The scoped service.
        scoped: String,
        /// The singleton that needs it.
        singleton: String,
    },
    /// A scoped service was asked of the root provider (checked with
    /// [`ProviderOptions::validate_scopes`](crate::ProviderOptions::validate_scopes)).
    #[error("Cannot resolve scoped service '{scoped}' from root provider.")]
    ScopedFromRoot {
        /// The scoped service.
        scoped: String,
    },
    /// A factory returned an error of its own.
    #[error("The factory of '{service}' failed: {source}")]
    Factory {
        /// The service whose factory failed.
        service: String,
        /// What the factory returned.
        source: FactoryError,
    },
}

/// Why one created instance was not disposed cleanly.
///
/// ```
/// use janitor_di::DisposeFailure;
///
/// let failure = DisposeFailure::AsyncOnly { service: "app::Uploader" };
/// assert_eq!(
///     failure.to_string(),
///     "'app::Uploader' type only implements AsyncDispose. Use dispose_async to dispose the container."
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DisposeFailure {
    /// A synchronous dispose met an instance that disposes only asynchronously; it was left
    /// undisposed.
    #[error(
        "'{service}' type only implements AsyncDispose. Use dispose_async to dispose the container."
    )]
    AsyncOnly {
        /// The service registered as [`AsyncDisposable`](crate::AsyncDisposable).
        service: &'static str,
    },
    /// The instance's dispose panicked; the panic was caught so the others were still disposed.
    #[error("Disposing '{service}' panicked: {message}")]
    Panicked {
        /// The service whose dispose panicked.
        service: &'static str,
        /// The panic's message.
        message: String,
    },
}

/// Every failure of one dispose of a provider or scope, in the order the instances were disposed
/// (reverse order of creation). Every instance was attempted, whatever failed before it.
///
/// One failure displays as itself; several display as .NET's `AggregateException` does, each
/// message in parentheses.
///
/// ```
/// use janitor_di::{DisposeError, DisposeFailure};
///
/// let error = DisposeError::new(vec![
///     DisposeFailure::Panicked { service: "a::A", message: "boom".into() },
///     DisposeFailure::AsyncOnly { service: "a::B" },
/// ]);
/// assert_eq!(error.failures().len(), 2);
/// assert!(error.to_string().starts_with("One or more errors occurred while disposing the container. ("));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisposeError {
    failures: Vec<DisposeFailure>,
}

impl DisposeError {
    /// The error made of `failures`, which must not be empty.
    ///
    /// ```
    /// use janitor_di::{DisposeError, DisposeFailure};
    ///
    /// let error = DisposeError::new(vec![DisposeFailure::AsyncOnly { service: "a::B" }]);
    /// assert_eq!(error.to_string(), DisposeFailure::AsyncOnly { service: "a::B" }.to_string());
    /// ```
    ///
    /// # Panics
    ///
    /// If `failures` is empty: an error without a failure would claim something went wrong.
    pub fn new(failures: Vec<DisposeFailure>) -> Self {
        assert!(
            !failures.is_empty(),
            "a DisposeError needs at least one failure"
        );
        Self { failures }
    }

    /// `Ok(())` when nothing failed, the error of `failures` otherwise.
    pub(crate) fn check(failures: Vec<DisposeFailure>) -> Result<(), Self> {
        if failures.is_empty() {
            Ok(())
        } else {
            Err(Self::new(failures))
        }
    }

    /// The failures, in the order the instances were disposed.
    ///
    /// ```
    /// use janitor_di::{DisposeError, DisposeFailure};
    ///
    /// let error = DisposeError::new(vec![DisposeFailure::AsyncOnly { service: "a::B" }]);
    /// assert_eq!(error.failures(), [DisposeFailure::AsyncOnly { service: "a::B" }]);
    /// ```
    pub fn failures(&self) -> &[DisposeFailure] {
        &self.failures
    }
}

impl fmt::Display for DisposeError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let [only] = self.failures.as_slice() {
            return only.fmt(formatter);
        }
        formatter.write_str("One or more errors occurred while disposing the container.")?;
        for failure in &self.failures {
            write!(formatter, " ({failure})")?;
        }
        Ok(())
    }
}

impl std::error::Error for DisposeError {}

/// What [`ServiceCollection::build_provider_with`](crate::ServiceCollection::build_provider_with)
/// found wrong with the registrations when
/// [`ProviderOptions::validate_on_build`](crate::ProviderOptions::validate_on_build) is on: every
/// problem at once, as .NET's `AggregateException`.
///
/// ```
/// use janitor_di::{NotDisposable, ProviderOptions, ResolveError, ServiceCollection};
/// use std::sync::Arc;
///
/// struct Repository;
/// struct Database;
///
/// let mut services = ServiceCollection::new();
/// services
///     .add_singleton(NotDisposable, |resolver| {
///         use janitor_di::Resolve;
///         resolver.get_required::<Database>()?;
///         Ok(Arc::new(Repository))
///     })
///     .depends_on::<Database>();
/// let options = ProviderOptions::default().with_build_validation();
/// let error = services.build_provider_with(options).err().unwrap();
/// assert!(matches!(error.errors()[0], ResolveError::MissingDependency { .. }));
/// assert!(error.to_string().starts_with("Some services are not able to be constructed"));
/// ```
#[derive(Debug)]
pub struct ValidationError {
    errors: Vec<ResolveError>,
}

impl ValidationError {
    pub(crate) fn check(errors: Vec<ResolveError>) -> Result<(), Self> {
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Self { errors })
        }
    }

    /// Every problem found: missing dependencies, then cycles, then scope violations.
    ///
    /// ```
    /// use janitor_di::{NotDisposable, ProviderOptions, ResolveError, ServiceCollection};
    /// use std::sync::Arc;
    ///
    /// struct Ping;
    /// struct Pong;
    ///
    /// let mut services = ServiceCollection::new();
    /// services.add_transient(NotDisposable, |_| Ok(Arc::new(Ping))).depends_on::<Pong>();
    /// services.add_transient(NotDisposable, |_| Ok(Arc::new(Pong))).depends_on::<Ping>();
    /// let options = ProviderOptions::default().with_scope_validation().with_build_validation();
    /// let error = services.build_provider_with(options).unwrap_err();
    /// assert!(matches!(error.errors(), [ResolveError::Cycle { .. }]));
    /// ```
    pub fn errors(&self) -> &[ResolveError] {
        &self.errors
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("Some services are not able to be constructed")?;
        for error in &self.errors {
            write!(formatter, " ({error})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationError {}
