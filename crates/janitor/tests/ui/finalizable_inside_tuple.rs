// A tuple's fields are not objects: a finalizable one would never be finalized.
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
    let pair = Gc::new((7_u8, Connection { id: 1 }));
    assert_eq!(pair.1.id, 1);
}
