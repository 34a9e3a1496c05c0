//! The one place the crate takes its synchronization primitives from.
//!
//! Under `--cfg loom` these are loom's model-checked versions, so every lock-free state machine
//! in the crate is explored in every interleaving by the `loom` tests; otherwise they are std's.
//! Code that takes part in a loom model imports its atomics, locks, thread-locals and yields from
//! here, never from `std`.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering, fence,
};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering, fence,
};

#[cfg(loom)]
pub(crate) use loom::sync::{Mutex, MutexGuard};
#[cfg(not(loom))]
pub(crate) use std::sync::{Mutex, MutexGuard};

/// A mutex whose holder can hand it straight to the thread that has waited longest
/// ([`unlock_fair`]): for a lock held for long stretches by one thread that takes it again soon
/// after, where std's mutex lets that thread barge in ahead of a waiter woken but not yet
/// running, again and again. `parking_lot`'s mutex; it does not poison (a panic under it leaves
/// what it guards to its owner's invariant).
#[cfg(not(loom))]
pub(crate) use parking_lot::{Mutex as FairMutex, MutexGuard as FairMutexGuard};

/// Unlocks, handing the lock to the longest waiter if there is one (its next `lock` by this
/// thread then queues behind that waiter).
#[cfg(not(loom))]
pub(crate) fn unlock_fair<T>(guard: FairMutexGuard<'_, T>) {
    FairMutexGuard::unlock_fair(guard);
}

/// Under loom, loom's mutex (poisoning ignored, as `parking_lot` has none); fairness is a
/// scheduling property loom does not model: it explores every order of waiters anyway.
#[cfg(loom)]
pub(crate) struct FairMutex<T>(loom::sync::Mutex<T>);

#[cfg(loom)]
pub(crate) type FairMutexGuard<'a, T> = loom::sync::MutexGuard<'a, T>;

#[cfg(loom)]
impl<T> FairMutex<T> {
    pub(crate) fn new(value: T) -> Self {
        Self(loom::sync::Mutex::new(value))
    }

    pub(crate) fn lock(&self) -> FairMutexGuard<'_, T> {
        self.0.lock().ignore_poison()
    }

    pub(crate) fn try_lock(&self) -> Option<FairMutexGuard<'_, T>> {
        match self.0.try_lock() {
            Ok(guard) => Some(guard),
            Err(std::sync::TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }
}

/// Under loom a plain unlock: see [`FairMutex`].
#[cfg(loom)]
pub(crate) fn unlock_fair<T>(guard: FairMutexGuard<'_, T>) {
    drop(guard);
}

/// Takes a lock (or a condition variable's wait) whose poisoning does not matter, as it is.
///
/// Every lock of this crate that uses it guards state that a panic cannot leave half-updated: no
/// user code runs under it, or the state changes in one step. A poisoned lock then only says that
/// some holder panicked after its update, and refusing the lock for ever would turn that panic
/// into a failure of every later operation. Each site says which case it is.
pub(crate) trait IgnorePoison {
    /// What the lock gives: a guard, or a guard with a timeout result.
    type Taken;

    /// The guard, poisoned or not.
    fn ignore_poison(self) -> Self::Taken;
}

impl<Taken> IgnorePoison for std::sync::LockResult<Taken> {
    type Taken = Taken;

    #[inline]
    fn ignore_poison(self) -> Taken {
        self.unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A background thread started by the first call that needs it, and known by its id from then
/// on: the heap's finalizer thread and its reclaimer.
///
/// The id is recorded inside the one-time start, so every caller of [`ensure_started`] returns
/// only once [`is_current`] can recognize the thread; a thread's work arrives only through calls
/// made after that, so the thread never runs work before it can recognize itself.
///
/// [`ensure_started`]: BackgroundThread::ensure_started
/// [`is_current`]: BackgroundThread::is_current
pub(crate) struct BackgroundThread {
    name: &'static str,
    started: std::sync::Once,
    id: std::sync::OnceLock<std::thread::ThreadId>,
}

impl BackgroundThread {
    pub(crate) const fn new(name: &'static str) -> Self {
        Self {
            name,
            started: std::sync::Once::new(),
            id: std::sync::OnceLock::new(),
        }
    }

    /// Starts the thread running `body` unless it was started already.
    ///
    /// # Panics
    /// If the system cannot start a thread: the heap cannot keep its promises without it.
    #[inline]
    pub(crate) fn ensure_started(&self, body: fn()) {
        self.started.call_once(|| {
            let thread = std::thread::Builder::new()
                .name(self.name.into())
                .spawn(body)
                .unwrap_or_else(|error| {
                    panic!("janitor: could not start the {} thread: {error}", self.name)
                });
            let _ = self.id.set(thread.thread().id());
        });
    }

    /// Whether the calling thread is this one.
    pub(crate) fn is_current(&self) -> bool {
        self.id.get() == Some(&std::thread::current().id())
    }
}

/// A count of events, and a wait for the next one: for a thread that waits until something happens
/// on another (an examination ends, a collection gives its cells back). A waiter reads the count
/// ([`current`](EventCount::current)) before it looks at the state the event changes, then waits
/// past it: an event between the two has raised the count, and the wait returns at once. The count
/// is bumped under the mutex after the state changed, so a waiter that sees the new count sees the
/// state too.
///
/// std's mutex and condition variable, under loom too: loom's cannot be in a static, and no loom
/// model waits on one. Nothing runs under the lock but the count, so a poisoned lock is taken as
/// is.
pub(crate) struct EventCount {
    count: std::sync::Mutex<u64>,
    signal: std::sync::Condvar,
}

impl EventCount {
    pub(crate) const fn new() -> Self {
        Self {
            count: std::sync::Mutex::new(0),
            signal: std::sync::Condvar::new(),
        }
    }

    /// Counts an event and wakes every waiter.
    pub(crate) fn signal(&self) {
        *self.count.lock().ignore_poison() += 1;
        self.signal.notify_all();
    }

    /// The events so far.
    pub(crate) fn current(&self) -> u64 {
        *self.count.lock().ignore_poison()
    }

    /// Waits until the count passes `seen`, or `deadline` if there is one.
    pub(crate) fn wait_past(&self, seen: u64, deadline: Option<std::time::Instant>) {
        let mut count = self.count.lock().ignore_poison();
        while *count == seen {
            count = match deadline {
                None => self.signal.wait(count).ignore_poison(),
                Some(deadline) => {
                    let now = std::time::Instant::now();
                    if now >= deadline {
                        return;
                    }
                    self.signal
                        .wait_timeout(count, deadline - now)
                        .ignore_poison()
                        .0
                }
            };
        }
    }
}

/// A cell whose reads and writes loom checks for data races (`with` and `with_mut` take the
/// access as a closure, as loom's does); outside loom, `std`'s `UnsafeCell` with the same two
/// methods, at no cost. For plain memory handed between threads by a lock-free protocol, so that
/// the protocol's model fails if an ordering it relies on is too weak.
#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;

/// See the `loom` version above.
#[cfg(not(loom))]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    pub(crate) fn new(value: T) -> Self {
        Self(std::cell::UnsafeCell::new(value))
    }

    pub(crate) fn with<R>(&self, read: impl FnOnce(*const T) -> R) -> R {
        read(self.0.get())
    }

    pub(crate) fn with_mut<R>(&self, write: impl FnOnce(*mut T) -> R) -> R {
        write(self.0.get())
    }
}

#[cfg(loom)]
pub(crate) use loom::thread::yield_now;
#[cfg(not(loom))]
pub(crate) use std::thread::yield_now;

#[cfg(loom)]
pub(crate) use loom::thread_local;
#[cfg(not(loom))]
pub(crate) use std::thread_local;

// The membarrier(2) pair exists on Linux and Android. Everywhere else, and on Linux when built
// with `--cfg janitor_fence_fallback` (so that CI runs the finalization tests on the path other
// platforms take), both sides are `SeqCst` fences: correct on every platform, only slower on the
// light side, which a dying object's last count decrement takes.

/// The cheap side of an asymmetric fence: with [`heavy_fence`] on the other side, it orders like
/// a `SeqCst` fence on both (a store before either, then a load after it: at least one of the two
/// loads sees the other side's store). Where the process could register for membarrier(2) it is
/// only a compiler fence, and the heavy side makes every running thread of the process execute a
/// full barrier; elsewhere (another platform, an old kernel, the fallback build, or before the
/// heavy side's first call) it is a real `SeqCst` fence. A thread that reads "registered" here
/// pairs with a heavy side that uses membarrier, since the flag is set only after the
/// registration succeeded.
#[cfg(all(
    not(loom),
    not(janitor_fence_fallback),
    any(target_os = "linux", target_os = "android")
))]
#[inline]
pub(crate) fn light_fence() {
    if asymmetric::registered() {
        std::sync::atomic::compiler_fence(Ordering::SeqCst);
    } else {
        fence(Ordering::SeqCst);
    }
}

/// The expensive side of the asymmetric fence (see [`light_fence`]): a membarrier(2) system
/// call, or a `SeqCst` fence where it is not available.
#[cfg(all(
    not(loom),
    not(janitor_fence_fallback),
    any(target_os = "linux", target_os = "android")
))]
pub(crate) fn heavy_fence() {
    if asymmetric::register() {
        // Light sides rely on it from the moment the registration succeeded, with only a
        // compiler fence: a barrier that fails now (a sandbox filtering the command, say) leaves
        // no way to order them, and going on could lose a finalization. A panic would end only
        // the calling thread (the finalizer thread, and every later wait would hang), so the
        // process stops with the reason.
        if let Err(error) = asymmetric::barrier() {
            eprintln!(
                "janitor: membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) failed ({error}) after the \
                 process registered for it; the finalizer handshake cannot be ordered, aborting \
                 (allow the membarrier system call in the sandbox's filter)"
            );
            std::process::abort();
        }
    } else {
        fence(Ordering::SeqCst);
    }
}

/// The cheap side of the fence pair where there is no membarrier (under loom, which models none,
/// on other platforms, and in the fallback build): a `SeqCst` fence, which with the heavy side's
/// orders a store before either and a load after it.
#[cfg(any(
    loom,
    janitor_fence_fallback,
    not(any(target_os = "linux", target_os = "android"))
))]
#[inline]
pub(crate) fn light_fence() {
    fence(Ordering::SeqCst);
}

/// The heavy side where there is no membarrier: the same `SeqCst` fence (see [`light_fence`]).
#[cfg(any(
    loom,
    janitor_fence_fallback,
    not(any(target_os = "linux", target_os = "android"))
))]
pub(crate) fn heavy_fence() {
    fence(Ordering::SeqCst);
}

#[cfg(all(
    not(loom),
    not(janitor_fence_fallback),
    any(target_os = "linux", target_os = "android")
))]
mod asymmetric {
    use rustix::thread::{MembarrierCommand, membarrier};
    use std::sync::OnceLock;

    static REGISTERED: OnceLock<bool> = OnceLock::new();

    /// Whether the process is registered for expedited private membarriers.
    #[inline]
    pub(super) fn registered() -> bool {
        REGISTERED.get().copied().unwrap_or(false)
    }

    /// Registers the process once; returns whether it is registered.
    pub(super) fn register() -> bool {
        *REGISTERED.get_or_init(|| membarrier(MembarrierCommand::RegisterPrivateExpedited).is_ok())
    }

    /// A full barrier on every running thread of the process.
    pub(super) fn barrier() -> rustix::io::Result<()> {
        membarrier(MembarrierCommand::PrivateExpedited)
    }
}

/// The fence pair's one promise, on whichever path this build takes (membarrier on Linux, the
/// `SeqCst` pair with `--cfg janitor_fence_fallback` or on other platforms): two threads that
/// each store, fence and then load the other's location never both miss the other's store.
/// Without the fences (or with only the light side's compiler fence and no barrier) the
/// store-buffer outcome, both loads zero, showed up 14 times in 20,000 rounds on x86.
#[cfg(all(test, not(loom)))]
mod tests {
    use super::{AtomicUsize, Ordering, heavy_fence, light_fence};

    /// Both sides start a round at once: each announces its arrival and spins until the other
    /// has arrived (a sleeping barrier would wake them microseconds apart, and the race needs
    /// them within nanoseconds).
    fn meet(arrivals: &AtomicUsize, round: usize) {
        arrivals.fetch_add(1, Ordering::AcqRel);
        while arrivals.load(Ordering::Acquire) < 2 * round {
            std::hint::spin_loop();
        }
    }

    #[test]
    fn the_fence_pair_never_lets_both_sides_miss_the_other_store() {
        const ROUNDS: usize = 10_000;
        let light_store = AtomicUsize::new(0);
        let heavy_store = AtomicUsize::new(0);
        let arrivals = AtomicUsize::new(0);
        let (light_saw, heavy_saw) = std::thread::scope(|scope| {
            let light = scope.spawn(|| {
                let mut saw = Vec::with_capacity(ROUNDS);
                for round in 1..=ROUNDS {
                    meet(&arrivals, round);
                    light_store.store(round, Ordering::Relaxed);
                    light_fence();
                    saw.push(heavy_store.load(Ordering::Relaxed) == round);
                }
                saw
            });
            let mut saw = Vec::with_capacity(ROUNDS);
            for round in 1..=ROUNDS {
                meet(&arrivals, round);
                heavy_store.store(round, Ordering::Relaxed);
                heavy_fence();
                saw.push(light_store.load(Ordering::Relaxed) == round);
            }
            (light.join().expect("the light side ran"), saw)
        });
        let both_missed = (0..ROUNDS)
            .filter(|&round| !light_saw[round] && !heavy_saw[round])
            .count();
        assert_eq!(
            both_missed, 0,
            "rounds in which neither side saw the other's store"
        );
    }
}
