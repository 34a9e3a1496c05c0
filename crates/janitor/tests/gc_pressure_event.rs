//! Memory pressure past its budget collects at once, on the calling thread, with a debug event.
//!
//! A process of its own: the pressure collection runs on the thread that adds the pressure only
//! if no other collection holds the turn (otherwise it is owed to the holder, which runs it on
//! its own thread before it gives the turn back), and here nothing else collects.

use janitor::gc::{self, add_memory_pressure, remove_memory_pressure};
use support::{capture_logs, collection_events, field, number};
use tracing::Level;

mod support;

#[test]
fn memory_pressure_past_its_budget_collects_with_a_debug_event() {
    // More than the budget whatever the heap holds (it is 4 MiB or a third of the heap).
    let bytes = (8 << 20).max(gc::total_memory());
    let before = gc::stats();
    let ((), logged) = capture_logs(|| add_memory_pressure(bytes).expect("positive"));
    remove_memory_pressure(bytes).expect("positive");
    assert!(gc::stats().pressure_collections > before.pressure_collections);
    let pressure = logged
        .iter()
        .find(|event| event.fields.starts_with("message=janitor: memory pressure"))
        .unwrap_or_else(|| panic!("no memory-pressure event in {logged:?}"));
    assert_eq!(pressure.level, Level::DEBUG);
    assert_eq!(number(pressure, "added"), bytes as u64);
    assert!(number(pressure, "since_full_collection") >= number(pressure, "budget"));
    assert!(number(pressure, "declared") >= bytes as u64);
    let collection = collection_events(&logged)
        .into_iter()
        .find(|event| field(event, "trigger") == Some("MemoryPressure"))
        .unwrap_or_else(|| panic!("no memory-pressure collection event in {logged:?}"));
    assert_eq!(number(collection, "generation"), 2);
}
