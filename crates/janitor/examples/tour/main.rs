//! The tour: every behaviour of janitor's seed documents, in one run, as a numbered timeline.
//!
//! `cargo run --release --example tour`
//!
//! Each scene says what .NET does and then shows what janitor did. Scene groups live in their own
//! files beside this one.

mod di;
mod dispose;
mod finalize;
mod gc;
mod handle;
mod leak;
mod timeline;

use timeline::Timeline;

fn main() {
    let mut tour = Timeline::new();
    gc::run(&mut tour);
    finalize::run(&mut tour);
    dispose::run(&mut tour);
    handle::run(&mut tour);
    di::run(&mut tour);
    leak::run(&mut tour);
    tour.finish();
}
