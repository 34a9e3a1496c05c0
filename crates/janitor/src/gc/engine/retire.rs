//! Retiring dead tracked objects: unlinking them in batches.
//!
//! Invariant owned here: a tracked object whose count reached zero and whose value has been
//! dropped stays linked in its generation list until its thread retires a batch; meanwhile the
//! collector skips it (a pin refuses a count of zero, so its value is never traced), and its
//! memory is freed only after it is unlinked. Each thread keeps such objects until its next
//! [`BATCH`]th finds the heap lock free (or it keeps [`MAX_KEPT`]), and gives them back when it
//! exits, so one heap lock is taken per [`BATCH`] tracked frees instead of one per free, and a
//! drop waits for a collection's examination only when its thread keeps [`MAX_KEPT`].
//!
//! Under loom, objects are retired one at a time: loom tears its statics down before the
//! thread-locals that would retire into them.

use crate::gc::core::heap::{Heap, Lists};
use crate::gc::core::object::{self, Header};
use crate::gc::side::weak_cells;
use crate::sync::FairMutexGuard;
use std::ptr::NonNull;

/// Dead objects a thread keeps before taking the heap lock to unlink them.
#[cfg(not(loom))]
const BATCH: usize = 64;
/// Dead objects a thread keeps at most: past this, it waits for the heap lock to unlink them.
#[cfg(not(loom))]
const MAX_KEPT: usize = 64 * BATCH;

#[cfg(not(loom))]
struct Retired(std::cell::RefCell<Vec<NonNull<Header>>>);

#[cfg(not(loom))]
impl Drop for Retired {
    fn drop(&mut self) {
        let batch = std::mem::take(self.0.get_mut());
        if !batch.is_empty() {
            // SAFETY: every object in the batch is dead, dropped and still linked.
            unsafe { unlink_and_free(Heap::global().lock(), &batch) };
        }
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
        if !batch.is_empty() {
            // SAFETY: every object in the batch is dead, dropped and still linked.
            unsafe { unlink_and_free(Heap::global().lock(), &batch) };
        }
    }
}

/// Retires a dead tracked object: it will be unlinked and its memory freed.
///
/// Every [`BATCH`]th object retired, the thread tries the heap lock and unlinks its whole batch.
/// It does not wait for the lock (a collection may hold it for its whole examination): if another
/// thread holds it, the batch grows, and the next [`BATCH`] retirements try again; only a batch of
/// [`MAX_KEPT`] waits, so that dead objects' memory stays bounded while collections run back to
/// back. Waiting for the heap lock cannot deadlock: its holders run no user code that could wait
/// for this thread.
///
/// # Safety
/// The object is tracked and linked (or arrived), its count is zero and its value has been
/// dropped.
#[inline]
pub(crate) unsafe fn retire(header: NonNull<Header>) {
    #[cfg(not(loom))]
    {
        let mut full = false;
        let ready = RETIRED.try_with(|retired| {
            let mut retired = retired.0.borrow_mut();
            retired.push(header);
            full = retired.len() >= MAX_KEPT;
            retired.len() % BATCH == 0
        });
        match ready {
            Ok(false) => {}
            Ok(true) => {
                let heap = Heap::global();
                let lists = if full {
                    Some(heap.lock())
                } else {
                    heap.try_lock()
                };
                let Some(lists) = lists else {
                    return;
                };
                let batch = RETIRED.with(|retired| {
                    std::mem::replace(&mut *retired.0.borrow_mut(), Vec::with_capacity(BATCH))
                });
                // SAFETY: every object in the batch is dead, dropped and still linked.
                unsafe { unlink_and_free(lists, &batch) };
            }
            // SAFETY: as above, for this one object (the thread-local is gone: thread exit).
            Err(_) => unsafe { unlink_and_free(Heap::global().lock(), &[header]) },
        }
    }
    #[cfg(loom)]
    // SAFETY: as above.
    unsafe {
        unlink_and_free(Heap::global().lock(), &[header])
    };
}

/// Unlinks the batch under the lock given, lets the lock go, then frees the batch's memory.
///
/// # Safety
/// Every object is dead, dropped and linked (or arrived: the lock's taker linked it).
unsafe fn unlink_and_free(mut lists: FairMutexGuard<'_, Lists>, batch: &[NonNull<Header>]) {
    let mut bytes = 0;
    for &header in batch {
        // SAFETY: a dead tracked object is allocated until freed below.
        bytes += unsafe { object::size(header) };
        // SAFETY: linked tracked objects, and the lock is held.
        unsafe { lists.remove(header) };
    }
    drop(lists);
    Heap::global().count_frees(batch.len(), bytes);
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
