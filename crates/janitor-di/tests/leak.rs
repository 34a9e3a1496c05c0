//! The container and the leak detector, at `Full` level: a provider or scope dropped undisposed
//! while it holds instances to dispose is reported where it was built or created; a disposed one,
//! or one that holds nothing, is not.

use janitor::leak::{self, LeakCheck, LeakLevel};
use janitor::{Dispose, DisposeFlag};
use janitor_di::{Disposable, Resolve, ScopeFactory, ServiceCollection};
use std::sync::Arc;

#[derive(Default)]
struct Connection {
    disposed: DisposeFlag,
}

impl Dispose for Connection {
    fn dispose(&self) {
        self.disposed.try_begin();
    }
}

fn full_check() -> LeakCheck {
    leak::set_level(LeakLevel::Full);
    LeakCheck::start()
}

fn singleton_services() -> ServiceCollection {
    let mut services = ServiceCollection::new();
    services.add_singleton(Disposable, |_| Ok(Arc::new(Connection::default())));
    services
}

fn scoped_services() -> ServiceCollection {
    let mut services = ServiceCollection::new();
    services.add_scoped(Disposable, |_| Ok(Arc::new(Connection::default())));
    services
}

#[test]
fn a_provider_dropped_undisposed_with_instances_is_reported_where_it_was_built() {
    let check = full_check();
    let provider = singleton_services().build_provider();
    let line = line!() - 1;
    let connection = provider.get_required::<Connection>().unwrap();
    drop(provider);
    assert!(connection.disposed.is_disposed(), "the drop still disposes");
    let reports = check.finish();
    assert_eq!(reports.len(), 1);
    assert_eq!(
        reports[0].type_name(),
        "janitor_di::provider::ServiceProvider"
    );
    assert_eq!(
        (
            reports[0].created_at().file(),
            reports[0].created_at().line()
        ),
        (file!(), line)
    );
}

#[test]
fn a_disposed_provider_is_not_reported() {
    let check = full_check();
    let provider = singleton_services().build_provider();
    provider.get_required::<Connection>().unwrap();
    provider.try_dispose().unwrap();
    drop(provider);
    let provider = singleton_services().build_provider();
    provider.get_required::<Connection>().unwrap();
    pollster::block_on(provider.try_dispose_async()).unwrap();
    drop(provider);
    assert!(check.finish().is_empty());
}

#[test]
fn a_provider_that_holds_nothing_to_dispose_leaked_nothing() {
    let check = full_check();
    drop(singleton_services().build_provider());
    assert!(check.finish().is_empty());
}

#[test]
fn a_scope_dropped_undisposed_with_instances_is_reported_where_it_was_created() {
    let check = full_check();
    let provider = scoped_services().build_provider();
    let scope = provider.create_scope().unwrap();
    let line = line!() - 1;
    scope.get_required::<Connection>().unwrap();
    drop(scope);
    let scopes = provider.get_required::<ScopeFactory>().unwrap();
    let from_factory = scopes.create_scope().unwrap();
    let factory_line = line!() - 1;
    from_factory.get_required::<Connection>().unwrap();
    drop(from_factory);
    provider.try_dispose().unwrap();
    let reports = check.finish();
    let places: Vec<(&str, u32)> = reports
        .iter()
        .map(|report| (report.type_name(), report.created_at().line()))
        .collect();
    assert_eq!(
        places,
        [
            ("janitor_di::provider::Scope", line),
            ("janitor_di::provider::Scope", factory_line)
        ]
    );
}

#[test]
fn a_disposed_scope_is_not_reported() {
    let check = full_check();
    let provider = scoped_services().build_provider();
    let scope = provider.create_scope().unwrap();
    scope.get_required::<Connection>().unwrap();
    scope.try_dispose().unwrap();
    drop(scope);
    let scope = provider.create_scope().unwrap();
    scope.get_required::<Connection>().unwrap();
    pollster::block_on(scope.try_dispose_async()).unwrap();
    drop(scope);
    drop(provider.create_scope().unwrap());
    provider.try_dispose().unwrap();
    assert!(check.finish().is_empty());
}
