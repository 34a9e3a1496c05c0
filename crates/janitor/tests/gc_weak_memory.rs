//! The memory a weak reference keeps: not the object's block, only a small cell. Alone in its test
//! binary, with a counting global allocator, so that no other test's allocations move the counts
//! while it measures.

use janitor::gc::{Gc, total_memory};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The object: large, so that its block is plainly visible in the counts.
const BYTES: usize = 1 << 20;

/// The system allocator, counting the bytes it has handed out and not taken back.
struct Counting;

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to `System` unchanged; the counter is a side effect.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size(), Ordering::SeqCst);
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::SeqCst);
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

fn live_bytes() -> usize {
    LIVE_BYTES.load(Ordering::SeqCst)
}

#[test]
fn the_block_is_freed_with_the_value_and_the_last_weak_reference_frees_a_small_cell() {
    // A large value is built on the stack before it moves into the heap: give it room.
    let measure = std::thread::Builder::new()
        .stack_size(16 * BYTES)
        .spawn(|| {
            let (heap_before, live_before) = (total_memory(), live_bytes());
            let strong = Gc::new([7_u8; BYTES]);
            assert!(total_memory() >= heap_before + BYTES, "the object counts");
            let (short, long) = (Gc::downgrade(&strong), Gc::downgrade_long(&strong));
            let copies = (short.clone(), long.clone());
            drop(strong);
            assert_eq!(
                total_memory(),
                heap_before,
                "the whole block is freed with the value, though four weak references live"
            );
            let held = live_bytes() - live_before;
            assert!(
                held <= 256,
                "four weak references hold {held} bytes: more than their cell and its table entry"
            );
            assert!(short.upgrade().is_none() && long.upgrade().is_none());
            drop((short, long));
            assert_eq!(live_bytes() - live_before, held, "two references still hold the cell");
            drop(copies);
            assert_eq!(
                held - (live_bytes() - live_before),
                2 * size_of::<usize>(),
                "the last weak reference frees the cell, two words (the side table keeps its capacity)"
            );
            assert_eq!(total_memory(), heap_before);
        })
        .unwrap();
    measure.join().unwrap();
}
