// `Gc::new(Box::new(value))` makes an object of the box, not of the value (`Gc::from(Box)`
// moves the value out and finalizes it).
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
    let boxed = Gc::new(Box::new(Connection { id: 1 }));
    assert_eq!(boxed.id, 1);
}
