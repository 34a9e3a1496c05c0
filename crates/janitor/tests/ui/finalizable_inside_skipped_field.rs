// A finalizable value in a `#[trace(skip)]` field is out of the field's `TraceMeta`'s sight, and
// would never be finalized: the derive names the field in the refusal.
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
    #[trace(skip)]
    spare: Option<Connection>,
}

fn main() {
    let pool = Gc::new(Pool { spare: Some(Connection { id: 1 }) });
    assert!(pool.spare.is_some());
}
