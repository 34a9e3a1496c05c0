// `collect()` into a slice asks of its items what `Gc::new` asks.
use janitor::gc::{Gc, Trace};
use std::rc::Rc;

#[derive(Trace)]
struct Tally {
    #[trace(skip)]
    owner: Rc<str>,
}

fn main() {
    let tallies: Gc<[Tally]> = ["a", "b"].into_iter().map(|owner| Tally { owner: owner.into() }).collect();
    assert_eq!(tallies.len(), 2);
}
