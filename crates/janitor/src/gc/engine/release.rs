//! Freeing objects without recursion.
//!
//! Invariant owned here: on each thread, at most one object is being destroyed by a frame of
//! [`free`] at any time. When a count reaches zero while the thread is already destroying an
//! object (the destroyed value dropped a `Gc`), the object goes onto the thread's pending list,
//! which the outermost call drains. So dropping a ten-million-node list or a chain a million deep
//! uses constant stack: each value's drop glue runs one level deep.

use crate::gc::core::count::Dropped;
use crate::gc::core::object::{self, Header};
use crate::gc::engine::retire;
use crate::gc::side::attachments;
use crate::gc::side::queue;
use crate::gc::side::weak_cells;
use crate::sync::thread_local;
use std::cell::{Cell, RefCell};
use std::ptr::NonNull;

struct DropQueue {
    active: Cell<bool>,
    pending: RefCell<Vec<NonNull<Header>>>,
}

thread_local! {
    // Not `const`: loom's `thread_local!`, which this one is under `--cfg loom`, has no const form.
    #[allow(clippy::missing_const_for_thread_local)]
    static QUEUE: DropQueue = DropQueue { active: Cell::new(false), pending: RefCell::new(Vec::new()) };
}

/// Frees an object whose count just reached zero.
///
/// # Safety
/// The caller dropped the object's last reference: no thread can reach it, its value is live.
pub(crate) unsafe fn free(header: NonNull<Header>) {
    let queued = QUEUE.try_with(|queue| {
        if queue.active.get() {
            queue.pending.borrow_mut().push(header);
            true
        } else {
            false
        }
    });
    match queued {
        Ok(true) => {}
        // SAFETY: the object is unreachable and ours to destroy (the caller's contract).
        Ok(false) => draining(|| unsafe { destroy(header) }),
        // The thread-local is gone (thread exit): destroy recursively, as `Arc` would.
        // SAFETY: as above.
        Err(_) => unsafe { destroy(header) },
    }
}

/// A count taken out of a side table (the values attachments hold), given back when dropped, as
/// the drop of a `Gc` would give it back.
pub(crate) struct OwnedCount(NonNull<Header>);

impl OwnedCount {
    /// Takes over counts on live objects.
    ///
    /// # Safety
    /// The caller owns one count on each object and hands it over.
    pub(crate) unsafe fn take_over(headers: Vec<NonNull<Header>>) -> Vec<OwnedCount> {
        headers.into_iter().map(OwnedCount).collect()
    }
}

impl Drop for OwnedCount {
    fn drop(&mut self) {
        // SAFETY: the count was handed over in `take_over`, and is given back once, here.
        unsafe { give_back(self.0) };
    }
}

/// Gives back one count on an object, as the drop of a `Gc` would (without the unique-holder
/// shortcut): frees the object if that was the last count, or queues it for its finalizer if
/// it is registered.
///
/// # Safety
/// The caller owns one count on the live object and never uses it again.
#[cold]
#[inline(never)]
pub(crate) unsafe fn give_back(header: NonNull<Header>) {
    // SAFETY: the caller's count keeps the object live.
    let header_ref = unsafe { header.as_ref() };
    let last = if header_ref.vtable().has_finalizer() {
        let dropped = if !header_ref.vtable().tracked && header_ref.count().finalize_unique() {
            Dropped::Finalize
        } else {
            header_ref.count().decrement_or_finalize()
        };
        match dropped {
            Dropped::Shared => false,
            Dropped::Last => true,
            Dropped::Finalize => {
                // SAFETY: live, of a finalizable type; the count is handed over.
                unsafe { queue::defer(header) };
                false
            }
        }
    } else {
        header_ref.count().decrement()
    };
    if last {
        // SAFETY: that was the last count.
        unsafe { free(header) };
    }
}

/// Gives back the caller's count, for `Gc::into_inner`: as [`give_back`], but when it was the
/// last count and the value is live (not condemned, not handed to the finalizer queue), frees
/// nothing and returns true: the value is then the caller's to move out, after which it calls
/// [`free_taken`].
///
/// # Safety
/// The caller owns one count on the live object and never uses it again (unless this returns
/// true: then it owns the object's value and its memory).
pub(crate) unsafe fn give_back_for_value(header: NonNull<Header>) -> bool {
    // SAFETY: the caller's count keeps the object live.
    let header_ref = unsafe { header.as_ref() };
    let last = if header_ref.vtable().has_finalizer() {
        match header_ref.count().decrement_or_finalize() {
            Dropped::Shared => false,
            Dropped::Last => true,
            Dropped::Finalize => {
                // SAFETY: live, of a finalizable type; the count is handed over.
                unsafe { queue::defer(header) };
                false
            }
        }
    } else {
        (!header_ref.vtable().tracked && header_ref.count().is_unique())
            || header_ref.count().decrement()
    };
    if !last {
        return false;
    }
    if header_ref.count().is_condemned() {
        // A garbage isolate's member: its value is dropped already.
        // SAFETY: that was the last count.
        unsafe { free(header) };
        return false;
    }
    true
}

/// Frees an object whose last count the caller took and whose value it moved out: what
/// [`destroy`] does, but the value's drop.
///
/// # Safety
/// The object's count reached zero in the caller's hands, it is not condemned, and its value was
/// moved out (it must not be dropped).
pub(crate) unsafe fn free_taken(header: NonNull<Header>) {
    // SAFETY: the caller's contract; attachments dropped on the way are drained here.
    draining(|| unsafe { destroy_as::<false>(header) })
}

/// Runs `body` as the outermost destroyer of this thread, then destroys every object queued
/// meanwhile. Nested calls just run `body`. If `body` or a destructor panics, the rest of the
/// queue is still destroyed while unwinding (a second panic then aborts, as in any drop).
pub(crate) fn draining<R>(body: impl FnOnce() -> R) -> R {
    struct Drain<'a>(&'a DropQueue);
    impl Drop for Drain<'_> {
        fn drop(&mut self) {
            // A destructor that panics here unwinds out of the loop: this second guard then
            // destroys the rest and ends the drain, or the thread would queue every later free
            // and never destroy it.
            let resume = Drain(self.0);
            loop {
                let next = self.0.pending.borrow_mut().pop();
                let Some(header) = next else { break };
                // SAFETY: queued objects reached a count of zero: unreachable and ours.
                unsafe { destroy(header) };
            }
            std::mem::forget(resume);
            self.0.active.set(false);
        }
    }
    match QUEUE.try_with(|queue| queue as *const DropQueue) {
        Ok(queue) => {
            // SAFETY: the thread-local lives as long as this thread's frames that use it.
            let queue = unsafe { &*queue };
            if queue.active.replace(true) {
                return body();
            }
            let _drain = Drain(queue);
            body()
        }
        Err(_) => body(),
    }
}

/// Drops the value of an unreachable object and frees its memory (a tracked object's memory
/// once it is unlinked, see `retire.rs`).
///
/// # Safety
/// The object's count reached zero: no thread can reach it; its value is live.
#[inline]
unsafe fn destroy(header: NonNull<Header>) {
    // SAFETY: the caller's contract.
    unsafe { destroy_as::<true>(header) }
}

/// [`destroy`], dropping the value only if `DROP_VALUE` (otherwise the caller moved it out).
///
/// # Safety
/// As for [`destroy`]; without `DROP_VALUE`, the value was moved out and the object is not
/// condemned.
#[inline]
unsafe fn destroy_as<const DROP_VALUE: bool>(header: NonNull<Header>) {
    // SAFETY: the object is live until deallocated below.
    let header_ref = unsafe { header.as_ref() };
    if header_ref.count().is_condemned() {
        // A garbage isolate's member cloned out by a `Drop` of its isolate: the collector dropped
        // its value, detached what a table attached to it, and unlinked it; this was the clone's
        // last count.
        // SAFETY: the value is dropped, the object in no list, and unreachable.
        unsafe { weak_cells::release_memory(header) };
        return;
    }
    if header_ref.count().is_weakened() {
        // SAFETY: the caller's contract.
        return unsafe { destroy_weakened::<DROP_VALUE>(header) };
    }
    let tracked = header_ref.vtable().tracked;
    if DROP_VALUE {
        // SAFETY: unreachable, so nobody else uses the value; the collector does not trace it (its
        // count is zero, so a pin refuses it); dropped once, here.
        unsafe { object::drop_value(header) };
    }
    if tracked {
        // SAFETY: tracked, linked (only whoever frees an object unlinks it: that is us), dead
        // and dropped.
        unsafe { retire::retire(header) };
    } else {
        // SAFETY: the value is dropped; an untracked object is in no list; it is unreachable;
        // never weakened, so it has no weak cell to detach.
        unsafe { object::deallocate(header) };
    }
}

/// [`destroy`] for an object that weak references (or a `ConditionalWeakTable`) point to: its
/// attached values are detached and dropped after its value, and its weak cell is detached when
/// its memory is released.
///
/// # Safety
/// As for [`destroy`].
#[cold]
#[inline(never)]
unsafe fn destroy_weakened<const DROP_VALUE: bool>(header: NonNull<Header>) {
    // SAFETY: the object is live until its memory is released below.
    let tracked = unsafe { header.as_ref() }.vtable().tracked;
    // SAFETY: the map's counts on the values pass to us.
    let detached = unsafe { OwnedCount::take_over(attachments::detach_all(header)) };
    if DROP_VALUE {
        // SAFETY: as in `destroy`.
        unsafe { object::drop_value(header) };
    }
    // Values attached by tables die with their key (their frees queue behind this one).
    drop(detached);
    if tracked {
        // SAFETY: as in `destroy`; the retire batch releases the memory.
        unsafe { retire::retire(header) };
    } else {
        // SAFETY: the value is dropped; in no list; unreachable.
        unsafe { weak_cells::release_memory(header) };
    }
}
