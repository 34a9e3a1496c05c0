//! A finalizable value that is not an object's own value (inside a cell or a lock, or stored by
//! value in a derived type's field) would never be finalized, so allocating it is refused when the
//! program is built, never silently accepted. The refusal comes from evaluating the `FINALIZER`
//! (or, on the thread-local heap, `UNSYNC_FINALIZER`) of the allocated type, which `cargo check`
//! does not do: the pass case makes trybuild build every case.

#[test]
fn a_finalizable_value_that_is_not_an_object_of_its_own_is_refused_where_it_is_allocated() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/finalizable_holding_cells_pass.rs");
    cases.pass("tests/ui/finalizable_beside_skipped_pass.rs");
    cases.compile_fail("tests/ui/finalizable_inside_*.rs");
}
