// From `gc` and `rust-cc`: janitor has no `Finalize` derive; a type without a finalizer needs
// nothing.
use janitor::gc::{Finalize, Gc, Trace};

#[derive(Trace, Finalize)]
struct Node {
    next: Option<Gc<Node>>,
}

fn main() {}
