use janitor::gc::{Gc, Trace, unsync};

#[derive(Trace)]
struct Shared {
    local: unsync::Gc<u32>,
}

fn main() {
    let _ = Gc::new(Shared { local: unsync::Gc::new(1) });
}
