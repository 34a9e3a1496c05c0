//! Finalization on both heaps: one body per .NET scenario (GCTests, CriticalFinalizer,
//! WeakReferenceTests, resurrection, cycles), expanded once for the shared heap and once for the
//! thread-local one by `scenarios!`; then what only the thread-local heap does (where and when its
//! finalizers run). Each test counts its own objects; none sleeps.

use std::any::Any;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// What one test's objects did.
#[derive(Default)]
struct Log {
    finalized: AtomicUsize,
    dropped: AtomicUsize,
    /// 0 for a normal finalizer, 1 for a critical one, in the order they ran.
    order: Mutex<Vec<u8>>,
}

impl Log {
    fn finalized(&self) -> usize {
        self.finalized.load(Ordering::SeqCst)
    }
    fn dropped(&self) -> usize {
        self.dropped.load(Ordering::SeqCst)
    }
}

/// Where resurrecting finalizers store their object, keyed by the test's log: process-wide for
/// the shared heap (its finalizers run on the finalizer thread).
mod shared_store {
    use super::{Any, Mutex};

    static SAVED: Mutex<Vec<(usize, Box<dyn Any + Send>)>> = Mutex::new(Vec::new());

    pub fn save(key: usize, object: impl Any + Send) {
        SAVED.lock().unwrap().push((key, Box::new(object)));
    }

    pub fn take<T: 'static>(key: usize) -> T {
        let mut saved = SAVED.lock().unwrap();
        let index = saved
            .iter()
            .position(|entry| entry.0 == key)
            .expect("resurrected");
        *saved.swap_remove(index).1.downcast().unwrap()
    }
}

/// The same for the thread-local heap, whose finalizers run on the test's own thread.
mod local_store {
    use super::Any;
    use std::cell::RefCell;

    thread_local!(static SAVED: RefCell<Vec<(usize, Box<dyn Any>)>> = const { RefCell::new(Vec::new()) });

    pub fn save(key: usize, object: impl Any) {
        SAVED.with_borrow_mut(|saved| saved.push((key, Box::new(object))));
    }

    pub fn take<T: 'static>(key: usize) -> T {
        SAVED.with_borrow_mut(|saved| {
            let index = saved
                .iter()
                .position(|entry| entry.0 == key)
                .expect("resurrected");
            *saved.swap_remove(index).1.downcast().unwrap()
        })
    }
}

macro_rules! scenarios {
    ($heap:ident, $($path:ident)::+, $finalize:ident, $store:ident) => {
        mod $heap {
            use super::Log;
            use janitor::gc::Trace;
            use $($path)::+::{
                Finalize, Gc, GcCell, collect, collect_generation, is_registered_for_finalize,
                reregister_for_finalize, suppress_finalize, wait_for_pending_finalizers,
            };
            use std::sync::Arc;
            use std::sync::atomic::{AtomicBool, Ordering};

            #[derive(Trace)]
            #[trace($finalize)]
            struct Probe {
                next: GcCell<Option<Gc<Probe>>>,
                #[trace(skip)]
                id: usize,
                #[trace(skip)]
                resurrect: AtomicBool,
                #[trace(skip)]
                log: Arc<Log>,
                /// Set until the value is dropped: what a finalizer checks of what it reaches (the
                /// log counts the drops of every probe of a test, some of which die first).
                #[trace(skip)]
                intact: AtomicBool,
            }

            impl Finalize for Probe {
                fn finalize(this: &Gc<Self>) {
                    this.log.finalized.fetch_add(1, Ordering::SeqCst);
                    if let Some(next) = this.next.borrow().as_ref() {
                        assert!(next.intact.load(Ordering::SeqCst), "what it reaches is intact");
                    }
                    if this.resurrect.swap(false, Ordering::SeqCst) {
                        save(this.clone());
                    }
                }
            }

            impl Drop for Probe {
                fn drop(&mut self) {
                    self.intact.store(false, Ordering::SeqCst);
                    self.log.dropped.fetch_add(1, Ordering::SeqCst);
                }
            }

            fn save(object: Gc<Probe>) {
                super::$store::save(Arc::as_ptr(&object.log) as usize, object);
            }

            fn take_saved(log: &Arc<Log>) -> Gc<Probe> {
                super::$store::take(Arc::as_ptr(log) as usize)
            }

            fn probe(log: &Arc<Log>, id: usize) -> Gc<Probe> {
                Gc::new(Probe {
                    next: GcCell::new(None),
                    id,
                    resurrect: AtomicBool::new(false),
                    log: log.clone(),
                    intact: AtomicBool::new(true),
                })
            }

            #[test]
            fn collect_then_wait_runs_the_finalizer_of_an_unreachable_object() {
                let log = Arc::new(Log::default());
                drop(probe(&log, 0));
                collect();
                wait_for_pending_finalizers();
                assert_eq!(log.finalized(), 1);
                assert_eq!(log.dropped(), 1, "freed once its finalizer ran");
            }

            #[test]
            fn a_garbage_cycle_is_finalized_then_freed_by_a_later_collection() {
                let log = Arc::new(Log::default());
                let (a, b) = (probe(&log, 0), probe(&log, 1));
                *a.next.borrow_mut() = Some(b.clone());
                *b.next.borrow_mut() = Some(a.clone());
                drop((a, b));
                collect();
                wait_for_pending_finalizers();
                assert_eq!(log.finalized(), 2);
                collect();
                assert_eq!(log.dropped(), 2);
                collect();
                wait_for_pending_finalizers();
                assert_eq!(log.finalized(), 2, "never finalized twice");
            }

            #[test]
            fn collections_while_an_object_is_in_use_never_finalize_it() {
                let log = Arc::new(Log::default());
                let outer = probe(&log, 0);
                *outer.next.borrow_mut() = Some(probe(&log, 1));
                for _ in 0..10 {
                    collect_generation(0);
                    collect();
                    wait_for_pending_finalizers();
                    assert_eq!(log.finalized(), 0);
                    assert_eq!(outer.next.borrow().as_ref().unwrap().id, 1);
                }
                drop(outer);
                for _ in 0..3 {
                    collect();
                    wait_for_pending_finalizers();
                }
                assert_eq!(log.finalized(), 2);
                assert_eq!(log.dropped(), 2);
            }

            #[test]
            fn suppressed_objects_are_freed_without_their_finalizer() {
                let log = Arc::new(Log::default());
                let acyclic = probe(&log, 0);
                let cyclic = probe(&log, 1);
                *cyclic.next.borrow_mut() = Some(cyclic.clone());
                suppress_finalize(&acyclic);
                suppress_finalize(&cyclic);
                assert!(!is_registered_for_finalize(&acyclic));
                drop((acyclic, cyclic));
                collect();
                wait_for_pending_finalizers();
                assert_eq!(log.finalized(), 0);
                assert_eq!(log.dropped(), 2);
            }

            #[test]
            fn reregistering_after_suppression_runs_the_finalizer_once() {
                let log = Arc::new(Log::default());
                let object = probe(&log, 0);
                suppress_finalize(&object);
                reregister_for_finalize(&object);
                reregister_for_finalize(&object);
                assert!(is_registered_for_finalize(&object));
                drop(object);
                collect();
                wait_for_pending_finalizers();
                assert_eq!(log.finalized(), 1);
            }

            #[test]
            fn a_resurrected_object_stays_usable_and_is_not_finalized_again_unless_reregistered() {
                let log = Arc::new(Log::default());
                let object = probe(&log, 7);
                object.resurrect.store(true, Ordering::SeqCst);
                let short = Gc::downgrade(&object);
                let long = Gc::downgrade_long(&object);
                drop(object);
                collect();
                wait_for_pending_finalizers();
                assert_eq!(log.finalized(), 1);
                let saved = take_saved(&log);
                assert_eq!(saved.id, 7, "usable");
                assert!(short.upgrade().is_none(), "short weak stays cleared after resurrection");
                assert!(long.upgrade().is_some(), "long weak tracks resurrection");
                drop(saved);
                collect();
                wait_for_pending_finalizers();
                assert_eq!(log.finalized(), 1, "not registered any more");
                assert_eq!(log.dropped(), 1, "freed when unreachable again");
                assert!(long.upgrade().is_none());
            }

            #[test]
            fn a_resurrected_and_reregistered_object_is_finalized_again() {
                let log = Arc::new(Log::default());
                let object = probe(&log, 0);
                object.resurrect.store(true, Ordering::SeqCst);
                drop(object);
                collect();
                wait_for_pending_finalizers();
                let saved = take_saved(&log);
                reregister_for_finalize(&saved);
                drop(saved);
                collect();
                wait_for_pending_finalizers();
                assert_eq!(log.finalized(), 2);
                assert_eq!(log.dropped(), 1);
            }

            #[test]
            fn resurrecting_one_member_of_a_cycle_keeps_what_it_reaches() {
                let log = Arc::new(Log::default());
                let (a, b) = (probe(&log, 0), probe(&log, 1));
                *a.next.borrow_mut() = Some(b.clone());
                *b.next.borrow_mut() = Some(a.clone());
                a.resurrect.store(true, Ordering::SeqCst);
                drop((a, b));
                collect();
                wait_for_pending_finalizers();
                assert_eq!(log.finalized(), 2);
                collect();
                assert_eq!(log.dropped(), 0, "the resurrected member keeps its cycle");
                let a = take_saved(&log);
                assert_eq!(a.next.borrow().as_ref().unwrap().id, 1);
                drop(a);
                collect();
                assert_eq!(log.dropped(), 2);
            }

            #[test]
            fn a_cycle_member_without_a_finalizer_reached_from_one_with_it_stays_intact() {
                #[derive(Trace)]
                struct Plain {
                    back: GcCell<Option<Gc<Holder>>>,
                    #[trace(skip)]
                    log: Arc<Log>,
                }
                impl Drop for Plain {
                    fn drop(&mut self) {
                        self.log.dropped.fetch_add(1, Ordering::SeqCst);
                    }
                }
                #[derive(Trace)]
                #[trace($finalize)]
                struct Holder {
                    plain: Gc<Plain>,
                    #[trace(skip)]
                    log: Arc<Log>,
                }
                impl Finalize for Holder {
                    fn finalize(this: &Gc<Self>) {
                        assert!(this.plain.back.borrow().is_some(), "intact");
                        assert_eq!(this.log.dropped(), 0, "not dropped before the finalizer");
                        this.log.finalized.fetch_add(1, Ordering::SeqCst);
                    }
                }
                let log = Arc::new(Log::default());
                let plain = Gc::new(Plain { back: GcCell::new(None), log: log.clone() });
                let holder = Gc::new(Holder { plain: plain.clone(), log: log.clone() });
                *plain.back.borrow_mut() = Some(holder.clone());
                drop((plain, holder));
                collect();
                wait_for_pending_finalizers();
                assert_eq!(log.finalized(), 1);
                collect();
                assert_eq!(log.dropped(), 1, "freed by the collection after finalization");
            }

            #[test]
            fn every_normal_finalizer_of_a_collection_runs_before_the_first_critical_one() {
                #[derive(Trace)]
                struct Hub {
                    members: GcCell<Vec<Member>>,
                }
                #[derive(Trace)]
                enum Member {
                    Normal(Gc<Normal>),
                    Critical(Gc<Critical>),
                }
                #[derive(Trace)]
                #[trace($finalize)]
                struct Normal {
                    hub: Gc<Hub>,
                    #[trace(skip)]
                    log: Arc<Log>,
                }
                impl Finalize for Normal {
                    fn finalize(this: &Gc<Self>) {
                        this.log.order.lock().unwrap().push(0);
                    }
                }
                #[derive(Trace)]
                #[trace($finalize)]
                struct Critical {
                    hub: Gc<Hub>,
                    #[trace(skip)]
                    log: Arc<Log>,
                }
                impl Finalize for Critical {
                    const CRITICAL: bool = true;
                    fn finalize(this: &Gc<Self>) {
                        this.log.order.lock().unwrap().push(1);
                    }
                }
                let log = Arc::new(Log::default());
                let hub = Gc::new(Hub { members: GcCell::new(Vec::new()) });
                for _ in 0..50 {
                    let critical = Gc::new(Critical { hub: hub.clone(), log: log.clone() });
                    let normal = Gc::new(Normal { hub: hub.clone(), log: log.clone() });
                    let mut members = hub.members.borrow_mut();
                    members.push(Member::Critical(critical));
                    members.push(Member::Normal(normal));
                }
                drop(hub);
                collect();
                wait_for_pending_finalizers();
                let order = log.order.lock().unwrap().clone();
                assert_eq!(order.len(), 100);
                assert!(
                    order.windows(2).all(|pair| pair[0] <= pair[1]),
                    "a normal finalizer ran after a critical one: {order:?}"
                );
            }

            #[test]
            fn finalizers_that_allocate_collect_and_wait_complete() {
                #[derive(Trace)]
                #[trace($finalize)]
                struct Busy(
                    #[trace(skip)] Arc<Log>,
                    #[trace(skip)] Arc<std::sync::Mutex<Vec<Arc<Log>>>>,
                );
                impl Finalize for Busy {
                    fn finalize(this: &Gc<Self>) {
                        // Each child has a log of its own: a collection of another test may free
                        // an earlier child, once finalized, before a later child's finalizer
                        // checks that nothing of its log was dropped.
                        let child_log = Arc::new(Log::default());
                        this.1.lock().unwrap().push(child_log.clone());
                        let child = probe(&child_log, 1);
                        *child.next.borrow_mut() = Some(child.clone());
                        drop(child);
                        collect();
                        wait_for_pending_finalizers();
                        this.0.finalized.fetch_add(1, Ordering::SeqCst);
                    }
                }
                let log = Arc::new(Log::default());
                let children = Arc::new(std::sync::Mutex::new(Vec::new()));
                for _ in 0..5 {
                    drop(Gc::new(Busy(log.clone(), children.clone())));
                }
                wait_for_pending_finalizers();
                collect();
                wait_for_pending_finalizers();
                collect();
                wait_for_pending_finalizers();
                let children = children.lock().unwrap();
                let finalized_children: usize = children.iter().map(|child| child.finalized()).sum();
                assert_eq!(log.finalized() + finalized_children, 10);
            }

            #[test]
            fn long_weak_to_a_non_resurrecting_object_is_dead_after_collect_wait_collect() {
                let log = Arc::new(Log::default());
                let object = probe(&log, 0);
                *object.next.borrow_mut() = Some(object.clone());
                let (short, long) = (Gc::downgrade(&object), Gc::downgrade_long(&object));
                drop(object);
                collect();
                assert!(short.upgrade().is_none(), "short: cleared when found unreachable");
                wait_for_pending_finalizers();
                assert_eq!(log.finalized(), 1);
                collect();
                assert!(long.upgrade().is_none(), "long: cleared when freed");
                assert_eq!(log.dropped(), 1);
            }
        }
    };
}

scenarios!(shared_heap, janitor::gc, finalize, shared_store);
scenarios!(
    thread_local_heap,
    janitor::gc::unsync,
    unsync_finalize,
    local_store
);

// What only the thread-local heap does: its finalizers run on the test's own thread, at points
// the test controls.
mod thread_local_only {
    use super::Log;
    use janitor::gc::Trace;
    use janitor::gc::unsync::{
        Finalize, Gc, GcCell, collect, memory_info, stats, wait_for_pending_finalizers,
    };
    use std::cell::{Cell, RefCell};
    use std::sync::Arc;
    use std::sync::atomic::Ordering;

    thread_local! {
        static SAVED: RefCell<Vec<Gc<Phoenix>>> = const { RefCell::new(Vec::new()) };
        static PANICS: Cell<bool> = const { Cell::new(false) };
    }

    #[derive(Trace)]
    #[trace(unsync_finalize)]
    struct Phoenix {
        #[trace(skip)]
        log: Arc<Log>,
        #[trace(skip)]
        resurrect: Cell<bool>,
    }

    impl Finalize for Phoenix {
        fn finalize(this: &Gc<Self>) {
            this.log.finalized.fetch_add(1, Ordering::SeqCst);
            if PANICS.get() {
                panic!("finalizer of Phoenix failed");
            }
            if this.resurrect.replace(false) {
                SAVED.with_borrow_mut(|saved| saved.push(this.clone()));
            }
        }
    }

    fn phoenix(log: &Arc<Log>) -> Gc<Phoenix> {
        Gc::new(Phoenix {
            log: log.clone(),
            resurrect: Cell::new(false),
        })
    }

    #[test]
    fn an_unreachable_objects_finalizer_waits_for_a_safe_point_and_memory_info_counts_it() {
        let log = Arc::new(Log::default());
        drop(phoenix(&log));
        assert_eq!(log.finalized(), 0, "not inside the drop of its last Gc");
        assert_eq!(memory_info().pending_finalizers, 1);
        wait_for_pending_finalizers();
        assert_eq!(log.finalized(), 1);
        assert_eq!(memory_info().pending_finalizers, 0);
        assert_eq!(stats().finalized_objects, 1);
    }

    #[test]
    fn a_finalizer_never_runs_inside_a_drop_the_heap_runs() {
        #[derive(Trace)]
        struct Owner {
            held: GcCell<Option<Gc<Phoenix>>>,
            #[trace(skip)]
            log: Arc<Log>,
        }
        impl Drop for Owner {
            fn drop(&mut self) {
                drop(self.held.borrow_mut().take());
                // Inside a `Drop` the heap runs: neither call may run the finalizer now.
                collect();
                wait_for_pending_finalizers();
                assert_eq!(self.log.finalized(), 0);
            }
        }
        let log = Arc::new(Log::default());
        let owner = Gc::new(Owner {
            held: GcCell::new(Some(phoenix(&log))),
            log: log.clone(),
        });
        drop(owner);
        assert_eq!(log.finalized(), 0);
        collect();
        assert_eq!(
            log.finalized(),
            1,
            "collect runs the queue before it returns"
        );
    }

    #[test]
    fn an_allocation_that_collects_runs_the_pending_finalizers() {
        #[derive(Trace)]
        struct Churn(GcCell<Option<Gc<Churn>>>);
        let log = Arc::new(Log::default());
        drop(phoenix(&log));
        let before = stats().allocation_collections;
        // Garbage cycles: acyclic garbage, freed by its counts, makes no collection due.
        while stats().allocation_collections == before {
            let churn = Gc::new(Churn(GcCell::new(None)));
            *churn.0.borrow_mut() = Some(churn.clone());
        }
        assert_eq!(log.finalized(), 1);
    }

    #[test]
    fn a_short_weak_made_after_a_resurrection_upgrades_and_one_made_before_does_not() {
        let log = Arc::new(Log::default());
        let object = phoenix(&log);
        object.resurrect.set(true);
        let before = Gc::downgrade(&object);
        drop(object);
        wait_for_pending_finalizers();
        let saved = SAVED.with_borrow_mut(Vec::pop).expect("resurrected");
        let after = Gc::downgrade(&saved);
        assert!(before.upgrade().is_none());
        assert!(after.upgrade().is_some());
    }

    #[test]
    fn a_panicking_finalizer_unwinds_out_of_the_call_and_the_rest_run_at_the_next() {
        let log = Arc::new(Log::default());
        drop(phoenix(&log));
        drop(phoenix(&log));
        PANICS.set(true);
        let panic = std::panic::catch_unwind(wait_for_pending_finalizers).unwrap_err();
        assert_eq!(
            panic.downcast_ref::<&str>(),
            Some(&"finalizer of Phoenix failed")
        );
        assert_eq!(log.finalized(), 1);
        assert_eq!(log.dropped(), 0);
        assert_eq!(memory_info().pending_finalizers, 1);
        PANICS.set(false);
        wait_for_pending_finalizers();
        assert_eq!(log.finalized(), 2);
        assert_eq!(memory_info().pending_finalizers, 0);
        assert_eq!(memory_info().heap_bytes, 0, "both freed");
    }
}
