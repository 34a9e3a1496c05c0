// On the thread-local heap too, the elements of a `Vec` are not objects: a value with a
// thread-local finalizer would never be finalized there.
use janitor::gc::Trace;
use janitor::gc::unsync::{Finalize, Gc};

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
    let windows = Gc::new(vec![Window { id: 1 }]);
    assert_eq!(windows[0].id, 1);
}
