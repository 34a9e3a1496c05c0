// A variant marked `#[trace(skip)]` hides its fields from the collector: a finalizable value there
// would never be finalized, and the refusal names the variant's field.
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
enum Slot {
    Empty,
    #[trace(skip)]
    Parked(u8, Connection),
}

fn main() {
    let slot = Gc::new(Slot::Parked(0, Connection { id: 1 }));
    assert!(!matches!(*slot, Slot::Empty));
}
