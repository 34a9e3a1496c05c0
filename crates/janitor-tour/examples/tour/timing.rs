//! Finalization timing (scenes 1 and 2): when a finalizer runs, how janitor differs from .NET,
//! and how `collect` + `wait_for_pending_finalizers` makes it certain.

use crate::timeline::Timeline;
use janitor::gc::{self, Finalize, Gc, GcCell, Trace, wait_for_pending_finalizers};
use std::sync::Mutex;

/// The finalizers that ran, in order.
static FINALIZED: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn take_finalized() -> Vec<String> {
    let mut ran = std::mem::take(&mut *FINALIZED.lock().unwrap());
    ran.sort();
    ran
}

#[derive(Trace)]
#[trace(finalize)]
struct Person {
    #[trace(skip)]
    name: &'static str,
    spouse: GcCell<Option<Gc<Person>>>,
}

impl Person {
    fn new(name: &'static str) -> Gc<Person> {
        Gc::new(Person {
            name,
            spouse: GcCell::new(None),
        })
    }

    fn marry(one: &Gc<Person>, other: &Gc<Person>) {
        *one.spouse.borrow_mut() = Some(other.clone());
        *other.spouse.borrow_mut() = Some(one.clone());
    }
}

impl Finalize for Person {
    fn finalize(this: &Gc<Self>) {
        FINALIZED
            .lock()
            .unwrap()
            .push(format!("~Person() for {}", this.name));
    }
}

#[derive(Trace)]
struct Garbage {
    next: GcCell<Option<Gc<Garbage>>>,
}

pub fn run(tour: &mut Timeline) {
    finalization_timing(tour);
    collect_and_wait(tour);
}

fn finalization_timing(tour: &mut Timeline) {
    tour.scene("Finalization timing: when does a Person's finalizer run?");
    tour.dotnet(
        "Only at some later collection that finds the object dead, on the finalizer thread: \
         maybe soon, maybe never before the process exits. Acyclic or not makes no difference.",
    );
    let collections = gc::collection_count(0);
    drop(Person::new("Dee"));
    wait_for_pending_finalizers();
    tour.event(format!(
        "acyclic Dee dropped: the finalizer thread already ran {:?}; collections meanwhile: {}",
        take_finalized(),
        gc::collection_count(0) - collections
    ));
    let (eve, fay) = (Person::new("Eve"), Person::new("Fay"));
    Person::marry(&eve, &fay);
    drop((eve, fay));
    wait_for_pending_finalizers();
    tour.event(format!(
        "the married Eve and Fay dropped: finalized so far {:?} (a cycle waits for a collection)",
        take_finalized()
    ));
    let automatic = gc::stats().allocation_collections;
    let mut allocated = 0;
    while gc::stats().allocation_collections == automatic {
        let garbage = Gc::new(Garbage {
            next: GcCell::new(None),
        });
        *garbage.next.borrow_mut() = Some(garbage.clone());
        allocated += 1;
    }
    wait_for_pending_finalizers();
    tour.event(format!(
        "{allocated} allocations later an automatic collection found the cycle: finalized {:?}",
        take_finalized()
    ));
}

fn collect_and_wait(tour: &mut Timeline) {
    tour.scene("Collect + wait for pending finalizers makes it certain");
    tour.dotnet(
        "GC.Collect(); GC.WaitForPendingFinalizers(); finds every dead object, then blocks until \
         the finalizer thread has run each finalizer that collection queued.",
    );
    let (gil, hal) = (Person::new("Gil"), Person::new("Hal"));
    Person::marry(&gil, &hal);
    drop((gil, hal));
    gc::collect();
    wait_for_pending_finalizers();
    tour.event(format!(
        "Gil and Hal married and dropped; gc::collect() + wait_for_pending_finalizers(): {:?}",
        take_finalized()
    ));
    tour.event(format!(
        "pending finalizers now: {}",
        gc::memory_info().pending_finalizers
    ));
    // The objects the finalizers kept are freed by the next collection.
    gc::collect();
}
