//! The thread-local heap (scene 12): an interpreter's closure cycle whose native is an
//! `Rc<dyn Fn>` (not `Send`, so the shared heap refuses it) is freed by the thread's own
//! collection, and a finalizer runs on the thread that owns the heap.

use crate::timeline::Timeline;
use janitor::gc::Trace;
use janitor::gc::unsync::{self, Finalize, Gc, GcCell};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

thread_local! {
    static DROPPED: RefCell<Vec<&'static str>> = const { RefCell::new(Vec::new()) };
    static FINALIZED_ON: Cell<Option<std::thread::ThreadId>> = const { Cell::new(None) };
}

/// An interpreter's scope: the closures defined in it.
#[derive(Trace)]
struct Scope {
    closures: GcCell<Vec<Gc<Closure>>>,
}

/// A closure: the scope it captured, and the native function it calls.
#[derive(Trace)]
struct Closure {
    #[trace(skip)]
    name: &'static str,
    scope: Gc<Scope>,
    native: Rc<dyn Fn(i64) -> i64>,
}

impl Drop for Scope {
    fn drop(&mut self) {
        DROPPED.with_borrow_mut(|dropped| dropped.push("scope"));
    }
}

impl Drop for Closure {
    fn drop(&mut self) {
        DROPPED.with_borrow_mut(|dropped| dropped.push(self.name));
    }
}

/// A window of a thread-bound GUI library: finalized on the thread that owns it.
#[derive(Trace)]
#[trace(unsync_finalize)]
struct Window;

impl Finalize for Window {
    fn finalize(_: &Gc<Self>) {
        FINALIZED_ON.set(Some(std::thread::current().id()));
    }
}

pub fn run(tour: &mut Timeline) {
    tour.scene("A thread-local heap: an interpreter's closure cycle with an Rc<dyn Fn> native");
    tour.dotnet(
        "Every object can be shared between threads, and the finalizer thread runs finalizers. \
         janitor::gc::unsync is the Rust counterpart for values that are not Send (Rc, RefCell, \
         Rc<dyn Fn>): plain counts, a heap per thread, finalizers on that thread.",
    );
    let global = Gc::new(Scope {
        closures: GcCell::new(Vec::new()),
    });
    let double = Gc::new(Closure {
        name: "double",
        scope: global.clone(),
        native: Rc::new(|x| 2 * x),
    });
    global.closures.borrow_mut().push(double.clone());
    tour.event(format!(
        "unsync::Gc<Closure> with an Rc<dyn Fn> native: double(21) = {}; the scope holds {} closure",
        (double.native)(21),
        global.closures.borrow().len()
    ));
    drop((global, double));
    tour.event(format!(
        "scope <-> closure went out of scope: dropped {:?} (a cycle waits for a collection)",
        DROPPED.with_borrow(Vec::clone)
    ));
    let before = unsync::collection_count(2);
    drop(Gc::new(Window));
    unsync::collect();
    tour.event(format!(
        "unsync::collect(): thread-local gen-2 collections {before} -> {}; dropped {:?}",
        unsync::collection_count(2),
        DROPPED.with_borrow(Vec::clone)
    ));
    tour.event(format!(
        "the window's finalizer ran before collect() returned, on this thread: {}",
        FINALIZED_ON.get() == Some(std::thread::current().id())
    ));
}
