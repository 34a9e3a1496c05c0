//! `#[derive(Trace)]` refuses misuse at compile time, and a type without `Trace` where the heap
//! needs one is an error that names `#[derive(Trace)]` and `#[trace(skip)]`.

#[test]
fn misuse_of_derive_trace_does_not_compile() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/trace_*.rs");
}
