//! `NativeMemory` gives its block back to the global allocator exactly once, at the last use.
//!
//! A counting allocator sees every deallocation; each test allocates a block of a size no other
//! allocation in this binary has, and counts the deallocations of that size.

use janitor::Dispose;
use janitor::handle::NativeMemory;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The system allocator, counting the deallocations of the watched sizes.
struct Counting;

/// Sizes no other allocation of this binary plausibly has, one per test.
const WATCHED: [usize; 3] = [12_345, 12_347, 12_349];

/// Deallocations of each watched size.
static FREED: [AtomicUsize; 3] = [const { AtomicUsize::new(0) }; 3];

// SAFETY: every call is forwarded to `System` unchanged; the counting neither allocates nor
// touches the blocks.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(index) = WATCHED.iter().position(|&size| size == layout.size()) {
            FREED[index].fetch_add(1, Ordering::SeqCst);
        }
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// How often the block of watched size `WATCHED[index]` was freed.
fn freed(index: usize) -> usize {
    FREED[index].load(Ordering::SeqCst)
}

#[test]
fn dispose_frees_the_block_once() {
    let buffer = NativeMemory::alloc(WATCHED[0]).unwrap();
    buffer.dispose();
    assert_eq!(freed(0), 1);
    buffer.dispose();
    drop(buffer);
    assert_eq!(freed(0), 1);
}

#[test]
fn a_use_in_flight_defers_the_free_to_its_end() {
    let buffer = NativeMemory::alloc_zeroed(WATCHED[1]).unwrap();
    let pointer = buffer.acquire_pointer().unwrap();
    buffer.dispose();
    assert_eq!(freed(1), 0, "freed under a use");
    drop(pointer);
    assert_eq!(freed(1), 1);
    drop(buffer);
    assert_eq!(freed(1), 1);
}

#[test]
fn dropping_without_dispose_frees_the_block_once() {
    let buffer = NativeMemory::alloc(WATCHED[2]).unwrap();
    buffer.write::<u8>(0, 1).unwrap();
    assert_eq!(freed(2), 0);
    drop(buffer);
    assert_eq!(freed(2), 1);
}
