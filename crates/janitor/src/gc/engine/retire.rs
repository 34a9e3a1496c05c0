//! Retiring dead tracked objects: unlinking them in batches, without ever waiting for the lock.
//!
//! Invariant owned here: a tracked object whose count reached zero and whose value has been
//! dropped stays linked in its generation list until a holder of the heap lock unlinks it (or in
//! the arrivals, if it died before any holder linked it, until one takes it without linking it:
//! `Heap::take_departures`);
//! meanwhile the collector skips it (a pin refuses a count of zero, so its value is never traced),
//! and its memory is freed only after it is unlinked. Each thread keeps such objects until its
//! [`BATCH`]th; then it tries the heap lock, and unlinks its batch, with every batch other threads
//! departed, if it gets it; if a collection holds the lock, it departs its batch
//! (`core/departures.rs`) for the collection to unlink as it goes ([`DepartedMeanwhile`]). So one
//! lock is taken per [`BATCH`] tracked frees, and a drop never waits for the lock.
//!
//! Under loom, objects are retired one at a time: loom tears its statics down before the
//! thread-locals that would retire into them.

use crate::gc::core::heap::{Heap, Lists};
use crate::gc::core::object::{self, Header};
use crate::gc::side::weak_cells;
use crate::sync::FairMutexGuard;
use std::ptr::NonNull;
use std::time::{Duration, Instant};

/// Dead objects a thread keeps before it tries the heap lock to unlink them.
#[cfg(not(loom))]
const BATCH: usize = 64;

#[cfg(not(loom))]
struct Retired(std::cell::RefCell<Vec<NonNull<Header>>>);

#[cfg(not(loom))]
impl Drop for Retired {
    fn drop(&mut self) {
        let batch = std::mem::take(self.0.get_mut());
        if !batch.is_empty() {
            // SAFETY: every object in the batch is dead, dropped and still linked.
            unsafe { hand_over(batch) };
        }
    }
}

#[cfg(not(loom))]
std::thread_local! {
    static RETIRED: Retired = const { Retired(std::cell::RefCell::new(Vec::new())) };
}

/// Unlinks and frees this thread's retired objects and every departed batch now, waiting for the
/// heap lock: for a thread that lives as long as the process and may go idle (the reclaimer), so
/// that the memory and weak cells of dead objects do not wait for ever.
pub(crate) fn flush() {
    #[cfg(not(loom))]
    let mut batch = RETIRED
        .try_with(|retired| std::mem::take(&mut *retired.0.borrow_mut()))
        .unwrap_or_default();
    #[cfg(loom)]
    let mut batch = Vec::new();
    // SAFETY: every object in the batch is dead, dropped and still linked (or arrived).
    let lists = unsafe { Heap::global().lock_to_retire(&mut batch) };
    // SAFETY: taken through `take_departures` in this hold of the lock.
    unsafe { unlink_and_free(lists, batch) };
}

/// Retires a dead tracked object: it will be unlinked and its memory freed.
///
/// Every [`BATCH`]th object retired, the thread hands its batch over ([`hand_over`]). It never
/// waits for the heap lock, which a collection may hold for its whole examination.
///
/// # Safety
/// The object is tracked and linked (or arrived), its count is zero and its value has been
/// dropped.
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
            Ok(Some(batch)) => unsafe { hand_over(batch) },
            // SAFETY: as above, for this one object (the thread-local is gone: thread exit).
            Err(_) => unsafe { hand_over(vec![header]) },
        }
    }
    #[cfg(loom)]
    // SAFETY: as above.
    unsafe {
        hand_over(vec![header])
    };
}

/// Unlinks and frees a batch of dead objects, with the departed ones, if the heap lock is free;
/// departs the batch for the lock's holder otherwise.
///
/// # Safety
/// Every object is dead, dropped and linked (or arrived).
unsafe fn hand_over(mut batch: Vec<NonNull<Header>>) {
    let heap = Heap::global();
    // SAFETY: the caller's contract.
    match unsafe { heap.try_lock_to_retire(&mut batch) } {
        // SAFETY: taken through `take_departures` in this hold of the lock.
        Some(lists) => unsafe { unlink_and_free(lists, batch) },
        None => heap.depart(batch),
    }
}

/// Counts a batch's objects and bytes as freed by their counts, against the heap's growth
/// ([`Heap::count_frees`]).
fn count_frees(batch: &[NonNull<Header>]) {
    if batch.is_empty() {
        return;
    }
    let bytes = batch
        .iter()
        // SAFETY: a dead tracked object is allocated until it is unlinked and freed.
        .map(|&header| unsafe { object::size(header) })
        .sum();
    Heap::global().count_frees(batch.len(), bytes);
}

/// Unlinks the dead objects under the lock given, lets the lock go, then frees them.
///
/// # Safety
/// Every object is dead and dropped, and went through `Heap::take_departures` in this hold of
/// the lock.
unsafe fn unlink_and_free(mut lists: FairMutexGuard<'_, Lists>, dead: Vec<NonNull<Header>>) {
    // SAFETY: the caller's contract.
    let unlinked = unsafe { unlink(&mut lists, dead) };
    drop(lists);
    unlinked.free();
}

/// Dead objects unlinked under the heap lock, to free once the lock is let go (freeing takes the
/// side map of weak cells, which must not wait under the heap lock).
#[must_use = "the objects' memory is freed only by `Unlinked::free`"]
pub(crate) struct Unlinked(Vec<NonNull<Header>>);

impl Unlinked {
    /// Frees every object's memory (or leaves it to its last weak reference).
    pub(crate) fn free(self) {
        for header in self.0 {
            // SAFETY: dropped, unlinked, and unreachable (count zero).
            unsafe { weak_cells::release_memory(header) };
        }
    }
}

/// What threads depart while an examination holds the heap lock, freed as the examination goes:
/// it calls [`free_departed`](Self::free_departed) between its steps, and
/// [`finish`](Self::finish) before it lets the lock go. So an examination of a large heap does
/// not hold back the memory of what dies meanwhile, and the heap's growth, which paces the
/// allocating threads, counts it freed at once. Why this is sound (no departed object is examined,
/// and none is reachable from an examined one): `docs/gc-soundness.md#retirement`.
pub(crate) struct DepartedMeanwhile {
    /// Unlinked objects with weak references: freeing them may take the side map of weak cells,
    /// which must not be waited for under the heap lock, so they are freed after it.
    weakened: Vec<NonNull<Header>>,
    /// When the examination began, and the time spent freeing since.
    began: Instant,
    spent: Duration,
}

impl DepartedMeanwhile {
    /// Nothing departed yet, for an examination beginning now.
    pub(crate) fn new() -> Self {
        Self {
            weakened: Vec::new(),
            began: Instant::now(),
            spent: Duration::ZERO,
        }
    }

    /// Unlinks every object departed so far, under the lock whose guard's lists these are, and
    /// frees the memory of those without weak references now; unless freeing has taken half of
    /// the examination's time so far, so that it lasts at most twice as long as without it. The
    /// work is the dying threads' (linking what they allocated, unlinking what they dropped): a
    /// thread that drops as fast as it allocates can hand over more than the examination can do
    /// beside its own work, which it then leaves to the end, as the threads' work was before.
    pub(crate) fn free_departed(&mut self, heap: &Heap, lists: &mut Lists) {
        if self.spent * 2 > self.began.elapsed() {
            return;
        }
        let started = Instant::now();
        let Unlinked(dead) = unlink_departed(heap, lists);
        for header in dead {
            // SAFETY: a dead object is allocated until it is freed, here or later.
            if unsafe { header.as_ref() }.count().is_weakened() {
                self.weakened.push(header);
            } else {
                // SAFETY: dropped, unlinked and unreachable (count zero); without weak
                // references, freeing it takes no lock but the allocator's depot, a leaf.
                unsafe { weak_cells::release_memory(header) };
            }
        }
        self.spent += started.elapsed();
    }

    /// Unlinks what departed since the last call; returns, to free once the lock is let go, those
    /// objects and the weakened ones kept so far.
    pub(crate) fn finish(self, heap: &Heap, lists: &mut Lists) -> Unlinked {
        let Unlinked(mut dead) = unlink_departed(heap, lists);
        dead.extend(self.weakened);
        Unlinked(dead)
    }
}

/// Unlinks every departed object, under the lock whose guard's lists these are.
fn unlink_departed(heap: &Heap, lists: &mut Lists) -> Unlinked {
    let mut departed = Vec::new();
    // SAFETY: `departed` is empty; the departures come with `Heap::depart`'s contract.
    unsafe { heap.take_departures(lists, &mut departed) };
    // SAFETY: taken through `take_departures` in this hold of the lock.
    unsafe { unlink(lists, departed) }
}

/// Unlinks dead objects, and counts them as freed: only now, not when they died, so that the
/// memory of objects departed during an examination counts as growth until it ends, and a thread
/// that drops and allocates faster than one examination lasts is paced (`pacer.rs`) instead of
/// piling up dead objects (GCBench beside the background collector peaked at 196 MiB once, 20 MiB
/// otherwise).
///
/// # Safety
/// Every object is dead and dropped, and went through `Heap::take_departures` in this hold of
/// the lock of `lists` (so it is linked, or died arriving and is in no list).
unsafe fn unlink(lists: &mut Lists, dead: Vec<NonNull<Header>>) -> Unlinked {
    count_frees(&dead);
    for &header in &dead {
        // SAFETY: the caller's contract.
        unsafe { lists.remove_dead(header) };
    }
    Unlinked(dead)
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

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::gc::{Gc, GcCell};
    use std::sync::mpsc;
    use std::time::Duration;

    /// A thread that drops tracked objects while another holds the heap lock (as a collection
    /// does for its whole examination) goes on: its full batches and, as it exits, the rest are
    /// departed, and the lock's holder unlinks every one of them. Before departures, a thread
    /// that kept 4,096 dead objects waited for the lock.
    #[test]
    fn drops_depart_their_batches_instead_of_waiting_while_the_heap_lock_is_held() {
        const OBJECTS: usize = 100 * BATCH + 7;
        let objects: Vec<Gc<GcCell<Option<Gc<u64>>>>> =
            (0..OBJECTS).map(|_| Gc::new(GcCell::new(None))).collect();
        let mut dropped: Vec<usize> = objects
            .iter()
            .map(|object| object.header().as_ptr() as usize)
            .collect();
        let heap = Heap::global();
        // Another test's collection may still hold pins on them (its survivors are unpinned
        // after it lets the lock go): the last drop would then be its unpin, on its thread. With
        // the lock held, no collection pins anything.
        let mut lists = loop {
            let lists = heap.lock();
            if objects.iter().all(|object| Gc::strong_count(object) == 1) {
                break lists;
            }
            drop(lists);
            std::thread::yield_now();
        };
        let (done, finished) = mpsc::channel();
        let dropper = std::thread::spawn(move || {
            drop(objects);
            done.send(()).unwrap();
        });
        // A bound only to turn a wait for the lock (which this thread holds) into a failure
        // instead of a hang.
        finished
            .recv_timeout(Duration::from_secs(120))
            .expect("a thread dropping tracked objects waited for the heap lock");
        dropper.join().unwrap();
        let departed = unlink_departed(heap, &mut lists);
        drop(lists);
        let mut unlinked: Vec<usize> = departed
            .0
            .iter()
            .map(|header| header.as_ptr() as usize)
            .collect();
        departed.free();
        dropped.sort_unstable();
        unlinked.sort_unstable();
        // Other tests' threads may have departed objects too.
        unlinked.retain(|address| dropped.binary_search(address).is_ok());
        assert_eq!(
            unlinked, dropped,
            "every dropped object is departed and unlinked once"
        );
    }
}
