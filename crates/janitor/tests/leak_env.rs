//! `JANITOR_LEAK` with a bad value: warned about once, the default kept. The variable is read
//! once per process, so this binary has one test.

use janitor::leak::{self, LeakLevel};
use support::capture_logs;

mod support;

#[test]
fn a_bad_janitor_leak_is_warned_about_once_and_the_default_kept() {
    // SAFETY: this binary's only test, and no other thread of the process reads the environment.
    unsafe { std::env::set_var("JANITOR_LEAK", "sampled:0") };
    let ((), logged) = capture_logs(|| {
        assert_eq!(leak::level(), LeakLevel::DEFAULT);
        assert_eq!(leak::level(), LeakLevel::DEFAULT);
    });
    let warnings: Vec<&str> = logged
        .iter()
        .filter(|event| event.level == tracing::Level::WARN)
        .map(|event| event.fields.as_str())
        .collect();
    assert_eq!(warnings.len(), 1, "{logged:?}");
    assert!(
        warnings[0].contains("JANITOR_LEAK ignored"),
        "{}",
        warnings[0]
    );
    assert!(warnings[0].contains("sampled:0"), "{}", warnings[0]);

    // SAFETY: as above.
    unsafe { std::env::set_var("JANITOR_LEAK", "full") };
    assert_eq!(
        leak::level(),
        LeakLevel::DEFAULT,
        "the variable is read once"
    );
}
