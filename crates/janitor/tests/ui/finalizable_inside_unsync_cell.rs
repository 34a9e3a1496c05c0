// On the thread-local heap too, a finalizable value inside a cell would never be finalized (only
// an object's own type is): allocating one is refused where it happens.
use janitor::gc::Trace;
use janitor::gc::unsync::{Finalize, Gc, GcCell};

#[derive(Trace)]
#[trace(unsync_finalize)]
struct Window {
    #[trace(skip)]
    id: u32,
}

impl Finalize for Window {
    fn finalize(_: &Gc<Self>) {}
}

fn main() {
    let local = Gc::new(GcCell::new(Window { id: 1 }));
    assert_eq!(local.borrow().id, 1);
}
