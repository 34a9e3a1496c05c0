// `into()` reaches `From<T>`: the same error, at the `into`.
use janitor::gc::{Gc, Trace};
use std::rc::Rc;

#[derive(Trace)]
struct Tally {
    #[trace(skip)]
    owner: Rc<str>,
}

fn main() {
    let tally: Gc<Tally> = Tally { owner: "a".into() }.into();
    assert_eq!(&*tally.owner, "a");
}
