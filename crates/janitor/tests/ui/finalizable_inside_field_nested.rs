// However deep a derived type's field holds it (here an `Option` in a `Vec`), a finalizable value
// that is not an object of its own would never be finalized: allocating the outer type is refused.
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
    idle: Vec<Option<Connection>>,
}

fn main() {
    let pool = Gc::new(Pool { idle: vec![Some(Connection { id: 1 })] });
    assert_eq!(pool.idle.len(), 1);
}
