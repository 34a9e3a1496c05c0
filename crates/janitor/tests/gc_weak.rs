//! Weak references (`WeakGc`): port of .NET's WeakReference scenarios for objects without a
//! finalizer (short and long behave alike), cycles, threads and the memory they keep. A
//! concurrent test's collection may hold a pin on an object for a moment (its free then happens at
//! the unpin): tests call `collect`, which returns after every earlier collection, before counting
//! drops.

use janitor::gc::{Gc, GcCell, Trace, WeakGc, collect};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Trace)]
struct Node {
    next: GcCell<Option<Gc<Node>>>,
    #[trace(skip)]
    drops: Arc<AtomicUsize>,
}

impl Drop for Node {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

fn node(drops: &Arc<AtomicUsize>) -> Gc<Node> {
    Gc::new(Node {
        next: GcCell::new(None),
        drops: drops.clone(),
    })
}

#[test]
fn short_and_long_references_upgrade_while_the_object_lives() {
    let strong = Gc::new(String::from("alive"));
    let (short, long) = (Gc::downgrade(&strong), Gc::downgrade_long(&strong));
    assert_eq!(*short.upgrade().unwrap(), "alive");
    assert_eq!(*long.upgrade().unwrap(), "alive");
    assert!(Gc::ptr_eq(&short.upgrade().unwrap(), &strong));
}

#[test]
fn both_kinds_die_with_the_last_strong_reference_of_an_acyclic_object() {
    let drops = Arc::new(AtomicUsize::new(0));
    let strong = node(&drops);
    let (short, long) = (Gc::downgrade(&strong), Gc::downgrade_long(&strong));
    drop(strong);
    collect();
    assert_eq!(drops.load(Ordering::SeqCst), 1, "the value is dropped");
    assert!(short.upgrade().is_none());
    assert!(long.upgrade().is_none());
}

#[test]
fn short_reference_to_a_garbage_cycle_is_dead_after_collect() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (a, b) = (node(&drops), node(&drops));
    *a.next.borrow_mut() = Some(b.clone());
    *b.next.borrow_mut() = Some(a.clone());
    let short = Gc::downgrade(&a);
    let long = Gc::downgrade_long(&b);
    drop((a, b));
    collect();
    assert_eq!(drops.load(Ordering::SeqCst), 2);
    assert!(short.upgrade().is_none());
    assert!(
        long.upgrade().is_none(),
        "without a finalizer, long == short"
    );
}

#[test]
fn an_upgraded_reference_keeps_a_cycle_alive_through_collections() {
    let drops = Arc::new(AtomicUsize::new(0));
    let a = node(&drops);
    *a.next.borrow_mut() = Some(a.clone());
    let weak = Gc::downgrade(&a);
    drop(a);
    let again = weak.upgrade().expect("not collected yet");
    collect();
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    drop(again);
    collect();
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    assert!(weak.upgrade().is_none());
}

#[test]
fn weak_references_and_their_clones_all_die_with_the_value_and_drop_in_any_order() {
    let drops = Arc::new(AtomicUsize::new(0));
    let strong = node(&drops);
    let weaks: Vec<WeakGc<Node>> = (0..10).map(|_| Gc::downgrade(&strong)).collect();
    let copies: Vec<WeakGc<Node>> = weaks.iter().map(WeakGc::clone).collect();
    drop(strong);
    collect();
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    drop(weaks);
    assert!(copies.iter().all(|weak| weak.upgrade().is_none()));
}

#[test]
fn a_weak_reference_in_a_traced_value_is_not_an_edge() {
    #[derive(Trace)]
    struct Parent {
        child: GcCell<Option<Gc<Child>>>,
    }
    #[derive(Trace)]
    struct Child {
        parent: WeakGc<Parent>,
        #[trace(skip)]
        drops: Arc<AtomicUsize>,
    }
    impl Drop for Child {
        fn drop(&mut self) {
            self.drops.fetch_add(1, Ordering::SeqCst);
        }
    }
    let drops = Arc::new(AtomicUsize::new(0));
    let parent = Gc::new(Parent {
        child: GcCell::new(None),
    });
    let child = Gc::new(Child {
        parent: Gc::downgrade(&parent),
        drops: drops.clone(),
    });
    *parent.child.borrow_mut() = Some(child.clone());
    assert!(child.parent.upgrade().is_some());
    drop((parent, child));
    collect();
    assert_eq!(drops.load(Ordering::SeqCst), 1, "no cycle");
}

#[test]
fn upgrades_from_many_threads_race_collections_without_ever_seeing_a_dead_cycle() {
    let drops = Arc::new(AtomicUsize::new(0));
    let mut weaks = Vec::new();
    for _ in 0..200 {
        let (a, b) = (node(&drops), node(&drops));
        *a.next.borrow_mut() = Some(b.clone());
        *b.next.borrow_mut() = Some(a.clone());
        weaks.push(Gc::downgrade(&b));
    }
    let weaks = Arc::new(weaks);
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let weaks = weaks.clone();
            std::thread::spawn(move || {
                for round in 0..20 {
                    for weak in weaks.iter() {
                        if let Some(b) = weak.upgrade() {
                            let a = b.next.borrow().clone().expect("b points to a");
                            assert!(a.next.borrow().is_some());
                        }
                    }
                    if round % 5 == 0 {
                        collect();
                    }
                }
            })
        })
        .collect();
    collect();
    for worker in workers {
        worker.join().unwrap();
    }
    collect();
    assert_eq!(drops.load(Ordering::SeqCst), 400);
    assert!(weaks.iter().all(|weak| weak.upgrade().is_none()));
}

/// A new object of the same size at the address `dead` had: the allocator gives a freed block
/// back to the next allocation of its size (LIFO per thread), or to one of the next ones (not
/// under valgrind, which holds freed blocks back).
fn at_address(dead: *const [u64; 4], value: u64) -> Gc<[u64; 4]> {
    let mut misses = Vec::new();
    for _ in 0..1000 {
        let object = Gc::new([value; 4]);
        if Gc::as_ptr(&object) == dead {
            return object;
        }
        misses.push(object);
    }
    panic!("the allocator never reused the freed block");
}

#[test]
fn a_weak_reference_never_reaches_a_new_object_at_its_dead_object_address() {
    let old = Gc::new([1_u64; 4]);
    let address = Gc::as_ptr(&old);
    let (short, long) = (Gc::downgrade(&old), Gc::downgrade_long(&old));
    drop(old);
    let new = at_address(address, 2);
    assert!(short.upgrade().is_none(), "the old object is dead");
    assert!(long.upgrade().is_none(), "the old object is dead");
    let fresh = Gc::downgrade(&new);
    assert_eq!(*fresh.upgrade().expect("the new object lives"), [2; 4]);
    assert!(
        !WeakGc::ptr_eq(&fresh, &short),
        "different objects, same address"
    );
    drop(new);
    assert!(fresh.upgrade().is_none());
}

#[test]
fn upgrades_racing_the_last_drop_on_other_threads_get_the_value_or_nothing() {
    for round in 0..200_u64 {
        let strong = Gc::new(String::from("racing"));
        let weak = Gc::downgrade(&strong);
        let upgraders: Vec<_> = (0..2)
            .map(|_| {
                let weak = weak.clone();
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        match weak.upgrade() {
                            Some(strong) => assert_eq!(*strong, "racing"),
                            None => return,
                        }
                    }
                })
            })
            .collect();
        if round % 2 == 0 {
            std::thread::yield_now();
        }
        drop(strong);
        for upgrader in upgraders {
            upgrader.join().unwrap();
        }
        assert!(weak.upgrade().is_none());
    }
}

#[test]
fn weak_references_are_send_sync_and_clone() {
    fn shareable<T: Send + Sync + Clone>() {}
    shareable::<WeakGc<String>>();
}
