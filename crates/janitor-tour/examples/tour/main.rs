//! The tour: every behaviour of janitor's seed documents, in one run, as a timeline of thirteen
//! numbered scenes.
//!
//! `cargo run --release --example tour`
//!
//! Each scene says what .NET does and then shows what janitor did. Scene groups live in their own
//! files beside this one, called in scene order.

mod di;
mod dispose;
mod finalize;
mod gc;
mod handle;
mod leak;
mod stats;
mod timeline;
mod timing;
mod unsync;

use timeline::Timeline;

fn main() {
    let mut tour = Timeline::new();
    timing::run(&mut tour); // 1, 2
    gc::run(&mut tour); // 3
    dispose::run(&mut tour); // 4
    finalize::run(&mut tour); // 5 to 8
    handle::run(&mut tour); // 9
    di::run(&mut tour); // 10
    leak::run(&mut tour); // 11
    unsync::run(&mut tour); // 12
    stats::run(&mut tour); // 13
    tour.finish();
}
