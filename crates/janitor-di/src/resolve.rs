//! Resolution, as every handle offers it: the provider, a scope, and the resolver a factory gets.

use crate::error::ResolveError;
use crate::provider::{Scope, ScopeFactory};
use crate::scope::ScopeState;
use janitor::ObjectDisposed;
use std::sync::Arc;

pub(crate) mod sealed {
    use crate::scope::ScopeState;
    use std::sync::Arc;

    /// The handles that can resolve: implemented in this crate only.
    pub trait Sealed {
        /// The scope this handle resolves from.
        fn scope_state(&self) -> &Arc<ScopeState>;
    }
}

/// Resolving services: implemented by [`ServiceProvider`](crate::ServiceProvider) (the root
/// scope), [`Scope`], and the [`Resolver`] a factory receives.
///
/// As in .NET, `get` answers `Ok(None)` for a service that is not registered (`GetService`
/// returning null) and `get_required` fails (`GetRequiredService` throwing); both fail when the
/// service is registered but cannot be made. Every method fails with
/// [`ResolveError::Disposed`] once the scope, or the root provider it belongs to, is disposed.
///
/// ```
/// use janitor_di::{NotDisposable, Resolve, ServiceCollection};
/// use std::sync::Arc;
///
/// struct Greeter;
/// struct Missing;
///
/// let mut services = ServiceCollection::new();
/// services.add_transient(NotDisposable, |_| Ok(Arc::new(Greeter)));
/// let provider = services.build_provider();
/// assert!(provider.get::<Greeter>().unwrap().is_some());
/// assert!(provider.get::<Missing>().unwrap().is_none());
/// assert!(provider.get_required::<Missing>().is_err());
/// ```
pub trait Resolve: sealed::Sealed {
    /// The last registration of `T`, resolved, or `None` if `T` is not registered.
    ///
    /// ```
    /// use janitor_di::{NotDisposable, Resolve, ServiceCollection};
    /// use std::sync::Arc;
    ///
    /// let mut services = ServiceCollection::new();
    /// services.add_singleton(NotDisposable, |_| Ok(Arc::new("first")));
    /// services.add_singleton(NotDisposable, |_| Ok(Arc::new("last")));
    /// let provider = services.build_provider();
    /// assert_eq!(*provider.get::<&str>().unwrap().unwrap(), "last");
    /// ```
    fn get<T: ?Sized + Send + Sync + 'static>(&self) -> Result<Option<Arc<T>>, ResolveError> {
        self.scope_state().get_one(None)
    }

    /// The last registration of `T`, resolved, or [`ResolveError::NotRegistered`].
    ///
    /// ```
    /// use janitor_di::{NotDisposable, Resolve, ServiceCollection};
    /// use std::sync::Arc;
    ///
    /// trait Greeting: Send + Sync {
    ///     fn text(&self) -> String;
    /// }
    /// struct English;
    /// impl Greeting for English {
    ///     fn text(&self) -> String {
    ///         "hello".into()
    ///     }
    /// }
    ///
    /// let mut services = ServiceCollection::new();
    /// services.add_transient::<dyn Greeting, _>(NotDisposable, |_| Ok(Arc::new(English)));
    /// let provider = services.build_provider();
    /// assert_eq!(provider.get_required::<dyn Greeting>().unwrap().text(), "hello");
    /// ```
    fn get_required<T: ?Sized + Send + Sync + 'static>(&self) -> Result<Arc<T>, ResolveError> {
        self.scope_state().get_required(None)
    }

    /// The last registration of `T` under `key`, resolved, or `None`.
    ///
    /// ```
    /// use janitor_di::{NotDisposable, Resolve, ServiceCollection};
    /// use std::sync::Arc;
    ///
    /// let mut services = ServiceCollection::new();
    /// services.add_singleton(NotDisposable, |_| Ok(Arc::new(5432_u16))).keyed("postgres");
    /// let provider = services.build_provider();
    /// assert_eq!(*provider.get_keyed::<u16>("postgres").unwrap().unwrap(), 5432);
    /// assert!(provider.get_keyed::<u16>("mysql").unwrap().is_none());
    /// ```
    fn get_keyed<T: ?Sized + Send + Sync + 'static>(
        &self,
        key: &str,
    ) -> Result<Option<Arc<T>>, ResolveError> {
        self.scope_state().get_one(Some(key))
    }

    /// The last registration of `T` under `key`, resolved, or [`ResolveError::NotRegistered`].
    ///
    /// ```
    /// use janitor_di::{NotDisposable, Resolve, ServiceCollection};
    /// use std::sync::Arc;
    ///
    /// let mut services = ServiceCollection::new();
    /// services.add_singleton(NotDisposable, |_| Ok(Arc::new(5432_u16))).keyed("postgres");
    /// let provider = services.build_provider();
    /// assert_eq!(*provider.get_required_keyed::<u16>("postgres").unwrap(), 5432);
    /// assert!(provider.get_required_keyed::<u16>("mysql").is_err());
    /// ```
    fn get_required_keyed<T: ?Sized + Send + Sync + 'static>(
        &self,
        key: &str,
    ) -> Result<Arc<T>, ResolveError> {
        self.scope_state().get_required(Some(key))
    }

    /// Every registration of `T`, resolved, in registration order; empty if there is none.
    ///
    /// ```
    /// use janitor_di::{NotDisposable, Resolve, ServiceCollection};
    /// use std::sync::Arc;
    ///
    /// let mut services = ServiceCollection::new();
    /// services.add_transient(NotDisposable, |_| Ok(Arc::new(1_i32)));
    /// services.add_singleton(NotDisposable, |_| Ok(Arc::new(2_i32)));
    /// let provider = services.build_provider();
    /// let all: Vec<i32> = provider.get_all::<i32>().unwrap().iter().map(|n| **n).collect();
    /// assert_eq!(all, [1, 2]);
    /// assert!(provider.get_all::<u8>().unwrap().is_empty());
    /// ```
    fn get_all<T: ?Sized + Send + Sync + 'static>(&self) -> Result<Vec<Arc<T>>, ResolveError> {
        self.scope_state().get_all(None)
    }

    /// Every registration of `T` under `key`, resolved, in registration order.
    ///
    /// ```
    /// use janitor_di::{NotDisposable, Resolve, ServiceCollection};
    /// use std::sync::Arc;
    ///
    /// let mut services = ServiceCollection::new();
    /// services.add_transient(NotDisposable, |_| Ok(Arc::new("audit"))).keyed("sinks");
    /// services.add_transient(NotDisposable, |_| Ok(Arc::new("console"))).keyed("sinks");
    /// let provider = services.build_provider();
    /// assert_eq!(provider.get_all_keyed::<&str>("sinks").unwrap().len(), 2);
    /// ```
    fn get_all_keyed<T: ?Sized + Send + Sync + 'static>(
        &self,
        key: &str,
    ) -> Result<Vec<Arc<T>>, ResolveError> {
        self.scope_state().get_all(Some(key))
    }

    /// A new scope of the root provider. Scopes are not nested: a scope's `create_scope` makes a
    /// sibling, as in .NET.
    ///
    /// ```
    /// use janitor_di::{NotDisposable, Resolve, ServiceCollection};
    /// use std::sync::Arc;
    ///
    /// struct Request;
    ///
    /// let mut services = ServiceCollection::new();
    /// services.add_scoped(NotDisposable, |_| Ok(Arc::new(Request)));
    /// let provider = services.build_provider();
    /// let first = provider.create_scope().unwrap();
    /// let sibling = first.create_scope().unwrap();
    /// first.try_dispose().unwrap();
    /// assert!(sibling.get::<Request>().is_ok()); // a sibling outlives its maker
    /// ```
    #[track_caller]
    fn create_scope(&self) -> Result<Scope, ObjectDisposed> {
        let state = self.scope_state();
        state.check_live()?;
        Ok(Scope::new(Arc::new(ScopeState::new_child(state.root()))))
    }
}

/// What a factory receives: resolution from the scope the new instance belongs to (the root
/// provider for a singleton, the resolving scope for scoped and transient services).
///
/// ```
/// use janitor_di::{NotDisposable, Resolve, ServiceCollection};
/// use std::sync::Arc;
///
/// struct Clock;
/// struct Scheduler {
///     clock: Arc<Clock>,
/// }
///
/// let mut services = ServiceCollection::new();
/// services.add_singleton(NotDisposable, |_| Ok(Arc::new(Clock)));
/// services.add_transient(NotDisposable, |resolver| {
///     Ok(Arc::new(Scheduler { clock: resolver.get_required::<Clock>()? }))
/// });
/// let provider = services.build_provider();
/// let scheduler = provider.get_required::<Scheduler>().unwrap();
/// assert!(Arc::ptr_eq(&scheduler.clock, &provider.get_required::<Clock>().unwrap()));
/// ```
pub struct Resolver<'a> {
    scope: &'a Arc<ScopeState>,
}

impl<'a> Resolver<'a> {
    pub(crate) fn new(scope: &'a Arc<ScopeState>) -> Self {
        Self { scope }
    }

    /// A handle that creates scopes of this provider later, for a service that outlives the
    /// factory (.NET's `IServiceScopeFactory`); the same as resolving [`ScopeFactory`].
    ///
    /// ```
    /// use janitor_di::{NotDisposable, Resolve, ScopeFactory, ServiceCollection};
    /// use std::sync::Arc;
    ///
    /// struct Worker {
    ///     scopes: ScopeFactory,
    /// }
    ///
    /// let mut services = ServiceCollection::new();
    /// services.add_singleton(NotDisposable, |resolver| Ok(Arc::new(Worker { scopes: resolver.scope_factory() })));
    /// let provider = services.build_provider();
    /// let worker = provider.get_required::<Worker>().unwrap();
    /// let job_scope = worker.scopes.create_scope().unwrap();
    /// job_scope.try_dispose().unwrap();
    /// ```
    pub fn scope_factory(&self) -> ScopeFactory {
        self.scope.scope_factory()
    }
}

impl std::fmt::Debug for Resolver<'_> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Resolver").finish_non_exhaustive()
    }
}

impl sealed::Sealed for Resolver<'_> {
    fn scope_state(&self) -> &Arc<ScopeState> {
        self.scope
    }
}

impl Resolve for Resolver<'_> {}
