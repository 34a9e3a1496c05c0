//! `di-resolve`: resolving a service graph in a fresh scope, janitor-di against `more-di`.
//!
//! Shape: three services, none disposable: `Clock` (singleton), `UnitOfWork` (scoped, numbered by a
//! counter in its factory) and `Handler` (transient, built from a `Clock` and a `UnitOfWork`). Each of
//! `RESOLUTIONS` iterations (1,000,000 full, 200,000 quick) opens a scope on the root provider,
//! resolves a `Handler` from it (which creates the scope's `UnitOfWork` and reuses the singleton
//! `Clock`), and ends the scope (`Scope::dispose` for janitor-di, dropping the scoped provider for
//! more-di). Both containers are thread-safe: more-di is built with its `async` feature, which makes
//! its references `Arc` and its providers `Send + Sync`, as janitor-di's are.
//!
//! What it measures: the per-request cost of a container: creating and ending a scope, two lookups
//! by type, one scoped and one transient creation, one singleton hit. No peak memory: what a
//! resolution allocates is freed with its scope, and the few KiB a container holds are below the
//! precision of the counting allocator.
//!
//! Checksum: the sum of the `UnitOfWork` numbers the handlers received (each scope must create its
//! own, numbered 1, 2, ...), plus one per handler that got the one shared `Clock`.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::harness::{Case, Sample, Scale, Workload};

/// The singleton.
struct Clock;

/// The scoped service: its number says which scope created it.
struct UnitOfWork {
    number: u64,
}

/// The transient service, with its two dependencies.
struct Handler {
    clock: Arc<Clock>,
    unit_of_work: Arc<UnitOfWork>,
}

impl Handler {
    /// This handler's part of the checksum.
    fn checksum(&self, shared_clock: &Arc<Clock>) -> u64 {
        self.unit_of_work.number + u64::from(Arc::ptr_eq(&self.clock, shared_clock))
    }
}

/// janitor-di: factories receive a resolver; every registration says how its instances are disposed.
fn janitor_di(resolutions: u64) -> u64 {
    use janitor_di::{NotDisposable, Resolve, ServiceCollection};

    let numbers = Arc::new(AtomicU64::new(0));
    let mut services = ServiceCollection::new();
    services.add_singleton(NotDisposable, |_| Ok(Arc::new(Clock)));
    services.add_scoped(NotDisposable, move |_| {
        Ok(Arc::new(UnitOfWork {
            number: numbers.fetch_add(1, Ordering::Relaxed) + 1,
        }))
    });
    services.add_transient(NotDisposable, |resolver| {
        Ok(Arc::new(Handler {
            clock: resolver.get_required::<Clock>()?,
            unit_of_work: resolver.get_required::<UnitOfWork>()?,
        }))
    });
    let provider = services.build_provider();
    let clock = provider
        .get_required::<Clock>()
        .expect("the clock is registered");
    let mut checksum = 0;
    for _ in 0..resolutions {
        let scope = provider
            .create_scope()
            .expect("the provider is not disposed");
        let handler = scope
            .get_required::<Handler>()
            .expect("the handler's graph is registered");
        checksum += black_box(&handler).checksum(&clock);
        drop(handler);
        scope
            .try_dispose()
            .expect("nothing in the scope is disposable");
    }
    provider
        .try_dispose()
        .expect("nothing in the root is disposable");
    checksum
}

/// more-di: factories receive the (scoped) provider; resolution panics when a service is missing.
fn more_di(resolutions: u64) -> u64 {
    use di::{Ref, ServiceCollection, scoped_factory, singleton_factory, transient_factory};

    let numbers = Arc::new(AtomicU64::new(0));
    let provider = ServiceCollection::new()
        .add(singleton_factory(|_| Ref::new(Clock)))
        .add(scoped_factory(move |_| {
            Ref::new(UnitOfWork {
                number: numbers.fetch_add(1, Ordering::Relaxed) + 1,
            })
        }))
        .add(transient_factory(|services| {
            Ref::new(Handler {
                clock: services.get_required::<Clock>(),
                unit_of_work: services.get_required::<UnitOfWork>(),
            })
        }))
        .build_provider()
        .expect("the registrations are valid");
    let clock = provider.get_required::<Clock>();
    let mut checksum = 0;
    for _ in 0..resolutions {
        let scope = provider.create_scope();
        let handler = scope.get_required::<Handler>();
        checksum += black_box(&handler).checksum(&clock);
        drop(handler);
        drop(scope);
    }
    checksum
}

/// The workload at `scale`: rows `janitor` (janitor-di) and `more-di`.
///
/// ```
/// use janitor_bench::harness::{measure, Scale};
/// let workload = janitor_bench::workloads::di_resolve::workload(Scale::Smoke);
/// assert_eq!(measure(&workload, 1, |_, _| {}).unwrap().rows.len(), 2);
/// ```
pub fn workload(scale: Scale) -> Workload {
    let resolutions: u64 = match scale {
        Scale::Smoke => 1_000,
        Scale::Quick => 200_000,
        Scale::Full => 1_000_000,
    };
    Workload {
        name: "di-resolve",
        baseline: "janitor",
        cases: vec![
            Case::new("janitor", move || {
                Sample::timing(|| janitor_di(resolutions))
            })
            .without_memory(),
            Case::new("more-di", move || Sample::timing(|| more_di(resolutions))).without_memory(),
        ],
        absent: vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Scopes numbered 1..=n, each with the shared clock.
    fn expected_checksum(resolutions: u64) -> u64 {
        resolutions * (resolutions + 1) / 2 + resolutions
    }

    #[test]
    fn every_scope_creates_its_own_unit_of_work_and_shares_the_clock() {
        assert_eq!(janitor_di(100), expected_checksum(100));
        assert_eq!(more_di(100), expected_checksum(100));
    }
}
