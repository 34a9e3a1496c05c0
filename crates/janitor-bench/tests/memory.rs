//! The counting allocator, installed as this test binary's global allocator, measures what a run
//! allocates in both measures.

use janitor_bench::memory::{BATCH, CountingAllocator, peak_since_window, start_peak_window};
use std::sync::Mutex;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// The window is global: tests that open one take turns.
static WINDOW: Mutex<()> = Mutex::new(());

/// Enough small blocks that the batching error (up to `BATCH` bytes) is a few percent.
const BLOCKS: usize = 64 * 1024;

#[test]
fn small_boxes_count_their_size_requested_and_the_allocators_rounding_reserved() {
    let _turn = WINDOW.lock().unwrap();
    start_peak_window();
    let boxes: Vec<Box<[u64; 2]>> = (0..BLOCKS as u64).map(|i| Box::new([i, i])).collect();
    let peak = peak_since_window();
    drop(boxes);
    let vector = BLOCKS * size_of::<Box<[u64; 2]>>();
    let requested = BLOCKS * 16 + vector;
    let slack = BATCH as usize + vector;
    assert!(
        peak.requested + slack >= requested && peak.requested <= requested + slack,
        "requested peak {} for {requested} bytes asked",
        peak.requested
    );
    // A 16-byte block reserves more than 16 bytes in any malloc that keeps its size beside it.
    assert!(
        peak.reserved >= peak.requested + BLOCKS * 4,
        "reserved peak {} not above the requested {}",
        peak.reserved,
        peak.requested
    );
}

#[test]
fn freed_blocks_leave_the_next_window_empty() {
    let _turn = WINDOW.lock().unwrap();
    let block = vec![0u8; 4 << 20];
    drop(block);
    start_peak_window();
    let peak = peak_since_window();
    assert!(peak.requested < BATCH as usize);
    assert!(peak.reserved < BATCH as usize);
}
