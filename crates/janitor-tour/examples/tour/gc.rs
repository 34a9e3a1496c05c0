//! The managed heap (scene 3): a spouse cycle that leaks under `Rc` is freed by a collection;
//! acyclic garbage needs none; an induced collection versus the automatic ones.

use crate::timeline::Timeline;
use janitor::gc::{self, Gc, GcCell, Trace};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};

static GC_PEOPLE_DROPPED: AtomicUsize = AtomicUsize::new(0);
static RC_PEOPLE_DROPPED: AtomicUsize = AtomicUsize::new(0);

#[derive(Trace)]
struct Person {
    #[trace(skip)]
    name: &'static str,
    spouse: GcCell<Option<Gc<Person>>>,
}

impl Drop for Person {
    fn drop(&mut self) {
        GC_PEOPLE_DROPPED.fetch_add(1, Ordering::SeqCst);
        println!("            ({} is dropped)", self.name);
    }
}

struct RcPerson {
    spouse: RefCell<Option<Rc<RcPerson>>>,
}

impl Drop for RcPerson {
    fn drop(&mut self) {
        RC_PEOPLE_DROPPED.fetch_add(1, Ordering::SeqCst);
    }
}

#[derive(Trace)]
struct Link {
    next: GcCell<Option<Gc<Link>>>,
}

static LINKS_DROPPED_BY_RECLAIMER: AtomicUsize = AtomicUsize::new(0);
static LINKS_DROPPED_HERE: AtomicUsize = AtomicUsize::new(0);

impl Drop for Link {
    /// Counts where the drop ran: automatic collections leave their garbage to the reclaimer.
    fn drop(&mut self) {
        if std::thread::current().name() == Some("janitor-reclaimer") {
            LINKS_DROPPED_BY_RECLAIMER.fetch_add(1, Ordering::Relaxed);
        } else {
            LINKS_DROPPED_HERE.fetch_add(1, Ordering::Relaxed);
        }
    }
}

pub fn run(tour: &mut Timeline) {
    tour.scene("A spouse cycle is freed where Rc leaks; induced and automatic collections");
    tour.dotnet(
        "The tracing GC frees unreachable objects whatever points to what, cycles included. \
         GC.Collect() induces a collection; otherwise allocation budgets per generation (and \
         GC.AddMemoryPressure) trigger them.",
    );
    married_pair(tour);
    acyclic_garbage(tour);
    induced_and_automatic(tour);
}

fn married_pair(tour: &mut Timeline) {
    tour.step("Ada and Bob, married: under Rc, then under Gc");
    {
        let ada = Rc::new(RcPerson {
            spouse: RefCell::new(None),
        });
        let bob = Rc::new(RcPerson {
            spouse: RefCell::new(Some(ada.clone())),
        });
        *ada.spouse.borrow_mut() = Some(bob.clone());
    }
    tour.event(format!(
        "Rc: Ada and Bob married and went out of scope: {} of 2 dropped (the cycle leaks)",
        RC_PEOPLE_DROPPED.load(Ordering::SeqCst)
    ));
    let ada = Gc::new(Person {
        name: "Ada",
        spouse: GcCell::new(None),
    });
    let bob = Gc::new(Person {
        name: "Bob",
        spouse: GcCell::new(Some(ada.clone())),
    });
    *ada.spouse.borrow_mut() = Some(bob.clone());
    tour.event(format!(
        "Gc: Ada's spouse is {}; both are tracked, in generation {}",
        ada.spouse
            .borrow()
            .as_ref()
            .map_or("nobody", |spouse| spouse.name),
        gc::generation(&ada)
    ));
    drop((ada, bob));
    tour.event(format!(
        "Gc: both went out of scope: {} of 2 dropped so far (a cycle waits for a collection)",
        GC_PEOPLE_DROPPED.load(Ordering::SeqCst)
    ));
    let before = gc::collection_count(2);
    gc::collect();
    tour.event(format!(
        "gc::collect(): gen-2 collections {before} -> {}; {} of 2 dropped",
        gc::collection_count(2),
        GC_PEOPLE_DROPPED.load(Ordering::SeqCst)
    ));
}

fn acyclic_garbage(tour: &mut Timeline) {
    tour.step("Acyclic garbage is freed the moment its last Gc drops");
    let before = GC_PEOPLE_DROPPED.load(Ordering::SeqCst);
    let collections = gc::collection_count(0);
    let single = Gc::new(Person {
        name: "Cyd",
        spouse: GcCell::new(None),
    });
    let alias = single.clone();
    tour.event(format!("Cyd has {} Gc pointers", Gc::strong_count(&single)));
    drop(single);
    drop(alias);
    tour.event(format!(
        "both dropped: Cyd is gone at once ({} more dropped), collections meanwhile: {}",
        GC_PEOPLE_DROPPED.load(Ordering::SeqCst) - before,
        gc::collection_count(0) - collections
    ));
}

fn induced_and_automatic(tour: &mut Timeline) {
    tour.step("An induced collection versus automatic ones");
    let before = gc::stats();
    gc::collect_generation(0);
    let after = gc::stats();
    tour.event(format!(
        "gc::collect_generation(0): gen-0 collections {} -> {}, induced {} -> {}",
        before.collections[0],
        after.collections[0],
        before.induced_collections,
        after.induced_collections
    ));
    let before = after;
    for _ in 0..100_000 {
        let link = Gc::new(Link {
            next: GcCell::new(None),
        });
        *link.next.borrow_mut() = Some(link.clone()); // garbage self-loops, never collected by hand
    }
    let after = gc::stats();
    tour.event(format!(
        "100,000 garbage self-loops allocated, no collect() call: {} automatic collections ran \
         (induced still {}), freeing {} objects; {} tracked objects remain, last pause {:.1?}",
        after.allocation_collections - before.allocation_collections,
        after.induced_collections,
        after.freed_objects - before.freed_objects,
        after.tracked_objects,
        after.last_pause
    ));
    gc::collect();
    tour.event(format!(
        "their Drops: {} on the janitor-reclaimer thread (an automatic collection never runs a \
         Drop inside the allocation that triggered it), {} on this thread by gc::collect() (an \
         induced collection finishes its own garbage, after waiting for the reclaimer)",
        LINKS_DROPPED_BY_RECLAIMER.load(Ordering::Relaxed),
        LINKS_DROPPED_HERE.load(Ordering::Relaxed)
    ));
    let before = gc::stats();
    let native = 8 << 20;
    gc::add_memory_pressure(native).expect("a positive number of bytes");
    gc::remove_memory_pressure(native).expect("a positive number of bytes");
    tour.event(format!(
        "gc::add_memory_pressure(8 MiB) passes the budget: collections by memory pressure {} -> {}",
        before.pressure_collections,
        gc::stats().pressure_collections
    ));
}
