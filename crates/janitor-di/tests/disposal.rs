//! Disposal by the container, after .NET's DI specification tests
//! (`ServiceProviderContainerTests`, `ServiceProviderEngineScopeTests`).

mod common;

use common::{AsyncRecorded, DualRecorded, Exploding, Journal, Recorded};
use janitor::ObjectDisposed;
use janitor_di::{
    AsyncDisposable, Disposable, DisposeFailure, DualDisposable, NotDisposable, Resolve,
    ResolveError, ScopeFactory, ServiceCollection, ServiceProvider,
};
use std::any::type_name;
use std::sync::{Arc, OnceLock, Weak};

fn recorded(
    services: &mut ServiceCollection,
    lifetime: &str,
    name: &'static str,
    journal: &Arc<Journal>,
) {
    let journal = Arc::clone(journal);
    let factory = move |_: &janitor_di::Resolver<'_>| Ok(Recorded::new(name, &journal));
    let registration = match lifetime {
        "singleton" => services.add_singleton(Disposable, factory),
        "scoped" => services.add_scoped(Disposable, factory),
        _ => services.add_transient(Disposable, factory),
    };
    registration.keyed(name);
}

#[test]
fn disposing_scope_disposes_service() {
    let journal = Journal::new();
    let mut services = ServiceCollection::new();
    recorded(&mut services, "scoped", "scoped", &journal);
    recorded(&mut services, "transient", "transient", &journal);
    let provider = services.build_provider();
    let scope = provider.create_scope().unwrap();
    let scoped = scope.get_required_keyed::<Recorded>("scoped").unwrap();
    let transient = scope.get_required_keyed::<Recorded>("transient").unwrap();
    assert!(!scoped.disposed.is_disposed());

    scope.try_dispose().unwrap();

    assert!(scoped.disposed.is_disposed());
    assert!(transient.disposed.is_disposed());
    assert!(!provider.is_disposed());
}

#[test]
fn singleton_services_come_from_root_provider() {
    let journal = Journal::new();
    let mut services = ServiceCollection::new();
    recorded(&mut services, "singleton", "singleton", &journal);
    let provider = services.build_provider();
    let first_scope = provider.create_scope().unwrap();
    let second_scope = provider.create_scope().unwrap();

    let from_first = first_scope
        .get_required_keyed::<Recorded>("singleton")
        .unwrap();
    let from_second = second_scope
        .get_required_keyed::<Recorded>("singleton")
        .unwrap();
    assert!(Arc::ptr_eq(&from_first, &from_second));

    first_scope.try_dispose().unwrap();
    second_scope.try_dispose().unwrap();
    assert!(
        !from_first.disposed.is_disposed(),
        "a scope never disposes a singleton"
    );

    provider.try_dispose().unwrap();
    assert!(
        from_first.disposed.is_disposed(),
        "the root disposes the singletons"
    );
}

#[test]
fn disposes_in_reverse_order_of_creation() {
    // outer (transient) needs middle (scoped) which needs inner (singleton); a second transient
    // is resolved last. Creation order: inner, middle, outer, last.
    let journal = Journal::new();
    let mut services = ServiceCollection::new();
    recorded(&mut services, "singleton", "inner", &journal);
    let middle_journal = Arc::clone(&journal);
    services
        .add_scoped(Disposable, move |resolver| {
            resolver.get_required_keyed::<Recorded>("inner")?;
            Ok(Recorded::new("middle", &middle_journal))
        })
        .keyed("middle");
    let outer_journal = Arc::clone(&journal);
    services
        .add_transient(Disposable, move |resolver| {
            resolver.get_required_keyed::<Recorded>("middle")?;
            Ok(Recorded::new("outer", &outer_journal))
        })
        .keyed("outer");
    recorded(&mut services, "transient", "last", &journal);
    let provider = services.build_provider();

    provider.get_required_keyed::<Recorded>("outer").unwrap();
    provider.get_required_keyed::<Recorded>("last").unwrap();
    provider.try_dispose().unwrap();

    assert_eq!(
        journal.events(),
        [
            "disposed last",
            "disposed outer",
            "disposed middle",
            "disposed inner"
        ]
    );
}

#[test]
fn scope_disposes_its_instances_in_reverse_order_and_leaves_the_singleton() {
    let journal = Journal::new();
    let mut services = ServiceCollection::new();
    recorded(&mut services, "singleton", "pool", &journal);
    let connection_journal = Arc::clone(&journal);
    services
        .add_scoped(Disposable, move |resolver| {
            resolver.get_required_keyed::<Recorded>("pool")?;
            Ok(Recorded::new("connection", &connection_journal))
        })
        .keyed("connection");
    let work_journal = Arc::clone(&journal);
    services
        .add_scoped(Disposable, move |resolver| {
            resolver.get_required_keyed::<Recorded>("connection")?;
            Ok(Recorded::new("unit of work", &work_journal))
        })
        .keyed("unit of work");
    let provider = services.build_provider();

    let scope = provider.create_scope().unwrap();
    scope
        .get_required_keyed::<Recorded>("unit of work")
        .unwrap();
    scope.try_dispose().unwrap();
    assert_eq!(
        journal.events(),
        ["disposed unit of work", "disposed connection"]
    );

    provider.try_dispose().unwrap();
    assert_eq!(journal.events().last().unwrap(), "disposed pool");
}

#[test]
fn self_resolve_then_dispose() {
    let provider = ServiceCollection::new().build_provider();
    let scopes = provider.get_required::<ScopeFactory>().unwrap();
    let scope = scopes.create_scope().unwrap();

    provider.try_dispose().unwrap();

    assert!(matches!(
        scope.get::<ScopeFactory>(),
        Err(ResolveError::Disposed(_))
    ));
    assert!(scopes.create_scope().is_err());
    scope.try_dispose().unwrap();
}

#[test]
fn sync_dispose_of_an_async_only_service_names_it() {
    let journal = Journal::new();
    let mut services = ServiceCollection::new();
    let factory_journal = Arc::clone(&journal);
    services.add_singleton(AsyncDisposable, move |_| {
        Ok(AsyncRecorded::new("uploader", &factory_journal))
    });
    let provider = services.build_provider();
    let uploader = provider.get_required::<AsyncRecorded>().unwrap();

    let error = provider.try_dispose().unwrap_err();

    assert_eq!(
        error.to_string(),
        format!(
            "'{}' type only implements AsyncDispose. Use dispose_async to dispose the container.",
            type_name::<AsyncRecorded>()
        )
    );
    assert_eq!(
        error.failures(),
        [DisposeFailure::AsyncOnly {
            service: type_name::<AsyncRecorded>()
        }]
    );
    assert!(!uploader.disposed.is_disposed());
}

#[test]
fn async_dispose_prefers_async_and_falls_back_to_sync() {
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
    let dual_journal = Arc::clone(&journal);
    services.add_singleton(DualDisposable, move |_| {
        Ok(DualRecorded::new("dual", &dual_journal))
    });
    let provider = services.build_provider();
    provider.get_required::<Recorded>().unwrap();
    provider.get_required::<AsyncRecorded>().unwrap();
    provider.get_required::<DualRecorded>().unwrap();

    pollster::block_on(provider.try_dispose_async()).unwrap();

    assert_eq!(
        journal.events(),
        [
            "disposed async dual",
            "disposed async async",
            "disposed sync"
        ]
    );
}

#[test]
fn sync_dispose_of_a_dual_service_uses_dispose() {
    let journal = Journal::new();
    let mut services = ServiceCollection::new();
    let dual_journal = Arc::clone(&journal);
    services.add_scoped(DualDisposable, move |_| {
        Ok(DualRecorded::new("dual", &dual_journal))
    });
    let provider = services.build_provider();
    let scope = provider.create_scope().unwrap();
    scope.get_required::<DualRecorded>().unwrap();

    scope.try_dispose().unwrap();

    assert_eq!(journal.events(), ["disposed dual"]);
}

#[test]
fn factory_made_singleton_is_disposed_but_instance_is_not() {
    let journal = Journal::new();
    let mut services = ServiceCollection::new();
    recorded(&mut services, "singleton", "made", &journal);
    let handed_over = Recorded::new("handed over", &journal);
    services.add_singleton_instance(Arc::clone(&handed_over));
    let provider = services.build_provider();
    let made = provider.get_required_keyed::<Recorded>("made").unwrap();
    assert!(Arc::ptr_eq(
        &handed_over,
        &provider.get_required::<Recorded>().unwrap()
    ));

    provider.try_dispose().unwrap();

    assert!(made.disposed.is_disposed());
    assert!(!handed_over.disposed.is_disposed());
}

#[test]
fn not_disposable_registration_is_never_disposed() {
    let journal = Journal::new();
    let mut services = ServiceCollection::new();
    let factory_journal = Arc::clone(&journal);
    services.add_scoped(NotDisposable, move |_| {
        Ok(Recorded::new("borrowed", &factory_journal))
    });
    let provider = services.build_provider();
    let scope = provider.create_scope().unwrap();
    let borrowed = scope.get_required::<Recorded>().unwrap();

    scope.try_dispose().unwrap();

    assert!(!borrowed.disposed.is_disposed());
}

#[test]
fn second_dispose_does_nothing() {
    let journal = Journal::new();
    let mut services = ServiceCollection::new();
    services.add_singleton(Disposable, |_| Ok(Arc::new(Exploding)));
    recorded(&mut services, "singleton", "recorded", &journal);
    let provider = services.build_provider();
    provider.get_required::<Exploding>().unwrap();
    provider.get_required_keyed::<Recorded>("recorded").unwrap();

    assert!(provider.try_dispose().is_err());
    assert!(
        provider.try_dispose().is_ok(),
        "the second dispose has nothing left to fail"
    );
    assert!(pollster::block_on(provider.try_dispose_async()).is_ok());
    assert_eq!(journal.events(), ["disposed recorded"]);
}

#[test]
fn use_after_dispose_is_object_disposed() {
    let mut services = ServiceCollection::new();
    services.add_transient(NotDisposable, |_| Ok(Arc::new(1_u8)));
    let provider = services.build_provider();
    let scope = provider.create_scope().unwrap();

    scope.try_dispose().unwrap();
    assert!(
        matches!(scope.get::<u8>(), Err(ResolveError::Disposed(error)) if error == ObjectDisposed::of::<janitor_di::Scope>())
    );
    assert!(scope.create_scope().is_err());
    assert!(
        provider.get::<u8>().is_ok(),
        "disposing a scope leaves the root usable"
    );

    let live_scope = provider.create_scope().unwrap();
    provider.try_dispose().unwrap();
    assert!(
        matches!(provider.get::<u8>(), Err(ResolveError::Disposed(error)) if error == ObjectDisposed::of::<ServiceProvider>())
    );
    assert!(matches!(
        provider.get_all::<u8>(),
        Err(ResolveError::Disposed(_))
    ));
    assert_eq!(
        provider.create_scope().err().unwrap(),
        ObjectDisposed::of::<ServiceProvider>()
    );
    assert!(
        matches!(live_scope.get::<u8>(), Err(ResolveError::Disposed(_))),
        "a scope of a disposed root"
    );
}

#[test]
fn every_service_is_disposed_when_some_panic_and_the_failures_come_together() {
    let journal = Journal::new();
    let mut services = ServiceCollection::new();
    recorded(&mut services, "singleton", "first", &journal);
    services
        .add_singleton(Disposable, |_| Ok(Arc::new(Exploding)))
        .keyed("one");
    recorded(&mut services, "singleton", "middle", &journal);
    services
        .add_singleton(Disposable, |_| Ok(Arc::new(Exploding)))
        .keyed("two");
    recorded(&mut services, "singleton", "last", &journal);
    let provider = services.build_provider();
    provider.get_required_keyed::<Recorded>("first").unwrap();
    provider.get_required_keyed::<Exploding>("one").unwrap();
    provider.get_required_keyed::<Recorded>("middle").unwrap();
    provider.get_required_keyed::<Exploding>("two").unwrap();
    provider.get_required_keyed::<Recorded>("last").unwrap();

    let error = provider.try_dispose().unwrap_err();

    assert_eq!(
        journal.events(),
        ["disposed last", "disposed middle", "disposed first"]
    );
    let exploded = DisposeFailure::Panicked {
        service: type_name::<Exploding>(),
        message: "dispose exploded".into(),
    };
    assert_eq!(error.failures(), [exploded.clone(), exploded]);
    assert!(
        error
            .to_string()
            .starts_with("One or more errors occurred while disposing the container. (")
    );
}

#[test]
fn async_dispose_also_catches_panics_and_disposes_the_rest() {
    let journal = Journal::new();
    let mut services = ServiceCollection::new();
    recorded(&mut services, "scoped", "kept", &journal);
    services.add_scoped(Disposable, |_| Ok(Arc::new(Exploding)));
    let provider = services.build_provider();
    let scope = provider.create_scope().unwrap();
    scope.get_required_keyed::<Recorded>("kept").unwrap();
    scope.get_required::<Exploding>().unwrap();

    let error = pollster::block_on(scope.try_dispose_async()).unwrap_err();

    assert_eq!(error.failures().len(), 1);
    assert_eq!(journal.events(), ["disposed kept"]);
}

#[test]
fn transient_resolved_from_root_lives_until_root_disposal() {
    let journal = Journal::new();
    let mut services = ServiceCollection::new();
    recorded(&mut services, "transient", "transient", &journal);
    let provider = services.build_provider();
    let from_root = provider
        .get_required_keyed::<Recorded>("transient")
        .unwrap();
    let scope = provider.create_scope().unwrap();
    let from_scope = scope.get_required_keyed::<Recorded>("transient").unwrap();

    scope.try_dispose().unwrap();
    assert!(from_scope.disposed.is_disposed());
    assert!(!from_root.disposed.is_disposed());

    provider.try_dispose().unwrap();
    assert!(from_root.disposed.is_disposed());
}

#[test]
fn instance_created_during_disposal_is_disposed_at_once_and_the_call_fails() {
    let journal = Journal::new();
    let provider_slot: Arc<OnceLock<Weak<ServiceProvider>>> = Arc::default();
    let mut services = ServiceCollection::new();
    let factory_journal = Arc::clone(&journal);
    let factory_slot = Arc::clone(&provider_slot);
    services.add_transient(Disposable, move |_| {
        // The provider is disposed while this factory runs, before its instance is captured.
        let provider = factory_slot
            .get()
            .and_then(Weak::upgrade)
            .expect("the test set the provider");
        provider.try_dispose()?;
        Ok(Recorded::new("late", &factory_journal))
    });
    let provider = Arc::new(services.build_provider());
    provider_slot.set(Arc::downgrade(&provider)).ok().unwrap();

    let result = provider.get::<Recorded>();

    assert!(matches!(result, Err(ResolveError::Disposed(_))));
    assert_eq!(journal.events(), ["disposed late"]);
}

#[test]
fn dropping_an_undisposed_scope_disposes_it() {
    let journal = Journal::new();
    let mut services = ServiceCollection::new();
    recorded(&mut services, "scoped", "scoped", &journal);
    let provider = services.build_provider();
    let scope = provider.create_scope().unwrap();
    let scoped = scope.get_required_keyed::<Recorded>("scoped").unwrap();

    drop(scope);

    assert!(scoped.disposed.is_disposed());
}

#[test]
fn dropping_a_provider_with_an_async_only_service_does_not_panic() {
    let journal = Journal::new();
    let mut services = ServiceCollection::new();
    recorded(&mut services, "singleton", "sync", &journal);
    let async_journal = Arc::clone(&journal);
    services.add_singleton(AsyncDisposable, move |_| {
        Ok(AsyncRecorded::new("async", &async_journal))
    });
    let provider = services.build_provider();
    provider.get_required_keyed::<Recorded>("sync").unwrap();
    let async_only = provider.get_required::<AsyncRecorded>().unwrap();

    drop(provider);

    assert_eq!(journal.events(), ["disposed sync"]);
    assert!(
        !async_only.disposed.is_disposed(),
        "reported through tracing, not disposed"
    );
}

/// A worker that owns its request scope: the scope is a `#[dispose]` field, which needs
/// `Scope: Dispose` (before, only the inherent `dispose` returning a `Result` existed).
#[derive(janitor::Dispose)]
struct Worker {
    disposed: janitor::DisposeFlag,
    #[dispose]
    scope: janitor_di::Scope,
}

#[test]
fn a_scope_in_a_dispose_field_is_disposed_with_its_owner() {
    let journal = Journal::new();
    let mut services = ServiceCollection::new();
    recorded(&mut services, "scoped", "scoped", &journal);
    let provider = services.build_provider();
    let worker = Worker {
        disposed: janitor::DisposeFlag::new(),
        scope: provider.create_scope().unwrap(),
    };
    worker
        .scope
        .get_required_keyed::<Recorded>("scoped")
        .unwrap();
    janitor::Dispose::dispose(&worker);
    assert!(worker.scope.is_disposed());
    assert_eq!(journal.events(), ["disposed scoped"]);
}

#[test]
fn a_provider_on_a_dispose_stack_is_disposed_with_the_stack() {
    let journal = Journal::new();
    let mut services = ServiceCollection::new();
    recorded(&mut services, "singleton", "singleton", &journal);
    let stack = janitor::dispose::DisposeStack::new();
    let provider = stack.push(services.build_provider()).unwrap();
    provider
        .get_required_keyed::<Recorded>("singleton")
        .unwrap();
    stack.try_dispose().unwrap();
    assert!(provider.is_disposed());
    assert_eq!(journal.events(), ["disposed singleton"]);
}

#[test]
fn a_provider_through_an_arc_is_disposed_by_the_trait_and_keeps_its_failures_for_try_dispose() {
    let mut services = ServiceCollection::new();
    services.add_singleton(AsyncDisposable, |_| {
        Ok(AsyncRecorded::new("async only", &Journal::new()))
    });
    let provider = Arc::new(services.build_provider());
    provider.get_required::<AsyncRecorded>().unwrap();
    // Through the Arc the trait's `dispose` runs: the async-only failure is logged, not returned.
    janitor::Dispose::dispose(&provider);
    assert!(provider.is_disposed());
    // A disposed provider has nothing left to fail on.
    provider.try_dispose().unwrap();
}

#[test]
fn a_scope_on_an_async_dispose_stack_is_awaited_with_the_stack() {
    let journal = Journal::new();
    let mut services = ServiceCollection::new();
    services.add_scoped(AsyncDisposable, {
        let journal = Arc::clone(&journal);
        move |_| Ok(AsyncRecorded::new("async scoped", &journal))
    });
    let provider = services.build_provider();
    let stack = janitor::dispose::AsyncDisposeStack::new();
    let scope = stack.push_async(provider.create_scope().unwrap()).unwrap();
    scope.get_required::<AsyncRecorded>().unwrap();
    pollster::block_on(stack.try_dispose_async()).unwrap();
    assert!(scope.is_disposed());
    assert_eq!(journal.events(), ["disposed async async scoped"]);
}
