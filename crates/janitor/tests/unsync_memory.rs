//! The thread-local heap's memory functions, the counterparts of the shared heap's: the byte
//! count, the count after collections, memory pressure and the collection it triggers, and the
//! generation of a weak reference's object.

use janitor::gc::unsync::{
    Gc, GcCell, add_memory_pressure, collect, collect_generation, generation, memory_info,
    remove_memory_pressure, stats, total_memory, total_memory_after_collection, weak_generation,
};
use janitor::gc::{MAX_GENERATION, Trace};
use std::cell::Cell;
use std::rc::Rc;

/// A node of a cycle that counts its drops, and may declare pressure when dropped.
#[derive(Trace)]
struct Node {
    next: GcCell<Option<Gc<Node>>>,
    #[trace(skip)]
    dropped: Rc<Cell<usize>>,
    #[trace(skip)]
    pressure_on_drop: usize,
}

impl Drop for Node {
    fn drop(&mut self) {
        self.dropped.set(self.dropped.get() + 1);
        if self.pressure_on_drop > 0 {
            add_memory_pressure(self.pressure_on_drop).unwrap();
        }
    }
}

/// A garbage cycle of one node.
fn garbage_cycle(dropped: &Rc<Cell<usize>>, pressure_on_drop: usize) {
    let node = Gc::new(Node {
        next: GcCell::new(None),
        dropped: dropped.clone(),
        pressure_on_drop,
    });
    *node.next.borrow_mut() = Some(node.clone());
}

#[test]
fn pressure_past_its_budget_runs_a_full_collection_that_frees_garbage_cycles() {
    let dropped = Rc::new(Cell::new(0));
    garbage_cycle(&dropped, 0);
    let before = stats();
    add_memory_pressure(1 << 20).unwrap();
    assert_eq!(dropped.get(), 0, "1 MiB is under the 4 MiB budget");
    add_memory_pressure(3 << 20).unwrap();
    assert_eq!(dropped.get(), 1, "4 MiB since the last full collection");
    let after = stats();
    assert_eq!(after.pressure_collections, before.pressure_collections + 1);
    assert_eq!(after.collections[2], before.collections[2] + 1);
    assert_eq!(after.memory_pressure, 4 << 20);
    add_memory_pressure(1 << 20).unwrap();
    assert_eq!(
        stats().pressure_collections,
        after.pressure_collections,
        "the budget counts from the last full collection"
    );
    remove_memory_pressure(5 << 20).unwrap();
    assert_eq!(memory_info().memory_pressure, 0);
}

#[test]
fn pressure_added_inside_a_drop_collects_at_the_next_call_outside() {
    let dropped = Rc::new(Cell::new(0));
    garbage_cycle(&dropped, 4 << 20); // declares a full budget when its cycle is dropped
    let collections = stats().pressure_collections;
    collect();
    assert_eq!(dropped.get(), 1);
    assert_eq!(
        stats().pressure_collections,
        collections,
        "no collection started inside the Drop"
    );
    garbage_cycle(&dropped, 0);
    add_memory_pressure(1).unwrap(); // the budget is still passed
    assert_eq!(stats().pressure_collections, collections + 1);
    assert_eq!(dropped.get(), 2);
    remove_memory_pressure((4 << 20) + 1).unwrap();
}

#[test]
fn zero_bytes_of_pressure_is_an_error_and_removal_stops_at_zero() {
    assert!(add_memory_pressure(0).is_err());
    assert!(remove_memory_pressure(0).is_err());
    add_memory_pressure(10).unwrap();
    remove_memory_pressure(100).unwrap();
    assert_eq!(memory_info().memory_pressure, 0);
}

#[test]
fn total_memory_counts_live_objects_and_after_collection_the_freed_cycles_are_gone() {
    let dropped = Rc::new(Cell::new(0));
    let base = total_memory_after_collection();
    let kept: Vec<_> = (0..100).map(|_| Gc::new([0_u8; 100])).collect();
    let with_kept = total_memory();
    assert!(with_kept >= base + 100 * 100);
    let size = node_size();
    for _ in 0..10 {
        garbage_cycle(&dropped, 0);
    }
    assert_eq!(
        total_memory(),
        with_kept + 10 * size,
        "cycles count until collected"
    );
    assert_eq!(
        total_memory_after_collection(),
        with_kept,
        "only the cycles went"
    );
    assert_eq!(dropped.get(), 10);
    drop(kept);
    assert_eq!(total_memory(), base);
}

/// The bytes of one `Node` object, measured.
fn node_size() -> usize {
    let before = total_memory();
    let node = Gc::new(Node {
        next: GcCell::new(None),
        dropped: Rc::new(Cell::new(0)),
        pressure_on_drop: 0,
    });
    let size = total_memory() - before;
    drop(node);
    size
}

#[test]
fn a_weak_reference_reports_its_object_s_generation_until_it_dies() {
    let dropped = Rc::new(Cell::new(0));
    let node = Gc::new(Node {
        next: GcCell::new(None),
        dropped: dropped.clone(),
        pressure_on_drop: 0,
    });
    let weak = Gc::downgrade(&node);
    assert_eq!(weak_generation(&weak), Ok(0));
    collect_generation(0);
    assert_eq!(weak_generation(&weak), Ok(1));
    assert_eq!(weak_generation(&weak), Ok(generation(&node)));
    let untracked = Gc::new(5_u8);
    assert_eq!(
        weak_generation(&Gc::downgrade(&untracked)),
        Ok(MAX_GENERATION)
    );
    drop(node);
    let error = weak_generation(&weak).unwrap_err();
    assert!(error.to_string().contains("upgrade"));
}
