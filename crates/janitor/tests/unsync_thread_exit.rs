//! The thread-local heap at thread exit: it is collected and its finalizers run; what survives
//! (held by thread-locals destroyed after the heap's end, or leaked) has its values dropped once,
//! with no `Drop` reading freed memory, and its memory freed when its last `Gc` goes. Every test
//! spawns the thread whose exit it observes. Run under valgrind to see the memory side.

use janitor::gc::Trace;
use janitor::gc::unsync::{Finalize, Gc, GcCell};
use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Default)]
struct Counts {
    dropped: AtomicUsize,
    finalized: AtomicUsize,
}

#[derive(Trace)]
struct Node {
    next: GcCell<Option<Gc<Node>>>,
    #[trace(skip)]
    counts: Arc<Counts>,
}

impl Drop for Node {
    fn drop(&mut self) {
        self.counts.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

fn cycle(counts: &Arc<Counts>) -> Gc<Node> {
    let a = Gc::new(Node {
        next: GcCell::new(None),
        counts: counts.clone(),
    });
    let b = Gc::new(Node {
        next: GcCell::new(Some(a.clone())),
        counts: counts.clone(),
    });
    *a.next.borrow_mut() = Some(b);
    a
}

#[derive(Trace)]
#[trace(unsync_finalize)]
struct Finalizable {
    #[trace(skip)]
    counts: Arc<Counts>,
}

impl Finalize for Finalizable {
    fn finalize(this: &Gc<Self>) {
        this.counts.finalized.fetch_add(1, Ordering::SeqCst);
    }
}

impl Drop for Finalizable {
    fn drop(&mut self) {
        self.counts.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

fn on_a_thread(body: impl FnOnce() + Send + 'static) {
    std::thread::spawn(body).join().unwrap();
}

#[test]
fn garbage_cycles_and_pending_finalizers_are_handled_when_the_thread_exits() {
    let counts = Arc::new(Counts::default());
    let inner = counts.clone();
    on_a_thread(move || {
        drop(cycle(&inner));
        drop(Gc::new(Finalizable {
            counts: inner.clone(),
        }));
        assert_eq!(inner.finalized.load(Ordering::SeqCst), 0);
    });
    assert_eq!(counts.finalized.load(Ordering::SeqCst), 1);
    assert_eq!(counts.dropped.load(Ordering::SeqCst), 3);
}

thread_local! {
    static EARLY: RefCell<Vec<Gc<Node>>> = const { RefCell::new(Vec::new()) };
    static LATE: RefCell<Vec<Gc<Node>>> = const { RefCell::new(Vec::new()) };
}

/// Thread-local destructors run in the reverse order of first use: `EARLY`, used before the first
/// allocation, is destroyed after the heap ended; `LATE`, used after, before.
#[test]
fn cycles_held_by_thread_locals_are_dropped_once_whichever_is_destroyed_first() {
    let counts = Arc::new(Counts::default());
    let inner = counts.clone();
    on_a_thread(move || {
        EARLY.with_borrow(|_| {});
        let early = cycle(&inner);
        let late = cycle(&inner);
        EARLY.with_borrow_mut(|held| held.push(early));
        LATE.with_borrow_mut(|held| held.push(late));
    });
    assert_eq!(counts.dropped.load(Ordering::SeqCst), 4);
}

#[test]
fn a_survivors_drop_that_reaches_another_survivor_panics_without_reading_freed_memory() {
    #[derive(Trace)]
    struct Nosy {
        other: GcCell<Option<Gc<Nosy>>>,
        #[trace(skip)]
        counts: Arc<Counts>,
    }
    impl Drop for Nosy {
        fn drop(&mut self) {
            self.counts.dropped.fetch_add(1, Ordering::SeqCst);
            if let Some(other) = self.other.borrow().as_ref() {
                let _ = &other.counts;
            }
        }
    }
    thread_local!(static HELD: RefCell<Option<Gc<Nosy>>> = const { RefCell::new(None) });
    let counts = Arc::new(Counts::default());
    let inner = counts.clone();
    on_a_thread(move || {
        HELD.with_borrow(|_| {});
        let a = Gc::new(Nosy {
            other: GcCell::new(None),
            counts: inner.clone(),
        });
        let b = Gc::new(Nosy {
            other: GcCell::new(Some(a.clone())),
            counts: inner.clone(),
        });
        *a.other.borrow_mut() = Some(b);
        HELD.with_borrow_mut(|held| *held = Some(a));
    });
    assert_eq!(counts.dropped.load(Ordering::SeqCst), 2);
}

#[test]
fn objects_made_by_thread_local_destructors_after_the_heap_ended_are_freed_by_counting() {
    struct MakesMore(Arc<Counts>);
    impl Drop for MakesMore {
        fn drop(&mut self) {
            let node = Gc::new(Node {
                next: GcCell::new(None),
                counts: self.0.clone(),
            });
            let registered = Gc::new(Finalizable {
                counts: self.0.clone(),
            });
            drop((node, registered));
        }
    }
    thread_local!(static MAKER: RefCell<Option<MakesMore>> = const { RefCell::new(None) });
    let counts = Arc::new(Counts::default());
    let inner = counts.clone();
    on_a_thread(move || {
        MAKER.with_borrow_mut(|maker| *maker = Some(MakesMore(inner.clone())));
        drop(cycle(&inner));
    });
    assert_eq!(counts.dropped.load(Ordering::SeqCst), 4);
    assert_eq!(
        counts.finalized.load(Ordering::SeqCst),
        0,
        "no finalizer runs once the heap ended"
    );
}
