use janitor::{Dispose, DisposeFlag};

#[derive(Dispose)]
struct Cache {
    disposed: DisposeFlag,
    #[dispose(last)]
    inner: Option<Box<Cache>>,
}

fn main() {}
