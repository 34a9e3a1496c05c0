//! The `Off` level: nothing is tracked, nothing reported, and a tracker is one null pointer.

use janitor::Dispose;
use janitor::handle::SafeFd;
use janitor::leak::{self, LeakLevel, LeakTracker};

#[test]
fn at_off_nothing_is_tracked_or_reported() {
    leak::set_level(LeakLevel::Off);
    assert!((0..1000).all(|_| !LeakTracker::new::<u8>().is_tracked()));
    let (reader, _writer) = rustix::pipe::pipe().expect("pipe");
    drop(SafeFd::from(reader));
    let (reader, _writer) = rustix::pipe::pipe().expect("pipe");
    SafeFd::from(reader).dispose();
    assert!(leak::take_reports().is_empty());
    leak::assert_no_leaks();
}

#[test]
fn an_untracked_tracker_is_one_null_pointer() {
    assert_eq!(size_of::<LeakTracker>(), size_of::<usize>());
}
