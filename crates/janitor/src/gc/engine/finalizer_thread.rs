//! The finalizer thread: it takes batches from the f-reachable queue (`side/queue.rs`), runs
//! their finalizers without any lock held, and gives each entry's count back; and the shutdown
//! policy that decides whether pending finalizers run at exit.
//!
//! Invariant owned here: before any finalizer of a batch runs, the finalizable objects that only
//! the batch reaches join it (`confined.rs`), so every normal finalizer of what one collection
//! found dead runs before any critical one. No lock is held while a finalizer runs, so
//! finalizers may allocate, collect, drop objects (which queues more) and wait (which returns at
//! once on this thread).

use crate::gc::core::heap::{OLDEST, Trigger};
use crate::gc::core::object::Header;
use crate::gc::engine::{confined, driver, reclaim};
use crate::gc::side::panic::report_panic;
use crate::gc::side::queue::{self, Entry};
use crate::sync::BackgroundThread;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

static FINALIZER_THREAD: BackgroundThread = BackgroundThread::new("janitor-finalizer");
static SHUTDOWN_STARTED: AtomicBool = AtomicBool::new(false);

/// Starts the finalizer thread if it is not running: called when a finalizable object is
/// allocated, so the thread exists before anything can be queued.
#[inline]
pub(crate) fn ensure_started() {
    FINALIZER_THREAD.ensure_started(run);
}

/// The finalizer thread's loop: take every normal entry (or, if there is none, every critical
/// one), run them without the lock, count them finished. Taking a batch per lock keeps the cost
/// per object low; taking the critical list only when the normal one is empty keeps the order (`queue::take_batch`).
fn run() {
    let mut batch = Vec::new();
    let mut last_look: Option<Instant> = None;
    loop {
        let Some(critical) = queue::take_batch(&mut batch, &mut last_look) else {
            return;
        };
        let taken: usize = batch.iter().map(Vec::len).sum();
        let joined = join_what_only_the_batch_reaches(&mut batch, critical);
        tracing::debug!(
            finalizers = taken + joined,
            "janitor: running a batch of finalizers"
        );
        'batch: for entries in batch.drain(..) {
            for (index, entry) in entries.iter().enumerate() {
                // Another core wrote these objects: the first touch of each misses the cache,
                // so it is fetched a few entries ahead.
                if let Some(ahead) = entries.get(index + PREFETCH_DISTANCE) {
                    prefetch(ahead.0);
                }
                finalize(entry.0);
                if queue::is_stopped() {
                    break 'batch;
                }
            }
        }
        queue::finish_batch(critical, taken as u64, joined as u64);
    }
}

/// Before any finalizer of a batch runs: clears the short weak references of what only the
/// batch reaches and adds to the batch the finalizable objects that only the batch reaches
/// (`confined.rs`), normal ones before its critical entries and critical ones after its normal
/// entries; returns how many joined. They finish with the batch, so a wait for the batch waits
/// for them; they are counted apart from both lists. Why, and what the order and the count keep:
/// `docs/gc-soundness.md#the-confined-pass`.
fn join_what_only_the_batch_reaches(batch: &mut Vec<Vec<Entry>>, critical: bool) -> usize {
    // SAFETY: every entry holds the queue's count until it is finalized, after this call.
    let found = unsafe { confined::examine_below(batch.iter().flatten().map(|e| e.0)) };
    if found.is_empty() {
        return 0;
    }
    let joined = found.len();
    let (found_critical, found_normal): (Vec<Entry>, Vec<Entry>) = found
        .into_iter()
        .map(Entry)
        // SAFETY: each holds the count the pass took for the queue.
        .partition(|entry| unsafe { entry.0.as_ref() }.vtable().finalizer_is_critical());
    queue::count_joined(joined as u64);
    if critical {
        batch.insert(0, found_normal);
    } else {
        batch.push(found_normal);
    }
    batch.push(found_critical);
    joined
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
    let vtable = unsafe { header.as_ref() }.vtable();
    tracing::trace!(r#type = vtable.type_name(), "janitor: running a finalizer");
    // SAFETY: the entry's count is handed over; queued objects have a finalizer.
    let outcome = unsafe { vtable.run_finalizer(header) };
    if let Err(payload) = outcome {
        report_panic(vtable.type_name(), payload);
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
    if is_finalizer_thread() || driver::is_collecting() {
        return;
    }
    // An object whose last holder dropped it while an automatic collection had it pinned dies
    // when the reclaimer gives that pin back: wait for what collections handed over before the
    // call, so that such a death is queued (in the reclaimer's buffer) before the buffers are
    // taken.
    if let Some(handed_over) = reclaim::unfinished() {
        reclaim::wait_until_finished(handed_over);
    }
    queue::wait_for_entries_queued_before();
}

fn is_finalizer_thread() -> bool {
    FINALIZER_THREAD.is_current()
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
                    driver::run(OLDEST, Trigger::Induced);
                    let before = queue::queued_total();
                    wait_for_pending_finalizers();
                    driver::run(OLDEST, Trigger::Induced);
                    if queue::queued_total() == before {
                        break;
                    }
                }
            }
            ShutdownPolicy::SkipFinalizers => {
                queue::stop();
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
