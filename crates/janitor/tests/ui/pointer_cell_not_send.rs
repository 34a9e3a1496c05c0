// A cell is as shareable as its content: a `GcCell` of a value that is not `Send + Sync`
// gets the same error as the value itself.
use janitor::gc::{Gc, GcCell};
use std::rc::Rc;

fn main() {
    let cell = Gc::new(GcCell::new(Rc::new(1)));
    assert_eq!(**cell.borrow(), 1);
}
