// `Gc::new_cyclic` asks what `Gc::new` asks.
use janitor::gc::{Gc, Trace, WeakGc};
use std::cell::Cell;

#[derive(Trace)]
struct Counter {
    this: WeakGc<Counter>,
    #[trace(skip)]
    hits: Cell<u32>,
}

fn main() {
    let counter = Gc::new_cyclic(|this| Counter { this: this.clone(), hits: Cell::new(0) });
    counter.hits.set(1);
}
