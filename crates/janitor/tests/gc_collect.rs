//! The managed heap's collection behaviour: acyclic objects freed by counting, cycles of every
//! shape freed by `collect`, generations, automatic collections, and the GC API.

use janitor::coerce_gc;
use janitor::gc::{
    Gc, GcCell, GcMutex, GcRwLock, MAX_GENERATION, Trace, TraceMeta, add_memory_pressure, collect,
    collect_generation, collection_count, generation, memory_info, remove_memory_pressure,
    total_memory, total_memory_after_collection,
};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Tests of this file run one at a time: they read generations and counts of the one global
/// heap, which a collection in a parallel test (induced or automatic) would move.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Counts the drops of the values that carry it; one per test, so tests running in parallel on
/// the shared heap never see each other's objects.
#[derive(Clone, Default)]
struct Drops(Arc<AtomicUsize>);

impl Drops {
    fn token(&self) -> DropToken {
        DropToken(self.0.clone())
    }
    fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

#[derive(Trace)]
struct DropToken(Arc<AtomicUsize>);

impl Drop for DropToken {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[derive(Trace)]
struct Person {
    #[trace(skip)]
    name: &'static str,
    spouse: GcCell<Option<Gc<Person>>>,
    token: DropToken,
}

fn person(name: &'static str, drops: &Drops) -> Gc<Person> {
    Gc::new(Person {
        name,
        spouse: GcCell::new(None),
        token: drops.token(),
    })
}

#[derive(Trace)]
struct Node {
    edges: GcCell<Vec<Gc<Node>>>,
    token: DropToken,
}

fn node(drops: &Drops) -> Gc<Node> {
    Gc::new(Node {
        edges: GcCell::new(Vec::new()),
        token: drops.token(),
    })
}

fn link(from: &Gc<Node>, to: &Gc<Node>) {
    from.edges.borrow_mut().push(to.clone());
}

#[test]
fn an_acyclic_object_is_freed_when_its_last_gc_drops() {
    let _serial = serial();
    let drops = Drops::default();
    let first = Gc::new(drops.token());
    let second = first.clone();
    drop(first);
    assert_eq!(drops.count(), 0);
    drop(second);
    assert_eq!(drops.count(), 1);
}

#[test]
fn an_acyclic_chain_is_freed_without_a_collection() {
    let _serial = serial();
    let drops = Drops::default();
    let tail = node(&drops);
    let head = node(&drops);
    link(&head, &tail);
    drop(tail);
    assert_eq!(drops.count(), 0);
    drop(head);
    assert_eq!(drops.count(), 2);
}

#[test]
fn a_married_pair_is_freed_by_collect() {
    let _serial = serial();
    let drops = Drops::default();
    let ada = person("Ada", &drops);
    let bob = person("Bob", &drops);
    *ada.spouse.borrow_mut() = Some(bob.clone());
    *bob.spouse.borrow_mut() = Some(ada.clone());
    assert_eq!(ada.spouse.borrow().as_ref().unwrap().name, "Bob");
    drop((ada, bob));
    assert_eq!(drops.count(), 0);
    collect();
    assert_eq!(drops.count(), 2);
}

#[test]
fn a_self_loop_is_freed_by_collect() {
    let _serial = serial();
    let drops = Drops::default();
    let lonely = node(&drops);
    link(&lonely, &lonely);
    drop(lonely);
    collect();
    assert_eq!(drops.count(), 1);
}

#[test]
fn a_long_ring_is_freed_by_collect() {
    let _serial = serial();
    let drops = Drops::default();
    let nodes: Vec<_> = (0..10_000).map(|_| node(&drops)).collect();
    for pair in nodes.windows(2) {
        link(&pair[0], &pair[1]);
    }
    link(nodes.last().unwrap(), &nodes[0]);
    drop(nodes);
    collect();
    assert_eq!(drops.count(), 10_000);
}

#[test]
fn a_clique_is_freed_by_collect() {
    let _serial = serial();
    let drops = Drops::default();
    let nodes: Vec<_> = (0..30).map(|_| node(&drops)).collect();
    for from in &nodes {
        for to in &nodes {
            link(from, to);
        }
    }
    drop(nodes);
    collect();
    assert_eq!(drops.count(), 30);
}

#[test]
fn a_cycle_held_from_outside_survives_and_is_freed_once_released() {
    let _serial = serial();
    let drops = Drops::default();
    let ada = person("Ada", &drops);
    let bob = person("Bob", &drops);
    *ada.spouse.borrow_mut() = Some(bob.clone());
    *bob.spouse.borrow_mut() = Some(ada.clone());
    drop(bob);
    collect();
    assert_eq!(drops.count(), 0);
    assert_eq!(ada.spouse.borrow().as_ref().unwrap().name, "Bob");
    drop(ada);
    collect();
    assert_eq!(drops.count(), 2);
}

#[test]
fn a_cycle_reachable_from_a_live_object_survives() {
    let _serial = serial();
    let drops = Drops::default();
    let root = node(&drops);
    let (a, b) = (node(&drops), node(&drops));
    link(&a, &b);
    link(&b, &a);
    link(&root, &a);
    drop((a, b));
    collect();
    assert_eq!(drops.count(), 0);
    drop(root);
    assert_eq!(drops.count(), 1);
    collect();
    assert_eq!(drops.count(), 3);
}

#[derive(Trace)]
struct Containers {
    list: GcMutex<Vec<Gc<Containers>>>,
    map: GcRwLock<HashMap<u32, Gc<Containers>>>,
    slot: GcCell<Option<Box<Gc<Containers>>>>,
    token: DropToken,
}

fn containers(drops: &Drops) -> Gc<Containers> {
    Gc::new(Containers {
        list: GcMutex::new(Vec::new()),
        map: GcRwLock::new(HashMap::new()),
        slot: GcCell::new(None),
        token: drops.token(),
    })
}

#[test]
fn cycles_through_a_vec_in_a_gc_mutex_are_freed() {
    let _serial = serial();
    let drops = Drops::default();
    let (a, b) = (containers(&drops), containers(&drops));
    a.list.lock().push(b.clone());
    b.list.lock().push(a.clone());
    drop((a, b));
    collect();
    assert_eq!(drops.count(), 2);
}

#[test]
fn cycles_through_a_hash_map_in_a_gc_rw_lock_are_freed() {
    let _serial = serial();
    let drops = Drops::default();
    let (a, b) = (containers(&drops), containers(&drops));
    a.map.write().insert(1, b.clone());
    b.map.write().insert(2, a.clone());
    drop((a, b));
    collect();
    assert_eq!(drops.count(), 2);
}

#[test]
fn cycles_through_boxes_in_a_gc_cell_and_mixed_containers_are_freed() {
    let _serial = serial();
    let drops = Drops::default();
    let (a, b, c) = (containers(&drops), containers(&drops), containers(&drops));
    *a.slot.borrow_mut() = Some(Box::new(b.clone()));
    b.map.write().insert(3, c.clone());
    c.list.lock().push(a.clone());
    drop((a, b, c));
    collect();
    assert_eq!(drops.count(), 3);
}

#[test]
fn a_cycle_whose_lock_is_held_during_the_collection_is_kept_and_freed_later() {
    let _serial = serial();
    let drops = Drops::default();
    let (a, b) = (containers(&drops), containers(&drops));
    a.list.lock().push(b.clone());
    b.list.lock().push(a.clone());
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let holder = {
        let a = a.clone();
        std::thread::spawn(move || {
            let guard = a.list.lock();
            locked_tx.send(()).unwrap();
            release_rx.recv().unwrap();
            drop(guard);
        })
    };
    locked_rx.recv().unwrap();
    drop((a, b));
    collect(); // `a`'s lock is taken: `a` is opaque, its cycle is kept
    assert_eq!(drops.count(), 0);
    release_tx.send(()).unwrap();
    holder.join().unwrap();
    collect();
    assert_eq!(drops.count(), 2);
}

#[test]
fn a_young_collection_keeps_what_an_old_object_points_to() {
    let _serial = serial();
    let drops = Drops::default();
    let old = node(&drops);
    collect_generation(1);
    collect_generation(1);
    assert_eq!(generation(&old), MAX_GENERATION);
    let (young_a, young_b) = (node(&drops), node(&drops));
    link(&young_a, &young_b);
    link(&young_b, &young_a);
    link(&old, &young_a);
    drop((young_a, young_b));
    collect_generation(0);
    assert_eq!(drops.count(), 0);
    old.edges.borrow_mut().clear();
    collect();
    assert_eq!(drops.count(), 2);
}

#[test]
fn survivors_are_promoted_one_generation_per_collection() {
    let _serial = serial();
    let drops = Drops::default();
    let object = node(&drops);
    assert_eq!(generation(&object), 0);
    collect_generation(0);
    assert_eq!(generation(&object), 1);
    collect_generation(0);
    assert_eq!(generation(&object), 1);
    collect_generation(1);
    assert_eq!(generation(&object), 2);
    collect();
    assert_eq!(generation(&object), 2);
}

#[derive(Trace)]
struct TreeNode {
    left: Option<Gc<TreeNode>>,
    right: Option<Gc<TreeNode>>,
}

#[test]
fn immutable_nodes_over_untracked_children_are_not_tracked() {
    let _serial = serial();
    let leaf = Gc::new(TreeNode {
        left: None,
        right: None,
    });
    let tree = Gc::new(TreeNode {
        left: Some(leaf.clone()),
        right: Some(leaf),
    });
    assert_eq!(generation(&tree), MAX_GENERATION);
    assert_eq!(generation(&Gc::new(1_u64)), MAX_GENERATION);
    let tracked_child = node(&Drops::default());
    let over_tracked = Gc::new(vec![tracked_child]);
    assert_eq!(generation(&over_tracked), 0);
}

#[test]
fn collection_counts_count_every_younger_generation_too() {
    let _serial = serial();
    let before: Vec<u64> = (0..=2).map(collection_count).collect();
    collect_generation(1);
    assert!(collection_count(0) > before[0]);
    assert!(collection_count(1) > before[1]);
    collect_generation(u8::MAX);
    assert!(collection_count(2) > before[2]);
    assert_eq!(collection_count(7), collection_count(2));
}

#[test]
fn a_program_that_only_makes_garbage_cycles_runs_in_bounded_memory() {
    let _serial = serial();
    let drops = Drops::default();
    let mut most_alive = 0;
    for made in 1..=1_000_000 {
        let (a, b) = (person("a", &drops), person("b", &drops));
        *a.spouse.borrow_mut() = Some(b.clone());
        *b.spouse.borrow_mut() = Some(a.clone());
        if made % 1000 == 0 {
            most_alive = most_alive.max(2 * made - drops.count());
        }
    }
    assert!(
        most_alive < 200_000,
        "{most_alive} objects were alive at once"
    );
    assert!(drops.count() > 1_900_000);
}

#[test]
fn memory_pressure_of_zero_bytes_is_an_error() {
    let _serial = serial();
    assert!(add_memory_pressure(0).is_err());
    assert!(remove_memory_pressure(0).is_err());
}

#[test]
fn memory_pressure_past_its_budget_starts_a_full_collection() {
    let _serial = serial();
    let before = collection_count(2);
    add_memory_pressure(64 << 20).unwrap();
    assert!(collection_count(2) > before);
    assert!(memory_info().memory_pressure >= 64 << 20);
    remove_memory_pressure(64 << 20).unwrap();
}

#[test]
fn memory_info_reports_tracked_objects_and_pauses() {
    let _serial = serial();
    let drops = Drops::default();
    let kept: Vec<_> = (0..100).map(|_| node(&drops)).collect();
    let info = memory_info();
    let tracked: usize = info
        .generations
        .iter()
        .map(|generation| generation.objects)
        .sum();
    assert!(tracked >= 100);
    // Threads flush their byte counts every 256 KiB: keep far more than that in view.
    let blocks: Vec<_> = (0..4096).map(|_| Gc::new([0_u64; 128])).collect();
    assert!(memory_info().heap_bytes >= 2 << 20);
    drop(blocks);
    collect();
    let info = memory_info();
    assert!(info.total_pause >= info.last_pause);
    assert!(info.collections[2] >= 1);
    drop(kept);
}

/// A self-referencing node with a kilobyte of payload: only a collection can free it.
#[derive(Trace)]
struct HeavyLoop {
    itself: GcCell<Option<Gc<HeavyLoop>>>,
    #[trace(skip)]
    payload: [u64; 128],
    token: DropToken,
}

#[test]
fn total_memory_grows_with_the_heap_and_shrinks_after_a_forced_collection() {
    let _serial = serial();
    let drops = Drops::default();
    let loops: Vec<_> = (0..2000)
        .map(|_| {
            let heavy = Gc::new(HeavyLoop {
                itself: GcCell::new(None),
                payload: [7; 128],
                token: drops.token(),
            });
            *heavy.itself.borrow_mut() = Some(heavy.clone());
            heavy
        })
        .collect();
    assert!(loops.iter().all(|heavy| heavy.payload[127] == 7));
    let with_loops = total_memory();
    assert!(with_loops >= 2000 * 1024);
    drop(loops);
    // Every node still holds itself: counting alone frees none of them; the forced collection does.
    // Other tests allocate in parallel, but keep far less than these 2 MB.
    assert!(total_memory_after_collection() < with_loops);
    assert_eq!(drops.count(), 2000);
}

trait Shape: Send + Sync {
    fn area(&self) -> u32;
}

#[derive(Trace)]
struct Square(u32);

impl Shape for Square {
    fn area(&self) -> u32 {
        self.0 * self.0
    }
}

#[test]
fn a_gc_coerces_to_a_trait_object_and_drops_the_concrete_value() {
    let _serial = serial();
    let drops = Drops::default();
    let token: Gc<dyn Send + Sync> = coerce_gc!(Gc::new(drops.token()) => dyn Send + Sync);
    let square: Gc<dyn Shape> = coerce_gc!(Gc::new(Square(3)) => dyn Shape);
    assert_eq!(square.area(), 9);
    let again = square.clone();
    assert!(Gc::ptr_eq(&square, &again));
    drop(token);
    assert_eq!(drops.count(), 1);
}

#[test]
fn gc_forwards_comparison_hashing_and_formatting_to_its_value() {
    let _serial = serial();
    use std::collections::HashSet;
    let (one, other_one, two) = (Gc::new(1), Gc::new(1), Gc::new(2));
    assert_eq!(one, other_one);
    assert!(one < two);
    assert_eq!(one.cmp(&two), std::cmp::Ordering::Less);
    assert_eq!(HashSet::from([one.clone(), other_one]).len(), 1);
    assert_eq!(format!("{one} {two:?}"), "1 2");
    let text: Gc<String> = Gc::new("text".to_string());
    let borrowed: &str = text.as_ref();
    assert_eq!(borrowed, "text");
    assert_eq!(Gc::strong_count(&one), 2 - 1);
}

#[derive(Trace)]
enum Expression {
    Leaf(u32),
    Pair(Gc<Expression>, #[trace(skip)] String, Gc<Expression>),
    Named {
        inner: Gc<Expression>,
        #[trace(skip)]
        label: String,
    },
    Mutable(GcCell<Option<Gc<Expression>>>),
}

#[derive(Trace)]
struct Generic<T>(T);

#[test]
fn derived_constants_are_the_or_of_the_traced_fields() {
    let _serial = serial();
    const { assert!(Expression::HOLDS_GC && Expression::MUTABLE_EDGES) };
    const { assert!(!<Generic<u32>>::HOLDS_GC && <Generic<Gc<u8>>>::HOLDS_GC) };
    const { assert!(!<Generic<Gc<u8>>>::MUTABLE_EDGES) };
    const { assert!(!TreeNode::MUTABLE_EDGES && TreeNode::HOLDS_GC) };
}

#[test]
fn derived_enums_trace_every_variant_into_a_collectable_cycle() {
    let _serial = serial();
    let leaf = Gc::new(Expression::Leaf(1));
    let cell = Gc::new(Expression::Mutable(GcCell::new(None)));
    let pair = Gc::new(Expression::Pair(leaf.clone(), "pair".into(), cell.clone()));
    let named = Gc::new(Expression::Named {
        inner: pair,
        label: "named".into(),
    });
    if let Expression::Mutable(slot) = &*cell {
        *slot.borrow_mut() = Some(named.clone());
    }
    if let Expression::Pair(_, label, _) | Expression::Named { label, .. } = &*named {
        assert!(!label.is_empty());
    }
    let weak_probe = leaf.clone();
    drop((leaf, cell, named));
    collect();
    assert_eq!(Gc::strong_count(&weak_probe), 1);
}

/// Traces its cell, then panics on demand: a broken `Trace` implementation.
struct Grumpy {
    cell: GcCell<Option<Gc<Grumpy>>>,
    refuse: std::sync::atomic::AtomicBool,
    _token: DropToken,
}

// SAFETY: reports the one `Gc` it owns, once (before panicking, when asked to).
unsafe impl Trace for Grumpy {
    fn trace(&self, tracer: &mut janitor::gc::Tracer<'_>) {
        self.cell.trace(tracer);
        assert!(
            !self.refuse.load(Ordering::SeqCst),
            "this Trace refuses to finish"
        );
    }
}
// SAFETY: the conservative defaults.
unsafe impl janitor::gc::TraceMeta for Grumpy {}

#[test]
fn a_panicking_trace_releases_its_cells_and_pins() {
    let _serial = serial();
    let drops = Drops::default();
    let grumpy = Gc::new(Grumpy {
        cell: GcCell::new(None),
        refuse: true.into(),
        _token: drops.token(),
    });
    assert!(std::panic::catch_unwind(collect).is_err());
    assert_eq!(
        Gc::strong_count(&grumpy),
        1,
        "the collector's pin was given back"
    );
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let writer = {
        let grumpy = grumpy.clone();
        std::thread::spawn(move || {
            *grumpy.cell.borrow_mut() = None;
            done_tx.send(()).unwrap();
        })
    };
    assert!(
        done_rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .is_ok(),
        "the cell stayed held"
    );
    writer.join().unwrap();
    grumpy.refuse.store(false, Ordering::SeqCst);
    *grumpy.cell.borrow_mut() = Some(grumpy.clone());
    drop(grumpy);
    collect();
    assert_eq!(
        drops.count(),
        1,
        "collections work again once Trace behaves"
    );
}

#[derive(Trace)]
struct Erased {
    next: GcCell<Option<Gc<dyn std::any::Any + Send + Sync>>>,
    token: DropToken,
}

#[test]
fn a_cycle_through_trait_object_edges_is_freed() {
    let _serial = serial();
    let drops = Drops::default();
    let erased = |drops: &Drops| {
        Gc::new(Erased {
            next: GcCell::new(None),
            token: drops.token(),
        })
    };
    let (a, b) = (erased(&drops), erased(&drops));
    *a.next.borrow_mut() = Some(coerce_gc!(b.clone() => dyn std::any::Any + Send + Sync));
    *b.next.borrow_mut() = Some(coerce_gc!(a.clone() => dyn std::any::Any + Send + Sync));
    let back = a.next.borrow().clone().unwrap();
    assert!(back.downcast_ref::<Erased>().is_some());
    drop((a, b, back));
    collect();
    assert_eq!(drops.count(), 2);
}

/// Records the fields of every `tracing` event, as text.
struct CaptureEvents(Arc<std::sync::Mutex<Vec<String>>>);

struct FieldText(String);

impl tracing::field::Visit for FieldText {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{}={:?} ", field.name(), value));
    }
}

impl tracing::Subscriber for CaptureEvents {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut text = FieldText(String::new());
        event.record(&mut text);
        self.0.lock().unwrap().push(text.0);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn every_collection_emits_a_debug_event_with_its_generation_trigger_and_counts() {
    let _serial = serial();
    let drops = Drops::default();
    let events = Arc::new(std::sync::Mutex::new(Vec::new()));
    tracing::subscriber::with_default(CaptureEvents(events.clone()), || {
        let lonely = node(&drops);
        link(&lonely, &lonely);
        drop(lonely);
        collect();
    });
    let events = events.lock().unwrap();
    let event = events
        .iter()
        .find(|text| text.contains("generation=2") && text.contains("trigger=Induced"))
        .expect("a collection event");
    assert!(event.contains("freed="), "{event}");
    assert!(event.contains("examined="), "{event}");
    assert!(event.contains("pause_us="), "{event}");
    assert_eq!(drops.count(), 1);
}
