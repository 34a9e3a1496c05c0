//! A scope's state: the instances it caches, the instances it must dispose, and how it creates
//! them. The root provider is a scope too (the one that also holds the singletons).
//!
//! Invariants, each the reason for one field:
//!
//! - **Created by me.** `captured` holds exactly the instances this scope's factories created and
//!   whose registration asked for disposal; ready-made instances never enter it. Singletons are
//!   captured by the root, scoped and transient instances by the scope that resolved them.
//! - **Reverse order.** An instance is captured when its factory returns, so after everything it
//!   resolved in its factory; disposing `captured` back to front disposes every instance before
//!   the instances it was built from.
//! - **Once-only.** A singleton (in the root) or scoped instance (in its scope) is created under
//!   the scope's reentrant `creation` lock and published in a `OnceLock` slot; the lock makes
//!   racing threads wait for the one creating, the slot lets every later resolution read without
//!   a lock. A factory that fails publishes nothing, so the next resolution tries again.
//!   Reentrancy lets a factory resolve other cached services of the same scope; a factory that
//!   resolves its own service is stopped by the resolution stack before it reaches the lock.
//!   One lock per scope (not per service) is what .NET does too: two singletons that need each
//!   other from two threads cannot deadlock, at the price that first creations are serialized.
//! - **Disposed is final.** `captured` becomes `None` under its mutex when disposal begins; a
//!   capture that finds `None` disposes its instance at once and fails. The `disposed` flag
//!   mirrors that state for the cheap check at the start of every resolution; the mutex, not the
//!   flag, is the authority (so the flag needs only `Release`/`Acquire`).
//! - **Transients take no lock** unless they must be captured (one short mutex push).

use crate::disposal::{Captured, Disposer, Failure};
use crate::error::{DisposeError, DisposeFailure, FactoryError, ResolveError};
use crate::options::ProviderOptions;
use crate::provider::{Scope, ScopeFactory, ServiceProvider};
use crate::registry::{Registration, Registry};
use crate::resolve::Resolver;
use crate::stack::{self, Entered};
use crate::vocabulary::{Lifetime, ServiceId};
use janitor::ObjectDisposed;
use parking_lot::{Mutex, ReentrantMutex};
use std::any::{Any, TypeId};
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Wake, Waker};

/// A factory as stored: it receives the resolver of the scope the instance belongs to.
pub(crate) type Create<T> =
    Box<dyn Fn(&Resolver<'_>) -> Result<Arc<T>, FactoryError> + Send + Sync>;

/// How instances of one registration of `T` come to be. Stored type-erased in the registry and
/// recovered by `downcast_ref::<Source<T>>()`, which the `TypeId` key of the registry makes certain.
pub(crate) enum Source<T: ?Sized> {
    /// Handed over ready-made: returned as is, never disposed by the container.
    Instance(Arc<T>),
    /// Made by the container, which disposes what `capture` says it must.
    Factory {
        create: Create<T>,
        capture: fn(&Arc<T>) -> Option<Box<dyn Disposer>>,
    },
}

/// A cached instance: an `Arc<T>` behind `Any`, recovered by downcasting to `Arc<T>`.
type Instance = Box<dyn Any + Send + Sync>;

/// What every scope of one provider shares.
pub(crate) struct Container {
    pub(crate) registry: Registry,
    pub(crate) options: ProviderOptions,
}

/// The state behind a [`ServiceProvider`] (the root) or a [`Scope`].
pub struct ScopeState {
    container: Arc<Container>,
    /// `None` for the root itself.
    root: Option<Arc<ScopeState>>,
    /// The root's singleton cache; empty in other scopes.
    singletons: Box<[OnceLock<Instance>]>,
    scoped: Box<[OnceLock<Instance>]>,
    creation: ReentrantMutex<()>,
    disposed: AtomicBool,
    /// The instances to dispose, in creation order; `None` once disposal has begun.
    captured: Mutex<Option<Vec<Captured>>>,
}

impl ScopeState {
    pub(crate) fn new_root(registry: Registry, options: ProviderOptions) -> Arc<Self> {
        let singletons = empty_slots(registry.singleton_slots());
        let container = Arc::new(Container { registry, options });
        Arc::new(Self::new(container, None, singletons))
    }

    /// A new scope under `root` (scopes are never nested: every scope is a child of the root).
    pub(crate) fn new_child(root: &Arc<ScopeState>) -> Self {
        Self::new(
            Arc::clone(&root.container),
            Some(Arc::clone(root)),
            Box::default(),
        )
    }

    fn new(
        container: Arc<Container>,
        root: Option<Arc<ScopeState>>,
        singletons: Box<[OnceLock<Instance>]>,
    ) -> Self {
        let scoped = empty_slots(container.registry.scoped_slots());
        Self {
            container,
            root,
            singletons,
            scoped,
            creation: ReentrantMutex::new(()),
            disposed: AtomicBool::new(false),
            captured: Mutex::new(Some(Vec::new())),
        }
    }

    pub(crate) fn root(self: &Arc<Self>) -> &Arc<ScopeState> {
        self.root.as_ref().unwrap_or(self)
    }

    fn is_root(&self) -> bool {
        self.root.is_none()
    }

    /// Frames of the resolution stack are tagged with the container's address: unique while any
    /// of its scopes (and so any frame of it) lives.
    fn container_id(&self) -> usize {
        Arc::as_ptr(&self.container) as usize
    }

    pub(crate) fn registry(&self) -> &Registry {
        &self.container.registry
    }

    pub(crate) fn is_disposed(&self) -> bool {
        self.disposed.load(Ordering::Acquire)
    }

    /// `Err` if this scope or its root has been disposed.
    pub(crate) fn check_live(&self) -> Result<(), ObjectDisposed> {
        if self.is_disposed() {
            return Err(if self.is_root() {
                ObjectDisposed::of::<ServiceProvider>()
            } else {
                ObjectDisposed::of::<Scope>()
            });
        }
        match &self.root {
            Some(root) if root.is_disposed() => Err(ObjectDisposed::of::<ServiceProvider>()),
            _ => Ok(()),
        }
    }

    pub(crate) fn scope_factory(self: &Arc<Self>) -> ScopeFactory {
        ScopeFactory::new(Arc::downgrade(self.root()))
    }

    /// The last registration of `T` under `key`, resolved; `None` if there is none.
    pub(crate) fn get_one<T: ?Sized + Send + Sync + 'static>(
        self: &Arc<Self>,
        key: Option<&str>,
    ) -> Result<Option<Arc<T>>, ResolveError> {
        self.check_live()?;
        match self.registry().find(TypeId::of::<T>(), key).last() {
            None => Ok(None),
            Some(&index) => self.resolve(index).map(Some),
        }
    }

    /// The last registration of `T` under `key`, resolved; `NotRegistered` if there is none.
    pub(crate) fn get_required<T: ?Sized + Send + Sync + 'static>(
        self: &Arc<Self>,
        key: Option<&str>,
    ) -> Result<Arc<T>, ResolveError> {
        self.get_one(key)?
            .ok_or_else(|| ResolveError::NotRegistered {
                service: ServiceId::of::<T>(key).display_name(),
            })
    }

    /// Every registration of `T` under `key`, resolved in registration order.
    pub(crate) fn get_all<T: ?Sized + Send + Sync + 'static>(
        self: &Arc<Self>,
        key: Option<&str>,
    ) -> Result<Vec<Arc<T>>, ResolveError> {
        self.check_live()?;
        self.registry()
            .find(TypeId::of::<T>(), key)
            .iter()
            .map(|&index| self.resolve(index))
            .collect()
    }

    fn resolve<T: ?Sized + Send + Sync + 'static>(
        self: &Arc<Self>,
        index: usize,
    ) -> Result<Arc<T>, ResolveError> {
        let registration = self.registry().get(index);
        let source = registration
            .descriptor
            .source
            .downcast_ref::<Source<T>>()
            .expect("the registry stores a Source<T> under TypeId::of::<T>()");
        let (create, capture) = match source {
            Source::Instance(instance) => return Ok(Arc::clone(instance)),
            Source::Factory { create, capture } => (create, *capture),
        };
        match registration.lifetime() {
            Lifetime::Transient => {
                let _entered = self.enter(index)?;
                self.create(registration, create, capture)
            }
            Lifetime::Singleton => {
                let root = self.root();
                root.cached(&root.singletons[registration.slot], index, create, capture)
            }
            Lifetime::Scoped => {
                self.check_scoped_resolution(index)?;
                self.cached(&self.scoped[registration.slot], index, create, capture)
            }
        }
    }

    fn enter(&self, index: usize) -> Result<Entered, ResolveError> {
        stack::enter(self.container_id(), index, self.registry())
    }

    /// The instance in `slot`, created by the one thread that takes the creation lock first.
    fn cached<T: ?Sized + Send + Sync + 'static>(
        self: &Arc<Self>,
        slot: &OnceLock<Instance>,
        index: usize,
        create: &Create<T>,
        capture: fn(&Arc<T>) -> Option<Box<dyn Disposer>>,
    ) -> Result<Arc<T>, ResolveError> {
        if let Some(instance) = slot.get() {
            return Ok(recover(instance));
        }
        let _entered = self.enter(index)?;
        let _creating = self.creation.lock();
        if let Some(instance) = slot.get() {
            return Ok(recover(instance));
        }
        let instance = self.create(self.registry().get(index), create, capture)?;
        let published = slot.set(Box::new(Arc::clone(&instance)));
        debug_assert!(
            published.is_ok(),
            "the creation lock makes this thread the slot's only writer"
        );
        Ok(instance)
    }

    /// Runs the factory with this scope's resolver and captures the instance if it must be
    /// disposed.
    fn create<T: ?Sized + Send + Sync + 'static>(
        self: &Arc<Self>,
        registration: &Registration,
        create: &Create<T>,
        capture: fn(&Arc<T>) -> Option<Box<dyn Disposer>>,
    ) -> Result<Arc<T>, ResolveError> {
        let instance =
            create(&Resolver::new(self)).map_err(|error| factory_failed(registration, error))?;
        if let Some(disposer) = capture(&instance) {
            self.capture(Captured {
                service: registration.descriptor.service.type_name,
                disposer,
            })?;
        }
        Ok(instance)
    }

    /// With scope validation, a scoped service may not be resolved from the root provider: it
    /// would live as long as the root, a singleton in disguise.
    fn check_scoped_resolution(&self, index: usize) -> Result<(), ResolveError> {
        if !self.is_root() || !self.container.options.validate_scopes {
            return Ok(());
        }
        let registry = self.registry();
        let scoped = registry.get(index).display_name();
        Err(
            match stack::innermost_singleton(self.container_id(), registry) {
                Some(singleton) => ResolveError::ScopedFromSingleton {
                    scoped,
                    singleton: registry.get(singleton).display_name(),
                },
                None => ResolveError::ScopedFromRoot { scoped },
            },
        )
    }

    /// Keeps `captured` for disposal, or, if disposal has begun, disposes it now and fails.
    fn capture(&self, captured: Captured) -> Result<(), ObjectDisposed> {
        if let Some(list) = self.captured.lock().as_mut() {
            list.push(captured);
            return Ok(());
        }
        dispose_late(&captured);
        Err(if self.is_root() {
            ObjectDisposed::of::<ServiceProvider>()
        } else {
            ObjectDisposed::of::<Scope>()
        })
    }

    /// Whether disposal has not begun and some instance waits for it: what a drop without
    /// dispose would leave to the drop.
    pub(crate) fn holds_instances(&self) -> bool {
        self.captured
            .lock()
            .as_ref()
            .is_some_and(|list| !list.is_empty())
    }

    /// Takes the instances to dispose, or `None` if disposal already began (a no-op then).
    fn begin_dispose(&self) -> Option<Vec<Captured>> {
        let mut captured = self.captured.lock();
        let list = captured.take()?;
        self.disposed.store(true, Ordering::Release);
        Some(list)
    }

    /// Disposes every captured instance, newest first, each even if others fail.
    pub(crate) fn dispose(&self) -> Result<(), DisposeError> {
        let Some(captured) = self.begin_dispose() else {
            return Ok(());
        };
        let failures = captured
            .iter()
            .rev()
            .filter_map(|instance| {
                instance
                    .dispose()
                    .err()
                    .map(|failure| named(failure, instance.service))
            })
            .collect();
        DisposeError::check(failures)
    }

    /// Disposes every captured instance asynchronously where it can, newest first, each awaited
    /// before the next starts, each even if others fail.
    pub(crate) async fn dispose_async(&self) -> Result<(), DisposeError> {
        let Some(captured) = self.begin_dispose() else {
            return Ok(());
        };
        let mut failures = Vec::new();
        for instance in captured.iter().rev() {
            if let Err(failure) = instance.dispose_async().await {
                failures.push(named(failure, instance.service));
            }
        }
        DisposeError::check(failures)
    }

    /// Disposes synchronously for `Drop`, which can neither await nor return an error: failures,
    /// async-only services among them, go to `tracing`.
    pub(crate) fn dispose_on_drop(&self, owner: &'static str) {
        if let Err(error) = self.dispose() {
            for failure in error.failures() {
                tracing::error!(owner, %failure, "an undisposed {owner} was dropped and could not dispose a service");
            }
        }
    }
}

fn empty_slots(count: usize) -> Box<[OnceLock<Instance>]> {
    (0..count).map(|_| OnceLock::new()).collect()
}

fn recover<T: ?Sized + Send + Sync + 'static>(instance: &Instance) -> Arc<T> {
    Arc::clone(
        instance
            .downcast_ref::<Arc<T>>()
            .expect("a slot of T holds an Arc<T>"),
    )
}

fn named(failure: Failure, service: &'static str) -> DisposeFailure {
    match failure {
        Failure::OnlyAsync => DisposeFailure::AsyncOnly { service },
        Failure::Panicked(message) => DisposeFailure::Panicked { service, message },
    }
}

/// A factory's error, as the caller sees it. Errors of nested resolutions pass through unchanged,
/// except that a service missing for a factory is named with the service it was missing for.
fn factory_failed(registration: &Registration, error: FactoryError) -> ResolveError {
    match error.downcast::<ResolveError>() {
        Ok(nested) => match *nested {
            ResolveError::NotRegistered {
                service: dependency,
            } => ResolveError::MissingDependency {
                service: registration.display_name(),
                dependency,
            },
            other => other,
        },
        Err(source) => ResolveError::Factory {
            service: registration.display_name(),
            source,
        },
    }
}

/// Disposes an instance created after its scope's disposal began. An async-only instance is
/// disposed by blocking this thread on its future, as .NET blocks on `DisposeAsync` here; failures
/// go to `tracing`, since the caller already receives `ObjectDisposed`.
fn dispose_late(captured: &Captured) {
    let result = match captured.dispose() {
        Err(Failure::OnlyAsync) => block_on(captured.dispose_async()),
        other => other,
    };
    if let Err(failure) = result {
        let failure = named(failure, captured.service);
        tracing::error!(%failure, "a service created after its scope was disposed failed to dispose");
    }
}

/// Polls `future` to completion on this thread, parking between wake-ups.
fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        match future.as_mut().poll(&mut context) {
            Poll::Ready(output) => return output,
            Poll::Pending => std::thread::park(),
        }
    }
}
