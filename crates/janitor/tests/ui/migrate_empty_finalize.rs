// From `gc` and `rust-cc`: the empty `impl Finalize` those crates require is not needed.
use janitor::gc::{Finalize, Gc, Trace};

#[derive(Trace)]
struct Node {
    next: Option<Gc<Node>>,
}

impl Finalize for Node {}

fn main() {}
