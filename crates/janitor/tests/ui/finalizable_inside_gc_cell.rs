// A finalizable value inside a cell would never be finalized (only an object's own type is):
// allocating one is refused where it happens.
use janitor::gc::{Finalize, Gc, GcCell, Trace};

#[derive(Trace)]
#[trace(finalize)]
struct Connection {
    #[trace(skip)]
    id: u32,
}

impl Finalize for Connection {
    fn finalize(_: &Gc<Self>) {}
}

fn main() {
    let shared = Gc::new(GcCell::new(Connection { id: 1 }));
    assert_eq!(shared.borrow().id, 1);
}
