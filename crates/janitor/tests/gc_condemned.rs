//! A condemned object (a member of a garbage cycle whose values are being dropped) can be cloned
//! out of its cycle by a `Drop` of another member: a clone touches only the count word. Such a
//! clone keeps the memory allocated, but the value is gone, so nothing may treat the object as
//! live again: the finalizer thread's pass must not trace it, and no registration may queue it
//! for a finalizer. Each node carries a canary that its `Drop` kills; every place that reads a
//! node checks it and records a violation instead of panicking (a panic there would be caught by
//! the engine and hide the read). Run under valgrind or AddressSanitizer with
//! `JANITOR_GC_ALLOCATOR=system` to see freed memory being touched as well.

use janitor::gc::{
    Finalize, Gc, GcCell, Trace, Tracer, collect, reregister_for_finalize, suppress_finalize,
    wait_for_pending_finalizers,
};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

const ALIVE: u64 = 0xA11C_E5A1_1CE5_A11C;
const DEAD: u64 = 0xDEAD_DEAD_DEAD_DEAD;

/// Runs the test bodies one at a time: each reads global counters.
fn serially(body: impl FnOnce()) {
    static TURN: Mutex<()> = Mutex::new(());
    let _turn = TURN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    body();
}

/// A cycle member whose `Drop` hands a clone of its partner to `sink`.
struct Member {
    canary: AtomicU64,
    partner: GcCell<Option<Gc<Member>>>,
    sink: &'static (dyn Fn(Gc<Member>) + Sync),
    traced_dead: &'static AtomicUsize,
}

// SAFETY: reports the one `Gc` the member owns, in its cell, once; and nothing after its value
// was dropped (it records that it was asked instead).
unsafe impl Trace for Member {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if self.canary.load(Ordering::SeqCst) != ALIVE {
            self.traced_dead.fetch_add(1, Ordering::SeqCst);
            return;
        }
        self.partner.trace(tracer);
    }
}
// SAFETY: the conservative defaults.
unsafe impl janitor::gc::TraceMeta for Member {}

impl Drop for Member {
    fn drop(&mut self) {
        assert_eq!(
            self.canary.swap(DEAD, Ordering::SeqCst),
            ALIVE,
            "dropped twice"
        );
        if let Some(partner) = self.partner.get_mut().as_ref() {
            (self.sink)(partner.clone());
        }
    }
}

/// Builds a garbage two-member cycle whose `Drop`s send clones to `sink`.
fn dying_cycle(sink: &'static (dyn Fn(Gc<Member>) + Sync), traced_dead: &'static AtomicUsize) {
    let member = || Member {
        canary: AtomicU64::new(ALIVE),
        partner: GcCell::new(None),
        sink,
        traced_dead,
    };
    let a = Gc::new(member());
    let b = Gc::new(member());
    *a.partner.borrow_mut() = Some(b.clone());
    *b.partner.borrow_mut() = Some(a);
}

/// A finalizable object holding whatever the dying cycle sends it.
#[derive(Trace)]
#[trace(finalize)]
struct Keeper {
    kept: GcCell<Vec<Gc<Member>>>,
}

impl Finalize for Keeper {
    fn finalize(_: &Gc<Self>) {}
}

#[test]
fn the_finalizer_threads_pass_never_traces_a_member_cloned_out_of_a_dying_cycle() {
    serially(|| {
        static KEEPER: Mutex<Option<Gc<Keeper>>> = Mutex::new(None);
        static TRACED_DEAD: AtomicUsize = AtomicUsize::new(0);
        static SINK: fn(Gc<Member>) = |member| {
            let keeper = KEEPER.lock().unwrap();
            keeper.as_ref().unwrap().kept.borrow_mut().push(member);
        };
        // Any weak reference switches the pass on.
        let anchor = Gc::new(GcCell::new(None::<Gc<u8>>));
        let _weak = Gc::downgrade(&anchor);
        for _ in 0..20 {
            *KEEPER.lock().unwrap() = Some(Gc::new(Keeper {
                kept: GcCell::new(Vec::new()),
            }));
            dying_cycle(&SINK, &TRACED_DEAD);
            collect();
            assert_eq!(
                KEEPER.lock().unwrap().as_ref().unwrap().kept.borrow().len(),
                2
            );
            // The keeper is queued by its last drop; the pass over it meets the condemned clones.
            drop(KEEPER.lock().unwrap().take());
            wait_for_pending_finalizers();
        }
        collect();
        wait_for_pending_finalizers();
        assert_eq!(
            TRACED_DEAD.load(Ordering::SeqCst),
            0,
            "a member whose value was dropped was traced"
        );
    });
}

/// A finalizable cycle member, suppressed, so that its cycle is condemned rather than queued.
struct Registered {
    canary: AtomicU64,
    partner: GcCell<Option<Gc<Registered>>>,
}

// SAFETY: reports the one `Gc` the member owns, in its cell, once.
unsafe impl Trace for Registered {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        self.partner.trace(tracer);
    }
}
// SAFETY: the constants describe the value traced above.
unsafe impl janitor::gc::TraceMeta for Registered {
    const FINALIZER: Option<janitor::gc::Finalizer<Self>> = Some(janitor::gc::Finalizer::of());
}

// SAFETY: `FINALIZER` above is `Some(Finalizer::of())`.
unsafe impl janitor::gc::FinalizerRegistered for Registered {}

static FINALIZED_DEAD: AtomicUsize = AtomicUsize::new(0);
static FINALIZED_ALIVE: AtomicUsize = AtomicUsize::new(0);

impl Finalize for Registered {
    fn finalize(this: &Gc<Self>) {
        // `Deref` would panic on a condemned object; the canary says whether the value is there.
        let canary = Gc::as_ptr(this);
        // SAFETY: the test reads only the atomic canary, which lives as long as the allocation,
        // which the `Gc` keeps; a dropped value leaves `DEAD` in it.
        let canary = unsafe { &(*canary).canary };
        if canary.load(Ordering::SeqCst) == ALIVE {
            FINALIZED_ALIVE.fetch_add(1, Ordering::SeqCst);
        } else {
            FINALIZED_DEAD.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        assert_eq!(
            self.canary.swap(DEAD, Ordering::SeqCst),
            ALIVE,
            "dropped twice"
        );
        if let Some(partner) = self.partner.get_mut().as_ref() {
            // Re-registers a member of its own dying cycle, and keeps a clone of it.
            reregister_for_finalize(partner);
            STASH.lock().unwrap().push(partner.clone());
        }
    }
}

static STASH: Mutex<Vec<Gc<Registered>>> = Mutex::new(Vec::new());

#[test]
fn a_member_reregistered_by_its_cycles_drop_is_never_finalized_after_its_value_is_gone() {
    serially(|| {
        let member = || {
            let member = Gc::new(Registered {
                canary: AtomicU64::new(ALIVE),
                partner: GcCell::new(None),
            });
            suppress_finalize(&member);
            member
        };
        let (a, b) = (member(), member());
        *a.partner.borrow_mut() = Some(b.clone());
        *b.partner.borrow_mut() = Some(a);
        drop(b);
        collect();
        let stashed = std::mem::take(&mut *STASH.lock().unwrap());
        assert_eq!(
            stashed.len(),
            2,
            "each member's Drop re-registered and kept the other"
        );
        // The clones' last drops: a registered object would be queued for its finalizer.
        drop(stashed);
        collect();
        wait_for_pending_finalizers();
        assert_eq!(
            FINALIZED_DEAD.load(Ordering::SeqCst),
            0,
            "a finalizer ran on a value that was already dropped"
        );
        assert_eq!(FINALIZED_ALIVE.load(Ordering::SeqCst), 0);
    });
}
