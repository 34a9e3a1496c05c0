//! `assert_no_leaks`, process-wide: this binary's one test owns the process.

use janitor::leak::{self, LeakLevel, LeakTracker};

struct Forgotten {
    _tracker: LeakTracker,
}

#[test]
fn assert_no_leaks_passes_until_a_leak_then_panics_listing_it_and_takes_it() {
    leak::set_level(LeakLevel::Full);
    leak::assert_no_leaks();
    for _ in 0..2 {
        drop(Forgotten {
            _tracker: LeakTracker::new::<Forgotten>(),
        });
    }
    let line = line!() - 3;
    let panic = std::panic::catch_unwind(leak::assert_no_leaks).unwrap_err();
    let message = panic.downcast_ref::<String>().expect("a formatted message");
    assert!(
        message.starts_with(
            "2 leaks: resources dropped without dispose\nLEAK: leak_assert::Forgotten"
        ),
        "{message}"
    );
    assert!(
        message.contains(&format!("{}:{line}:", file!())),
        "{message}"
    );
    leak::assert_no_leaks();
}
