use janitor::gc::{Gc, Trace};

struct Foreign;

#[derive(Trace)]
struct Holder<T, M> {
    payload: Vec<T>,
    #[trace(skip)]
    meta: M,
}

fn main() {
    // `M` is only in a skipped field, so `Foreign` is fine there; `T` is traced, so it is not.
    let fine = Gc::new(Holder { payload: vec![1u8], meta: Foreign });
    let refused = Gc::new(Holder { payload: vec![Foreign], meta: 1u8 });
    drop((fine, refused));
}
