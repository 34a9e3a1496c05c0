//! `#[derive(Dispose)]` refuses misuse at compile time, with messages that say what to do.

#[test]
fn misuse_of_derive_dispose_does_not_compile() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/dispose_*.rs");
}
