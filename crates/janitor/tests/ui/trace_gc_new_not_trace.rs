use janitor::gc::Gc;

struct Plain {
    value: u32,
}

fn main() {
    let plain = Gc::new(Plain { value: 1 });
    assert_eq!(plain.value, 1);
}
