// A finalizable value stored by value in a field of another type would never be finalized (only
// an object's own type is): allocating the outer type is refused.
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

#[derive(Trace)]
struct Pool {
    first: Connection,
}

fn main() {
    let pool = Gc::new(Pool { first: Connection { id: 1 } });
    assert_eq!(pool.first.id, 1);
}
