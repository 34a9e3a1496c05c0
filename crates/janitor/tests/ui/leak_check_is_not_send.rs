// A LeakCheck scopes the leaks of its own thread's creations: it must end on that thread.
use janitor::leak::LeakCheck;

fn main() {
    let check = LeakCheck::start();
    std::thread::spawn(move || drop(check));
}
