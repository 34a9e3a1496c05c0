//! The runtime half of `#[derive(Dispose)]`: runs each step of a cascade, keeps going past a
//! panicking one, and resumes the first panic at the end.
//!
//! It lives here rather than in generated code so that the derive expands to a few lines per
//! field and the panic policy has one home: [`failure`](super::failure).

use crate::Dispose;
use crate::dispose::failure::Failures;

/// [`Dispose`], as the derive calls it on a `#[dispose]` field: its own trait so that a field
/// that is not disposable gets an error that names the field's type and the attribute, without a
/// list of every disposable type in scope.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is marked `#[dispose]` but does not implement `janitor::Dispose`",
    label = "not disposable",
    note = "implement `janitor::Dispose` for it, or remove `#[dispose]` if this value is not the \
            struct's to dispose"
)]
pub trait DisposableField {
    /// Disposes the field.
    fn dispose_field(&self);
}

#[diagnostic::do_not_recommend]
impl<T: Dispose + ?Sized> DisposableField for T {
    fn dispose_field(&self) {
        self.dispose();
    }
}

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
