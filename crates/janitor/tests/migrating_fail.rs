//! The compile errors that docs/migrating.md quotes, for code written for `gc`, `rust-cc` or
//! `dumpster`: each message is pinned here, so that the guide's quotes stay true.

#[test]
fn code_written_for_other_collectors_fails_with_the_messages_the_guide_quotes() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/migrate_*.rs");
}
