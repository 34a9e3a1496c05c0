use janitor::gc::Trace;
use janitor::gc::unsync::{Finalize, Gc};

#[derive(Trace)]
struct Forgotten;

impl Finalize for Forgotten {
    fn finalize(_: &Gc<Self>) {}
}

fn main() {}
