//! The memory a weak reference keeps: not the object's block. Alone in its test binary so that no
//! other test's allocations move the heap's byte count while it measures.

use janitor::gc::{Gc, total_memory};

/// The object: large, so that its block is plainly visible in the heap's byte count.
const BYTES: usize = 1 << 20;

#[test]
fn the_block_is_freed_with_the_value_while_weak_references_live() {
    // A large value is built on the stack before it moves into the heap: give it room.
    let measure = std::thread::Builder::new()
        .stack_size(16 * BYTES)
        .spawn(|| {
            let before = total_memory(false);
            let strong = Gc::new([7_u8; BYTES]);
            let with_object = total_memory(false);
            assert!(
                with_object >= before + BYTES,
                "the object counts in the heap"
            );
            let (short, long) = (Gc::downgrade(&strong), Gc::downgrade_long(&strong));
            let copies = (short.clone(), long.clone());
            drop(strong);
            assert_eq!(
                total_memory(false),
                before,
                "the whole block is freed with the value, though four weak references live"
            );
            assert!(short.upgrade().is_none() && long.upgrade().is_none());
            drop((short, long, copies));
            assert_eq!(total_memory(false), before);
        })
        .unwrap();
    measure.join().unwrap();
}
