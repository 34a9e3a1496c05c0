// From `gc`'s `GcCell` done by hand, `rust-cc` or `dumpster::unsync`: a `RefCell` holding a `Gc`
// is a `GcCell` on janitor's shared heap (which needs `Sync`), or stays a `RefCell` on the
// thread-local one, `janitor::gc::unsync`.
use janitor::gc::{Gc, Trace};
use std::cell::RefCell;

#[derive(Trace)]
struct Node {
    next: RefCell<Option<Gc<Node>>>,
}

fn main() {
    let node = Gc::new(Node { next: RefCell::new(None) });
    *node.next.borrow_mut() = Some(node.clone());
}
