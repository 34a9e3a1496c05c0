// An `Arc` reports nothing of what it shares, so a finalizable value inside one would never be
// finalized: the derive sees the `Arc` in the field's type and refuses it.
use janitor::gc::{Finalize, Gc, Trace};
use std::sync::Arc;

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
struct Client {
    shared: Vec<Arc<Connection>>,
}

fn main() {
    let client = Gc::new(Client { shared: vec![Arc::new(Connection { id: 1 })] });
    assert_eq!(client.shared.len(), 1);
}
