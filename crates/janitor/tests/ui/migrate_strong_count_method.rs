// From `rust-cc`: `strong_count` is an associated function, as on `Arc`.
use janitor::gc::Gc;

fn main() {
    let shared = Gc::new(1u32);
    assert_eq!(shared.strong_count(), 1);
}
