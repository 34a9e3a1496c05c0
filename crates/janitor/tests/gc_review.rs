//! Adversarial cases from the review of `janitor::gc`: what a `Drop`, a `Trace` or a thread can do
//! to the collector from safe code, and the collector's answer. Run the memory cases under
//! valgrind with `JANITOR_GC_ALLOCATOR=system` to see freed memory being touched.

use janitor::gc::{Gc, GcCell, Trace, collect};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

/// The tests of this file read the collector's examination order, so they run one at a time.
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    TURN.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
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
    let _turn = one_at_a_time();
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
    let _turn = one_at_a_time();
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
}
