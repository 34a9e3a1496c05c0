//! Thread safety: once-only creation under racing threads.

use janitor_di::{FactoryError, NotDisposable, Resolve, ServiceCollection};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

const THREADS: usize = 8;

struct Expensive;

#[test]
fn singleton_is_created_once_when_eight_threads_ask_at_once() {
    let creations = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&creations);
    let mut services = ServiceCollection::new();
    services.add_singleton(NotDisposable, move |_| {
        counted.fetch_add(1, Ordering::SeqCst);
        // Give the other threads time to arrive while the creation is in progress.
        thread::yield_now();
        Ok(Arc::new(Expensive))
    });
    let provider = services.build_provider();
    let barrier = Barrier::new(THREADS);

    let instances: Vec<Arc<Expensive>> = thread::scope(|threads| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                threads.spawn(|| {
                    barrier.wait();
                    provider.get_required::<Expensive>().unwrap()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap())
            .collect()
    });

    assert_eq!(creations.load(Ordering::SeqCst), 1);
    assert!(
        instances
            .iter()
            .all(|instance| Arc::ptr_eq(instance, &instances[0]))
    );
}

#[test]
fn scoped_service_is_created_once_per_scope_under_racing_threads() {
    let creations = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&creations);
    let mut services = ServiceCollection::new();
    services.add_scoped(NotDisposable, move |_| {
        counted.fetch_add(1, Ordering::SeqCst);
        Ok(Arc::new(Expensive))
    });
    let provider = services.build_provider();
    let scope = provider.create_scope().unwrap();
    let barrier = Barrier::new(THREADS);

    thread::scope(|threads| {
        for _ in 0..THREADS {
            threads.spawn(|| {
                barrier.wait();
                scope.get_required::<Expensive>().unwrap();
            });
        }
    });

    assert_eq!(creations.load(Ordering::SeqCst), 1);
}

#[test]
fn a_failing_singleton_factory_is_retried_and_its_success_shared() {
    let attempts = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&attempts);
    let mut services = ServiceCollection::new();
    services.add_singleton(
        NotDisposable,
        move |_| -> Result<Arc<Expensive>, FactoryError> {
            // The first three attempts fail; whoever comes next creates it, once.
            if counted.fetch_add(1, Ordering::SeqCst) < 3 {
                return Err("not yet".into());
            }
            Ok(Arc::new(Expensive))
        },
    );
    let provider = services.build_provider();
    let barrier = Barrier::new(THREADS);

    let outcomes: Vec<Option<Arc<Expensive>>> = thread::scope(|threads| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                threads.spawn(|| {
                    barrier.wait();
                    provider.get_required::<Expensive>().ok()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap())
            .collect()
    });

    let successes: Vec<&Arc<Expensive>> = outcomes.iter().flatten().collect();
    assert_eq!(successes.len(), THREADS - 3);
    assert!(
        successes
            .iter()
            .all(|instance| Arc::ptr_eq(instance, successes[0]))
    );
    assert_eq!(attempts.load(Ordering::SeqCst), 4);
}

#[test]
fn two_singletons_that_need_each_other_from_two_threads_report_a_cycle_not_a_deadlock() {
    struct Left;
    struct Right;
    let mut services = ServiceCollection::new();
    services.add_singleton(NotDisposable, |resolver| {
        resolver.get_required::<Right>()?;
        Ok(Arc::new(Left))
    });
    services.add_singleton(NotDisposable, |resolver| {
        resolver.get_required::<Left>()?;
        Ok(Arc::new(Right))
    });
    let provider = services.build_provider();
    let barrier = Barrier::new(2);

    thread::scope(|threads| {
        let left = threads.spawn(|| {
            barrier.wait();
            provider.get::<Left>().is_err()
        });
        let right = threads.spawn(|| {
            barrier.wait();
            provider.get::<Right>().is_err()
        });
        assert!(left.join().unwrap());
        assert!(right.join().unwrap());
    });
}

/// Counts how often the container calls `dispose`, without a flag: a double dispose would show.
struct Counted {
    disposals: Arc<AtomicUsize>,
}

impl janitor::Dispose for Counted {
    fn dispose(&self) {
        self.disposals.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn every_instance_created_while_a_scope_is_disposed_is_disposed_exactly_once() {
    let created = Arc::new(AtomicUsize::new(0));
    let disposals = Arc::new(AtomicUsize::new(0));
    let (creations, disposed) = (Arc::clone(&created), Arc::clone(&disposals));
    let mut services = ServiceCollection::new();
    services.add_transient(janitor_di::Disposable, move |_| {
        creations.fetch_add(1, Ordering::SeqCst);
        Ok(Arc::new(Counted {
            disposals: Arc::clone(&disposed),
        }))
    });
    let provider = services.build_provider();
    let scope = provider.create_scope().unwrap();
    let barrier = Barrier::new(THREADS + 1);

    thread::scope(|threads| {
        for _ in 0..THREADS {
            threads.spawn(|| {
                barrier.wait();
                // Resolve until the scope refuses (or enough): some instances are created before
                // the dispose, some while it runs (captured too late, disposed at once).
                for _ in 0..100_000 {
                    if scope.get_required::<Counted>().is_err() {
                        break;
                    }
                }
            });
        }
        barrier.wait();
        thread::yield_now();
        scope.try_dispose().unwrap();
    });

    assert!(created.load(Ordering::SeqCst) > 0);
    assert_eq!(
        disposals.load(Ordering::SeqCst),
        created.load(Ordering::SeqCst)
    );
}
