use janitor::{Dispose, DisposeFlag};

#[derive(Dispose)]
#[dispose(before = Cache::flush)]
struct Cache {
    disposed: DisposeFlag,
}

impl Cache {
    fn flush(&self) {}
}

fn main() {}
