//! Dropping: deep structures drop without recursion, and a garbage cycle's `Drop` that uses
//! another member of its cycle panics with a clear message instead of reading freed memory.

use janitor::gc::{Gc, GcCell, Trace, collect, wait_for_pending_finalizers};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Runs `body` on a thread with a 2 MiB stack, the default of spawned threads, stated explicitly.
fn on_small_stack(body: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(body)
        .unwrap()
        .join()
        .unwrap();
}

#[derive(Trace)]
struct ListNode {
    next: Option<Gc<ListNode>>,
}

#[test]
fn a_ten_million_node_list_drops_on_a_two_mib_stack() {
    on_small_stack(|| {
        let mut head = None;
        for _ in 0..10_000_000 {
            head = Some(Gc::new(ListNode { next: head }));
        }
        drop(head);
    });
}

#[derive(Trace)]
struct ChainLink {
    next: GcCell<Option<Gc<ChainLink>>>,
    #[trace(skip)]
    dropped: Arc<AtomicUsize>,
}

impl Drop for ChainLink {
    fn drop(&mut self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }
}

fn chain(length: usize, dropped: &Arc<AtomicUsize>) -> (Gc<ChainLink>, Gc<ChainLink>) {
    let first = Gc::new(ChainLink {
        next: GcCell::new(None),
        dropped: dropped.clone(),
    });
    let mut last = first.clone();
    for _ in 1..length {
        let link = Gc::new(ChainLink {
            next: GcCell::new(None),
            dropped: dropped.clone(),
        });
        *last.next.borrow_mut() = Some(link.clone());
        last = link;
    }
    (first, last)
}

#[test]
fn a_tracked_chain_a_million_deep_drops_on_a_two_mib_stack() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let counter = dropped.clone();
    on_small_stack(move || {
        let (first, last) = chain(1_000_000, &counter);
        drop(last);
        drop(first);
    });
    // A collection examining the chain as it dropped (the background collector's, started by
    // its allocations) held a count on some links: they die when it gives them back, on the
    // reclaimer. `collect` waits for that collection to end (the turn) and for the reclaimer's
    // work before it; waiting for pending finalizers alone misses a collection still examining.
    collect();
    wait_for_pending_finalizers();
    assert_eq!(dropped.load(Ordering::Relaxed), 1_000_000);
}

#[test]
fn a_ring_a_million_long_is_collected_on_a_two_mib_stack() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let counter = dropped.clone();
    on_small_stack(move || {
        let (first, last) = chain(1_000_000, &counter);
        *last.next.borrow_mut() = Some(first.clone());
        drop((first, last));
        collect();
    });
    assert_eq!(dropped.load(Ordering::Relaxed), 1_000_000);
}

#[derive(Trace)]
struct Rude {
    partner: GcCell<Option<Gc<Rude>>>,
    #[trace(skip)]
    name: String,
    #[trace(skip)]
    dropped: Arc<AtomicUsize>,
}

impl Drop for Rude {
    fn drop(&mut self) {
        self.dropped.fetch_add(1, Ordering::SeqCst);
        if let Some(partner) = self.partner.borrow().as_ref() {
            // Uses another member of its own garbage cycle: must panic, never read freed memory.
            assert!(!partner.name.is_empty());
        }
    }
}

#[test]
fn a_cycle_member_whose_drop_uses_another_member_panics_with_a_clear_message() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let rude = |name: &str| {
        Gc::new(Rude {
            partner: GcCell::new(None),
            name: name.into(),
            dropped: dropped.clone(),
        })
    };
    let (a, b) = (rude("a"), rude("b"));
    *a.partner.borrow_mut() = Some(b.clone());
    *b.partner.borrow_mut() = Some(a.clone());
    drop((a, b));
    let panic = std::panic::catch_unwind(collect).unwrap_err();
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or(panic.downcast_ref::<&str>().copied());
    let message = message.expect("a text panic");
    assert!(message.contains("garbage cycle"), "{message}");
    assert!(message.contains("finalizer"), "{message}");
    // Every member's drop ran, although the first one panicked.
    assert_eq!(dropped.load(Ordering::SeqCst), 2);
}
