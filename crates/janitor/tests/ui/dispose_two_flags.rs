use janitor::{Dispose, DisposeFlag};

#[derive(Dispose)]
struct Cache {
    disposed: DisposeFlag,
    paused: DisposeFlag,
}

fn main() {}
