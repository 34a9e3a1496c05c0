//! The smallest object the collector examines, for the tests of the shared heap's budgets: a
//! tracked node with one mutable edge. Two of them pointing at each other are a garbage cycle
//! once dropped; one alone dies by its count.

use janitor::gc::{Gc, GcCell, Trace};

#[derive(Trace)]
pub struct Node {
    pub next: GcCell<Option<Gc<Node>>>,
}

/// A new node with no edge.
pub fn node() -> Gc<Node> {
    Gc::new(Node {
        next: GcCell::new(None),
    })
}
