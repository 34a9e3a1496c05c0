use janitor::gc::Trace;

#[derive(Trace)]
struct Named {
    #[trace(skip = true)]
    label: String,
}

fn main() {}
