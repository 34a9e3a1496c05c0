// From `gc`, `rust-cc` or `dumpster::unsync`: every value on janitor's heap is `Send + Sync`.
use janitor::gc::{Gc, Trace};
use std::rc::Rc;

#[derive(Trace)]
struct Shared {
    #[trace(skip)]
    name: Rc<str>,
}

fn main() {
    let shared = Gc::new(Shared { name: "a".into() });
    assert_eq!(&*shared.name, "a");
}
