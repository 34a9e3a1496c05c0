//! Automatic collections count the bytes of tracked allocations as well as their number: a
//! program that drops garbage cycles of large objects, and never calls `collect`, keeps a tracked
//! heap of a few budgets, however many cycles it makes. (One test in this binary: the counts it
//! reads are the whole heap's.)

use janitor::gc::{Gc, GcCell, Trace, collect, memory_info, stats};

/// The payload of one object: large enough that the object budget (thousands of objects) would
/// let gigabytes of garbage pile up before the first automatic collection.
const PAYLOAD: usize = 256 << 10;
/// Cycles of two objects each: 512 MiB allocated in all.
const CYCLES: usize = 1024;
/// The most tracked bytes the heap may hold at any moment of the loop: a small multiple of a
/// gen-0 byte budget, and an eighth of what the loop allocates.
const PEAK_LIMIT: usize = 64 << 20;

#[derive(Trace)]
struct Block {
    other: GcCell<Option<Gc<Block>>>,
    payload: [u8; PAYLOAD],
}

fn block(fill: u8) -> Gc<Block> {
    Gc::new(Block {
        other: GcCell::new(None),
        payload: [fill; PAYLOAD],
    })
}

fn tracked_bytes() -> usize {
    memory_info()
        .generations
        .iter()
        .map(|generation| generation.bytes)
        .sum()
}

#[test]
fn garbage_cycles_of_large_objects_start_collections_and_keep_the_tracked_heap_bounded() {
    // The payloads are built on the stack (a debug build copies them a few times on the way into
    // the heap): a thread with room for that.
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(|| {
            let automatic_before = stats().allocation_collections;
            let mut peak = 0;
            for round in 0..CYCLES {
                let a = block(round as u8);
                let b = block(round as u8);
                *a.other.borrow_mut() = Some(b.clone());
                *b.other.borrow_mut() = Some(a.clone());
                drop((a, b));
                peak = peak.max(tracked_bytes());
            }
            let automatic = stats().allocation_collections - automatic_before;
            assert!(
                automatic >= 16,
                "{} MiB of garbage cycles started only {automatic} automatic collections",
                (CYCLES * 2 * PAYLOAD) >> 20
            );
            assert!(
                peak <= PEAK_LIMIT,
                "the tracked heap reached {} MiB while the program kept none of it",
                peak >> 20
            );
            collect();
            assert!(tracked_bytes() < 2 * PAYLOAD, "garbage left after collect");
        })
        .unwrap()
        .join()
        .unwrap();
}
