// From `gc`: `#[unsafe_ignore_trace]` is `#[trace(skip)]` in janitor.
use janitor::gc::{Gc, Trace};

#[derive(Trace)]
struct Node {
    next: Option<Gc<Node>>,
    #[unsafe_ignore_trace]
    label: std::fs::File,
}

fn main() {}
