//! Arrivals: new tracked objects on their way into generation 0, linked without the heap lock.
//!
//! Invariant owned here: a tracked object whose memory is allocated and that is in no generation
//! list is in exactly one arrival shard, from its allocation until the next holder of the heap
//! lock takes the shard; nothing but the shard's chain reads or writes its node meanwhile, except
//! a holder of the lock that retires it dead, which marks its `generation` so that its own take of
//! the shards skips it (`Heap::take_departures`). So an
//! allocation never waits for the heap lock, which a collection holds for its whole examination:
//! it pushes its object onto its thread's shard with one compare-and-swap.
//!
//! The protocol and its proof: `docs/gc-soundness.md#arrivals`.
//!
//! The heap lock's holder takes every shard as it takes the lock (`Heap::lock`), so the lists it
//! works on hold every object allocated before it took the lock. An object allocated during a
//! collection waits in its shard: the collection does not examine it (allocated black: its
//! references count as held from outside, which keeps what it points to), and the next holder
//! of the lock links it.
//!
//! Shards spread contention: each thread pushes to the shard it was given at its first
//! allocation, round-robin, so up to [`SHARDS`] allocating threads never share a head.

use crate::gc::core::object::{Header, Node, header_of_node, node_of};
use crate::sync::{AtomicPtr, AtomicUsize, Ordering};
use std::ptr::NonNull;

/// Arrival shards; more threads than this share them.
const SHARDS: usize = 16;

/// One shard's head, alone on its cache line so that threads pushing to neighbours do not
/// invalidate each other's line.
#[repr(align(128))]
struct Shard {
    head: AtomicPtr<Node>,
}

/// The arrival shards of a heap.
pub(crate) struct Arrivals {
    shards: [Shard; SHARDS],
    next_shard: AtomicUsize,
}

crate::sync::thread_local! {
    // Not `const`: loom's `thread_local!` has no const form.
    #[allow(clippy::missing_const_for_thread_local)]
    static SHARD: std::cell::Cell<Option<usize>> = std::cell::Cell::new(None);
}

impl Arrivals {
    pub(crate) fn new() -> Self {
        Self {
            shards: std::array::from_fn(|_| Shard {
                head: AtomicPtr::new(std::ptr::null_mut()),
            }),
            next_shard: AtomicUsize::new(0),
        }
    }

    /// The shard of the calling thread, given at its first allocation; during thread exit (its
    /// thread-local gone) the first shard.
    fn shard(&self) -> &Shard {
        let index = SHARD
            .try_with(|shard| match shard.get() {
                Some(index) => index,
                None => {
                    let index = self.next_shard.fetch_add(1, Ordering::Relaxed) % SHARDS;
                    shard.set(Some(index));
                    index
                }
            })
            .unwrap_or(0);
        &self.shards[index]
    }

    /// Pushes a new tracked object onto the calling thread's shard.
    ///
    /// # Safety
    /// `header` is a new tracked object, in no list and no shard, not shared with another thread.
    pub(crate) unsafe fn push(&self, header: NonNull<Header>) {
        // SAFETY: the object is tracked, so it has a node.
        let node = unsafe { node_of(header) };
        let head = &self.shard().head;
        let mut current = head.load(Ordering::Relaxed);
        loop {
            // SAFETY: the node is the caller's alone until the compare-and-swap publishes it.
            unsafe { node.as_ref() }.next.set(current);
            // `Release` on success: the node, and the object it heads, are published to the
            // taker's `Acquire` swap (see the module comment). `Relaxed` on failure: nothing is
            // read through the head found.
            match head.compare_exchange_weak(
                current,
                node.as_ptr(),
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(found) => current = found,
            }
        }
    }

    /// Takes every shard's chain and hands each object to `link`, in no particular order.
    ///
    /// # Safety
    /// Only the heap lock's holder calls this (the taken objects become the lists' to link).
    pub(crate) unsafe fn take_all(&self, mut link: impl FnMut(NonNull<Header>)) {
        for shard in &self.shards {
            if shard.head.load(Ordering::Relaxed).is_null() {
                continue;
            }
            // `Acquire`: pairs with the pushes' `Release` (module comment).
            let mut cursor = shard.head.swap(std::ptr::null_mut(), Ordering::Acquire);
            while let Some(node) = NonNull::new(cursor) {
                // SAFETY: a taken node is live (an arrival is freed only once it is linked and
                // then unlinked, which needs the heap lock, held by the caller) and ours.
                cursor = unsafe { node.as_ref() }.next.get().cast_mut();
                // SAFETY: the node is a tracked object's.
                link(unsafe { header_of_node(node) });
            }
        }
    }
}

/// Loom model of the arrival protocol: two threads each allocate and push an object while this
/// thread, as the heap lock's holder, takes the shards, then takes them again once both pushed.
/// Every object is taken exactly once, and its value, written before the push, is read by the
/// taker without a data race (loom's `UnsafeCell` reports one). A push that published with
/// `Relaxed`, or a take that read the head without swapping it, fails it.
#[cfg(all(test, loom))]
mod loom {
    use super::*;
    use crate::gc::core::object::{self, VTables};
    use crate::gc::core::trace::{Trace, TraceMeta, Tracer};
    use ::loom::cell::UnsafeCell;
    use ::loom::sync::Arc;

    struct Payload(UnsafeCell<u64>);

    // SAFETY: the model reads the cell only after the push that publishes it (what it checks).
    unsafe impl Sync for Payload {}
    // SAFETY: a payload holds no `Gc`.
    unsafe impl Trace for Payload {
        fn trace(&self, _: &mut Tracer<'_>) {}
    }

    // SAFETY: as above: no `Gc`, no cell, no finalizer.
    unsafe impl TraceMeta for Payload {
        const HOLDS_GC: bool = false;
        const MUTABLE_EDGES: bool = false;
    }

    /// Takes every shard as the heap lock's holder, reading each value as it is taken; returns
    /// the objects taken (as addresses, to cross threads).
    fn take_and_read(arrivals: &Arrivals) -> Vec<usize> {
        let mut taken = Vec::new();
        // SAFETY: the model's takes never overlap: one taker thread, then the main thread after
        // joining it.
        unsafe {
            arrivals.take_all(|header| {
                // SAFETY: taken, so published to this thread; freed only at the end.
                let payload = object::value_of::<Payload>(header).as_ref();
                // SAFETY: the push published the write (what the model checks).
                assert_eq!(payload.0.with(|value| *value), 7);
                taken.push(header.as_ptr() as usize);
            })
        };
        taken
    }

    #[test]
    fn every_arrival_is_taken_once_and_seen_as_written() {
        ::loom::model(|| {
            let arrivals = Arc::new(Arrivals::new());
            let pushers: Vec<_> = (0..2)
                .map(|_| {
                    let arrivals = arrivals.clone();
                    ::loom::thread::spawn(move || {
                        let header = object::allocate(
                            Payload(UnsafeCell::new(0)),
                            &VTables::<Payload>::TRACKED,
                        );
                        // SAFETY: the object is this thread's until the push publishes it.
                        let payload = unsafe { object::value_of::<Payload>(header).as_ref() };
                        // SAFETY: as above, the value is this thread's alone.
                        payload.0.with_mut(|value| unsafe { *value = 7 });
                        // SAFETY: new and tracked, in no list and no shard.
                        unsafe { arrivals.push(header) };
                    })
                })
                .collect();
            // The taker runs beside the pushers: only the pushes can order the pushers' writes
            // before its reads.
            let taker = {
                let arrivals = arrivals.clone();
                ::loom::thread::spawn(move || take_and_read(&arrivals))
            };
            let mut taken = taker.join().unwrap();
            for pusher in pushers {
                pusher.join().unwrap();
            }
            taken.extend(take_and_read(&arrivals));
            assert_eq!(taken.len(), 2, "every arrival is taken exactly once");
            for header in taken {
                let header = NonNull::new(header as *mut Header).unwrap();
                // SAFETY: the model's own objects, used by no one else any more.
                unsafe {
                    object::drop_value(header);
                    object::deallocate(header);
                }
            }
        });
    }
}
