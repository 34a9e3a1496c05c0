//! The f-reachable queue: the lists of objects waiting for their finalizer, the per-thread
//! buffers that feed them, and the counts that `wait_for_pending_finalizers` compares.
//!
//! Invariant owned here: every object in the queue holds one count, the queue's, taken in the
//! step that found it unreachable (`count.rs`: the last drop keeps its count; `collector.rs`:
//! a garbage isolate's registered members get one), so it and everything it references stay
//! alive and intact until its finalizer has run; then the finalizer thread (`engine/finalizer_thread.rs`)
//! gives the count back by dropping a `Gc`. The queue is two lists; the thread takes the whole normal list as a batch
//! while it is not empty, and the critical list only when the normal one is empty, so when a
//! batch of critical finalizers starts, every normal entry queued before it was taken has been
//! finalized. One collection queues all its entries under one lock: hence, among the objects
//! one collection finds dead, every normal finalizer runs before any critical one.
//!
//! An object whose last reference drops first goes into its thread's buffer (`handoff.rs`); the
//! buffers reach the queue in batches, and the finalizer thread looks into them at most once per
//! [`LOOK_INTERVAL`] while busy. When they are taken, and why `wait_for_pending_finalizers`
//! compares queued and finished entries per list: `docs/gc-soundness.md#the-hand-off-buffers` and
//! `#the-finalizer-queue`.

use crate::gc::core::object::Header;
use crate::gc::side::handoff::{Handoff, IdleFlag};
use crate::sync::IgnorePoison;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Slots of a thread's buffer: a full buffer goes to the queue in one lock.
const BUFFER_SLOTS: usize = 1024;

/// While the finalizer thread has work, how long it waits before it takes the threads' buffers
/// again. Taking them each time its queue runs dry would move a few objects at a time and pull
/// the buffers' cache lines away from their threads at every death.
pub(crate) const LOOK_INTERVAL: Duration = Duration::from_millis(1);

/// A count of entries for each list.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
struct Counts {
    normal: u64,
    critical: u64,
}

impl Counts {
    const ZERO: Counts = Counts {
        normal: 0,
        critical: 0,
    };

    fn total(self) -> u64 {
        self.normal + self.critical
    }

    /// Whether every list has reached `target`.
    fn reached(self, target: Counts) -> bool {
        self.normal >= target.normal && self.critical >= target.critical
    }

    /// Adds `count` to one list's count.
    fn add(&mut self, critical: bool, count: u64) {
        if critical {
            self.critical += count;
        } else {
            self.normal += count;
        }
    }
}

/// An object waiting for its finalizer, holding the queue's count.
pub(crate) struct Entry(pub(crate) NonNull<Header>);

// SAFETY: finalizable objects are `Send + Sync` (`Finalize` requires it); the entry is a count.
unsafe impl Send for Entry {}

#[derive(Default)]
struct State {
    /// Batches of normal entries, in the order they were queued.
    normal: Vec<Vec<Entry>>,
    /// Batches of critical entries.
    critical: Vec<Vec<Entry>>,
    /// Entries queued since the process started, per list (normal, critical).
    queued: Counts,
    /// Entries the thread finished, per list.
    finished: Counts,
    /// Entries the finalizer thread added to its running batch (`count_joined`), in neither
    /// list's counts: see [`count_joined`].
    joined: u64,
    /// Of those, the entries finished.
    joined_finished: u64,
    /// Set at shutdown under `SkipFinalizers`: the thread stops, waiters return.
    stopped: bool,
    /// Whether the thread waits for work (then a new entry must wake it).
    idle: bool,
}

struct Queue {
    state: Mutex<State>,
    /// Signalled when entries arrive or the thread must stop.
    work: Condvar,
    /// Signalled when entries finish.
    done: Condvar,
}

static QUEUE: Queue = Queue {
    state: Mutex::new(State {
        normal: Vec::new(),
        critical: Vec::new(),
        queued: Counts::ZERO,
        finished: Counts::ZERO,
        joined: 0,
        joined_finished: 0,
        stopped: false,
        idle: false,
    }),
    work: Condvar::new(),
    done: Condvar::new(),
};

/// `State::stopped`, readable without the lock between two finalizers of a batch.
static STOPPED: AtomicBool = AtomicBool::new(false);

fn lock() -> MutexGuard<'static, State> {
    // Finalizers never run under the lock, so a poisoned lock means only that a waiter panicked.
    QUEUE.state.lock().ignore_poison()
}

/// Every live thread's buffer, registered when the thread first buffers an object.
static BUFFERS: Mutex<Vec<Arc<Handoff>>> = Mutex::new(Vec::new());

/// Raised while the finalizer thread sleeps with nothing queued and nothing buffered: the next
/// death hands its buffer over at once (`handoff.rs` has the handshake).
#[cfg(not(loom))]
fn idle() -> &'static IdleFlag {
    static IDLE: IdleFlag = IdleFlag::new();
    &IDLE
}

#[cfg(loom)]
loom::lazy_static! {
    static ref IDLE: IdleFlag = IdleFlag::new();
}

#[cfg(loom)]
fn idle() -> &'static IdleFlag {
    &IDLE
}

fn buffers() -> MutexGuard<'static, Vec<Arc<Handoff>>> {
    // No user code runs under this lock.
    BUFFERS.lock().ignore_poison()
}

/// A thread's buffer: registered on creation, handed over and unregistered at thread exit.
struct LocalBuffer(Arc<Handoff>);

impl LocalBuffer {
    fn new() -> Self {
        let buffer = Arc::new(Handoff::with_capacity(BUFFER_SLOTS));
        buffers().push(buffer.clone());
        Self(buffer)
    }
}

impl Drop for LocalBuffer {
    fn drop(&mut self) {
        // Handed over before it leaves the list, so a taker that no longer finds it finds its
        // objects in the queue.
        self.0.take(deliver);
        buffers().retain(|buffer| !Arc::ptr_eq(buffer, &self.0));
    }
}

crate::sync::thread_local! {
    // Not `const`: loom's `thread_local!` has no const form.
    #[allow(clippy::missing_const_for_thread_local)]
    static LOCAL: LocalBuffer = LocalBuffer::new();
}

/// The low address bit of a buffered object says its finalizer is critical (headers are aligned
/// to 8), so that the queue is sorted without reading the objects again.
const CRITICAL_TAG: usize = 1;

/// Delivers objects taken from a buffer: every one was pushed by `defer`, whose caller handed
/// over a count on a live registered-type object, and is taken once (`handoff.rs`), so each is
/// an entry of the queue. The entries are made in place, in the taken `Vec`.
fn deliver(taken: Vec<NonNull<Header>>) {
    let is_critical = |tagged: &NonNull<Header>| tagged.addr().get() & CRITICAL_TAG != 0;
    if taken.iter().any(is_critical) {
        let (critical, normal) = taken.into_iter().partition(is_critical);
        push_batches(untagged(normal), untagged(critical));
    } else {
        push_batches(untagged(taken), Vec::new());
    }
}

/// The entries of tagged objects (in place: an `Entry` is its pointer).
fn untagged(tagged: Vec<NonNull<Header>>) -> Vec<Entry> {
    tagged
        .into_iter()
        .map(|tagged| Entry(tagged.map_addr(untag)))
        .collect()
}

fn untag(address: std::num::NonZeroUsize) -> std::num::NonZeroUsize {
    std::num::NonZeroUsize::new(address.get() & !CRITICAL_TAG)
        .expect("a header address is not zero")
}

/// Hands an object whose last reference just dropped to the finalizer: into this thread's buffer,
/// which reaches the queue with others (see the module's documentation); straight into the queue
/// when the thread's buffer is gone (the thread is exiting).
///
/// # Safety
/// As for [`enqueue`], for one object.
#[inline]
pub(crate) unsafe fn defer(header: NonNull<Header>) {
    // SAFETY: the caller's count keeps the object live.
    let critical = unsafe { header.as_ref() }.vtable().finalizer_is_critical();
    let tagged = header.map_addr(|address| address | usize::from(critical));
    let buffered = LOCAL.try_with(|local| {
        let buffer = &local.0;
        while !buffer.push(tagged) {
            buffer.take(deliver);
        }
        // A nudge for an idle finalizer thread.
        if idle().taker_sleeps() {
            buffer.take(deliver);
        }
    });
    if buffered.is_err() {
        // SAFETY: the caller's contract.
        unsafe { enqueue(&[header]) };
    }
}

/// Takes every thread's buffer into the queue; returns how many objects moved. Every object
/// pushed into a buffer before this call (in the happens-before sense) is in the queue when it
/// returns.
pub(crate) fn hand_over_all() -> usize {
    let all: Vec<Arc<Handoff>> = buffers().clone();
    all.iter().map(|buffer| buffer.take(deliver)).sum()
}

/// Queues unreachable registered objects for finalization.
///
/// # Safety
/// Each object is registered-type, live, and the caller hands over one count on it.
pub(crate) unsafe fn enqueue(objects: &[NonNull<Header>]) {
    let (critical, normal): (Vec<Entry>, Vec<Entry>) = objects
        .iter()
        .map(|&header| Entry(header))
        // SAFETY: live (the handed-over count).
        .partition(|entry| unsafe { entry.0.as_ref() }.vtable().finalizer_is_critical());
    push_batches(normal, critical);
}

/// Adds two batches of entries to the queue under one lock, and wakes the finalizer thread if it
/// sleeps with nothing to do. The lock is held for two pushes of a `Vec`: the entries are never
/// copied under it, so the finalizer thread never waits long for it. While the thread is busy
/// it is not woken: it takes the queue again when its batch is done (or its short wait for more
/// ends), and every wake would cost the thread that queues a system call.
fn push_batches(normal: Vec<Entry>, critical: Vec<Entry>) {
    if normal.is_empty() && critical.is_empty() {
        return;
    }
    let mut state = lock();
    state.queued.normal += normal.len() as u64;
    state.queued.critical += critical.len() as u64;
    if !normal.is_empty() {
        state.normal.push(normal);
    }
    if !critical.is_empty() {
        state.critical.push(critical);
    }
    let wake = std::mem::take(&mut state.idle);
    drop(state);
    if wake {
        QUEUE.work.notify_one();
    }
}

/// Takes the next batch for the finalizer thread into `batch` (empty on entry): every normal
/// entry, or, if there is none, every critical one; returns whether it is the critical list, or
/// `None` once shutdown has stopped the queue. When the queue is empty it takes the threads'
/// buffers, at most once per [`LOOK_INTERVAL`] (`last_look` is the thread's own record of its
/// last look); when they are empty too, it sleeps until an entry arrives.
pub(crate) fn take_batch(
    batch: &mut Vec<Vec<Entry>>,
    last_look: &mut Option<Instant>,
) -> Option<bool> {
    let mut state = lock();
    loop {
        if state.stopped {
            return None;
        }
        if !state.normal.is_empty() {
            std::mem::swap(batch, &mut state.normal);
            break Some(false);
        }
        if !state.critical.is_empty() {
            std::mem::swap(batch, &mut state.critical);
            break Some(true);
        }
        let since_look = last_look.map(|at| at.elapsed());
        if let Some(since) = since_look.filter(|since| *since < LOOK_INTERVAL) {
            // Busy: not marked idle, so full buffers arriving meanwhile do not wake it
            // (a waiter does).
            state = QUEUE
                .work
                .wait_timeout(state, LOOK_INTERVAL - since)
                .ignore_poison()
                .0;
            continue;
        }
        drop(state);
        *last_look = Some(Instant::now());
        if hand_over_all() == 0 {
            // Idle: from here on a death hands its buffer over at once. Looking again
            // after raising the flag catches a death that read it still down.
            idle().announce();
            if hand_over_all() == 0 {
                state = lock();
                if state.normal.is_empty() && state.critical.is_empty() && !state.stopped {
                    state.idle = true;
                    state = QUEUE.work.wait(state).ignore_poison();
                    state.idle = false;
                }
                drop(state);
                *last_look = None;
            }
            idle().lower();
        }
        state = lock();
    }
}

/// Counts `joined` entries that the finalizer thread added to its running batch, for the
/// statistics only. A list's counts must not include them: a waiter may read the list's queued
/// count after the batch was taken and before this call, and then the joined entries, finishing
/// with the batch, would push the finished count past that reading while entries queued after
/// the batch wait; that waiter would return before they ran. Counted apart, nothing is lost: a
/// waiter whose reading includes the batch's own entries waits for the batch, joined ones
/// included, and the objects that joined were reachable from those entries until they were queued.
pub(crate) fn count_joined(joined: u64) {
    lock().joined += joined;
}

/// Counts a batch finished: `taken` entries of one list, which its `queued` counted, and `joined`
/// ones ([`count_joined`]); wakes the waiters.
pub(crate) fn finish_batch(critical: bool, taken: u64, joined: u64) {
    let mut state = lock();
    state.finished.add(critical, taken);
    state.joined_finished += joined;
    drop(state);
    QUEUE.done.notify_all();
}

/// Whether shutdown stopped the queue: the finalizer thread checks it between two finalizers.
pub(crate) fn is_stopped() -> bool {
    STOPPED.load(Ordering::Acquire)
}

/// Stops the queue for good: the finalizer thread stops after the finalizer it is running, and
/// waiters return.
pub(crate) fn stop() {
    STOPPED.store(true, Ordering::Release);
    lock().stopped = true;
    QUEUE.work.notify_all();
    QUEUE.done.notify_all();
}

/// Entries queued since the process started, both lists.
pub(crate) fn queued_total() -> u64 {
    lock().queued.total()
}

/// Takes every buffer, then blocks until each list has finished every entry queued in it before
/// the call (or the queue is stopped).
pub(crate) fn wait_for_entries_queued_before() {
    hand_over_all();
    let mut state = lock();
    let target = state.queued;
    if !state.finished.reached(target) {
        // The thread may be in its short wait between two looks, which entries do not cut.
        QUEUE.work.notify_one();
    }
    while !state.finished.reached(target) && !state.stopped {
        state = QUEUE.done.wait(state).ignore_poison();
    }
}

/// Objects waiting for their finalizer now (queued, or buffered by the threads that dropped
/// them), and queue entries the finalizer thread has finished since the process started
/// (finalizers run, and entries `suppress_finalize` cancelled while they waited).
pub(crate) fn pending_and_finished() -> (usize, u64) {
    let buffered: usize = buffers().iter().map(|buffer| buffer.len()).sum();
    let state = lock();
    let queued = state.queued.total() + state.joined;
    let finished = state.finished.total() + state.joined_finished;
    ((queued - finished) as usize + buffered, finished)
}
