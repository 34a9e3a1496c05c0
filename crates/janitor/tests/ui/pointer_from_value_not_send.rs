// `From<T>` (and `into()`) asks what `Gc::new` asks.
use janitor::gc::{Gc, Trace};
use std::rc::Rc;

#[derive(Trace)]
struct Tally {
    #[trace(skip)]
    owner: Rc<str>,
}

fn main() {
    let tally: Gc<Tally> = Gc::from(Tally { owner: "a".into() });
    assert_eq!(&*tally.owner, "a");
}
