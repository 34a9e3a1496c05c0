//! Resolution: lifetimes, optional and required services, several registrations, keys, trait
//! objects, failing factories and cycles.

use janitor_di::{FactoryError, NotDisposable, Resolve, ResolveError, ServiceCollection};
use std::any::type_name;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

trait Greeter: Send + Sync {
    fn greet(&self) -> String;
}
struct English;
impl Greeter for English {
    fn greet(&self) -> String {
        "hello".into()
    }
}
struct French;
impl Greeter for French {
    fn greet(&self) -> String {
        "bonjour".into()
    }
}

#[test]
fn get_answers_none_for_an_unregistered_service_and_get_required_fails() {
    struct Unregistered;
    let provider = ServiceCollection::new().build_provider();

    assert!(provider.get::<Unregistered>().unwrap().is_none());
    let error = provider.get_required::<Unregistered>().err().unwrap();
    assert!(
        matches!(&error, ResolveError::NotRegistered { service } if service == type_name::<Unregistered>())
    );
}

#[test]
fn get_returns_the_last_registration_and_get_all_every_one_in_order() {
    let mut services = ServiceCollection::new();
    services.add_singleton::<dyn Greeter, _>(NotDisposable, |_| Ok(Arc::new(English)));
    services.add_transient::<dyn Greeter, _>(NotDisposable, |_| Ok(Arc::new(French)));
    let provider = services.build_provider();

    assert_eq!(
        provider.get_required::<dyn Greeter>().unwrap().greet(),
        "bonjour"
    );
    let all: Vec<String> = provider
        .get_all::<dyn Greeter>()
        .unwrap()
        .iter()
        .map(|g| g.greet())
        .collect();
    assert_eq!(all, ["hello", "bonjour"]);
}

#[test]
fn each_registration_of_a_scoped_service_has_its_own_instance_per_scope() {
    let mut services = ServiceCollection::new();
    services.add_scoped(NotDisposable, |_| Ok(Arc::new(String::from("a"))));
    services.add_scoped(NotDisposable, |_| Ok(Arc::new(String::from("b"))));
    let provider = services.build_provider();
    let scope = provider.create_scope().unwrap();

    let first = scope.get_all::<String>().unwrap();
    let second = scope.get_all::<String>().unwrap();
    assert!(Arc::ptr_eq(&first[0], &second[0]) && Arc::ptr_eq(&first[1], &second[1]));
    assert!(Arc::ptr_eq(
        &first[1],
        &scope.get_required::<String>().unwrap()
    ));
}

#[test]
fn keyed_services_are_found_only_by_their_key() {
    let mut services = ServiceCollection::new();
    services
        .add_singleton::<dyn Greeter, _>(NotDisposable, |_| Ok(Arc::new(English)))
        .keyed("en");
    services
        .add_singleton::<dyn Greeter, _>(NotDisposable, |_| Ok(Arc::new(French)))
        .keyed("fr");
    let provider = services.build_provider();

    assert_eq!(
        provider
            .get_required_keyed::<dyn Greeter>("fr")
            .unwrap()
            .greet(),
        "bonjour"
    );
    assert_eq!(
        provider
            .get_required_keyed::<dyn Greeter>("en")
            .unwrap()
            .greet(),
        "hello"
    );
    assert!(provider.get::<dyn Greeter>().unwrap().is_none());
    assert!(provider.get_keyed::<dyn Greeter>("de").unwrap().is_none());
    let error = provider
        .get_required_keyed::<dyn Greeter>("de")
        .err()
        .unwrap();
    assert!(
        error
            .to_string()
            .contains(&format!("'{}[\"de\"]'", type_name::<dyn Greeter>()))
    );
}

#[test]
fn a_factory_that_fails_is_not_cached() {
    let attempts = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&attempts);
    let mut services = ServiceCollection::new();
    services.add_singleton(NotDisposable, move |_| -> Result<Arc<u64>, FactoryError> {
        match counted.fetch_add(1, Ordering::SeqCst) {
            0 => Err("the database is still starting".into()),
            _ => Ok(Arc::new(7)),
        }
    });
    let provider = services.build_provider();

    let error = provider.get_required::<u64>().err().unwrap();
    assert_eq!(
        error.to_string(),
        format!(
            "The factory of '{}' failed: the database is still starting",
            type_name::<u64>()
        )
    );
    assert_eq!(*provider.get_required::<u64>().unwrap(), 7);
    assert_eq!(*provider.get_required::<u64>().unwrap(), 7);
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
}

#[test]
fn a_factory_missing_a_dependency_names_both() {
    struct Repository;
    struct Database;
    let mut services = ServiceCollection::new();
    services.add_transient(NotDisposable, |resolver| {
        resolver.get_required::<Database>()?;
        Ok(Arc::new(Repository))
    });
    let provider = services.build_provider();

    let error = provider.get::<Repository>().err().unwrap();

    assert!(error.to_string().starts_with(&format!(
        "Unable to resolve service for type '{}' while attempting to activate '{}'.",
        type_name::<Database>(),
        type_name::<Repository>()
    )));
}

struct A;
struct B;

#[test]
fn a_cycle_is_an_error_with_its_path_not_a_stack_overflow() {
    let mut services = ServiceCollection::new();
    services.add_singleton(NotDisposable, |resolver| {
        resolver.get_required::<B>()?;
        Ok(Arc::new(A))
    });
    services.add_transient(NotDisposable, |resolver| {
        resolver.get_required::<A>()?;
        Ok(Arc::new(B))
    });
    let provider = services.build_provider();

    let error = provider.get::<A>().err().unwrap();

    let (a, b) = (type_name::<A>(), type_name::<B>());
    assert!(
        matches!(&error, ResolveError::Cycle { path, .. } if *path == format!("{a} -> {b} -> {a}"))
    );
    // The failed creation left nothing behind: the stack is empty again.
    assert!(
        matches!(provider.get::<B>().err().unwrap(), ResolveError::Cycle { path, .. } if path == format!("{b} -> {a} -> {b}"))
    );
}

#[test]
fn a_service_that_resolves_itself_is_a_cycle_of_one() {
    let mut services = ServiceCollection::new();
    services.add_scoped(NotDisposable, |resolver| {
        resolver.get_required::<A>()?;
        Ok(Arc::new(A))
    });
    let provider = services.build_provider();
    let scope = provider.create_scope().unwrap();

    let error = scope.get::<A>().err().unwrap();

    let a = type_name::<A>();
    assert_eq!(
        error.to_string(),
        format!(
            "A circular dependency was detected for the service of type '{a}': {a} -> {a}. \
             Break the cycle: let one of them take what it needs later, not in its factory."
        )
    );
}

#[test]
fn a_panicking_factory_leaves_the_provider_usable() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let mut services = ServiceCollection::new();
    services.add_singleton(NotDisposable, move |_| {
        if counted.fetch_add(1, Ordering::SeqCst) == 0 {
            panic!("first creation panics");
        }
        Ok(Arc::new(A))
    });
    let provider = services.build_provider();

    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| provider.get::<A>()));
    assert!(panicked.is_err());
    assert!(
        provider.get::<A>().unwrap().is_some(),
        "no stale frame, no poisoned lock"
    );
}

#[test]
fn scoped_services_resolved_from_root_without_validation_live_in_the_root() {
    let mut services = ServiceCollection::new();
    services.add_scoped(NotDisposable, |_| Ok(Arc::new(A)));
    let provider = services.build_provider();
    let scope = provider.create_scope().unwrap();

    let from_root = provider.get_required::<A>().unwrap();
    assert!(Arc::ptr_eq(
        &from_root,
        &provider.get_required::<A>().unwrap()
    ));
    assert!(!Arc::ptr_eq(
        &from_root,
        &scope.get_required::<A>().unwrap()
    ));
}

#[test]
fn providers_and_scopes_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<janitor_di::ServiceProvider>();
    assert_send_sync::<janitor_di::Scope>();
    assert_send_sync::<janitor_di::ScopeFactory>();
}

#[test]
fn a_scopes_create_scope_makes_a_sibling_not_a_child() {
    let mut services = ServiceCollection::new();
    services.add_scoped(NotDisposable, |_| Ok(Arc::new(A)));
    let provider = services.build_provider();
    let first = provider.create_scope().unwrap();
    let sibling = first.create_scope().unwrap();

    let from_first = first.get_required::<A>().unwrap();
    let from_sibling = sibling.get_required::<A>().unwrap();
    assert!(
        !Arc::ptr_eq(&from_first, &from_sibling),
        "each scope has its own scoped instance"
    );

    first.try_dispose().unwrap();
    assert!(
        sibling.get::<A>().is_ok(),
        "disposing a scope leaves the scopes it made alone"
    );
}
