//! A finalizable value inside a cell or a lock would never be finalized (only an object's own type
//! is), so allocating one is refused when the program is built, never silently accepted. The
//! refusal comes from evaluating the cell's `FINALIZER` for the allocated type, which `cargo check`
//! does not do: the pass case makes trybuild build every case.

#[test]
fn a_finalizable_value_inside_a_cell_is_refused_where_it_is_allocated() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/cells_in_finalizable_pass.rs");
    cases.compile_fail("tests/ui/finalizable_in_cell_*.rs");
}
