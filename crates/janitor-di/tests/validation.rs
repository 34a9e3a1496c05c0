//! Scope validation and validation on build, with .NET's messages.

use janitor_di::{NotDisposable, ProviderOptions, Resolve, ResolveError, ServiceCollection};
use std::any::type_name;
use std::sync::Arc;

struct Request;
struct Cache;
struct Handler;
struct A;
struct B;
struct Missing;

const BOTH: ProviderOptions = ProviderOptions::new()
    .with_scope_validation()
    .with_build_validation();
const SCOPES: ProviderOptions = ProviderOptions::new().with_scope_validation();

#[test]
fn scoped_service_resolved_from_root_is_refused() {
    let mut services = ServiceCollection::new();
    services.add_scoped(NotDisposable, |_| Ok(Arc::new(Request)));
    let provider = services.build_provider_with(SCOPES).unwrap();

    let error = provider.get::<Request>().err().unwrap();

    assert_eq!(
        error.to_string(),
        format!(
            "Cannot resolve scoped service '{}' from root provider.",
            type_name::<Request>()
        )
    );
    assert!(
        provider
            .create_scope()
            .unwrap()
            .get::<Request>()
            .unwrap()
            .is_some()
    );
}

#[test]
fn scoped_service_consumed_by_singleton_is_refused_at_resolution() {
    let mut services = ServiceCollection::new();
    services.add_scoped(NotDisposable, |_| Ok(Arc::new(Request)));
    services.add_transient(NotDisposable, |resolver| {
        resolver.get_required::<Request>()?;
        Ok(Arc::new(Handler))
    });
    services.add_singleton(NotDisposable, |resolver| {
        resolver.get_required::<Handler>()?;
        Ok(Arc::new(Cache))
    });
    let provider = services.build_provider_with(SCOPES).unwrap();
    let scope = provider.create_scope().unwrap();

    let error = scope.get::<Cache>().err().unwrap();

    assert_eq!(
        error.to_string(),
        format!(
            "Cannot consume scoped service '{}' from singleton '{}'.",
            type_name::<Request>(),
            type_name::<Cache>()
        )
    );
}

#[test]
fn without_validation_a_singleton_may_capture_a_root_scoped_service() {
    let mut services = ServiceCollection::new();
    services.add_scoped(NotDisposable, |_| Ok(Arc::new(Request)));
    services.add_singleton(NotDisposable, |resolver| {
        resolver.get_required::<Request>()?;
        Ok(Arc::new(Cache))
    });
    let provider = services.build_provider();

    assert!(
        provider
            .create_scope()
            .unwrap()
            .get::<Cache>()
            .unwrap()
            .is_some()
    );
}

#[test]
fn validate_on_build_reports_a_scoped_dependency_of_a_singleton() {
    let mut services = ServiceCollection::new();
    services.add_scoped(NotDisposable, |_| Ok(Arc::new(Request)));
    services
        .add_transient(NotDisposable, |_| Ok(Arc::new(Handler)))
        .depends_on::<Request>();
    services
        .add_singleton(NotDisposable, |_| Ok(Arc::new(Cache)))
        .depends_on::<Handler>();

    let error = services.build_provider_with(BOTH).err().unwrap();

    assert_eq!(error.errors().len(), 1);
    assert_eq!(
        error.errors()[0].to_string(),
        format!(
            "Cannot consume scoped service '{}' from singleton '{}'.",
            type_name::<Request>(),
            type_name::<Cache>()
        )
    );
    assert!(
        error
            .to_string()
            .starts_with("Some services are not able to be constructed (")
    );
}

#[test]
fn validate_on_build_without_scope_validation_accepts_a_scoped_dependency_of_a_singleton() {
    let mut services = ServiceCollection::new();
    services.add_scoped(NotDisposable, |_| Ok(Arc::new(Request)));
    services
        .add_singleton(NotDisposable, |_| Ok(Arc::new(Cache)))
        .depends_on::<Request>();
    let options = ProviderOptions::new().with_build_validation();

    assert!(services.build_provider_with(options).is_ok());
}

#[test]
fn validate_on_build_reports_a_cycle_with_its_path() {
    let mut services = ServiceCollection::new();
    services
        .add_transient(NotDisposable, |_| Ok(Arc::new(A)))
        .depends_on::<B>();
    services
        .add_transient(NotDisposable, |_| Ok(Arc::new(B)))
        .depends_on::<A>();

    let error = services.build_provider_with(BOTH).err().unwrap();

    let (a, b) = (type_name::<A>(), type_name::<B>());
    assert_eq!(error.errors().len(), 1, "one cycle, reported once");
    assert!(
        matches!(&error.errors()[0], ResolveError::Cycle { path, .. } if *path == format!("{a} -> {b} -> {a}"))
    );
}

#[test]
fn validate_on_build_reports_a_missing_dependency() {
    let mut services = ServiceCollection::new();
    services
        .add_scoped(NotDisposable, |_| Ok(Arc::new(Handler)))
        .depends_on::<Missing>();

    let error = services.build_provider_with(BOTH).err().unwrap();

    assert_eq!(
        error.errors()[0].to_string(),
        format!(
            "Unable to resolve service for type '{}' while attempting to activate '{}'. Register '{}' on the ServiceCollection.",
            type_name::<Missing>(),
            type_name::<Handler>(),
            type_name::<Missing>()
        )
    );
}

#[test]
fn validate_on_build_reports_every_problem_at_once() {
    let mut services = ServiceCollection::new();
    services.add_scoped(NotDisposable, |_| Ok(Arc::new(Request)));
    services
        .add_singleton(NotDisposable, |_| Ok(Arc::new(Cache)))
        .depends_on::<Request>()
        .depends_on::<Missing>();
    services
        .add_transient(NotDisposable, |_| Ok(Arc::new(A)))
        .depends_on::<A>();

    let error = services.build_provider_with(BOTH).err().unwrap();

    let kinds: Vec<&str> = error
        .errors()
        .iter()
        .map(|error| match error {
            ResolveError::MissingDependency { .. } => "missing",
            ResolveError::Cycle { .. } => "cycle",
            ResolveError::ScopedFromSingleton { .. } => "scoped from singleton",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["missing", "cycle", "scoped from singleton"]);
}

#[test]
fn validate_on_build_checks_keyed_dependencies_by_key() {
    let mut services = ServiceCollection::new();
    services
        .add_singleton(NotDisposable, |_| Ok(Arc::new(Cache)))
        .keyed("eu");
    services
        .add_transient(NotDisposable, |_| Ok(Arc::new(Handler)))
        .depends_on_keyed::<Cache>("us");

    let error = services.build_provider_with(BOTH).err().unwrap();

    assert!(
        matches!(&error.errors()[0], ResolveError::MissingDependency { dependency, .. }
        if *dependency == format!("{}[\"us\"]", type_name::<Cache>()))
    );
}
