use janitor::{Dispose, DisposeFlag};

#[derive(Dispose)]
struct Document {
    disposed: DisposeFlag,
    #[dispose]
    title: String,
}

fn main() {}
