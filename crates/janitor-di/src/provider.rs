//! The owning handles: the root provider and its scopes. Each disposes what it created, once,
//! explicitly or when dropped.

use crate::error::DisposeError;
use crate::options::ProviderOptions;
use crate::registry::Registry;
use crate::resolve::{Resolve, sealed};
use crate::scope::ScopeState;
use janitor::dispose::AsyncDispose;
use janitor::leak::LeakTracker;
use janitor::{Dispose, ObjectDisposed};
use std::fmt;
use std::sync::{Arc, Weak};

/// The root of a built container (.NET's `ServiceProvider`): resolves services, holds the
/// singletons, creates scopes, and disposes what it created.
///
/// It is `Send + Sync`: share it with `Arc` or by reference. Dropping it undisposed disposes it
/// synchronously; async-only services are then reported through `tracing`, not disposed. Call
/// [`try_dispose_async`](Self::try_dispose_async) when they matter. A provider dropped undisposed while
/// it holds instances to dispose is a forgotten dispose: the leak detector (`janitor::leak`)
/// reports it, with the place it was built, when the level tracks it.
///
/// ```
/// use janitor::{Dispose, DisposeFlag};
/// use janitor_di::{Disposable, Resolve, ServiceCollection};
/// use std::sync::Arc;
///
/// #[derive(Default)]
/// struct Cache {
///     disposed: DisposeFlag,
/// }
/// impl Dispose for Cache {
///     fn dispose(&self) {
///         self.disposed.try_begin();
///     }
/// }
///
/// let mut services = ServiceCollection::new();
/// services.add_singleton(Disposable, |_| Ok(Arc::new(Cache::default())));
/// let provider = services.build_provider();
/// let cache = provider.get_required::<Cache>().unwrap();
/// provider.try_dispose().unwrap();
/// assert!(cache.disposed.is_disposed());
/// assert!(provider.get::<Cache>().is_err()); // ObjectDisposed
/// ```
pub struct ServiceProvider {
    root: Arc<ScopeState>,
    /// Closed by dispose; reported by a drop that still finds instances to dispose.
    leak: LeakTracker,
}

impl ServiceProvider {
    #[track_caller]
    pub(crate) fn new(registry: Registry, options: ProviderOptions) -> Self {
        Self {
            root: ScopeState::new_root(registry, options),
            leak: LeakTracker::new::<Self>(),
        }
    }

    /// Disposes every instance the provider created and captured (singletons, and scoped and
    /// transient services resolved from the root), newest first. Every instance is attempted;
    /// the failures come back together. An instance registered
    /// [`AsyncDisposable`](crate::AsyncDisposable) cannot be disposed here and is one of the
    /// failures: use [`try_dispose_async`](Self::try_dispose_async). A second call does nothing.
    ///
    /// Scopes are not disposed with the root (as in .NET), but cannot resolve anything afterwards.
    ///
    /// ```
    /// let provider = janitor_di::ServiceCollection::new().build_provider();
    /// provider.try_dispose().unwrap();
    /// provider.try_dispose().unwrap(); // a no-op
    /// ```
    pub fn try_dispose(&self) -> Result<(), DisposeError> {
        self.leak.close();
        self.root.dispose()
    }

    /// Disposes like [`try_dispose`](Self::try_dispose), but awaits
    /// [`AsyncDispose::dispose_async`](crate::AsyncDispose::dispose_async) of every instance that
    /// has it, falling back to [`Dispose`](janitor::Dispose) for the others; one instance at a
    /// time, newest first. The future is `Send`; the container needs no particular runtime.
    ///
    /// ```
    /// let provider = janitor_di::ServiceCollection::new().build_provider();
    /// pollster::block_on(provider.try_dispose_async()).unwrap();
    /// assert!(provider.try_dispose().is_ok()); // already disposed: a no-op
    /// ```
    pub async fn try_dispose_async(&self) -> Result<(), DisposeError> {
        self.leak.close();
        self.root.dispose_async().await
    }

    /// Whether disposal has begun.
    ///
    /// ```
    /// let provider = janitor_di::ServiceCollection::new().build_provider();
    /// assert!(!provider.is_disposed());
    /// provider.try_dispose().unwrap();
    /// assert!(provider.is_disposed());
    /// ```
    pub fn is_disposed(&self) -> bool {
        self.root.is_disposed()
    }
}

/// Disposing a provider through the trait (on a `DisposeStack`, in a `#[dispose]` field, through
/// an `Arc`): [`try_dispose`](ServiceProvider::try_dispose), with its failures logged as
/// `tracing` errors, since [`Dispose::dispose`] returns nothing.
///
/// ```
/// use janitor::dispose::DisposeStack;
/// use janitor_di::ServiceCollection;
///
/// let stack = DisposeStack::new();
/// let provider = stack.push(ServiceCollection::new().build_provider()).unwrap();
/// stack.try_dispose().unwrap();
/// assert!(provider.is_disposed());
/// ```
impl Dispose for ServiceProvider {
    fn dispose(&self) {
        log_failures("ServiceProvider", self.try_dispose());
    }
}

/// Disposing a provider through [`AsyncDispose`]: [`try_dispose_async`](ServiceProvider::try_dispose_async),
/// with its failures logged as `tracing` errors.
///
/// ```
/// use janitor::dispose::AsyncDispose;
///
/// let provider = janitor_di::ServiceCollection::new().build_provider();
/// pollster::block_on(AsyncDispose::dispose_async(&provider));
/// assert!(provider.is_disposed());
/// ```
impl AsyncDispose for ServiceProvider {
    async fn dispose_async(&self) {
        log_failures("ServiceProvider", self.try_dispose_async().await);
    }
}

impl sealed::Sealed for ServiceProvider {
    fn scope_state(&self) -> &Arc<ScopeState> {
        &self.root
    }
}

impl Resolve for ServiceProvider {}

impl fmt::Debug for ServiceProvider {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("ServiceProvider")
            .field("registrations", &self.root.registry().len())
            .field("disposed", &self.is_disposed())
            .finish_non_exhaustive()
    }
}

impl Drop for ServiceProvider {
    fn drop(&mut self) {
        report_if_leaked(&self.leak, &self.root);
        self.root.dispose_on_drop("ServiceProvider");
    }
}

/// The end of a dispose through [`Dispose`] or [`AsyncDispose`], which return nothing: each
/// failure is an error event, as for a dropped provider.
fn log_failures(owner: &'static str, result: Result<(), DisposeError>) {
    if let Err(error) = result {
        for failure in error.failures() {
            tracing::error!(owner, %failure, "disposing a {owner} through the Dispose trait could not dispose a service; call try_dispose to get the failures");
        }
    }
}

/// The drop of an undisposed provider or scope: a leak if it still holds instances to dispose
/// (one with none leaked nothing).
fn report_if_leaked(leak: &LeakTracker, state: &ScopeState) {
    if state.holds_instances() {
        leak.report_leak();
    } else {
        leak.close();
    }
}

/// A scope (.NET's `IServiceScope`): one instance of each scoped service, and the owner of the
/// scoped and transient instances resolved from it, disposed with it, newest first. Singletons
/// still come from the root provider.
///
/// Dropping an undisposed scope disposes it synchronously, reporting async-only services through
/// `tracing`; if it held instances to dispose, the leak detector (`janitor::leak`) reports the
/// forgotten dispose, with the place the scope was created, when the level tracks it.
///
/// ```
/// use janitor::{Dispose, DisposeFlag};
/// use janitor_di::{Disposable, Resolve, ServiceCollection};
/// use std::sync::Arc;
///
/// #[derive(Default)]
/// struct UnitOfWork {
///     disposed: DisposeFlag,
/// }
/// impl Dispose for UnitOfWork {
///     fn dispose(&self) {
///         self.disposed.try_begin();
///     }
/// }
///
/// let mut services = ServiceCollection::new();
/// services.add_scoped(Disposable, |_| Ok(Arc::new(UnitOfWork::default())));
/// let provider = services.build_provider();
/// let scope = provider.create_scope().unwrap();
/// let work = scope.get_required::<UnitOfWork>().unwrap();
/// scope.try_dispose().unwrap();
/// assert!(work.disposed.is_disposed());
/// ```
pub struct Scope {
    state: Arc<ScopeState>,
    /// Closed by dispose; reported by a drop that still finds instances to dispose.
    leak: LeakTracker,
}

impl Scope {
    #[track_caller]
    pub(crate) fn new(state: Arc<ScopeState>) -> Self {
        Self {
            state,
            leak: LeakTracker::new::<Self>(),
        }
    }

    /// Disposes the instances this scope created and captured, newest first; see
    /// [`ServiceProvider::try_dispose`] for the rules, which are the same.
    ///
    /// ```
    /// let provider = janitor_di::ServiceCollection::new().build_provider();
    /// use janitor_di::Resolve;
    /// let scope = provider.create_scope().unwrap();
    /// scope.try_dispose().unwrap();
    /// assert!(scope.create_scope().is_err()); // ObjectDisposed
    /// ```
    pub fn try_dispose(&self) -> Result<(), DisposeError> {
        self.leak.close();
        self.state.dispose()
    }

    /// Disposes asynchronously; see [`ServiceProvider::try_dispose_async`].
    ///
    /// ```
    /// use janitor_di::Resolve;
    /// let provider = janitor_di::ServiceCollection::new().build_provider();
    /// let scope = provider.create_scope().unwrap();
    /// pollster::block_on(scope.try_dispose_async()).unwrap();
    /// assert!(scope.is_disposed());
    /// ```
    pub async fn try_dispose_async(&self) -> Result<(), DisposeError> {
        self.leak.close();
        self.state.dispose_async().await
    }

    /// Whether disposal of this scope has begun.
    ///
    /// ```
    /// use janitor_di::Resolve;
    /// let provider = janitor_di::ServiceCollection::new().build_provider();
    /// let scope = provider.create_scope().unwrap();
    /// assert!(!scope.is_disposed());
    /// ```
    pub fn is_disposed(&self) -> bool {
        self.state.is_disposed()
    }
}

/// Disposing a scope through the trait: [`try_dispose`](Scope::try_dispose), with its failures
/// logged as `tracing` errors, since [`Dispose::dispose`] returns nothing.
///
/// ```
/// use janitor::Dispose;
/// use janitor_di::Resolve;
///
/// let provider = janitor_di::ServiceCollection::new().build_provider();
/// let scope = std::sync::Arc::new(provider.create_scope().unwrap());
/// scope.dispose(); // through the Arc: the trait
/// assert!(scope.is_disposed());
/// ```
impl Dispose for Scope {
    fn dispose(&self) {
        log_failures("Scope", self.try_dispose());
    }
}

/// Disposing a scope through [`AsyncDispose`]: [`try_dispose_async`](Scope::try_dispose_async),
/// with its failures logged as `tracing` errors.
///
/// ```
/// use janitor::dispose::AsyncDispose;
/// use janitor_di::Resolve;
///
/// let provider = janitor_di::ServiceCollection::new().build_provider();
/// let scope = provider.create_scope().unwrap();
/// pollster::block_on(AsyncDispose::dispose_async(&scope));
/// assert!(scope.is_disposed());
/// ```
impl AsyncDispose for Scope {
    async fn dispose_async(&self) {
        log_failures("Scope", self.try_dispose_async().await);
    }
}

impl sealed::Sealed for Scope {
    fn scope_state(&self) -> &Arc<ScopeState> {
        &self.state
    }
}

impl Resolve for Scope {}

impl fmt::Debug for Scope {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Scope")
            .field("disposed", &self.is_disposed())
            .finish_non_exhaustive()
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        report_if_leaked(&self.leak, &self.state);
        self.state.dispose_on_drop("Scope");
    }
}

/// Creates scopes of a provider without owning it (.NET's `IServiceScopeFactory`): what a
/// long-lived service keeps to open a scope per job. Every provider resolves it as a singleton.
///
/// It holds the provider weakly, so a singleton that keeps one does not keep the provider alive.
///
/// ```
/// use janitor_di::{Resolve, ScopeFactory, ServiceCollection};
///
/// let provider = ServiceCollection::new().build_provider();
/// let scopes = provider.get_required::<ScopeFactory>().unwrap();
/// let scope = scopes.create_scope().unwrap();
/// scope.try_dispose().unwrap();
/// provider.try_dispose().unwrap();
/// assert!(scopes.create_scope().is_err()); // ObjectDisposed
/// ```
pub struct ScopeFactory {
    root: Weak<ScopeState>,
}

impl fmt::Debug for ScopeFactory {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let live = self.root.upgrade().is_some_and(|root| !root.is_disposed());
        formatter
            .debug_struct("ScopeFactory")
            .field("provider_live", &live)
            .finish()
    }
}

impl ScopeFactory {
    pub(crate) fn new(root: Weak<ScopeState>) -> Self {
        Self { root }
    }

    /// A new scope of the provider, or `ObjectDisposed` if the provider is disposed or gone.
    ///
    /// ```
    /// use janitor_di::{Resolve, ScopeFactory, ServiceCollection};
    ///
    /// let provider = ServiceCollection::new().build_provider();
    /// let scopes = provider.get_required::<ScopeFactory>().unwrap();
    /// drop(provider);
    /// assert!(scopes.create_scope().is_err());
    /// ```
    #[track_caller]
    pub fn create_scope(&self) -> Result<Scope, ObjectDisposed> {
        let root = self
            .root
            .upgrade()
            .ok_or_else(ObjectDisposed::of::<ServiceProvider>)?;
        root.check_live()?;
        Ok(Scope::new(Arc::new(ScopeState::new_child(&root))))
    }
}
