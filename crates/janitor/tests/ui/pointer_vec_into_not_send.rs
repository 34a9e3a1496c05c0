// `into()` a slice: the same error as `Gc::new`'s.
use janitor::gc::{Gc, Trace};
use std::rc::Rc;

#[derive(Trace)]
struct Tally {
    #[trace(skip)]
    owner: Rc<str>,
}

fn main() {
    let tallies: Gc<[Tally]> = vec![Tally { owner: "a".into() }].into();
    assert_eq!(tallies.len(), 1);
}
