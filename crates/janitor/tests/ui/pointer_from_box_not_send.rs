// `Gc::from(boxed)` with a value that is not `Send + Sync`: rustc cannot tell `From<Box<T>>` from
// `From<T>` before it fails both, so it lists the impls instead of the bound (`Gc::new(*boxed)`
// gives the sync heap's message).
use janitor::gc::{Gc, Trace};
use std::rc::Rc;

#[derive(Trace)]
struct Tally {
    #[trace(skip)]
    owner: Rc<str>,
}

fn main() {
    let tally: Gc<Tally> = Gc::from(Box::new(Tally { owner: "a".into() }));
    assert_eq!(&*tally.owner, "a");
}
