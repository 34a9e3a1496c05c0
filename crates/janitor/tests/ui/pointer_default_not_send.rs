// `Default` asks what `Gc::new` asks: the sync heap's message for `Gc<T>`; for `Gc<[T]>` rustc
// lists the impls instead (the one for `Gc<T>` matches `Gc<[Hits]>` too, until `T: Sized` fails).
use janitor::gc::{Gc, Trace};
use std::cell::Cell;

#[derive(Trace, Default)]
struct Hits {
    #[trace(skip)]
    count: Cell<u32>,
}

fn main() {
    let hits: Gc<Hits> = Gc::default();
    let empty: Gc<[Hits]> = Gc::default();
    assert_eq!(hits.count.get() as usize, empty.len());
}
