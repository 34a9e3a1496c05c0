// The way that works: the finalizable type is the object's own, its mutable parts are cells.
use janitor::gc::{Finalize, Gc, GcCell, Trace, wait_for_pending_finalizers};
use std::sync::atomic::{AtomicU32, Ordering};

static FINALIZED: AtomicU32 = AtomicU32::new(0);

#[derive(Trace)]
#[trace(finalize)]
struct Connection {
    #[trace(skip)]
    id: u32,
    peer: GcCell<Option<Gc<Connection>>>,
}

impl Finalize for Connection {
    fn finalize(this: &Gc<Self>) {
        FINALIZED.fetch_add(this.id, Ordering::SeqCst);
    }
}

fn main() {
    let connection = Gc::new(Connection { id: 3, peer: GcCell::new(None) });
    *connection.peer.borrow_mut() = None;
    drop(connection);
    wait_for_pending_finalizers();
    assert_eq!(FINALIZED.load(Ordering::SeqCst), 3);
}
