//! What hostile user code can do to the collector from safe code, and the collector's answer: a
//! `Drop`, a `Trace` or a thread doing the worst legal thing. Run the memory cases under valgrind
//! with `JANITOR_GC_ALLOCATOR=system` to see freed memory being touched.

use janitor::gc::{Gc, GcCell, Trace, collect};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Runs a test body on its own thread while no other such body runs, and waits for that thread
/// to exit. The tests read the collector's examination order and the tracked-object count, so
/// they run one at a time, and the objects a body's thread freed are unlinked (a thread unlinks
/// its last few dead objects when it exits) before the next body starts.
fn serially(body: impl FnOnce() + Send + 'static) {
    static TURN: Mutex<()> = Mutex::new(());
    let _turn = TURN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Err(panic) = std::thread::spawn(body).join() {
        std::panic::resume_unwind(panic);
    }
}

/// A cycle member whose `Drop` smuggles a clone of the other member out of the dying cycle.
#[derive(Trace)]
struct Smuggler {
    other: GcCell<Option<Gc<Smuggler>>>,
    #[trace(skip)]
    stash: &'static Mutex<Vec<Gc<Smuggler>>>,
}

impl Drop for Smuggler {
    fn drop(&mut self) {
        // Cloning touches only the count word, which a condemned object still has.
        if let Some(other) = self.other.get_mut().as_ref() {
            self.stash.lock().unwrap().push(other.clone());
        }
    }
}

fn smuggling_cycle(stash: &'static Mutex<Vec<Gc<Smuggler>>>) {
    let a = Gc::new(Smuggler {
        other: GcCell::new(None),
        stash,
    });
    let b = Gc::new(Smuggler {
        other: GcCell::new(Some(a.clone())),
        stash,
    });
    *a.other.borrow_mut() = Some(b);
}

#[test]
fn a_member_cloned_out_of_a_dying_cycle_stays_allocated_and_refuses_access() {
    serially(|| {
        static STASH: Mutex<Vec<Gc<Smuggler>>> = Mutex::new(Vec::new());
        smuggling_cycle(&STASH);
        collect();
        let smuggled: Vec<Gc<Smuggler>> = std::mem::take(&mut *STASH.lock().unwrap());
        assert_eq!(smuggled.len(), 2, "each member's Drop cloned the other");
        for gc in &smuggled {
            // Reads the count word: freed memory unless the smuggled objects stay allocated.
            assert_eq!(Gc::strong_count(gc), 1);
            let deref = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                gc.other.try_borrow().is_ok()
            }));
            assert!(deref.is_err(), "a dropped value must not be reachable");
        }
        drop(smuggled);
    });
}

/// A tracked object that only counts its drops.
#[derive(Trace)]
struct Bystander {
    edge: GcCell<Option<Gc<Bystander>>>,
    #[trace(skip)]
    drops: &'static AtomicUsize,
}

impl Drop for Bystander {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_smuggled_member_held_by_a_live_object_never_lends_its_old_index_to_another_object() {
    serially(|| {
        static STASH: Mutex<Vec<Gc<Smuggler>>> = Mutex::new(Vec::new());
        static DROPS: AtomicUsize = AtomicUsize::new(0);
        collect();
        // The cycle's members are examined first and second (the young generation comes first), and
        // their nodes keep those indices after they are condemned.
        smuggling_cycle(&STASH);
        collect();
        let smuggled = std::mem::take(&mut *STASH.lock().unwrap());
        let holder = Gc::new(GcCell::new(smuggled));
        // These take the first indices of the next collection; each is held from here only.
        let bystanders: Vec<Gc<Bystander>> = (0..16)
            .map(|_| {
                Gc::new(Bystander {
                    edge: GcCell::new(None),
                    drops: &DROPS,
                })
            })
            .collect();
        collect();
        assert_eq!(DROPS.load(Ordering::SeqCst), 0, "a live object was dropped");
        assert_eq!(holder.borrow().len(), 2);
        drop(bystanders);
        assert_eq!(DROPS.load(Ordering::SeqCst), 16);
        drop(holder);
        collect();
    });
}

/// A value whose alignment is above the size classes' 16 bytes.
#[derive(Trace)]
#[repr(align(128))]
struct OverAligned {
    #[trace(skip)]
    bytes: [u8; 3],
    edge: GcCell<Option<Gc<OverAligned>>>,
}

#[test]
fn over_aligned_values_are_aligned_whether_tracked_or_not() {
    serially(|| {
        #[repr(align(64))]
        struct Plain(u8);
        // SAFETY: holds no `Gc`.
        unsafe impl Trace for Plain {
            fn trace(&self, _: &mut janitor::gc::Tracer<'_>) {}
        }
        // SAFETY: the constants describe the value traced above.
        unsafe impl janitor::gc::TraceMeta for Plain {
            const HOLDS_GC: bool = false;
            const MUTABLE_EDGES: bool = false;
        }
        let plains: Vec<Gc<Plain>> = (0..64).map(|index| Gc::new(Plain(index))).collect();
        for (index, plain) in plains.iter().enumerate() {
            assert_eq!(Gc::as_ptr(plain) as usize % 64, 0);
            assert_eq!(plain.0 as usize, index);
        }
        let tracked: Vec<Gc<OverAligned>> = (0..64)
            .map(|index| {
                Gc::new(OverAligned {
                    bytes: [index; 3],
                    edge: GcCell::new(None),
                })
            })
            .collect();
        for (index, object) in tracked.iter().enumerate() {
            assert_eq!(Gc::as_ptr(object) as usize % 128, 0);
            assert_eq!(object.bytes, [index as u8; 3]);
            // A ring through every object, for the collector to free.
            *object.edge.borrow_mut() = Some(tracked[(index + 1) % tracked.len()].clone());
        }
        drop(tracked);
        collect();
    });
}

#[test]
fn zero_sized_large_and_slice_values_round_trip_and_drop_on_other_threads() {
    serially(|| {
        static DROPS: AtomicUsize = AtomicUsize::new(0);
        struct Counted;
        impl Drop for Counted {
            fn drop(&mut self) {
                DROPS.fetch_add(1, Ordering::SeqCst);
            }
        }
        // SAFETY: holds no `Gc`.
        unsafe impl Trace for Counted {
            fn trace(&self, _: &mut janitor::gc::Tracer<'_>) {}
        }
        // SAFETY: the constants describe the value traced above.
        unsafe impl janitor::gc::TraceMeta for Counted {
            const HOLDS_GC: bool = false;
            const MUTABLE_EDGES: bool = false;
        }
        let units: Vec<Gc<Counted>> = (0..100).map(|_| Gc::new(Counted)).collect();
        let large = Gc::new([7_u64; 200]);
        let slice: Gc<[Counted]> =
            janitor::coerce_gc!(Gc::new([Counted, Counted, Counted]) => [Counted]);
        assert_eq!(slice.len(), 3);
        let copy = large.clone();
        std::thread::spawn(move || {
            assert!(copy.iter().all(|&word| word == 7));
            drop((units, copy, slice));
        })
        .join()
        .unwrap();
        assert_eq!(
            DROPS.load(Ordering::SeqCst),
            103,
            "every unit and slice element dropped once"
        );
        assert_eq!(Gc::strong_count(&large), 1);
    });
}

/// A cycle member whose `Drop` runs a whole collection, as a finalizer-minded user might.
#[derive(Trace)]
struct Collecting {
    other: GcCell<Option<Gc<Collecting>>>,
    #[trace(skip)]
    drops: &'static AtomicUsize,
}

impl Drop for Collecting {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
        collect();
    }
}

#[test]
fn a_drop_that_collects_during_a_collection_frees_each_cycle_once_and_spares_the_living() {
    serially(|| {
        static DROPS: AtomicUsize = AtomicUsize::new(0);
        let pair = || {
            let a = Gc::new(Collecting {
                other: GcCell::new(None),
                drops: &DROPS,
            });
            let b = Gc::new(Collecting {
                other: GcCell::new(Some(a.clone())),
                drops: &DROPS,
            });
            *a.other.borrow_mut() = Some(b.clone());
            (a, b)
        };
        let living = pair();
        drop(pair());
        drop(pair());
        collect();
        assert_eq!(
            DROPS.load(Ordering::SeqCst),
            4,
            "both garbage cycles, nothing else"
        );
        // The survivors of the outer collection were pinned while the nested ones ran.
        assert!(living.0.other.borrow().is_some() && living.1.other.borrow().is_some());
        drop(living);
        collect();
        assert_eq!(DROPS.load(Ordering::SeqCst), 6);
    });
}

#[test]
fn tracked_objects_freed_by_a_thread_that_exits_are_unlinked() {
    serially(|| {
        collect();
        let before: usize = janitor::gc::memory_info()
            .generations
            .iter()
            .map(|generation| generation.objects)
            .sum();
        std::thread::spawn(|| {
            // Fewer than a retirement batch: they wait in the thread's batch until it exits.
            for _ in 0..10 {
                drop(Gc::new(GcCell::new(None::<Gc<u8>>)));
            }
            let kept: Vec<_> = (0..10)
                .map(|_| Gc::new(GcCell::new(Some(Gc::new(1_u8)))))
                .collect();
            drop(kept);
        })
        .join()
        .unwrap();
        let after: usize = janitor::gc::memory_info()
            .generations
            .iter()
            .map(|generation| generation.objects)
            .sum();
        assert_eq!(after, before);
    });
}

/// Panics when dropped.
struct Explosive;

impl Drop for Explosive {
    fn drop(&mut self) {
        panic!("Explosive dropped");
    }
}

// SAFETY: holds no `Gc`.
unsafe impl Trace for Explosive {
    fn trace(&self, _: &mut janitor::gc::Tracer<'_>) {}
}
// SAFETY: the constants describe the value traced above.
unsafe impl janitor::gc::TraceMeta for Explosive {
    const HOLDS_GC: bool = false;
    const MUTABLE_EDGES: bool = false;
}

#[test]
fn a_panicking_drop_of_a_nested_object_does_not_stop_later_frees_on_its_thread() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    struct Counted;
    impl Drop for Counted {
        fn drop(&mut self) {
            DROPS.fetch_add(1, Ordering::SeqCst);
        }
    }
    // SAFETY: holds no `Gc`.
    unsafe impl Trace for Counted {
        fn trace(&self, _: &mut janitor::gc::Tracer<'_>) {}
    }
    // SAFETY: the constants describe the value traced above.
    unsafe impl janitor::gc::TraceMeta for Counted {
        const HOLDS_GC: bool = false;
        const MUTABLE_EDGES: bool = false;
    }
    std::thread::spawn(|| {
        // The outer object's drop frees the inner one, which is queued, then panics.
        let outer = Gc::new((Gc::new(Explosive), Gc::new(Counted)));
        let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(outer)));
        assert!(dropped.is_err());
        assert_eq!(
            DROPS.load(Ordering::SeqCst),
            1,
            "the sibling was dropped too"
        );
        drop(Gc::new(Counted));
        assert_eq!(
            DROPS.load(Ordering::SeqCst),
            2,
            "a later free on the thread"
        );
    })
    .join()
    .unwrap();
}

/// A cycle whose `Drop` makes the next garbage cycle of the chain and collects it.
#[derive(Trace)]
struct Relay {
    me: GcCell<Option<Gc<Relay>>>,
    #[trace(skip)]
    remaining: usize,
    #[trace(skip)]
    drops: &'static AtomicUsize,
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
        if self.remaining > 0 {
            relay_cycle(self.remaining - 1, self.drops);
            collect();
        }
    }
}

fn relay_cycle(remaining: usize, drops: &'static AtomicUsize) {
    let relay = Gc::new(Relay {
        me: GcCell::new(None),
        remaining,
        drops,
    });
    *relay.me.borrow_mut() = Some(relay.clone());
}

#[test]
fn a_chain_of_drops_that_each_collect_the_next_cycle_runs_in_bounded_stack() {
    // Each `Drop` collects the cycle it just made, whose `Drop` collects the next. Dropped inside
    // one another, 5,000 of them overflowed the stack; the garbage a `Drop`'s collection finds
    // goes to the reclaimer instead, and each `collect` here waits for what was handed to it
    // before, so every call moves the chain on.
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    const CHAIN: usize = 5_000;
    serially(|| {
        relay_cycle(CHAIN - 1, &DROPS);
        let mut calls = 0;
        while DROPS.load(Ordering::SeqCst) < CHAIN && calls <= CHAIN {
            collect();
            calls += 1;
        }
        assert_eq!(DROPS.load(Ordering::SeqCst), CHAIN);
    });
}
