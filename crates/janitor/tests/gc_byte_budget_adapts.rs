//! The gen-0 byte budget grows with what survives, as the object budget does: a program that
//! builds a large live heap of large objects is not collected every few allocations. (One test in
//! this binary: the counts it reads are the whole heap's.)

use janitor::gc::{Gc, GcCell, Trace, stats};

/// The payload of one object.
const PAYLOAD: usize = 256 << 10;
/// Objects kept alive: 128 MiB, sixteen base byte budgets of 8 MiB.
const KEPT: usize = 512;

#[derive(Trace)]
struct Block {
    next: GcCell<Option<Gc<Block>>>,
    payload: [u8; PAYLOAD],
}

#[test]
fn a_large_live_heap_of_large_objects_spends_few_automatic_collections() {
    // The payloads are built on the stack (a debug build copies them a few times on the way into
    // the heap): a thread with room for that.
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(|| {
            let before = stats().allocation_collections;
            let kept: Vec<Gc<Block>> = (0..KEPT)
                .map(|index| {
                    Gc::new(Block {
                        next: GcCell::new(None),
                        payload: [index as u8; PAYLOAD],
                    })
                })
                .collect();
            let automatic = stats().allocation_collections - before;
            // Each budget is 8 MiB plus twice the bytes the last gen-0 collection found alive
            // (8, 24, 56, 120 MiB): three collections for 128 MiB. A budget that did not grow
            // would have collected sixteen times, each examining the whole growing heap.
            assert!(
                (1..=4).contains(&automatic),
                "building 128 MiB of live objects started {automatic} automatic collections"
            );
            assert!(
                kept.iter()
                    .enumerate()
                    .all(|(index, block)| block.payload[7] == index as u8)
            );
        })
        .unwrap()
        .join()
        .unwrap();
}
