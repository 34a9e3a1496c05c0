// `Gc::from(vec)` with elements that are not `Send + Sync`: rustc cannot tell `Gc<[Tally]>` from
// `Gc<Vec<Tally>>` (`From<T>`) before it fails both, so it lists the impls instead of the bound;
// `.into()` and `collect()` give the sync heap's message (`pointer_vec_into_not_send`,
// `pointer_collect_not_send`).
use janitor::gc::{Gc, Trace};
use std::rc::Rc;

#[derive(Trace)]
struct Tally {
    #[trace(skip)]
    owner: Rc<str>,
}

fn main() {
    let tallies: Gc<[Tally]> = Gc::from(vec![Tally { owner: "a".into() }]);
    assert_eq!(tallies.len(), 1);
}
