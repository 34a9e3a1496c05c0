// A hand-written `TraceMeta` without `Trace`: one error, which says to add `Trace`.
use janitor::gc::{Gc, TraceMeta};

struct Pair(Gc<u8>, Gc<u8>);

// SAFETY: the edges are two plain `Gc` fields, fixed once the pair is built.
unsafe impl TraceMeta for Pair {
    const MUTABLE_EDGES: bool = false;
}

fn main() {
    let pair = Gc::new(Pair(Gc::new(1), Gc::new(2)));
    assert_eq!(*pair.0 + *pair.1, 3);
}
