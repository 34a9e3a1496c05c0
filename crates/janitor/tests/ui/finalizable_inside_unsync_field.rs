// A value with a thread-local finalizer stored by value in a field of another type would never
// be finalized: allocating the outer type on the thread-local heap is refused.
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

#[derive(Trace)]
struct Desktop {
    main: Window,
}

fn main() {
    let desktop = Gc::new(Desktop { main: Window { id: 1 } });
    assert_eq!(desktop.main.id, 1);
}
