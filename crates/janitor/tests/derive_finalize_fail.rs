//! Registration for finalization cannot be forgotten: `Finalize` without `#[trace(finalize)]`,
//! the attribute without `Finalize`, and a finalizable type that is not `Sync` do not compile.

#[test]
fn finalize_and_its_registration_come_together_or_not_at_all() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/finalize_*.rs");
}
