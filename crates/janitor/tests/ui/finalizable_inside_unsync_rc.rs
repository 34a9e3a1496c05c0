// On the thread-local heap an `Rc` reports nothing of what it shares: a value of a type with an
// `unsync::Finalize` inside one would never be finalized, and allocating its holder is refused.
use janitor::gc::Trace;
use janitor::gc::unsync::{Finalize, Gc};
use std::rc::Rc;

#[derive(Trace)]
#[trace(unsync_finalize)]
struct Window {
    #[trace(skip)]
    id: u32,
}

impl Finalize for Window {
    fn finalize(_: &Gc<Self>) {}
}

#[derive(Trace)]
struct Layout {
    main: Rc<Window>,
}

fn main() {
    let layout = Gc::new(Layout { main: Rc::new(Window { id: 1 }) });
    assert_eq!(layout.main.id, 1);
}
