use janitor::Dispose;
use std::sync::Arc;

#[derive(Dispose)]
struct Cache {
    #[dispose]
    shared: Option<Arc<Cache>>,
}

fn main() {}
