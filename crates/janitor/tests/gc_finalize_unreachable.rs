//! Every finalizable object that is unreachable when `collect()` is called has run its finalizer
//! when `wait_for_pending_finalizers()` returns after it, as in .NET, where one collection queues
//! every registered object it finds unreachable: also one that only another pending object holds
//! (a field of a finalizable object, a member of a garbage cycle), however slow the finalizers.
//! Among them, every normal finalizer runs before any critical one.

use janitor::gc::{Finalize, Gc, GcCell, Trace, collect, wait_for_pending_finalizers};
use std::sync::{Arc, Mutex};

/// The finalizers that ran, by name, in order; one journal per test.
#[derive(Clone, Default)]
struct Journal(Arc<Mutex<Vec<&'static str>>>);

impl Journal {
    fn write(&self, name: &'static str) {
        self.0.lock().unwrap().push(name);
    }
    fn entries(&self) -> Vec<&'static str> {
        self.0.lock().unwrap().clone()
    }
}

/// An acyclic finalizable object that may hold another, and whose finalizer may be slow.
#[derive(Trace)]
#[trace(finalize)]
struct Leaf {
    #[trace(skip)]
    name: &'static str,
    #[trace(skip)]
    journal: Journal,
    inner: Option<Gc<Leaf>>,
    #[trace(skip)]
    slow: bool,
}

impl Finalize for Leaf {
    fn finalize(this: &Gc<Self>) {
        if this.slow {
            // A finalizer that takes its time: nothing may count on it being quick.
            std::thread::yield_now();
            let mut spins = 0_u64;
            for step in 0..2_000_000_u64 {
                spins = std::hint::black_box(spins.wrapping_add(step));
            }
        }
        this.journal.write(this.name);
    }
}

/// The same, with a critical finalizer.
#[derive(Trace)]
#[trace(finalize)]
struct CriticalLeaf {
    #[trace(skip)]
    name: &'static str,
    #[trace(skip)]
    journal: Journal,
    inner: Option<Gc<Leaf>>,
}

impl Finalize for CriticalLeaf {
    const CRITICAL: bool = true;
    fn finalize(this: &Gc<Self>) {
        this.journal.write(this.name);
    }
}

fn leaf(name: &'static str, journal: &Journal, inner: Option<Gc<Leaf>>, slow: bool) -> Gc<Leaf> {
    Gc::new(Leaf {
        name,
        journal: journal.clone(),
        inner,
        slow,
    })
}

/// A finalizable member of a cycle.
#[derive(Trace)]
#[trace(finalize)]
struct Member {
    #[trace(skip)]
    name: &'static str,
    #[trace(skip)]
    journal: Journal,
    next: GcCell<Option<Gc<Member>>>,
    held: Option<Gc<Leaf>>,
}

impl Finalize for Member {
    fn finalize(this: &Gc<Self>) {
        this.journal.write(this.name);
    }
}

fn sorted(mut names: Vec<&'static str>) -> Vec<&'static str> {
    names.sort_unstable();
    names
}

#[test]
fn an_object_that_only_a_pending_object_holds_is_finalized_by_the_same_wait() {
    let journal = Journal::default();
    let outer = leaf(
        "outer",
        &journal,
        Some(leaf("inner", &journal, None, true)),
        true,
    );
    drop(outer);
    collect();
    wait_for_pending_finalizers();
    assert_eq!(sorted(journal.entries()), ["inner", "outer"]);
}

#[test]
fn a_chain_of_finalizable_objects_is_finalized_whole_by_one_wait() {
    let journal = Journal::default();
    let mut chain = leaf("0", &journal, None, false);
    for name in ["1", "2", "3", "4", "5", "6", "7"] {
        chain = leaf(name, &journal, Some(chain), false);
    }
    drop(chain);
    collect();
    wait_for_pending_finalizers();
    assert_eq!(journal.entries().len(), 8, "ran: {:?}", journal.entries());
}

#[test]
fn objects_that_only_a_garbage_cycle_reaches_are_finalized_with_the_cycle() {
    let journal = Journal::default();
    // D holds E; the cycle holds D. None of D, E is tracked: they cannot be on a cycle.
    let d = leaf("D", &journal, Some(leaf("E", &journal, None, true)), false);
    let member = |name, held| {
        Gc::new(Member {
            name,
            journal: journal.clone(),
            next: GcCell::new(None),
            held,
        })
    };
    let a = member("A", Some(d));
    let b = member("B", None);
    *a.next.borrow_mut() = Some(b.clone());
    *b.next.borrow_mut() = Some(a);
    drop(b);
    collect();
    wait_for_pending_finalizers();
    assert_eq!(sorted(journal.entries()), ["A", "B", "D", "E"]);
}

#[test]
fn a_normal_finalizer_that_only_a_critical_object_reaches_runs_before_it() {
    let journal = Journal::default();
    let handle = Gc::new(CriticalLeaf {
        name: "critical",
        journal: journal.clone(),
        inner: Some(leaf("normal", &journal, None, false)),
    });
    drop(handle);
    collect();
    wait_for_pending_finalizers();
    assert_eq!(journal.entries(), ["normal", "critical"]);
}
