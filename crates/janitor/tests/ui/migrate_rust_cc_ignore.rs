// From `rust-cc`: `#[rust_cc(ignore)]` is `#[trace(skip)]` in janitor.
use janitor::gc::{Gc, Trace};

#[derive(Trace)]
struct Node {
    next: Option<Gc<Node>>,
    #[rust_cc(ignore)]
    label: std::fs::File,
}

fn main() {}
