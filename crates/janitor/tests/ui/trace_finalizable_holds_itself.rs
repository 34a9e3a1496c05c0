// A finalizable type that holds values of itself by value: those would never be finalized.
use janitor::gc::{Finalize, Gc, Trace};

#[derive(Trace)]
#[trace(finalize)]
struct Directory {
    children: Vec<Directory>,
}

impl Finalize for Directory {
    fn finalize(_: &Gc<Self>) {}
}

fn main() {}
