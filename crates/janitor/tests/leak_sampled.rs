//! The sampled level: a counter, not a coin, so the counts are exact. Every test here sets the
//! same level (the level is process-global; this binary is the sampled one).

use janitor::leak::{self, LeakCheck, LeakLevel, LeakTracker};
use std::num::NonZeroU32;

fn one_in_ten() {
    leak::set_level(LeakLevel::Sampled {
        one_in: NonZeroU32::new(10).unwrap(),
    });
}

#[test]
fn sampled_one_in_ten_tracks_exactly_the_tenth_of_every_ten_creations_of_a_thread() {
    one_in_ten();
    let tracked = std::thread::spawn(|| {
        (0..1000)
            .filter(|_| LeakTracker::new::<u8>().is_tracked())
            .collect::<Vec<usize>>()
    })
    .join()
    .unwrap();
    assert_eq!(tracked.len(), 100);
    assert!(tracked.iter().all(|creation| creation % 10 == 9));
}

#[test]
fn each_thread_samples_its_own_creations() {
    one_in_ten();
    let per_thread: Vec<usize> = (0..4)
        .map(|_| {
            std::thread::spawn(|| {
                (0..25)
                    .filter(|_| LeakTracker::new::<u8>().is_tracked())
                    .count()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|thread| thread.join().unwrap())
        .collect();
    assert_eq!(per_thread, [2, 2, 2, 2]);
}

#[test]
fn a_sampled_leak_is_reported_without_recent_uses() {
    one_in_ten();
    std::thread::spawn(|| {
        let check = LeakCheck::start();
        let trackers: Vec<LeakTracker> = (0..10).map(|_| LeakTracker::new::<u16>()).collect();
        for tracker in &trackers {
            tracker.record_with("not kept below Full");
        }
        drop(trackers);
        let reports = check.finish();
        assert_eq!(reports.len(), 1, "one of the ten is tracked");
        assert_eq!(reports[0].count(), 1);
        assert!(reports[0].recent_uses().is_empty());
        assert_eq!(reports[0].uses_recorded(), 0);
    })
    .join()
    .unwrap();
}
