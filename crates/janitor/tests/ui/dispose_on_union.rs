use janitor::Dispose;

#[derive(Dispose)]
union Word {
    signed: i64,
    unsigned: u64,
}

fn main() {}
