use janitor::gc::{Finalize, Gc, Trace};

#[derive(Trace)]
struct Forgotten;

impl Finalize for Forgotten {
    fn finalize(_: &Gc<Self>) {}
}

fn main() {}
