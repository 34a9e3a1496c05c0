//! The background collector: the thread that runs the collections allocations make due.
//!
//! Invariant owned here: **an allocation never examines the heap.** An allocation that spends the
//! gen-0 budget asks this thread for a collection ([`request`]) and goes on; only one that finds the
//! heap overdue waits, a bounded time, for the next examination (`pacer.rs`). So the work an
//! allocation does inline is bounded by a constant, whatever the heap's size: before this thread,
//! the allocation that made a full collection due examined the whole heap itself (120 ms and more
//! on a heap of a million tracked objects). It is .NET's background collection taken one step
//! further: every automatic collection runs here, not only the full ones.
//!
//! This thread can wait where an allocating thread could not: it holds no lock and no borrow of the
//! program's, so it waits for the collection turn, and for the reclaimer when the reclaimer is
//! behind, instead of giving up and leaving the collection to a later allocation. It runs no
//! destructor: its collections hand their garbage to the reclaimer like every automatic one.
//!
//! A request is a flag under a mutex. The thread clears the flag, then asks the heap whether a
//! collection is still due and runs one if so: a request made while it collects sets the flag
//! again and costs at most one more look at the budgets, and an allocation reported before the
//! flag was cleared is seen by that look (its report happened before its request's unlock, which
//! happened before this thread's lock).

use crate::gc::core::heap::{Due, Heap};
use crate::gc::engine::{driver, pacer, reclaim};
use crate::sync::{BackgroundThread, IgnorePoison};
use std::sync::{Condvar, Mutex};

struct Requests {
    /// Whether a collection was asked for since the thread last looked.
    pending: Mutex<bool>,
    signal: Condvar,
}

static REQUESTS: Requests = Requests {
    pending: Mutex::new(false),
    signal: Condvar::new(),
};

static COLLECTOR_THREAD: BackgroundThread = BackgroundThread::new("janitor-collector");

/// Asks the background collector for the collection an allocation found due; an allocation that
/// found the heap overdue (grown by a budget since the last examination began) also waits, a bounded
/// time, for the next examination (`pacer.rs`). It never examines the heap itself, nor waits for
/// the turn, whose holder may be running drops that need a lock this thread holds.
pub(crate) fn collect_automatically(due: Due) {
    request();
    if due == Due::Overdue {
        pacer::wait_for_next_examination();
    }
}

/// Asks the background collector for a collection, starting the thread on first use.
fn request() {
    COLLECTOR_THREAD.ensure_started(run);
    // Nothing runs under this lock but setting or clearing the flag: a poisoned one is taken as is.
    let mut pending = REQUESTS.pending.lock().ignore_poison();
    if !*pending {
        *pending = true;
        REQUESTS.signal.notify_one();
    }
}

/// The background collector's loop: wait for a request, then collect while a collection is due.
fn run() {
    let heap = Heap::global();
    loop {
        {
            let mut pending = REQUESTS.pending.lock().ignore_poison();
            while !*pending {
                pending = REQUESTS.signal.wait(pending).ignore_poison();
            }
            *pending = false;
        }
        if heap.due().is_none() {
            continue;
        }
        // Past its backlog the reclaimer is left to catch up first: a collection now would hand
        // it more garbage than it frees.
        if reclaim::is_behind()
            && let Some(handed_over) = reclaim::unfinished()
        {
            reclaim::wait_until_finished(handed_over);
        }
        // A panic in a collection (a user's `Trace` that panics) is reported where the
        // collection's own tests look for it, and must not end this thread: later allocations
        // still need their collections.
        if let Err(payload) = std::panic::catch_unwind(driver::collect_due) {
            tracing::error!(
                panic = crate::gc::side::panic::message_of(&*payload),
                "janitor: an automatic collection panicked on the background collector; the \
                 objects it examined are kept, and the next collection examines them again"
            );
        }
    }
}
