//! Retiring dead tracked objects: unlinking them in batches.
//!
//! Invariant owned here: a tracked object whose count reached zero and whose value has been
//! dropped stays linked in its generation list until its thread retires a batch; meanwhile the
//! collector skips it (a pin refuses a count of zero, so its value is never traced), and its
//! memory is freed only after it is unlinked. Each thread holds at most [`BATCH`] such objects, and
//! gives them back when it exits, so one heap lock is taken per [`BATCH`] tracked frees instead of
//! one per free.
//!
//! Under loom, objects are retired one at a time: loom tears its statics down before the
//! thread-locals that would retire into them.

use crate::gc::core::heap::Heap;
use crate::gc::core::object::Header;
use crate::gc::side::weak_cells;
use std::ptr::NonNull;

/// Dead objects a thread keeps before taking the heap lock to unlink them.
#[cfg(not(loom))]
const BATCH: usize = 64;

#[cfg(not(loom))]
struct Retired(std::cell::RefCell<Vec<NonNull<Header>>>);

#[cfg(not(loom))]
impl Drop for Retired {
    fn drop(&mut self) {
        let batch = std::mem::take(self.0.get_mut());
        // SAFETY: every object in the batch is dead, dropped and still linked.
        unsafe { unlink_and_free(&batch) };
    }
}

#[cfg(not(loom))]
std::thread_local! {
    static RETIRED: Retired = const { Retired(std::cell::RefCell::new(Vec::new())) };
}

/// Unlinks and frees this thread's retired objects now, instead of at its 64th or its exit: for a
/// thread that lives as long as the process and may go idle with a partial batch (the reclaimer),
/// so that their memory and weak cells do not wait for ever.
pub(crate) fn flush() {
    #[cfg(not(loom))]
    {
        let batch = RETIRED
            .try_with(|retired| std::mem::take(&mut *retired.0.borrow_mut()))
            .unwrap_or_default();
        // SAFETY: every object in the batch is dead, dropped and still linked.
        unsafe { unlink_and_free(&batch) };
    }
}

/// Retires a dead tracked object: it will be unlinked and its memory freed.
///
/// # Safety
/// The object is tracked and linked, its count is zero and its value has been dropped.
#[inline]
pub(crate) unsafe fn retire(header: NonNull<Header>) {
    #[cfg(not(loom))]
    {
        let full = RETIRED.try_with(|retired| {
            let mut retired = retired.0.borrow_mut();
            retired.push(header);
            (retired.len() >= BATCH)
                .then(|| std::mem::replace(&mut *retired, Vec::with_capacity(BATCH)))
        });
        match full {
            Ok(None) => {}
            // SAFETY: every object in the batch is dead, dropped and still linked.
            Ok(Some(batch)) => unsafe { unlink_and_free(&batch) },
            // SAFETY: as above, for this one object (the thread-local is gone: thread exit).
            Err(_) => unsafe { unlink_and_free(&[header]) },
        }
    }
    #[cfg(loom)]
    // SAFETY: as above.
    unsafe {
        unlink_and_free(&[header])
    };
}

/// # Safety
/// Every object is dead, dropped and linked.
unsafe fn unlink_and_free(batch: &[NonNull<Header>]) {
    if batch.is_empty() {
        return;
    }
    let heap = Heap::global();
    {
        let mut lists = heap.lock();
        for &header in batch {
            // SAFETY: linked tracked objects, and the lock is held.
            unsafe { lists.remove(header) };
        }
    }
    for &header in batch {
        // SAFETY: dropped, unlinked, and unreachable (count zero).
        unsafe { weak_cells::release_memory(header) };
    }
}

/// Loom model of a dead tracked object meeting a collection: its last `Gc` drops while the
/// collector pins, traces and unpins it. Whichever comes first, the value is dropped exactly once,
/// and never while the collector traces it.
#[cfg(all(test, loom))]
mod loom {
    use crate::gc::{Gc, GcCell, Trace, collect};
    use crate::sync::{AtomicUsize, Ordering};
    use loom::sync::Arc;

    #[derive(Trace)]
    struct Node {
        next: GcCell<Option<Gc<Node>>>,
        #[trace(skip)]
        drops: Arc<AtomicUsize>,
    }

    impl Drop for Node {
        fn drop(&mut self) {
            self.drops.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn loom_a_tracked_object_dropped_during_a_collection_is_dropped_once() {
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = Some(3);
        builder.check(|| {
            let drops = Arc::new(AtomicUsize::new(0));
            let node = |next| {
                Gc::new(Node {
                    next: GcCell::new(next),
                    drops: drops.clone(),
                })
            };
            // `head` points to `tail`; the mutator holds the only `Gc` to `head`.
            let head = node(Some(node(None)));
            let mutator = loom::thread::spawn(move || drop(head));
            collect();
            mutator.join().unwrap();
            assert_eq!(drops.load(Ordering::SeqCst), 2, "each object dropped once");
        });
    }
}
