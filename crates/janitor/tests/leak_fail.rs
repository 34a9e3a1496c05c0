//! The leak detector's API refuses misuse at compile time.

#[test]
fn a_leak_check_cannot_leave_its_thread() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/leak_*.rs");
}
