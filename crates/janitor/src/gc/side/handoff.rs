//! Per-thread buffers of dead registered objects, handed to the finalizer queue in batches.
//!
//! Invariant owned here: **every object pushed into a buffer is delivered exactly once, and a
//! taker that starts after a push has happened (in the happens-before sense) returns only when
//! that object has been delivered**, by itself or by an earlier taker. This is what lets
//! `wait_for_pending_finalizers` and `collect`, called on any thread, see every object that died
//! before the call, while the thread that drops an object pays no read-modify-write for it.
//!
//! A buffer is a ring of slots and two counters that only grow: `bottom` (pushed, written only by
//! the owning thread) and `top` (taken, written only while the `takers` lock is held). The owner
//! pushes without any lock or read-modify-write; anyone takes with `takers` held and delivers
//! before releasing it. The orderings, why a later taker sees an earlier push, and the handshake
//! with an idle finalizer thread ([`IdleFlag`]): `docs/gc-soundness.md#the-hand-off-buffers` and
//! `#the-idle-handshake`.

use crate::gc::core::object::Header;
use crate::sync::{AtomicBool, AtomicPtr, AtomicUsize, Mutex, Ordering, heavy_fence, light_fence};
use std::ptr::NonNull;

/// Whether the taker that empties buffers on its own (the finalizer thread) sleeps: the owner,
/// after a push, checks it ([`IdleFlag::taker_sleeps`]) and hands its buffer over if it is up;
/// the taker raises it ([`IdleFlag::announce`]) and then takes every buffer once more before
/// sleeping, so that no push goes unnoticed. The handshake and its asymmetric fence:
/// `docs/gc-soundness.md#the-idle-handshake`.
pub(crate) struct IdleFlag(AtomicBool);

impl IdleFlag {
    /// A lowered flag.
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Self {
        Self(AtomicBool::new(false))
    }

    /// A lowered flag (loom's atomics have no `const` constructor).
    #[cfg(loom)]
    pub(crate) fn new() -> Self {
        Self(AtomicBool::new(false))
    }

    /// The owner's half, after a push: whether the taker sleeps (or is about to), so that the
    /// owner must hand its buffer over now.
    #[inline]
    pub(crate) fn taker_sleeps(&self) -> bool {
        light_fence();
        self.0.load(Ordering::Relaxed)
    }

    /// The taker's half, before its last look: from here on a push either is seen by that look
    /// or sees the flag.
    pub(crate) fn announce(&self) {
        self.0.store(true, Ordering::Relaxed);
        heavy_fence();
    }

    /// The taker is awake again.
    pub(crate) fn lower(&self) {
        self.0.store(false, Ordering::Relaxed);
    }
}

/// One thread's buffer of dead registered objects.
pub(crate) struct Handoff {
    /// Objects taken so far; written only with `takers` held.
    top: AtomicUsize,
    /// Objects pushed so far; written only by the owning thread.
    bottom: AtomicUsize,
    slots: Box<[AtomicPtr<Header>]>,
    /// Held from reading the slots until they are delivered.
    takers: Mutex<()>,
}

impl Handoff {
    /// An empty buffer of `capacity` slots (rounded up to a power of two, so that a counter
    /// becomes a slot index with a mask rather than a division).
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            top: AtomicUsize::new(0),
            bottom: AtomicUsize::new(0),
            slots: (0..capacity.next_power_of_two())
                .map(|_| AtomicPtr::new(std::ptr::null_mut()))
                .collect(),
            takers: Mutex::new(()),
        }
    }

    /// Adds an object; returns `false`, changing nothing, when the ring is full (the caller
    /// then takes first). Only the owning thread pushes.
    #[inline]
    pub(crate) fn push(&self, header: NonNull<Header>) -> bool {
        let bottom = self.bottom.load(Ordering::Relaxed);
        let top = self.top.load(Ordering::Acquire);
        if bottom - top == self.slots.len() {
            return false;
        }
        self.slot(bottom).store(header.as_ptr(), Ordering::Relaxed);
        self.bottom.store(bottom + 1, Ordering::Release);
        true
    }

    /// Takes every object pushed so far and hands them to `deliver` before any later taker can
    /// start (the lock is held across `deliver`, which therefore must not take this buffer).
    /// Returns how many were taken.
    pub(crate) fn take(&self, deliver: impl FnOnce(Vec<NonNull<Header>>)) -> usize {
        // Nothing runs user code under this lock, so it is never poisoned by a panic.
        let _takers = self
            .takers
            .lock()
            .unwrap_or_else(|error| error.into_inner());
        let top = self.top.load(Ordering::Relaxed);
        let bottom = self.bottom.load(Ordering::Acquire);
        if top == bottom {
            return 0;
        }
        let taken: Vec<NonNull<Header>> = (top..bottom)
            .map(|index| {
                let slot = self.slot(index).load(Ordering::Relaxed);
                // A published slot holds the pointer pushed into it, never null.
                NonNull::new(slot).expect("a published slot is never empty")
            })
            .collect();
        self.top.store(bottom, Ordering::Release);
        deliver(taken);
        bottom - top
    }

    #[inline]
    fn slot(&self, counter: usize) -> &AtomicPtr<Header> {
        &self.slots[counter & (self.slots.len() - 1)]
    }

    /// Objects pushed and not yet taken (a moment's view).
    pub(crate) fn len(&self) -> usize {
        let top = self.top.load(Ordering::Acquire);
        self.bottom.load(Ordering::Acquire).saturating_sub(top)
    }
}

/// Loom models of the handoff: the owner pushes without a read-modify-write while others take.
#[cfg(all(test, loom))]
mod loom {
    use super::Handoff;
    use crate::sync::{AtomicBool, Mutex, Ordering};
    use ::loom::sync::Arc;
    use std::ptr::NonNull;

    /// A stand-in object address, never dereferenced.
    fn object(id: usize) -> NonNull<super::Header> {
        NonNull::new(std::ptr::without_provenance_mut(id * 16)).unwrap()
    }

    fn deliver_into(queue: &Mutex<Vec<usize>>) -> impl FnOnce(Vec<NonNull<super::Header>>) + '_ {
        move |taken| {
            let mut queue = queue.lock().unwrap();
            queue.extend(taken.iter().map(|header| header.as_ptr() as usize / 16));
        }
    }

    /// The owner pushes three objects into a two-slot ring (taking when it is full) while another
    /// thread takes: each object is delivered exactly once.
    #[test]
    fn loom_every_pushed_object_is_delivered_exactly_once() {
        ::loom::model(|| {
            let buffer = Arc::new(Handoff::with_capacity(2));
            let queue = Arc::new(Mutex::new(Vec::new()));
            let taker = {
                let (buffer, queue) = (buffer.clone(), queue.clone());
                ::loom::thread::spawn(move || {
                    buffer.take(deliver_into(&queue));
                })
            };
            for id in 1..=3 {
                while !buffer.push(object(id)) {
                    buffer.take(deliver_into(&queue));
                }
            }
            taker.join().unwrap();
            buffer.take(deliver_into(&queue));
            let mut delivered = queue.lock().unwrap().clone();
            delivered.sort_unstable();
            assert_eq!(delivered, [1, 2, 3]);
        });
    }

    /// The idle handshake: the owner pushes and checks the flag (handing its buffer over if it
    /// is up); the taker raises the flag and takes. The object is always delivered by one of
    /// them: a push is never left behind a sleeping taker.
    #[test]
    fn loom_a_push_is_seen_by_the_takers_last_look_or_sees_it_idle() {
        ::loom::model(|| {
            let buffer = Arc::new(Handoff::with_capacity(2));
            let idle = Arc::new(super::IdleFlag::new());
            let queue = Arc::new(Mutex::new(Vec::new()));
            let taker = {
                let (buffer, idle, queue) = (buffer.clone(), idle.clone(), queue.clone());
                ::loom::thread::spawn(move || {
                    idle.announce();
                    buffer.take(deliver_into(&queue));
                })
            };
            assert!(buffer.push(object(5)));
            if idle.taker_sleeps() {
                buffer.take(deliver_into(&queue));
            }
            taker.join().unwrap();
            assert_eq!(
                *queue.lock().unwrap(),
                [5],
                "delivered before the taker sleeps"
            );
        });
    }

    /// The owner pushes an object and then signals; a thread that sees the signal and takes
    /// finds the object delivered, even when a third thread took it first and is still
    /// delivering (the taker's lock covers the delivery).
    #[test]
    fn loom_a_take_after_a_push_finds_the_object_delivered() {
        ::loom::model(|| {
            let buffer = Arc::new(Handoff::with_capacity(2));
            let queue = Arc::new(Mutex::new(Vec::new()));
            let signal = Arc::new(AtomicBool::new(false));
            let early = {
                let (buffer, queue) = (buffer.clone(), queue.clone());
                ::loom::thread::spawn(move || {
                    buffer.take(deliver_into(&queue));
                })
            };
            let waiter = {
                let (buffer, queue, signal) = (buffer.clone(), queue.clone(), signal.clone());
                ::loom::thread::spawn(move || {
                    if signal.load(Ordering::Acquire) {
                        buffer.take(deliver_into(&queue));
                        assert_eq!(*queue.lock().unwrap(), [7], "died before the signal");
                    }
                })
            };
            assert!(buffer.push(object(7)));
            signal.store(true, Ordering::Release);
            early.join().unwrap();
            waiter.join().unwrap();
        });
    }
}
