//! The compile errors of the pointer API: a value that is not `Send + Sync` is reported once, as
//! the sync heap's bound, with what to do, whichever constructor it meets.

#[test]
fn values_that_are_not_send_and_sync_fail_with_the_sync_heaps_message() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/pointer_*.rs");
}
