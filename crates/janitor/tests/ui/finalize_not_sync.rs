use janitor::gc::{Finalize, Gc, Trace};
use std::cell::Cell;

#[derive(Trace)]
#[trace(finalize)]
struct Unshared {
    #[trace(skip)]
    counter: Cell<u32>,
}

impl Finalize for Unshared {
    fn finalize(_: &Gc<Self>) {}
}

fn main() {}
