// Any crate: a generic function that allocates states what the heap needs of its values.
use janitor::gc::Gc;

fn share<T>(value: T) -> Gc<T> {
    Gc::new(value)
}

fn main() {
    assert_eq!(*share(1u8), 1);
}
