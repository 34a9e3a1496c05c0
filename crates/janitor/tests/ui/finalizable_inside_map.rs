// A map's values are not objects: a finalizable one would never be finalized.
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

use std::collections::HashMap;

fn main() {
    let by_id = Gc::new(HashMap::from([(1_u32, Connection { id: 1 })]));
    assert_eq!(by_id[&1].id, 1);
}
