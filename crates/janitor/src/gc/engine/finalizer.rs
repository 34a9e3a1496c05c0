//! The f-reachable queue and the finalizer thread.
//!
//! Invariant owned here: every object in the queue holds one count, the queue's, taken in the
//! step that found it unreachable (`count.rs`: the last drop keeps its count; `collector.rs`:
//! a garbage isolate's registered members get one), so it and everything it references stay
//! alive and intact until its finalizer has run; then the finalizer thread gives the count back
//! by dropping a `Gc`. The queue is two lists; the thread takes the whole normal list as a batch
//! while it is not empty, and the critical list only when the normal one is empty, so when a
//! batch of critical finalizers starts, every normal entry queued before it was taken has been
//! finalized. One collection queues all its entries under one lock: hence, among the objects
//! one collection finds dead, every normal finalizer runs before any critical one.
//!
//! An object whose last reference drops (no collection involved) first goes into its thread's
//! buffer (`handoff.rs`), without a lock or a read-modify-write; buffers reach the queue in
//! batches: when a buffer is full, at every collection and every `wait_for_pending_finalizers`
//! (on any thread: they take every thread's buffer), when the thread exits, and when the
//! finalizer thread looks into them: at most once per [`LOOK_INTERVAL`] while it has been busy,
//! and, when it is idle, at the next death (a nudge: the dying thread hands its buffer over at
//! once; the handshake in `handoff.rs` makes sure no death goes unnoticed by a thread about to
//! sleep).
//!
//! `wait_for_pending_finalizers` takes every buffer, then compares, for each list, the entries
//! queued with the entries finished, under the queue's lock. Per list, because the lists are
//! drained in their own order: normal entries queued after the call may finish before a critical
//! entry queued before it, and one pair of counters would count them in its place (a review
//! reproduced a wait returning before such a critical finalizer ran). Each list is first in,
//! first out (the thread takes the whole list), so a list's finished count reaching its count
//! at the call means every entry queued in it before the call is done. No lock is held while a
//! finalizer runs, so finalizers may allocate, collect, drop objects (which queues more) and wait
//! (which returns at once on this thread).

use crate::gc::core::object::Header;
use crate::gc::side::handoff::{Handoff, IdleFlag};
use std::any::Any;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Once, OnceLock, PoisonError, RwLock};
use std::thread::ThreadId;
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
}

/// An object waiting for its finalizer, holding the queue's count.
struct Entry(NonNull<Header>);

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
        stopped: false,
        idle: false,
    }),
    work: Condvar::new(),
    done: Condvar::new(),
};

static STARTED: Once = Once::new();
static THREAD: OnceLock<ThreadId> = OnceLock::new();
static SHUTDOWN_STARTED: AtomicBool = AtomicBool::new(false);
/// `State::stopped`, readable without the lock between two finalizers of a batch.
static STOPPED: AtomicBool = AtomicBool::new(false);

fn lock() -> MutexGuard<'static, State> {
    // Finalizers never run under the lock, so a poisoned lock means only that a waiter panicked.
    QUEUE.state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Starts the finalizer thread if it is not running: called when a finalizable object is
/// allocated, so the thread exists before anything can be queued.
#[inline]
pub(crate) fn ensure_started() {
    STARTED.call_once(|| {
        let thread = std::thread::Builder::new()
            .name("janitor-finalizer".into())
            .spawn(run)
            .unwrap_or_else(|error| {
                panic!("janitor: could not start the finalizer thread: {error}")
            });
        // The thread's id is recorded before any finalizer can run (it waits for entries,
        // which need this call to have returned first).
        let _ = THREAD.set(thread.thread().id());
    });
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
    BUFFERS.lock().unwrap_or_else(PoisonError::into_inner)
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
    let critical = unsafe { header.as_ref() }.vtable.finalizer_is_critical();
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
        .partition(|entry| unsafe { entry.0.as_ref() }.vtable.finalizer_is_critical());
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

/// The finalizer thread's loop: take every normal entry (or, if there is none, every critical
/// one), run them without the lock, count them finished. Taking a batch per lock keeps the cost
/// per object low; taking the critical list only when the normal one is empty keeps the order.
/// When the queue is empty the thread takes the threads' buffers, at most once per
/// [`LOOK_INTERVAL`]; when they are empty too, it sleeps until an entry arrives.
fn run() {
    let mut batch = Vec::new();
    let mut last_look: Option<Instant> = None;
    loop {
        let critical = {
            let mut state = lock();
            loop {
                if state.stopped {
                    return;
                }
                if !state.normal.is_empty() {
                    std::mem::swap(&mut batch, &mut state.normal);
                    break false;
                }
                if !state.critical.is_empty() {
                    std::mem::swap(&mut batch, &mut state.critical);
                    break true;
                }
                let since_look = last_look.map(|at| at.elapsed());
                if let Some(since) = since_look.filter(|since| *since < LOOK_INTERVAL) {
                    // Busy: not marked idle, so full buffers arriving meanwhile do not wake it
                    // (a waiter does).
                    state = QUEUE
                        .work
                        .wait_timeout(state, LOOK_INTERVAL - since)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                    continue;
                }
                drop(state);
                last_look = Some(Instant::now());
                if hand_over_all() == 0 {
                    // Idle: from here on a death hands its buffer over at once. Looking again
                    // after raising the flag catches a death that read it still down.
                    idle().announce();
                    if hand_over_all() == 0 {
                        state = lock();
                        if state.normal.is_empty() && state.critical.is_empty() && !state.stopped {
                            state.idle = true;
                            state = QUEUE
                                .work
                                .wait(state)
                                .unwrap_or_else(PoisonError::into_inner);
                            state.idle = false;
                        }
                        drop(state);
                        last_look = None;
                    }
                    idle().lower();
                }
                state = lock();
            }
        };
        join_what_only_the_batch_reaches(&mut batch, critical);
        let ran: usize = batch.iter().map(Vec::len).sum();
        tracing::debug!(finalizers = ran, "janitor: running a batch of finalizers");
        'batch: for entries in batch.drain(..) {
            for (index, entry) in entries.iter().enumerate() {
                // Another core wrote these objects: the first touch of each misses the cache,
                // so it is fetched a few entries ahead.
                if let Some(ahead) = entries.get(index + PREFETCH_DISTANCE) {
                    prefetch(ahead.0);
                }
                finalize(entry.0);
                if STOPPED.load(Ordering::Acquire) {
                    break 'batch;
                }
            }
        }
        let mut state = lock();
        if critical {
            state.finished.critical += ran as u64;
        } else {
            state.finished.normal += ran as u64;
        }
        drop(state);
        QUEUE.done.notify_all();
    }
}

/// Before any finalizer of a batch runs: clears the short weak references of what only the
/// batch reaches, as .NET clears them at the collection that queues, and adds to the batch the
/// finalizable objects that only the batch reaches (`confined.rs`), which .NET's collection would
/// have queued with it. They are counted in the batch's own list, queued and finished with it, so
/// a `wait_for_pending_finalizers` that waits for the batch waits for them too. Among them the
/// normal ones run before the batch's critical entries and the critical ones after its normal
/// entries: every normal finalizer of what one collection found dead still runs before any
/// critical one.
fn join_what_only_the_batch_reaches(batch: &mut Vec<Vec<Entry>>, critical: bool) {
    // SAFETY: every entry holds the queue's count until it is finalized, after this call.
    let found =
        unsafe { crate::gc::engine::confined::examine_below(batch.iter().flatten().map(|e| e.0)) };
    if found.is_empty() {
        return;
    }
    let (found_critical, found_normal): (Vec<Entry>, Vec<Entry>) = found
        .into_iter()
        .map(Entry)
        // SAFETY: each holds the count the pass took for the queue.
        .partition(|entry| unsafe { entry.0.as_ref() }.vtable.finalizer_is_critical());
    let mut state = lock();
    let joined = (found_critical.len() + found_normal.len()) as u64;
    if critical {
        state.queued.critical += joined;
    } else {
        state.queued.normal += joined;
    }
    drop(state);
    if critical {
        batch.insert(0, found_normal);
    } else {
        batch.push(found_normal);
    }
    batch.push(found_critical);
}

/// How many entries ahead of the one being finalized the finalizer thread prefetches.
const PREFETCH_DISTANCE: usize = 8;

/// Asks the processor to bring an object's header into the cache; never faults.
#[inline]
fn prefetch(header: NonNull<Header>) {
    // SAFETY: SSE is part of the x86_64 baseline, and a prefetch only hints the cache: it reads
    // nothing the program sees and does not fault, whatever the address.
    #[cfg(target_arch = "x86_64")]
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
            header.as_ptr().cast::<i8>(),
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = header;
}

/// Runs one entry's finalizer and gives the queue's count back.
fn finalize(header: NonNull<Header>) {
    // SAFETY: the entry holds a count, so the object is live.
    let vtable = unsafe { header.as_ref() }.vtable;
    tracing::trace!(r#type = vtable.type_name(), "janitor: running a finalizer");
    // SAFETY: the entry's count is handed over; queued objects have a finalizer.
    let outcome = unsafe { vtable.run_finalizer(header) };
    if let Err(payload) = outcome {
        report_panic(vtable.type_name(), payload);
    }
}

/// What to do after a finalizer panicked, as decided by the handler installed with
/// [`set_finalizer_panic_handler`].
///
/// ```
/// use janitor::gc::FinalizerPanicAction;
/// assert_ne!(FinalizerPanicAction::Continue, FinalizerPanicAction::Abort);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FinalizerPanicAction {
    /// Treat the object as finalized and go on with the next finalizer.
    Continue,
    /// Abort the process (what happens without a handler, as in .NET).
    Abort,
}

/// A panic that escaped a finalizer, as shown to the handler.
///
/// ```
/// use janitor::gc::{FinalizerPanic, FinalizerPanicAction, set_finalizer_panic_handler};
/// set_finalizer_panic_handler(|panic: &FinalizerPanic| {
///     eprintln!("{} panicked: {}", panic.type_name(), panic.message());
///     FinalizerPanicAction::Continue
/// });
/// ```
#[derive(Debug)]
pub struct FinalizerPanic {
    type_name: &'static str,
    message: String,
}

impl FinalizerPanic {
    /// The type whose finalizer panicked.
    ///
    /// ```
    /// # use janitor::gc::{FinalizerPanic, FinalizerPanicAction, set_finalizer_panic_handler};
    /// set_finalizer_panic_handler(|panic: &FinalizerPanic| {
    ///     assert!(!panic.type_name().is_empty());
    ///     FinalizerPanicAction::Continue
    /// });
    /// ```
    pub fn type_name(&self) -> &'static str {
        self.type_name
    }

    /// The panic's message, when it was a string.
    ///
    /// ```
    /// # use janitor::gc::{FinalizerPanic, FinalizerPanicAction, set_finalizer_panic_handler};
    /// set_finalizer_panic_handler(|panic: &FinalizerPanic| {
    ///     let _ = panic.message();
    ///     FinalizerPanicAction::Continue
    /// });
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }
}

type Handler = Arc<dyn Fn(&FinalizerPanic) -> FinalizerPanicAction + Send + Sync>;

static HANDLER: RwLock<Option<Handler>> = RwLock::new(None);

/// Installs the function that decides what happens when a panic escapes a finalizer (or the drop
/// of the object it finalized, or a `Drop` that the `janitor-reclaimer` thread runs for an
/// automatic collection, see [`collect`](crate::gc::collect)), replacing any earlier one. Without a handler the process aborts
/// with a message naming the type, as .NET terminates the process on an exception escaping a
/// finalizer. The handler runs on the finalizer thread; with
/// [`Continue`](FinalizerPanicAction::Continue) the object counts as finalized.
///
/// ```
/// use janitor::gc::{Finalize, FinalizerPanicAction, Gc, Trace, set_finalizer_panic_handler,
///                   wait_for_pending_finalizers};
///
/// #[derive(Trace)]
/// #[trace(finalize)]
/// struct Flaky;
/// impl Finalize for Flaky {
///     fn finalize(_: &Gc<Self>) {
///         panic!("cannot flush");
///     }
/// }
///
/// set_finalizer_panic_handler(|panic| {
///     assert!(panic.type_name().ends_with("Flaky"));
///     FinalizerPanicAction::Continue
/// });
/// drop(Gc::new(Flaky));
/// wait_for_pending_finalizers(); // the process lives on
/// ```
pub fn set_finalizer_panic_handler(
    handler: impl Fn(&FinalizerPanic) -> FinalizerPanicAction + Send + Sync + 'static,
) {
    *HANDLER.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(handler));
}

fn report_panic(type_name: &'static str, payload: Box<dyn Any + Send>) {
    report(type_name, payload, "the finalizer of");
}

/// Reports a panic that escaped a `Drop` the reclaimer ran for an automatic collection
/// (`reclaim.rs`): it has no caller to resume in, so it goes to the same handler as a finalizer's.
pub(crate) fn report_reclaimer_panic(type_name: &'static str, payload: Box<dyn Any + Send>) {
    report(
        type_name,
        payload,
        "the Drop, run by the reclaimer for an automatic collection, of",
    );
}

/// Asks the handler what to do about a panic, and aborts without one; `what` names the code that
/// panicked, before the type, in the abort message.
fn report(type_name: &'static str, payload: Box<dyn Any + Send>, what: &str) {
    let message = payload
        .downcast_ref::<&str>()
        .map(|message| (*message).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(a panic payload that is not a string)".to_owned());
    let panic = FinalizerPanic { type_name, message };
    let handler = HANDLER
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let action = match handler {
        Some(handler) => handler(&panic),
        None => FinalizerPanicAction::Abort,
    };
    if action == FinalizerPanicAction::Abort {
        eprintln!(
            "janitor: {what} `{type_name}` panicked: {}; aborting the process \
             (a finalizer or a garbage object's Drop must not panic; install a handler with \
             janitor::gc::set_finalizer_panic_handler to continue instead)",
            panic.message
        );
        std::process::abort();
    }
}

/// Blocks until every object queued for finalization before the call has been finalized, as
/// .NET's `GC.WaitForPendingFinalizers`: every object whose last reference dropped before the
/// call, on any thread (including those still in their thread's buffer, which it takes), and
/// every garbage cycle a collection found. An object dropped while a concurrent automatic
/// collection had it pinned dies when the `janitor-reclaimer` thread gives the pin back, so the
/// wait first waits for the reclaimer's work handed over before the call. It does not collect:
/// call [`collect`](crate::gc::collect) first to queue the garbage cycles (when `collect`
/// returns, every collection before it, on any thread, has queued what it found). Returns at
/// once on the finalizer thread (a finalizer that waits), inside a collection (the `Drop` of a
/// garbage cycle's member), on the reclaimer, and after shutdown has stopped the thread.
///
/// ```
/// use janitor::gc::{Finalize, Gc, Trace, collect, wait_for_pending_finalizers};
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// static RUNS: AtomicUsize = AtomicUsize::new(0);
///
/// #[derive(Trace)]
/// #[trace(finalize)]
/// struct Buffer;
/// impl Finalize for Buffer {
///     fn finalize(_: &Gc<Self>) {
///         RUNS.fetch_add(1, Ordering::SeqCst);
///     }
/// }
///
/// for _ in 0..10 {
///     drop(Gc::new(Buffer));
/// }
/// collect();
/// wait_for_pending_finalizers();
/// assert_eq!(RUNS.load(Ordering::SeqCst), 10);
/// ```
pub fn wait_for_pending_finalizers() {
    // On the finalizer thread it would wait for itself; inside a collection (a `Drop` of a garbage
    // cycle's member) it would hold the collection's turn that a finalizer calling `collect`
    // waits for.
    if is_finalizer_thread() || crate::gc::face::api::is_collecting() {
        return;
    }
    // An object whose last holder dropped it while an automatic collection had it pinned dies
    // when the reclaimer gives that pin back: wait for what collections handed over before the
    // call, so that such a death is queued (in the reclaimer's buffer) before the buffers are
    // taken.
    if let Some(handed_over) = crate::gc::engine::reclaim::unfinished() {
        crate::gc::engine::reclaim::wait_until_finished(handed_over);
    }
    hand_over_all();
    let mut state = lock();
    let target = state.queued;
    if !state.finished.reached(target) {
        // The thread may be in its short wait between two looks, which entries do not cut.
        QUEUE.work.notify_one();
    }
    while !state.finished.reached(target) && !state.stopped {
        state = QUEUE
            .done
            .wait(state)
            .unwrap_or_else(PoisonError::into_inner);
    }
}

fn is_finalizer_thread() -> bool {
    THREAD.get() == Some(&std::thread::current().id())
}

/// Objects waiting for their finalizer now (queued, or buffered by the threads that dropped
/// them), and queue entries the finalizer thread has finished since the process started
/// (finalizers run, and entries `suppress_finalize` cancelled while they waited).
pub(crate) fn pending_and_finished() -> (usize, u64) {
    let buffered: usize = buffers().iter().map(|buffer| buffer.len()).sum();
    let state = lock();
    let (queued, finished) = (state.queued.total(), state.finished.total());
    ((queued - finished) as usize + buffered, finished)
}

/// What happens to pending finalizers when the program ends, chosen with [`shutdown_guard`].
///
/// ```
/// use janitor::gc::ShutdownPolicy;
/// assert_eq!(ShutdownPolicy::default(), ShutdownPolicy::SkipFinalizers);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum ShutdownPolicy {
    /// Pending finalizers never run; the finalizer thread stops after the finalizer it is
    /// running (.NET Core and later).
    #[default]
    SkipFinalizers,
    /// Collect, then run every pending finalizer, including those of objects that become
    /// unreachable while they run, before the guard's drop returns (.NET Framework ran
    /// finalizers at exit). Objects still reachable when the guard drops (in statics, say) are
    /// not finalized.
    RunFinalizers,
}

/// Runs the shutdown policy when dropped: hold it at the top of `main`. Made by
/// [`shutdown_guard`].
///
/// ```
/// use janitor::gc::{ShutdownPolicy, shutdown_guard};
/// fn main() {
///     let _shutdown = shutdown_guard(ShutdownPolicy::RunFinalizers);
///     // the program; at the end of `main` the guard runs the pending finalizers
/// }
/// ```
#[must_use = "the policy runs when the guard drops: bind it to a variable at the top of main"]
#[derive(Debug)]
pub struct ShutdownGuard {
    policy: ShutdownPolicy,
}

/// The guard that ends the program's managed heap: hold it at the top of `main`
/// (`let _shutdown = shutdown_guard(policy);`). When it drops, at the end of `main`,
/// [`has_shutdown_started`] becomes true (finalizers that run from then on can tell) and the
/// policy applies. Rust runs no code after `main` returns except destructors, so this is the
/// place for it; without a guard, pending finalizers are simply not run at exit (the default
/// policy).
///
/// ```
/// use janitor::gc::{ShutdownPolicy, has_shutdown_started, shutdown_guard};
/// let guard = shutdown_guard(ShutdownPolicy::RunFinalizers);
/// assert!(!has_shutdown_started());
/// drop(guard); // the end of main
/// assert!(has_shutdown_started());
/// ```
pub fn shutdown_guard(policy: ShutdownPolicy) -> ShutdownGuard {
    ShutdownGuard { policy }
}

impl Drop for ShutdownGuard {
    fn drop(&mut self) {
        SHUTDOWN_STARTED.store(true, Ordering::SeqCst);
        match self.policy {
            ShutdownPolicy::RunFinalizers => {
                // Finalizers may drop objects that queue more; each round drains what the last
                // one queued, until a collection finds nothing new.
                loop {
                    crate::gc::collect();
                    let before = lock().queued.total();
                    wait_for_pending_finalizers();
                    crate::gc::collect();
                    if lock().queued.total() == before {
                        break;
                    }
                }
            }
            ShutdownPolicy::SkipFinalizers => {
                STOPPED.store(true, Ordering::Release);
                lock().stopped = true;
                QUEUE.work.notify_all();
                QUEUE.done.notify_all();
            }
        }
    }
}

/// Whether the program's shutdown has begun (a [`ShutdownGuard`] dropped), as .NET's
/// `Environment.HasShutdownStarted`. A finalizer can test it to skip work that makes no sense
/// at exit.
///
/// ```
/// assert!(!janitor::gc::has_shutdown_started());
/// ```
pub fn has_shutdown_started() -> bool {
    SHUTDOWN_STARTED.load(Ordering::SeqCst)
}
