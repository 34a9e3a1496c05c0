//! The heap's byte count, batched per thread.
//!
//! Invariant owned here: the global count plus every thread's unflushed delta is the number of
//! bytes of live objects. A thread flushes its delta when it passes [`FLUSH_AT`] either way and
//! when it exits, so the global count is off by at most `FLUSH_AT` per running thread, and
//! allocation never touches a cache line shared with other threads in the common case.
//!
//! Under loom, threads record straight into the global count: loom tears its statics down before
//! the thread-locals that would flush into them.

use super::heap::Heap;
use crate::sync::Ordering;
#[cfg(not(loom))]
use std::cell::Cell;

#[cfg(not(loom))]
/// The most a thread keeps to itself before adding to the global count.
const FLUSH_AT: isize = 256 << 10;

#[cfg(not(loom))]
struct Delta(Cell<isize>);

#[cfg(not(loom))]
impl Drop for Delta {
    fn drop(&mut self) {
        flush(super::api::heap(), self.0.replace(0));
    }
}

#[cfg(not(loom))]
std::thread_local! {
    static DELTA: Delta = const { Delta(Cell::new(0)) };
}

fn flush(heap: &Heap, delta: isize) {
    if delta >= 0 {
        heap.bytes
            .fetch_add(delta.unsigned_abs(), Ordering::Relaxed);
    } else {
        heap.bytes
            .fetch_sub(delta.unsigned_abs(), Ordering::Relaxed);
    }
}

/// Counts `bytes` allocated or freed.
#[cfg(loom)]
pub(crate) fn record(heap: &Heap, bytes: usize, allocated: bool) {
    flush(
        heap,
        if allocated {
            bytes as isize
        } else {
            -(bytes as isize)
        },
    );
}

/// The bytes of live objects.
#[cfg(loom)]
pub(crate) fn total(heap: &Heap) -> usize {
    heap.bytes.load(Ordering::Relaxed)
}

/// Counts `bytes` allocated or freed.
#[cfg(not(loom))]
#[inline]
pub(crate) fn record(heap: &Heap, bytes: usize, allocated: bool) {
    let change = if allocated {
        bytes as isize
    } else {
        -(bytes as isize)
    };
    let flushed = DELTA.try_with(|delta| {
        let total = delta.0.get() + change;
        if total.abs() >= FLUSH_AT {
            delta.0.set(0);
            flush(heap, total);
        } else {
            delta.0.set(total);
        }
    });
    if flushed.is_err() {
        flush(heap, change);
    }
}

/// The bytes of live objects, including this thread's unflushed delta.
#[cfg(not(loom))]
pub(crate) fn total(heap: &Heap) -> usize {
    let local = DELTA.try_with(|delta| delta.0.get()).unwrap_or(0);
    (heap.bytes.load(Ordering::Relaxed) as isize + local).max(0) as usize
}
