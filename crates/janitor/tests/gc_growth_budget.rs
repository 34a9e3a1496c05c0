//! Automatic collections are due when the tracked objects grow by a budget, not when a budget of
//! them is allocated: acyclic garbage, which its counts free, never starts one, while garbage
//! cycles, which only a collection frees, still do. (One test in this binary: the statistics it
//! reads are the whole heap's, and another test's allocations would start collections here.)

use janitor::gc::{collect, stats};

mod tracked_node;

use tracked_node::node;

/// A hundred gen-0 budgets of allocations (the base budget is 10,000 objects).
const ACYCLIC: usize = 1_000_000;
/// The most cycles the second half makes while it waits for an automatic collection: a hundred
/// budgets of growth.
const MAX_CYCLES: usize = 500_000;

#[test]
fn acyclic_garbage_starts_no_collection_and_garbage_cycles_still_do() {
    // Nothing left over from the start-up: the budgets count from this collection's start.
    collect();
    let before = stats();

    // Tracked (a `GcCell` edge), each freed by its count when the next is made.
    for _ in 0..ACYCLIC {
        let young = node();
        *young.next.borrow_mut() = Some(node());
    }
    let after_acyclic = stats();
    assert_eq!(
        after_acyclic.allocation_collections, before.allocation_collections,
        "{ACYCLIC} young objects freed by their counts started a collection"
    );

    let mut cycles = 0;
    while stats().allocation_collections == after_acyclic.allocation_collections {
        assert!(
            cycles < MAX_CYCLES,
            "{MAX_CYCLES} garbage cycles started no collection"
        );
        let a = node();
        let b = node();
        *a.next.borrow_mut() = Some(b.clone());
        *b.next.borrow_mut() = Some(a);
        cycles += 1;
    }
    // Only the cycles were garbage a collection could free, and `collect` freed the rest.
    collect();
    assert_eq!(
        stats().freed_objects - before.freed_objects,
        2 * cycles as u64
    );
}
