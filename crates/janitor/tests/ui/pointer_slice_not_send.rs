// A slice of values that are not `Send + Sync`: the same error as `Gc::new`'s.
use janitor::gc::{Gc, Trace};
use std::cell::Cell;

#[derive(Trace)]
struct Tally {
    #[trace(skip)]
    hits: Cell<u32>,
}

fn main() {
    let tallies = Gc::from_exact_iter([Tally { hits: Cell::new(0) }]);
    tallies[0].hits.set(1);
}
