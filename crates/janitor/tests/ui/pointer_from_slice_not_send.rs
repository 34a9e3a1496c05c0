// `Gc::from(&slice)` with elements that are not `Send + Sync`: rustc cannot tell `From<&[T]>` from
// `From<T>` before it fails both, so it lists the impls instead of the bound.
use janitor::gc::Gc;
use std::rc::Rc;

fn main() {
    let owners: Vec<Rc<str>> = vec!["a".into()];
    let shared: Gc<[Rc<str>]> = Gc::from(&owners[..]);
    assert_eq!(shared.len(), 1);
}
