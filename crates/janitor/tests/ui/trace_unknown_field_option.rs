use janitor::gc::Trace;

#[derive(Trace)]
struct Named {
    #[trace(ignore)]
    label: String,
}

fn main() {}
