//! `JANITOR_LEAK=full` sets the level, when nothing set it in code first. The variable is read
//! once per process, so this binary has one test.

use janitor::leak::{self, LeakLevel, LeakTracker};

#[test]
fn janitor_leak_full_tracks_every_creation() {
    // SAFETY: this binary's only test, and no other thread of the process reads the environment.
    unsafe { std::env::set_var("JANITOR_LEAK", "full") };
    assert!(LeakTracker::new::<u8>().is_tracked());
    assert_eq!(leak::level(), LeakLevel::Full);
    leak::set_level(LeakLevel::Off);
    assert_eq!(leak::level(), LeakLevel::Off, "a level set in code wins");
}
