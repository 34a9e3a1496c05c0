// A finalizable value inside a `std` lock would never be finalized either: refused the same way.
use janitor::gc::{Finalize, Gc, Trace};
use std::sync::Mutex;

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
    let shared = Gc::new(Mutex::new(Connection { id: 1 }));
    assert_eq!(shared.lock().unwrap().id, 1);
}
