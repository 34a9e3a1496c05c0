use janitor::gc::Trace;

#[derive(Trace)]
enum Event {
    #[trace(finalize)]
    Opened(u32),
    Closed,
}

fn main() {}
