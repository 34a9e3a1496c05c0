//! The reclaimer: the thread that finishes automatic collections.
//!
//! Invariant owned here: **a collection the program did not ask for runs no destructor on the
//! thread that runs it.** One due to memory pressure starts inside `add_memory_pressure`, on a
//! thread that may hold any lock or borrow: if it dropped the garbage it found there, the `Drop` of
//! an unrelated object could try to take a lock that thread already holds (a deadlock), or borrow a
//! `RefCell` it has borrowed (a panic). One due to allocation runs on the background collector
//! (`background.rs`), which must not wait in a user's `Drop` either: every later allocation's
//! collection waits behind it. So the collector does steps 1 to 6 on that thread and hands step 7
//! to this thread as an [`Aftermath`]: the condemned isolate, whose values it drops, and the
//! survivors whose pin was their last count, which it gives back. An induced collection finishes
//! its own aftermath, and `collect` and `wait_for_pending_finalizers` wait for the aftermaths
//! handed over before them ([`Reservation`]); past [`BACKLOG_LIMIT`] objects waiting here, the
//! background collector waits for this thread before its next collection. Why each of these
//! holds, the panics that escape a `Drop` here, and why there is no loom model:
//! `docs/gc-soundness.md#the-aftermath-and-the-reclaimer`.

use crate::gc::engine::collector::Aftermath;
use crate::gc::engine::retire;
use crate::gc::side::panic::report_reclaimer_panic;
use crate::sync::{BackgroundThread, IgnorePoison};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

/// Objects in aftermaths not yet finished above which automatic collections are postponed: a few
/// gen-0 budgets' worth, so that a reclaimer that keeps up never holds collections back.
const BACKLOG_LIMIT: usize = 64 * 1024;

struct State {
    jobs: VecDeque<Aftermath>,
    /// Aftermaths handed over, and finished, since the program started.
    handed_over: u64,
    finished: u64,
}

struct Reclaimer {
    state: Mutex<State>,
    /// Signalled when an aftermath arrives.
    work: Condvar,
    /// Signalled when aftermaths finish.
    done: Condvar,
}

static RECLAIMER: Reclaimer = Reclaimer {
    state: Mutex::new(State {
        jobs: VecDeque::new(),
        handed_over: 0,
        finished: 0,
    }),
    work: Condvar::new(),
    done: Condvar::new(),
};

/// Objects in aftermaths handed over and not finished; read without the lock by allocations.
static BACKLOG: AtomicUsize = AtomicUsize::new(0);
static RECLAIMER_THREAD: BackgroundThread = BackgroundThread::new("janitor-reclaimer");

fn lock() -> MutexGuard<'static, State> {
    // No user code runs under this lock, so a poisoned lock means only that a waiter panicked.
    RECLAIMER.state.lock().ignore_poison()
}

/// Whether the background collector should let the reclaimer catch up before its next
/// collection (`background.rs`): the reclaimer is behind.
pub(crate) fn is_behind() -> bool {
    // `Relaxed`: a heuristic; a stale value postpones or runs one collection more.
    BACKLOG.load(Ordering::Relaxed) > BACKLOG_LIMIT
}

/// Whether the calling thread is the reclaimer.
pub(crate) fn is_reclaimer_thread() -> bool {
    RECLAIMER_THREAD.is_current()
}

/// The place an automatic collection in progress holds among the aftermaths, counted as handed
/// over from the moment the collection starts; its aftermath (empty if the collection panicked
/// before handing one over) goes through the reclaimer's queue in that place's order. Why, and
/// which waits count places: `docs/gc-soundness.md#the-aftermath-and-the-reclaimer`.
pub(crate) struct Reservation {
    handed_over: bool,
}

/// Reserves the place of an automatic collection about to start (see [`Reservation`]).
pub(crate) fn reserve() -> Reservation {
    lock().handed_over += 1;
    Reservation { handed_over: false }
}

impl Reservation {
    /// Hands the collection's step 7 to the reclaimer, starting it on first use.
    pub(crate) fn hand_over(mut self, aftermath: Aftermath) {
        self.handed_over = true;
        enqueue(aftermath);
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if !self.handed_over {
            enqueue(Aftermath::empty());
        }
    }
}

/// Puts an aftermath, in its place's order, on the reclaimer's queue.
fn enqueue(aftermath: Aftermath) {
    ensure_started();
    BACKLOG.fetch_add(aftermath.objects(), Ordering::Relaxed);
    lock().jobs.push_back(aftermath);
    RECLAIMER.work.notify_one();
}

/// The number of aftermaths handed over so far, if some of them are not finished yet; `None` on
/// the reclaimer thread (it never waits for itself).
pub(crate) fn unfinished() -> Option<u64> {
    if is_reclaimer_thread() {
        return None;
    }
    let state = lock();
    (state.finished < state.handed_over).then_some(state.handed_over)
}

/// Blocks until `target` aftermaths are finished.
pub(crate) fn wait_until_finished(target: u64) {
    let mut state = lock();
    while state.finished < target {
        state = RECLAIMER.done.wait(state).ignore_poison();
    }
}

fn ensure_started() {
    RECLAIMER_THREAD.ensure_started(run);
}

/// The reclaimer's loop: finish aftermaths in the order they were handed over.
fn run() {
    loop {
        let aftermath = {
            let mut state = lock();
            loop {
                if let Some(job) = state.jobs.pop_front() {
                    break job;
                }
                // Out of work: what this thread retired in a partial batch is freed before it
                // sleeps (its memory and weak cells would otherwise wait for the next batch).
                drop(state);
                retire::flush();
                state = lock();
                if let Some(job) = state.jobs.pop_front() {
                    break job;
                }
                state = RECLAIMER.work.wait(state).ignore_poison();
            }
        };
        let objects = aftermath.objects();
        tracing::trace!(
            objects,
            "janitor: reclaiming an automatic collection's garbage"
        );
        // A `Drop` of an object the isolate's drops or the unpins free runs when the drain
        // ends, outside `drop_isolate`'s catch: it must not end this thread, which every later
        // `collect` waits for.
        let finished =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| aftermath.finish()));
        match finished {
            Ok(Ok(())) => {}
            Ok(Err((type_name, payload))) => {
                report_reclaimer_panic(type_name, payload);
            }
            Err(payload) => {
                report_reclaimer_panic("an object freed by a garbage object's Drop", payload)
            }
        }
        BACKLOG.fetch_sub(objects, Ordering::Relaxed);
        let mut state = lock();
        state.finished += 1;
        drop(state);
        RECLAIMER.done.notify_all();
    }
}
