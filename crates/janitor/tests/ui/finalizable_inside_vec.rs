// The elements of a `Vec` are not objects: a finalizable element would never be finalized.
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
    let pool = Gc::new(vec![Connection { id: 1 }]);
    assert_eq!(pool[0].id, 1);
}
