//! The `serde` feature: the heap's snapshots written as a metrics exporter would write them and
//! read back unchanged, and leak reports written with their creation site.

use janitor::gc::{self, GcStats, MemoryInfo};
use janitor::leak::{self, LeakCheck, LeakLevel, LeakTracker};

#[test]
fn gc_stats_read_back_from_json_equal_what_was_written() {
    gc::collect();
    let stats = gc::stats();
    let json = serde_json::to_string(&stats).unwrap();
    let read: GcStats = serde_json::from_str(&json).unwrap();
    assert_eq!(read, stats);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["collections"][0], stats.collections[0]);
    assert!(value["total_pause"]["secs"].is_u64());
}

#[test]
fn memory_info_read_back_from_json_equals_what_was_written() {
    gc::collect();
    let info = gc::memory_info();
    let json = serde_json::to_string(&info).unwrap();
    let read: MemoryInfo = serde_json::from_str(&json).unwrap();
    assert_eq!(read, info);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["generations"].as_array().unwrap().len(), 3);
    assert_eq!(
        value["generations"][0]["objects"],
        info.generations[0].objects
    );
}

#[test]
fn a_leak_report_is_written_with_its_type_creation_site_uses_and_count() {
    leak::set_level(LeakLevel::Full);
    let check = LeakCheck::start();
    let line = line!() + 1;
    let tracker = LeakTracker::new::<Vec<u8>>();
    tracker.record_with("filled");
    drop(tracker);
    let reports = check.finish();
    let value = serde_json::to_value(&reports[0]).unwrap();
    assert_eq!(value["type_name"], "alloc::vec::Vec<u8>");
    assert_eq!(value["created_at"]["file"], file!());
    assert_eq!(value["created_at"]["line"], line);
    assert_eq!(value["recent_uses"][0]["hint"], "filled");
    assert_eq!(value["uses_recorded"], 1);
    assert_eq!(value["count"], 1);
    assert!(
        value["backtrace"].is_string(),
        "Full captures the creation backtrace"
    );
}
