//! The mutable list of registrations, before it is frozen into a provider.
//!
//! Nothing here resolves anything: a [`ServiceCollection`] is a list of descriptors (service type,
//! key, lifetime, how to make an instance, how to dispose it, declared dependencies). Building a
//! provider freezes the list into a [`Registry`](crate::registry::Registry) and never changes it
//! again, so resolution reads it without locks.

use crate::disposal::{Disposal, NotDisposable};
use crate::error::{FactoryError, ValidationError};
use crate::options::ProviderOptions;
use crate::provider::{ScopeFactory, ServiceProvider};
use crate::registry::Registry;
use crate::resolve::Resolver;
use crate::scope::{Create, Source};
use crate::validation;
use crate::vocabulary::{Descriptor, Lifetime, ServiceId};
use std::sync::Arc;

/// The list of services a provider will offer: what each is, how long it lives, how it is made and
/// how it is disposed (.NET's `IServiceCollection`).
///
/// Every `add_*` method takes a disposal marker first ([`Disposable`](crate::Disposable),
/// [`AsyncDisposable`](crate::AsyncDisposable), [`DualDisposable`](crate::DualDisposable) or
/// [`NotDisposable`]): there is no default to forget (the [`disposal`](crate::Disposal) docs say
/// why). Factories receive the [`Resolver`] of the scope the new instance belongs to and may fail.
///
/// Several registrations of one service may coexist: `get` returns the last one, `get_all` all of
/// them in registration order. The returned [`Registration`] adds a key or declares dependencies.
///
/// ```
/// use janitor::{Dispose, DisposeFlag};
/// use janitor_di::{Disposable, NotDisposable, Resolve, ServiceCollection};
/// use std::sync::Arc;
///
/// struct Settings {
///     url: &'static str,
/// }
/// struct Connection {
///     url: &'static str,
///     disposed: DisposeFlag,
/// }
/// impl Dispose for Connection {
///     fn dispose(&self) {
///         self.disposed.try_begin();
///     }
/// }
///
/// let mut services = ServiceCollection::new();
/// services.add_singleton_instance(Arc::new(Settings { url: "db://local" }));
/// services
///     .add_scoped(Disposable, |resolver| {
///         let settings = resolver.get_required::<Settings>()?;
///         Ok(Arc::new(Connection { url: settings.url, disposed: DisposeFlag::new() }))
///     })
///     .depends_on::<Settings>();
/// let provider = services.build_provider();
///
/// let scope = provider.create_scope().unwrap();
/// let connection = scope.get_required::<Connection>().unwrap();
/// assert_eq!(connection.url, "db://local");
/// drop(scope); // dropping an undisposed scope disposes it
/// assert!(connection.disposed.is_disposed());
/// ```
#[derive(Default)]
pub struct ServiceCollection {
    descriptors: Vec<Descriptor>,
}

impl std::fmt::Debug for ServiceCollection {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_list()
            .entries(self.descriptors.iter())
            .finish()
    }
}

impl ServiceCollection {
    /// An empty collection.
    ///
    /// ```
    /// let services = janitor_di::ServiceCollection::new();
    /// assert!(services.is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of registrations.
    ///
    /// ```
    /// use janitor_di::{NotDisposable, ServiceCollection};
    /// use std::sync::Arc;
    ///
    /// let mut services = ServiceCollection::new();
    /// services.add_transient(NotDisposable, |_| Ok(Arc::new(1_u8)));
    /// services.add_transient(NotDisposable, |_| Ok(Arc::new(2_u8)));
    /// assert_eq!(services.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.descriptors.len()
    }

    /// Whether nothing is registered.
    ///
    /// ```
    /// assert!(janitor_di::ServiceCollection::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.descriptors.is_empty()
    }

    /// Registers a singleton: created by `factory` on first use, once per provider even when many
    /// threads ask at once, disposed (as `disposal` says) when the root provider is. A factory that
    /// fails is not cached: the next request runs it again.
    ///
    /// The factory receives the root provider's resolver, whichever scope asked.
    ///
    /// First creations of singletons are serialized by the root's creation lock, as in .NET: a
    /// singleton factory must not block on another thread that is itself resolving a singleton
    /// not created yet (spawn-and-join inside a factory), or both wait forever.
    ///
    /// ```
    /// use janitor_di::{NotDisposable, Resolve, ServiceCollection};
    /// use std::sync::Arc;
    ///
    /// struct Clock;
    ///
    /// let mut services = ServiceCollection::new();
    /// services.add_singleton(NotDisposable, |_| Ok(Arc::new(Clock)));
    /// let provider = services.build_provider();
    /// let scope = provider.create_scope().unwrap();
    /// let from_root = provider.get_required::<Clock>().unwrap();
    /// let from_scope = scope.get_required::<Clock>().unwrap();
    /// assert!(Arc::ptr_eq(&from_root, &from_scope));
    /// ```
    pub fn add_singleton<T, D>(
        &mut self,
        disposal: D,
        factory: impl Fn(&Resolver<'_>) -> Result<Arc<T>, FactoryError> + Send + Sync + 'static,
    ) -> Registration<'_>
    where
        T: ?Sized + Send + Sync + 'static,
        D: Disposal<T>,
    {
        self.add_factory(Lifetime::Singleton, disposal, factory)
    }

    /// Registers a scoped service: one instance per scope, created by `factory` on first use in
    /// that scope, disposed (as `disposal` says) with the scope.
    ///
    /// ```
    /// use janitor_di::{NotDisposable, Resolve, ServiceCollection};
    /// use std::sync::Arc;
    ///
    /// struct RequestId(u64);
    ///
    /// let mut services = ServiceCollection::new();
    /// services.add_scoped(NotDisposable, |_| Ok(Arc::new(RequestId(7))));
    /// let provider = services.build_provider();
    /// let first = provider.create_scope().unwrap();
    /// let second = provider.create_scope().unwrap();
    /// let a = first.get_required::<RequestId>().unwrap();
    /// assert!(Arc::ptr_eq(&a, &first.get_required::<RequestId>().unwrap()));
    /// assert!(!Arc::ptr_eq(&a, &second.get_required::<RequestId>().unwrap()));
    /// ```
    pub fn add_scoped<T, D>(
        &mut self,
        disposal: D,
        factory: impl Fn(&Resolver<'_>) -> Result<Arc<T>, FactoryError> + Send + Sync + 'static,
    ) -> Registration<'_>
    where
        T: ?Sized + Send + Sync + 'static,
        D: Disposal<T>,
    {
        self.add_factory(Lifetime::Scoped, disposal, factory)
    }

    /// Registers a transient service: `factory` runs on every resolution; the instance is disposed
    /// (as `disposal` says) with the scope that resolved it. A disposable transient resolved from
    /// the root provider therefore lives until the root is disposed, as in .NET.
    ///
    /// ```
    /// use janitor_di::{NotDisposable, Resolve, ServiceCollection};
    /// use std::sync::Arc;
    ///
    /// struct Message;
    ///
    /// let mut services = ServiceCollection::new();
    /// services.add_transient(NotDisposable, |_| Ok(Arc::new(Message)));
    /// let provider = services.build_provider();
    /// let a = provider.get_required::<Message>().unwrap();
    /// let b = provider.get_required::<Message>().unwrap();
    /// assert!(!Arc::ptr_eq(&a, &b));
    /// ```
    pub fn add_transient<T, D>(
        &mut self,
        disposal: D,
        factory: impl Fn(&Resolver<'_>) -> Result<Arc<T>, FactoryError> + Send + Sync + 'static,
    ) -> Registration<'_>
    where
        T: ?Sized + Send + Sync + 'static,
        D: Disposal<T>,
    {
        self.add_factory(Lifetime::Transient, disposal, factory)
    }

    /// Registers a ready-made singleton. The container did not create it, so it never disposes
    /// it, whatever it implements: its owner does.
    ///
    /// ```
    /// use janitor::{Dispose, DisposeFlag};
    /// use janitor_di::{Resolve, ServiceCollection};
    /// use std::sync::Arc;
    ///
    /// #[derive(Default)]
    /// struct Pool {
    ///     disposed: DisposeFlag,
    /// }
    /// impl Dispose for Pool {
    ///     fn dispose(&self) {
    ///         self.disposed.try_begin();
    ///     }
    /// }
    ///
    /// let pool = Arc::new(Pool::default());
    /// let mut services = ServiceCollection::new();
    /// services.add_singleton_instance(Arc::clone(&pool));
    /// let provider = services.build_provider();
    /// assert!(Arc::ptr_eq(&pool, &provider.get_required::<Pool>().unwrap()));
    /// provider.try_dispose().unwrap();
    /// assert!(!pool.disposed.is_disposed());
    /// ```
    pub fn add_singleton_instance<T>(&mut self, instance: Arc<T>) -> Registration<'_>
    where
        T: ?Sized + Send + Sync + 'static,
    {
        self.push(Descriptor {
            service: ServiceId::of::<T>(None),
            lifetime: Lifetime::Singleton,
            is_instance: true,
            source: Box::new(Source::Instance(instance)),
            dependencies: Vec::new(),
        })
    }

    /// Builds the provider with the default [`ProviderOptions`] (no scope validation, no
    /// validation on build: .NET's defaults). Cycles are detected at resolution whatever the
    /// options.
    ///
    /// ```
    /// use janitor_di::{NotDisposable, Resolve, ServiceCollection};
    /// use std::sync::Arc;
    ///
    /// let mut services = ServiceCollection::new();
    /// services.add_singleton(NotDisposable, |_| Ok(Arc::new(42_u32)));
    /// let provider = services.build_provider();
    /// assert_eq!(*provider.get_required::<u32>().unwrap(), 42);
    /// ```
    #[track_caller]
    pub fn build_provider(self) -> ServiceProvider {
        ServiceProvider::new(self.freeze(), ProviderOptions::default())
    }

    /// Builds the provider with `options`; with
    /// [`validate_on_build`](ProviderOptions::validate_on_build), first checks the declared
    /// dependency graph and returns every problem found.
    ///
    /// ```
    /// use janitor_di::{NotDisposable, ProviderOptions, Resolve, ServiceCollection};
    /// use std::sync::Arc;
    ///
    /// struct Request;
    ///
    /// let mut services = ServiceCollection::new();
    /// services.add_scoped(NotDisposable, |_| Ok(Arc::new(Request)));
    /// let options = ProviderOptions::default().with_scope_validation().with_build_validation();
    /// let provider = services.build_provider_with(options).unwrap();
    /// assert_eq!(
    ///     provider.get::<Request>().err().unwrap().to_string(),
    ///     format!("Cannot resolve scoped service '{}' from root provider.", std::any::type_name::<Request>()),
    /// );
    /// ```
    #[track_caller]
    pub fn build_provider_with(
        self,
        options: ProviderOptions,
    ) -> Result<ServiceProvider, ValidationError> {
        let registry = self.freeze();
        if options.validate_on_build {
            ValidationError::check(validation::validate(&registry, options))?;
        }
        Ok(ServiceProvider::new(registry, options))
    }

    /// The key of the registration at `index` (in the order of the `add_*` calls).
    #[cfg(all(feature = "host", not(loom)))]
    pub(crate) fn key_of(&self, index: usize) -> Option<&str> {
        self.descriptors[index].service.key.as_deref()
    }

    pub(crate) fn freeze(mut self) -> Registry {
        // The provider resolves itself as a scope factory, as .NET's IServiceScopeFactory. It goes
        // first so that a registration of the user's own comes later and wins.
        self.descriptors.insert(0, scope_factory_descriptor());
        Registry::freeze(self.descriptors)
    }

    fn add_factory<T, D>(
        &mut self,
        lifetime: Lifetime,
        _disposal: D,
        factory: impl Fn(&Resolver<'_>) -> Result<Arc<T>, FactoryError> + Send + Sync + 'static,
    ) -> Registration<'_>
    where
        T: ?Sized + Send + Sync + 'static,
        D: Disposal<T>,
    {
        let source = Source::Factory {
            create: Box::new(factory),
            capture: D::capture,
        };
        self.push(Descriptor {
            service: ServiceId::of::<T>(None),
            lifetime,
            is_instance: false,
            source: Box::new(source),
            dependencies: Vec::new(),
        })
    }

    fn push(&mut self, descriptor: Descriptor) -> Registration<'_> {
        self.descriptors.push(descriptor);
        let descriptor = self
            .descriptors
            .last_mut()
            .expect("a descriptor was just pushed");
        Registration { descriptor }
    }
}

fn scope_factory_descriptor() -> Descriptor {
    let create: Create<ScopeFactory> = Box::new(|resolver| Ok(Arc::new(resolver.scope_factory())));
    let capture = <NotDisposable as crate::disposal::sealed::Sealed<ScopeFactory>>::capture;
    Descriptor {
        service: ServiceId::of::<ScopeFactory>(None),
        lifetime: Lifetime::Singleton,
        is_instance: false,
        source: Box::new(Source::Factory { create, capture }),
        dependencies: Vec::new(),
    }
}

/// One registration just added to a [`ServiceCollection`]: give it a key, declare what its
/// factory resolves.
///
/// ```
/// use janitor_di::{NotDisposable, Resolve, ServiceCollection};
/// use std::sync::Arc;
///
/// struct Region(&'static str);
///
/// let mut services = ServiceCollection::new();
/// services.add_singleton(NotDisposable, |_| Ok(Arc::new(Region("eu")))).keyed("eu");
/// services.add_singleton(NotDisposable, |_| Ok(Arc::new(Region("us")))).keyed("us");
/// let provider = services.build_provider();
/// assert_eq!(provider.get_required_keyed::<Region>("us").unwrap().0, "us");
/// assert!(provider.get::<Region>().unwrap().is_none()); // keyed services are not unkeyed ones
/// ```
#[derive(Debug)]
pub struct Registration<'a> {
    descriptor: &'a mut Descriptor,
}

impl Registration<'_> {
    /// Makes this a keyed service (.NET's keyed services): resolved only with the `*_keyed`
    /// methods and this key. Calling it again replaces the key.
    ///
    /// ```
    /// use janitor_di::{NotDisposable, Resolve, ServiceCollection};
    /// use std::sync::Arc;
    ///
    /// let mut services = ServiceCollection::new();
    /// services.add_transient(NotDisposable, |_| Ok(Arc::new(String::from("primary")))).keyed("primary");
    /// let provider = services.build_provider();
    /// assert_eq!(*provider.get_required_keyed::<String>("primary").unwrap(), "primary");
    /// assert!(provider.get_keyed::<String>("replica").unwrap().is_none());
    /// ```
    pub fn keyed(self, key: impl Into<Box<str>>) -> Self {
        self.descriptor.service.key = Some(key.into());
        self
    }

    /// Declares that the factory resolves `D`, for the checks of
    /// [`ProviderOptions::validate_on_build`]: a missing `D`, a cycle through `D`, and (with
    /// [`validate_scopes`](ProviderOptions::validate_scopes)) a scoped `D` below a singleton are
    /// reported when the provider is built rather than when the service is first used.
    ///
    /// The declaration is not checked against what the factory really does: a factory is a
    /// closure, and there is no honest way to learn what it resolves without running it. What
    /// resolution finds at run time (cycles, scope violations, missing services) is reported
    /// then, declared or not.
    ///
    /// ```
    /// use janitor_di::{NotDisposable, ProviderOptions, Resolve, ServiceCollection};
    /// use std::sync::Arc;
    ///
    /// struct Clock;
    /// struct Scheduler;
    ///
    /// let mut services = ServiceCollection::new();
    /// services
    ///     .add_singleton(NotDisposable, |resolver| {
    ///         resolver.get_required::<Clock>()?;
    ///         Ok(Arc::new(Scheduler))
    ///     })
    ///     .depends_on::<Clock>();
    /// let options = ProviderOptions::default().with_build_validation();
    /// let error = services.build_provider_with(options).err().unwrap();
    /// assert!(error.to_string().contains("while attempting to activate"));
    /// ```
    pub fn depends_on<D: ?Sized + 'static>(self) -> Self {
        self.descriptor.dependencies.push(ServiceId::of::<D>(None));
        self
    }

    /// Declares that the factory resolves `D` registered under `key`; see
    /// [`depends_on`](Self::depends_on).
    ///
    /// ```
    /// use janitor_di::{NotDisposable, ProviderOptions, Resolve, ServiceCollection};
    /// use std::sync::Arc;
    ///
    /// struct Store(&'static str);
    /// struct Report;
    ///
    /// let mut services = ServiceCollection::new();
    /// services.add_singleton(NotDisposable, |_| Ok(Arc::new(Store("eu")))).keyed("eu");
    /// services
    ///     .add_transient(NotDisposable, |resolver| {
    ///         resolver.get_required_keyed::<Store>("eu")?;
    ///         Ok(Arc::new(Report))
    ///     })
    ///     .depends_on_keyed::<Store>("eu");
    /// let options = ProviderOptions::default().with_build_validation();
    /// assert!(services.build_provider_with(options).is_ok());
    /// ```
    pub fn depends_on_keyed<D: ?Sized + 'static>(self, key: &str) -> Self {
        self.descriptor
            .dependencies
            .push(ServiceId::of::<D>(Some(key)));
        self
    }
}
