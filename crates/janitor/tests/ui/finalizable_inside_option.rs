// An `Option` holds its content by value: a finalizable content would never be finalized.
use janitor::gc::{Finalize, Gc, Trace};

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
    let maybe = Gc::new(Some(Connection { id: 1 }));
    assert!(maybe.is_some());
}
