// A field whose type implements `Trace` by hand but not `TraceMeta`: one error, at the field,
// which says to add `TraceMeta`.
use janitor::gc::{Gc, Trace, Tracer};

struct Pair(Gc<u8>, Gc<u8>);

// SAFETY: reports the two `Gc`s the pair owns, each once.
unsafe impl Trace for Pair {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        self.0.trace(tracer);
        self.1.trace(tracer);
    }
}

#[derive(Trace)]
struct Edges {
    pair: Pair,
}

fn main() {
    let edges = Gc::new(Edges { pair: Pair(Gc::new(1), Gc::new(2)) });
    assert_eq!(*edges.pair.0 + *edges.pair.1, 3);
}
