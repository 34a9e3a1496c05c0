//! What the thread-local heap refuses at compile time: `unsync::Finalize` without
//! `#[trace(unsync_finalize)]` and the attribute without the trait, and an `unsync::Gc` inside a
//! shared-heap object (mixing the heaps). A type with a shared-heap finalizer allocated on the
//! thread-local heap fails only when the call is compiled to code (a constant of `unsync::Gc::new`),
//! which these checks do not reach: `unsync::Gc::new`'s `compile_fail` doc example pins it.

#[test]
fn the_thread_local_heap_refuses_what_would_be_silently_wrong() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/unsync_*.rs");
}
