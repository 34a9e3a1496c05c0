// An array's elements are not objects: a finalizable one would never be finalized.
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
    let both = Gc::new([Connection { id: 1 }, Connection { id: 2 }]);
    assert_eq!(both[1].id, 2);
}
