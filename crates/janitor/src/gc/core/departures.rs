//! Departures: batches of dead tracked objects on their way out of the generation lists, handed
//! over without the heap lock.
//!
//! Invariant owned here: a batch pushed here is taken exactly once, whole, with the objects as
//! the pusher wrote them. So a thread that drops the last `Gc` of tracked objects never waits for
//! the heap lock, which a collection holds for its whole examination: when it cannot take the
//! lock to unlink its batch of dead objects (`engine/retire.rs`), it pushes the batch here with
//! one compare-and-swap, and whoever holds the lock next and drains the departures unlinks them
//! (`Heap::take_departures`).
//!
//! The stack is the arrivals' protocol (`arrivals.rs`, proof in
//! `docs/gc-soundness.md#arrivals`) with a boxed batch for a node: a push writes its batch's
//! `next` and publishes the batch by a `Release` compare-and-swap of the head; a take swaps the
//! head with null (`Acquire`) and owns the chain read from it. Nothing is popped from the
//! middle, so there is no ABA. Unlike arrivals, the chain is not threaded through the objects'
//! nodes: a dead object is still linked in its generation list, whose links its node holds.

use crate::gc::core::object::Header;
use crate::sync::{AtomicPtr, Ordering, UnsafeCell};
use std::ptr::NonNull;

/// One thread's batch of dead tracked objects, chained to the batch pushed before it. In a
/// cell loom watches, so that the model below fails if a push does not publish it.
struct Batch(UnsafeCell<Link>);

struct Link {
    objects: Vec<NonNull<Header>>,
    next: *mut Batch,
}

/// The departures of a heap: a lock-free stack of batches.
pub(crate) struct Departures {
    head: AtomicPtr<Batch>,
}

impl Departures {
    pub(crate) fn new() -> Self {
        Self {
            head: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// Pushes a batch of dead tracked objects for the heap lock's next drainer.
    pub(crate) fn push(&self, objects: Vec<NonNull<Header>>) {
        let batch = Box::into_raw(Box::new(Batch(UnsafeCell::new(Link {
            objects,
            next: std::ptr::null_mut(),
        }))));
        let mut current = self.head.load(Ordering::Relaxed);
        loop {
            // SAFETY: the batch is this thread's alone until the compare-and-swap publishes it.
            unsafe { &*batch }
                .0
                // SAFETY: as above: no other thread reads the link yet.
                .with_mut(|link| unsafe { (*link).next = current });
            // `Release` on success: the batch and its vector are published to the taker's
            // `Acquire` swap. `Relaxed` on failure: nothing is read through the head found.
            match self.head.compare_exchange_weak(
                current,
                batch,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(found) => current = found,
            }
        }
    }

    /// Takes every batch pushed so far and appends its objects to `into`.
    pub(crate) fn take_all(&self, into: &mut Vec<NonNull<Header>>) {
        if self.head.load(Ordering::Relaxed).is_null() {
            return;
        }
        // `Acquire`: pairs with the pushes' `Release`, so every batch of the chain is read as
        // its pusher wrote it.
        let mut cursor = self.head.swap(std::ptr::null_mut(), Ordering::Acquire);
        while !cursor.is_null() {
            // SAFETY: a taken batch was made by `Box::into_raw` in `push` and is this thread's
            // alone: the swap removed its chain from the head, and no other take can read it.
            let batch = unsafe { Box::from_raw(cursor) };
            // SAFETY: as above, the batch is this thread's alone, published by its push.
            cursor = batch.0.with(|link| unsafe {
                into.extend_from_slice(&(*link).objects);
                (*link).next
            });
        }
    }
}

impl Drop for Departures {
    /// Frees the batches left (only a loom model's departures are ever dropped; the global
    /// heap's live as long as the process). The objects in them are not touched.
    fn drop(&mut self) {
        self.take_all(&mut Vec::new());
    }
}

/// Loom model of the departures: two threads each push a batch while a third takes, then this
/// thread takes what is left. Every batch is taken exactly once and read as its pusher wrote
/// it; a push that published with `Relaxed`, or a take that loaded the head instead of swapping
/// it, fails it.
#[cfg(all(test, loom))]
mod loom {
    use super::*;
    use ::loom::sync::Arc;

    /// A distinct, never dereferenced object address per pusher.
    fn fake(address: usize) -> NonNull<Header> {
        NonNull::new(address as *mut Header).unwrap()
    }

    #[test]
    fn every_departed_batch_is_taken_once_and_whole() {
        ::loom::model(|| {
            let departures = Arc::new(Departures::new());
            let pushers: Vec<_> = (1..=2)
                .map(|pusher| {
                    let departures = departures.clone();
                    ::loom::thread::spawn(move || {
                        departures.push(vec![fake(pusher * 64), fake(pusher * 64 + 8)]);
                    })
                })
                .collect();
            let taker = {
                let departures = departures.clone();
                ::loom::thread::spawn(move || {
                    let mut taken = Vec::new();
                    departures.take_all(&mut taken);
                    taken
                })
            };
            let mut taken: Vec<usize> = taker
                .join()
                .unwrap()
                .into_iter()
                .map(|object| object.as_ptr() as usize)
                .collect();
            for pusher in pushers {
                pusher.join().unwrap();
            }
            let mut rest = Vec::new();
            departures.take_all(&mut rest);
            taken.extend(rest.into_iter().map(|object| object.as_ptr() as usize));
            taken.sort_unstable();
            assert_eq!(taken, [64, 72, 128, 136], "every batch taken once, whole");
        });
    }
}
