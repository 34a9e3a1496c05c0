//! What the collector tells an observer: `gc::stats()` in one line with numbers that move, the
//! `tracing` event of every collection, and a healthy run that logs nothing above debug (the
//! memory-pressure event is `gc_pressure_event.rs`'s, in a process of its own).
//!
//! Tests in this binary run one at a time: a collection that memory pressure makes due runs, and
//! logs, on whichever thread holds the collection turn, which may be another test's. The background
//! collector may still collect at any moment, so tests compare counters before and after with
//! "rose by at least", never "equals".

use janitor::dispose::DisposeStack;
use janitor::gc::{
    self, Finalize, Gc, GcCell, Trace, add_memory_pressure, remove_memory_pressure,
    wait_for_pending_finalizers,
};
use janitor::handle::SafeFd;
use support::{
    Logged, capture_logs, capture_logs_with_janitor_threads, collection_events, field, number,
    serial,
};
use tracing::Level;

mod support;

#[derive(Trace)]
struct Node {
    next: GcCell<Option<Gc<Node>>>,
}

/// Makes `length` objects in a ring and drops it: garbage only a collection frees.
fn drop_a_ring(length: usize) {
    let first = Gc::new(Node {
        next: GcCell::new(None),
    });
    let mut last = first.clone();
    for _ in 1..length {
        let node = Gc::new(Node {
            next: GcCell::new(None),
        });
        *last.next.borrow_mut() = Some(node.clone());
        last = node;
    }
    *last.next.borrow_mut() = Some(first);
}

#[test]
fn stats_print_in_one_line_and_rise_with_a_collection() {
    let _serial = serial();
    let before = gc::stats();
    drop_a_ring(3);
    gc::collect();
    let after = gc::stats();
    for generation in 0..3 {
        assert!(
            after.collections[generation] > before.collections[generation],
            "generation {generation}: {before} then {after}"
        );
    }
    assert!(after.induced_collections > before.induced_collections);
    assert!(after.examined_objects >= before.examined_objects + 3);
    assert!(after.freed_objects >= before.freed_objects + 3);
    assert!(after.total_pause > before.total_pause);
    assert_eq!(
        after.induced_collections + after.allocation_collections + after.pressure_collections,
        after.collections[0],
        "every collection has exactly one trigger"
    );
    let line = after.to_string();
    assert!(!line.contains('\n'), "not one line: {line}");
    assert!(line.starts_with("gc: "), "{line}");
    for part in [
        format!("gen2 {}", after.collections[2]),
        format!("{} induced", after.induced_collections),
        format!("{} freed", after.freed_objects),
        format!("{} tracked objects", after.tracked_objects),
        format!("{} pending finalizers", after.pending_finalizers),
    ] {
        assert!(line.contains(&part), "{part:?} missing from {line}");
    }
}

#[test]
fn a_collection_event_carries_generation_trigger_examined_freed_and_pause() {
    let _serial = serial();
    // A collection on another test's thread may free the ring first: then this thread's collection
    // frees nothing, and the ring is made again.
    let mut seen = Vec::new();
    for _ in 0..100 {
        let ((), logged) = capture_logs(|| {
            drop_a_ring(4);
            gc::collect();
        });
        let induced = collection_events(&logged)
            .into_iter()
            .find(|event| field(event, "trigger") == Some("Induced"))
            .cloned()
            .unwrap_or_else(|| panic!("no induced collection event in {logged:?}"));
        assert_eq!(induced.level, Level::DEBUG);
        assert_eq!(number(&induced, "generation"), 2);
        number(&induced, "pause_us");
        if number(&induced, "freed") >= 4 {
            assert!(number(&induced, "examined") >= 4, "{}", induced.fields);
            return;
        }
        seen.push(induced);
    }
    panic!("no collection of this thread freed its ring: {seen:?}");
}

#[derive(Trace)]
#[trace(finalize)]
struct Finalizable {
    next: GcCell<Option<Gc<Finalizable>>>,
}

impl Finalize for Finalizable {
    fn finalize(_: &Gc<Self>) {}
}

#[test]
fn a_healthy_run_logs_nothing_above_debug() {
    let _serial = serial();
    // Automatic collections: garbage until an allocation of this thread spends the budget (the
    // budget is global: another test's allocation may be the one that spends it); they run, and
    // log, on the background collector.
    let mut logged = Vec::new();
    for _ in 0..1_000 {
        let ((), chunk) =
            capture_logs_with_janitor_threads(|| (0..1_000).for_each(|_| drop_a_ring(2)));
        let automatic = collection_events(&chunk)
            .iter()
            .any(|event| field(event, "trigger") == Some("Allocation"));
        logged.extend(chunk);
        if automatic {
            break;
        }
    }
    // The collection memory pressure starts runs, and logs, on the thread holding the collection
    // turn when the pressure arrives: the background collector's, if it is collecting then.
    let ((), rest) = capture_logs_with_janitor_threads(|| {
        // Finalization, of an acyclic object and of a cycle.
        drop(Gc::new(Finalizable {
            next: GcCell::new(None),
        }));
        let cycle = Gc::new(Finalizable {
            next: GcCell::new(None),
        });
        *cycle.next.borrow_mut() = Some(cycle.clone());
        drop(cycle);
        gc::collect_generation(0);
        gc::collect();
        wait_for_pending_finalizers();
        // Memory pressure past the budget, resources disposed as documented.
        let bytes = (8 << 20).max(gc::total_memory());
        add_memory_pressure(bytes).expect("positive");
        // A full collection owed to the pressure has run, on whatever thread, when `collect`
        // returns: it waits for the turn, and the turn's holder runs the debt as it lets go.
        gc::collect();
        remove_memory_pressure(bytes).expect("positive");
        let (reader, _writer) = rustix::pipe::pipe().expect("a pipe");
        let stack = DisposeStack::new();
        stack.push(SafeFd::from(reader)).expect("a live stack");
        stack.try_dispose().expect("nothing fails");
    });
    logged.extend(rest);
    let events = collection_events(&logged);
    for trigger in ["Allocation", "Induced", "MemoryPressure"] {
        assert!(
            events
                .iter()
                .any(|event| field(event, "trigger") == Some(trigger)),
            "no {trigger} collection event in {logged:?}"
        );
    }
    let loud: Vec<&Logged> = logged
        .iter()
        .filter(|event| event.level < Level::DEBUG)
        .collect();
    assert!(loud.is_empty(), "logged above debug: {loud:?}");
}

#[test]
fn stats_count_the_objects_the_finalizer_thread_finished() {
    let _serial = serial();
    let before = gc::stats().finalized_objects;
    for _ in 0..10 {
        drop(Gc::new(Finalizable {
            next: GcCell::new(None),
        }));
    }
    gc::wait_for_pending_finalizers();
    let after = gc::stats();
    assert!(
        after.finalized_objects >= before + 10,
        "{before} then {}",
        after.finalized_objects
    );
    assert!(
        after
            .to_string()
            .contains(&format!("{} finalized", after.finalized_objects))
    );
}
