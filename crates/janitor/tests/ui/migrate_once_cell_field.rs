// From `dumpster`: a `Gc` behind a `OnceCell` goes into a cell the collector can hold still.
use janitor::gc::{Gc, Trace};
use std::cell::OnceCell;

#[derive(Trace)]
struct Node {
    next: OnceCell<Gc<Node>>,
}

fn main() {}
