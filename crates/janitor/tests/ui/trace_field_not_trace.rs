use janitor::gc::{Gc, Trace};

struct Foreign;

#[derive(Trace)]
struct Holder {
    next: Option<Gc<Holder>>,
    foreign: Foreign,
}

fn main() {}
