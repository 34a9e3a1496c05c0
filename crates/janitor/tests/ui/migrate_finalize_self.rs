// From `gc` and `rust-cc`: a finalizer receives the object as `&Gc<Self>`, not `&self`.
use janitor::gc::{Finalize, Trace};

#[derive(Trace)]
#[trace(finalize)]
struct Connection {
    #[trace(skip)]
    id: u32,
}

impl Finalize for Connection {
    fn finalize(&self) {
        println!("closing {}", self.id);
    }
}

fn main() {}
