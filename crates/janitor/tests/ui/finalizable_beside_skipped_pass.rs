// What a skipped field or an `Arc` may hold beside a finalizable type: a `Gc` or `WeakGc` to it
// (an object of its own, finalized), a marker, a reference or a function of it. These build,
// and the finalizer runs.
use janitor::gc::{Finalize, Gc, Trace, WeakGc, wait_for_pending_finalizers};
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

static FINALIZED: AtomicU32 = AtomicU32::new(0);

#[derive(Trace)]
#[trace(finalize)]
struct Connection {
    #[trace(skip)]
    id: u32,
}

impl Finalize for Connection {
    fn finalize(this: &Gc<Self>) {
        FINALIZED.fetch_add(this.id, Ordering::SeqCst);
    }
}

#[derive(Trace)]
struct Pool {
    #[trace(skip)]
    marker: PhantomData<Connection>,
    #[trace(skip)]
    last: Option<WeakGc<Connection>>,
    #[trace(skip)]
    open: fn(u32) -> Connection,
    shared: Arc<Vec<u32>>,
    first: Gc<Connection>,
}

fn main() {
    let pool = Gc::new(Pool {
        marker: PhantomData,
        last: None,
        open: |id| Connection { id },
        shared: Arc::new(vec![1]),
        first: Gc::new(Connection { id: 4 }),
    });
    assert_eq!((pool.open)(2).id + pool.shared[0], 3);
    drop(pool);
    wait_for_pending_finalizers();
    assert_eq!(FINALIZED.load(Ordering::SeqCst), 4);
}
