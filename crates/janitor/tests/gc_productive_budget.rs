//! After a gen-0 collection that found its generation mostly garbage, the next is due sooner: an
//! interpreter's heap, whose frames and callbacks die young on cycles, keeps little garbage
//! waiting. (One test in this binary: the statistics it reads are the whole heap's.)

use janitor::gc::{collect, stats};

mod tracked_node;

use tracked_node::node;

/// Garbage cycles of two objects: 200,000 objects of growth, twenty base budgets (10,000
/// objects) and 781 productive ones (256).
const CYCLES: usize = 100_000;

#[test]
fn young_collections_that_find_mostly_garbage_come_sooner() {
    collect();
    let before = stats().allocation_collections;
    for _ in 0..CYCLES {
        let a = node();
        let b = node();
        *a.next.borrow_mut() = Some(b.clone());
        *b.next.borrow_mut() = Some(a);
    }
    let collections = stats().allocation_collections - before;
    // With the base budget alone, at most twenty. The collector runs beside the loop, and the
    // pacer lets the heap grow past a budget for at most 10 ms while it waits for one, so on a
    // loaded machine some budgets pass with no collection of their own: twice the base count is
    // the bar.
    assert!(
        collections > 40,
        "{collections} automatic collections for {CYCLES} garbage cycles"
    );
    collect();
}
