use janitor::{Dispose, DisposeFlag};

#[derive(Dispose)]
enum Connection {
    Open(DisposeFlag),
    Closed,
}

fn main() {}
