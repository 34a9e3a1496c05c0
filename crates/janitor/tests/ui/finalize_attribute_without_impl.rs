use janitor::gc::Trace;

#[derive(Trace)]
#[trace(finalize)]
struct NoFinalizer;

fn main() {}
