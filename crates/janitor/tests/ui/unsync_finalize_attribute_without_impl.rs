use janitor::gc::Trace;

#[derive(Trace)]
#[trace(unsync_finalize)]
struct NoFinalizer;

fn main() {}
