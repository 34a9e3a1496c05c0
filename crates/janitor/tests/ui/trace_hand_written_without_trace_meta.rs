// A hand-written `Trace` without `TraceMeta`: one error, which says to add `TraceMeta`.
use janitor::gc::{Gc, Trace, Tracer};

struct Pair(Gc<u8>, Gc<u8>);

// SAFETY: reports the two `Gc`s the pair owns, each once.
unsafe impl Trace for Pair {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        self.0.trace(tracer);
        self.1.trace(tracer);
    }
}

fn main() {
    let pair = Gc::new(Pair(Gc::new(1), Gc::new(2)));
    assert_eq!(*pair.0 + *pair.1, 3);
}
