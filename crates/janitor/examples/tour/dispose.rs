//! Dispose scenes: idempotent disposal and use after dispose.

use crate::timeline::Timeline;
use janitor::{Dispose, DisposeFlag, ObjectDisposed};

struct Widget {
    name: &'static str,
    disposed: DisposeFlag,
}

impl Widget {
    fn draw(&self) -> Result<&'static str, ObjectDisposed> {
        self.disposed.check::<Self>()?;
        Ok(self.name)
    }
}

impl Dispose for Widget {
    fn dispose(&self) {
        if self.disposed.try_begin() {
            println!(
                "            (widget '{}' releases its resources)",
                self.name
            );
        }
    }
}

pub fn run(tour: &mut Timeline) {
    tour.scene("Dispose is idempotent; use after dispose is ObjectDisposed");
    tour.dotnet("Dispose() may be called many times; only the first does work. Later use throws ObjectDisposedException.");
    let widget = Widget {
        name: "toolbar",
        disposed: DisposeFlag::new(),
    };
    tour.event(format!("widget.draw() -> {:?}", widget.draw()));
    tour.event("widget.dispose(), first call:");
    widget.dispose();
    tour.event("widget.dispose(), second call: nothing happens");
    widget.dispose();
    match widget.draw() {
        Ok(_) => tour.event("widget.draw() after dispose unexpectedly succeeded"),
        Err(error) => tour.event(format!("widget.draw() after dispose -> Err: {error}")),
    }
}
