//! The runtime half of `#[derive(Dispose)]`: runs each step of a cascade, keeps going past a
//! panicking one, and resumes the first panic at the end.
//!
//! It lives here rather than in generated code so that the derive expands to a few lines per
//! field and the panic policy has one home: [`failure`](super::failure).

use crate::dispose::failure::Failures;

/// The steps of one derived dispose. Not part of the API: generated code only.
#[derive(Default)]
pub struct Cascade {
    failures: Failures,
}

impl Cascade {
    /// A cascade with no step run yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs one step; a panic is kept for [`finish`](Self::finish) and the next step still runs.
    pub fn run(&mut self, step: impl FnOnce()) {
        self.failures.run(|| {
            step();
            Ok(())
        });
    }

    /// Resumes the first panic of the steps, if any (unless the thread is already unwinding, where
    /// it is reported instead). The steps return nothing, so there are no errors to report.
    pub fn finish(self) {
        self.failures
            .finish_unreturned("a #[derive(Dispose)] step failed");
    }
}
