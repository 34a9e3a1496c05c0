//! The thread-local heap's own behaviour: cycles, tracking, generations, cells that are
//! borrowed while a collection runs, condemned members, deep structures, and what it accepts
//! that the shared heap does not (`Rc`, `RefCell`, `Cell`, `Rc<dyn Fn>` fields). Each test runs on
//! its own thread, so each owns its heap: counts and statistics are exact.

use janitor::gc::Trace;
use janitor::gc::unsync::{
    Gc, GcCell, WeakGc, collect, collect_generation, collection_count, generation, memory_info,
    stats,
};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

thread_local!(static DROPS: Cell<usize> = const { Cell::new(0) });

fn drops() -> usize {
    DROPS.get()
}

#[derive(Trace)]
struct Node {
    edges: GcCell<Vec<Gc<Node>>>,
    #[trace(skip)]
    label: usize,
}

impl Drop for Node {
    fn drop(&mut self) {
        DROPS.set(DROPS.get() + 1);
    }
}

fn node(label: usize) -> Gc<Node> {
    Gc::new(Node {
        edges: GcCell::new(Vec::new()),
        label,
    })
}

fn link(from: &Gc<Node>, to: &Gc<Node>) {
    from.edges.borrow_mut().push(to.clone());
}

/// A chain of `len` nodes labelled from 0, each linked to the next: its first and last.
fn chain(len: usize) -> (Gc<Node>, Gc<Node>) {
    let first = node(0);
    let mut last = first.clone();
    for label in 1..len {
        let next = node(label);
        link(&last, &next);
        last = next;
    }
    (first, last)
}

#[test]
fn a_garbage_cycle_is_freed_by_collect_and_a_held_one_is_not() {
    let (a, b) = (node(0), node(1));
    link(&a, &b);
    link(&b, &a);
    let (c, d) = (node(2), node(3));
    link(&c, &d);
    link(&d, &c);
    drop((a, b, c));
    collect();
    assert_eq!(
        drops(),
        2,
        "the a-b cycle is garbage; c-d is held through d"
    );
    assert_eq!(d.edges.borrow()[0].label, 2);
    drop(d);
    collect();
    assert_eq!(drops(), 4);
}

#[test]
fn acyclic_objects_are_freed_when_their_last_gc_drops() {
    let a = node(0);
    link(&a, &node(1));
    drop(a);
    assert_eq!(drops(), 2);
}

#[test]
fn a_young_collection_keeps_what_an_old_object_holds_and_promotes_survivors() {
    let old = node(0);
    collect();
    assert_eq!(generation(&old), 1);
    collect();
    assert_eq!(generation(&old), 2);
    let (young, other) = (node(1), node(2));
    link(&young, &other);
    link(&other, &young);
    link(&old, &young);
    drop((young, other));
    collect_generation(0);
    assert_eq!(drops(), 0, "held from an older generation");
    old.edges.borrow_mut().clear();
    collect_generation(0);
    assert_eq!(
        drops(),
        0,
        "the cycle was promoted to generation 1 by the last collection"
    );
    collect_generation(1);
    assert_eq!(drops(), 2);
}

#[test]
fn collection_counts_count_every_generation_up_to_the_one_collected() {
    let before = [0, 1, 2].map(collection_count);
    collect_generation(1);
    assert_eq!(collection_count(0), before[0] + 1);
    assert_eq!(collection_count(1), before[1] + 1);
    assert_eq!(collection_count(2), before[2]);
}

#[test]
fn objects_that_can_never_be_on_a_cycle_are_not_tracked() {
    #[derive(Trace)]
    struct Leaf {
        left: Option<Gc<Leaf>>,
        right: Option<Gc<Leaf>>,
    }
    let tree = Gc::new(Leaf {
        left: Some(Gc::new(Leaf {
            left: None,
            right: None,
        })),
        right: None,
    });
    assert_eq!(stats().tracked_objects, 0);
    assert_eq!(generation(&tree), janitor::gc::MAX_GENERATION);
    let holder = Gc::new(Leaf {
        left: None,
        right: None,
    });
    let cell = Gc::new(GcCell::new(Some(holder)));
    assert_eq!(stats().tracked_objects, 1, "only the cell's object");
    #[derive(Trace)]
    struct Wrap(Gc<GcCell<Option<Gc<Leaf>>>>);
    let _wrap = Gc::new(Wrap(cell));
    assert_eq!(stats().tracked_objects, 2, "it points to a tracked object");
}

#[test]
fn rc_refcell_cell_and_native_closures_live_in_thread_local_objects() {
    #[derive(Trace)]
    struct Function {
        #[trace(skip)]
        native: Rc<dyn Fn(i64) -> i64>,
        calls: Cell<u32>,
        upvalues: RefCell<Vec<Gc<Function>>>,
        shared: Rc<String>,
    }
    let f = Gc::new(Function {
        native: Rc::new(|x| x * 2),
        calls: Cell::new(0),
        upvalues: RefCell::new(Vec::new()),
        shared: Rc::new("global".into()),
    });
    f.upvalues.borrow_mut().push(f.clone());
    f.calls.set(f.calls.get() + 1);
    assert_eq!((f.native)(21), 42);
    let weak = Gc::downgrade(&f);
    drop(f);
    collect();
    assert!(
        weak.upgrade().is_none(),
        "a cycle through a RefCell is collected"
    );
}

#[test]
fn a_cell_borrowed_mutably_during_a_collection_keeps_what_it_holds() {
    let (a, b) = (node(0), node(1));
    link(&a, &b);
    link(&b, &a);
    let holder = node(2);
    link(&holder, &a);
    drop((a, b));
    {
        let mut edges = holder.edges.borrow_mut();
        collect();
        assert_eq!(
            drops(),
            0,
            "the cell could not be read: what it holds is held"
        );
        edges.clear();
    }
    collect();
    assert_eq!(drops(), 2);
}

#[test]
fn a_drop_that_reaches_another_member_of_its_cycle_panics_after_all_are_dropped() {
    #[derive(Trace)]
    struct Nosy {
        other: GcCell<Option<Gc<Nosy>>>,
        #[trace(skip)]
        reads: bool,
    }
    impl Drop for Nosy {
        fn drop(&mut self) {
            DROPS.set(DROPS.get() + 1);
            if self.reads
                && let Some(other) = self.other.borrow().as_ref()
            {
                let _ = other.reads;
            }
        }
    }
    let a = Gc::new(Nosy {
        other: GcCell::new(None),
        reads: true,
    });
    let b = Gc::new(Nosy {
        other: GcCell::new(Some(a.clone())),
        reads: true,
    });
    *a.other.borrow_mut() = Some(b.clone());
    drop((a, b));
    let panic = std::panic::catch_unwind(collect).unwrap_err();
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(message.contains("Nosy"), "{message}");
    assert!(message.contains("garbage"), "{message}");
    assert_eq!(drops(), 2, "both values were dropped despite the panic");
}

#[test]
fn a_gc_cloned_out_of_a_dying_cycle_keeps_its_memory_but_not_its_value() {
    thread_local!(static ESCAPED: RefCell<Option<Gc<Escape>>> = const { RefCell::new(None) });
    #[derive(Trace)]
    struct Escape {
        other: GcCell<Option<Gc<Escape>>>,
    }
    impl Drop for Escape {
        fn drop(&mut self) {
            if let Some(other) = self.other.borrow().as_ref() {
                ESCAPED.with_borrow_mut(|escaped| *escaped = Some(other.clone()));
            }
        }
    }
    let a = Gc::new(Escape {
        other: GcCell::new(None),
    });
    let b = Gc::new(Escape {
        other: GcCell::new(Some(a.clone())),
    });
    *a.other.borrow_mut() = Some(b.clone());
    let weak = Gc::downgrade(&a);
    drop((a, b));
    collect();
    assert!(weak.upgrade().is_none());
    let escaped = ESCAPED.take().unwrap();
    assert_eq!(Gc::strong_count(&escaped), 1);
    let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        escaped.other.borrow().is_some()
    }));
    assert!(read.is_err(), "its value was dropped: reading it panics");
    drop(escaped);
}

#[test]
fn dropping_a_chain_a_million_deep_uses_constant_stack() {
    #[derive(Trace)]
    struct Link(Option<Gc<Link>>);
    std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(|| {
            let mut head = Gc::new(Link(None));
            for _ in 0..1_000_000 {
                head = Gc::new(Link(Some(head)));
            }
            drop(head);
            assert_eq!(memory_info().heap_bytes, 0);
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn a_deep_garbage_cycle_is_collected_on_a_small_stack() {
    std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(|| {
            let (first, last) = chain(200_000);
            link(&last, &first);
            drop((first, last));
            collect();
            assert_eq!(drops(), 200_000);
            assert_eq!(memory_info().heap_bytes, 0);
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn automatic_collections_free_cycles_without_collect() {
    for label in 0..100_000 {
        let (a, b) = (node(label), node(label));
        link(&a, &b);
        link(&b, &a);
    }
    assert!(stats().allocation_collections > 0);
    assert!(
        drops() > 150_000,
        "only the last budget's cycles may wait: {}",
        drops()
    );
    collect();
    assert_eq!(drops(), 200_000);
}

#[test]
fn acyclic_garbage_starts_no_collection_and_garbage_cycles_still_do() {
    // 200,000 tracked allocations, hundreds of first budgets (256 objects), each freed by its
    // count when the next is made: the heap never grows, so no collection is due.
    for label in 0..100_000 {
        let young = node(label);
        link(&young, &node(label));
    }
    assert_eq!(stats().allocation_collections, 0);
    assert_eq!(drops(), 200_000);
    // Garbage cycles, which only a collection frees, grow it.
    for label in 0..8_000 {
        let (a, b) = (node(label), node(label));
        link(&a, &b);
        link(&b, &a);
    }
    assert!(stats().allocation_collections > 0);
}

#[test]
fn young_collections_that_find_mostly_garbage_come_sooner_than_ones_that_find_survivors() {
    // 8,000 tracked allocations, all garbage cycles: every collection finds its generation 0
    // garbage, so the next comes after the smaller budget (256 objects of growth).
    for label in 0..4_000 {
        let (a, b) = (node(label), node(label));
        link(&a, &b);
        link(&b, &a);
    }
    let garbage_only = stats().allocation_collections;
    assert!(garbage_only >= 24, "{garbage_only} collections");
    assert!(drops() >= 8_000 - 512, "{} dropped", drops());
    // 8,000 more that all survive: the first collection finds them live, and the budget grows
    // back to 8 Ki objects.
    let kept: Vec<_> = (0..8_000).map(node).collect();
    let with_survivors = stats().allocation_collections - garbage_only;
    assert!(with_survivors <= 2, "{with_survivors} collections");
    drop(kept);
}

#[test]
fn collections_that_find_nothing_come_further_apart_up_to_the_heaps_size() {
    // A program building data: 200,000 tracked objects, all live. With a budget of a quarter of
    // the heap (and 8 Ki at least) it would run about twenty collections, each finding nothing;
    // doubling the budget after each, up to the heap's size, runs a handful.
    let (head, tail) = chain(200_000);
    let collections = stats().allocation_collections;
    assert!(
        (3..=8).contains(&collections),
        "{collections} collections while the heap grew to 200,000 live objects"
    );
    // Garbage cycles made next still start a collection within the heap's size.
    let before = stats().allocation_collections;
    for label in 0..110_000 {
        let (a, b) = (node(label), node(label));
        link(&a, &b);
        link(&b, &a);
    }
    assert!(stats().allocation_collections > before);
    drop((head, tail));
}

#[test]
fn an_interpreters_garbage_waits_for_at_most_a_few_young_budgets_in_any_generation() {
    // An interpreter's shape: each call leaves a garbage cycle of six objects, and one call in ten
    // lets its cycle escape into one of 32 slots, replaced round robin, so that it lives for 320
    // calls: long enough to reach the oldest generation and die there. The middle collections,
    // which examine those survivors, must not make the young heap look mostly live (the young
    // budget would grow 32-fold), and the garbage that dies old must not wait for the oldest
    // generation to grow by thousands of objects.
    let mut slots: Vec<Option<Gc<Node>>> = (0..32).map(|_| None).collect();
    let mut most_tracked = 0;
    for call in 0..50_000 {
        let first = node(call);
        let mut previous = first.clone();
        for _ in 1..6 {
            let next = node(call);
            link(&previous, &next);
            previous = next;
        }
        link(&previous, &first);
        if call % 10 == 0 {
            slots[(call / 10) % 32] = Some(first);
        }
        most_tracked = most_tracked.max(stats().tracked_objects);
    }
    assert!(stats().allocation_collections > 100);
    // Live: 32 escaped cycles (192 objects). Waiting: up to a young budget (256) in generation 0,
    // what eight young collections promoted into generation 1, and up to a young budget in the
    // oldest one.
    assert!(
        most_tracked < 1_500,
        "{most_tracked} objects tracked at once"
    );
    drop(slots);
    collect();
    assert_eq!(drops(), 300_000);
}

#[test]
fn a_drop_that_collects_inside_a_collection_frees_the_cycles_it_made() {
    // Each member of this cycle, dropped by a collection, makes a garbage cycle of two nodes and
    // collects: the inner collection runs while the outer one is still dropping its garbage, with
    // working memory of its own, and frees the new cycle before the outer one ends.
    #[derive(Trace)]
    struct Collecting {
        other: GcCell<Option<Gc<Collecting>>>,
    }
    impl Drop for Collecting {
        fn drop(&mut self) {
            let (a, b) = (node(0), node(1));
            link(&a, &b);
            link(&b, &a);
            drop((a, b));
            collect();
        }
    }
    for round in 1..=50 {
        let first = Gc::new(Collecting {
            other: GcCell::new(None),
        });
        let second = Gc::new(Collecting {
            other: GcCell::new(Some(first.clone())),
        });
        *first.other.borrow_mut() = Some(second);
        drop(first);
        collect();
        assert_eq!(drops(), 4 * round);
        assert_eq!(stats().tracked_objects, 0);
    }
}

#[test]
fn memory_info_and_stats_describe_the_threads_heap() {
    let kept = node(0);
    let (a, b) = (node(1), node(2));
    link(&a, &b);
    link(&b, &a);
    drop((a, b));
    collect();
    let info = memory_info();
    assert_eq!(info.generations[1].objects, 1);
    assert!(info.generations[1].bytes >= size_of::<Node>());
    assert_eq!(info.heap_bytes, info.generations[1].bytes);
    assert_eq!(info.collections[2], 1);
    let stats = stats();
    assert_eq!(stats.freed_objects, 2);
    assert_eq!(stats.examined_objects, 3);
    assert_eq!(stats.induced_collections, 1);
    assert!(stats.total_pause >= stats.last_pause);
    drop(kept);
    assert_eq!(memory_info().heap_bytes, 0);
}

#[test]
fn weak_references_die_with_their_cycle_and_keep_only_memory_meanwhile() {
    let (a, b) = (node(0), node(1));
    link(&a, &b);
    link(&b, &a);
    let weak: WeakGc<Node> = Gc::downgrade(&a);
    let long = Gc::downgrade_long(&b);
    assert_eq!(weak.upgrade().unwrap().label, 0);
    drop((a, b));
    collect();
    assert!(weak.upgrade().is_none() && long.upgrade().is_none());
    assert_eq!(weak.strong_count(), 0);
    assert!(
        memory_info().heap_bytes > 0,
        "the weak references keep the memory"
    );
    drop((weak, long));
    assert_eq!(memory_info().heap_bytes, 0);
}

#[test]
fn a_shared_heap_gc_inside_a_thread_local_object_is_an_ordinary_reference() {
    let shared = janitor::gc::Gc::new(janitor::gc::GcCell::new(7_u32));
    #[derive(Trace)]
    struct Mixed {
        shared: janitor::gc::Gc<janitor::gc::GcCell<u32>>,
        me: GcCell<Option<Gc<Mixed>>>,
    }
    let local = Gc::new(Mixed {
        shared: shared.clone(),
        me: GcCell::new(None),
    });
    *local.me.borrow_mut() = Some(local.clone());
    assert_eq!(janitor::gc::Gc::strong_count(&shared), 2);
    drop(local);
    collect();
    assert_eq!(janitor::gc::Gc::strong_count(&shared), 1);
    assert_eq!(*shared.borrow(), 7);
}

/// `Gc` and `WeakGc` are neither `Send` nor `Sync`, whatever `T`.
#[test]
fn thread_local_pointers_are_neither_send_nor_sync() {
    trait AmbiguousIfSend<A> {
        fn some_item() {}
    }
    impl<T: ?Sized> AmbiguousIfSend<()> for T {}
    impl<T: ?Sized + Send> AmbiguousIfSend<u8> for T {}
    trait AmbiguousIfSync<A> {
        fn some_item() {}
    }
    impl<T: ?Sized> AmbiguousIfSync<()> for T {}
    impl<T: ?Sized + Sync> AmbiguousIfSync<u8> for T {}
    // Each line compiles only because the second impl does not apply (else: ambiguity error).
    <Gc<u8> as AmbiguousIfSend<_>>::some_item();
    <Gc<u8> as AmbiguousIfSync<_>>::some_item();
    <WeakGc<u8> as AmbiguousIfSend<_>>::some_item();
    <WeakGc<u8> as AmbiguousIfSync<_>>::some_item();
}
