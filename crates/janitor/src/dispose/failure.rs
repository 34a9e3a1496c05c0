//! Failures of cleanup steps: kept, chained, never lost.
//!
//! The invariant this file owns: when several cleanup steps run in a row (a dispose stack, a
//! derived cascade), **every step runs**, and what went wrong in them reaches someone:
//!
//! - an error returned by a step is kept; several are chained into one [`DisposeError`], the
//!   latest failure wrapping the earlier ones (JavaScript's `SuppressedError`);
//! - a panic is caught so the next step still runs, and the first panic is resumed, with its
//!   original payload, once every step has run. Panics are bugs: turning one into an error value
//!   would let a caller ignore it, so it stays a panic. Whatever cannot travel with that panic (the
//!   errors, later panics) goes to `tracing`;
//! - where nothing can be returned or resumed (a `Drop`, or a thread that is already unwinding,
//!   where a second panic would abort the process) failures go to `tracing`.

use std::any::Any;
use std::error::Error;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};

/// A boxed error of any type: what a fallible cleanup step reports.
pub type BoxError = Box<dyn Error + Send + Sync + 'static>;

/// What a cleanup closure returns: `()` when it cannot fail, `Result<(), E>` when it can.
///
/// This lets [`DisposeStack::defer`](crate::dispose::DisposeStack::defer) and its siblings take
/// both kinds of closure; an `Err` is kept and comes back from the stack's `dispose` in a
/// [`DisposeError`]. Any error type that converts into a [`BoxError`] works, strings included.
///
/// ```
/// use janitor::dispose::DisposeOutcome;
///
/// assert!(().into_result().is_ok());
/// assert!(Ok::<(), std::io::Error>(()).into_result().is_ok());
/// assert_eq!(Err::<(), _>("disk full").into_result().unwrap_err().to_string(), "disk full");
/// ```
pub trait DisposeOutcome {
    /// The outcome as a result with a boxed error.
    fn into_result(self) -> Result<(), BoxError>;
}

impl DisposeOutcome for () {
    fn into_result(self) -> Result<(), BoxError> {
        Ok(())
    }
}

impl<E: Into<BoxError>> DisposeOutcome for Result<(), E> {
    fn into_result(self) -> Result<(), BoxError> {
        self.map_err(Into::into)
    }
}

/// One or more cleanup steps failed; every step ran regardless.
///
/// The error holds the **latest** failure ([`error`](Self::error)); the failures before it are
/// chained behind it as [`suppressed`](Self::suppressed), which is also its
/// [`source`](Error::source), like JavaScript's `SuppressedError`. Walking the sources goes from
/// the failure that happened last back to the one that happened first; since a stack runs its
/// entries last registered first, that lists a stack's failing entries in registration order.
///
/// ```
/// use janitor::dispose::DisposeStack;
/// use std::error::Error;
///
/// let stack = DisposeStack::new();
/// stack.defer(|| Err::<(), _>("first registered, fails last")).unwrap();
/// stack.defer(|| Err::<(), _>("last registered, fails first")).unwrap();
///
/// let error = stack.try_dispose().unwrap_err();
/// assert_eq!(error.error().to_string(), "first registered, fails last");
/// let earlier = error.source().unwrap();
/// assert_eq!(earlier.to_string(), "a cleanup step failed: last registered, fails first");
/// assert_eq!(error.len(), 2);
/// ```
#[derive(Debug, thiserror::Error)]
#[error("a cleanup step failed: {error}{}", earlier_note(.suppressed.as_deref()))]
pub struct DisposeError {
    error: BoxError,
    #[source]
    suppressed: Option<Box<DisposeError>>,
}

fn earlier_note(suppressed: Option<&DisposeError>) -> String {
    match suppressed.map(DisposeError::len) {
        None => String::new(),
        Some(1) => " (1 earlier failure is chained as its source)".to_owned(),
        Some(earlier) => format!(" ({earlier} earlier failures are chained as its source)"),
    }
}

impl DisposeError {
    /// A failure with nothing before it.
    ///
    /// ```
    /// let error = janitor::dispose::DisposeError::new("socket already reset".into());
    /// assert_eq!(error.to_string(), "a cleanup step failed: socket already reset");
    /// assert!(error.suppressed().is_none());
    /// ```
    pub fn new(error: BoxError) -> Self {
        Self {
            error,
            suppressed: None,
        }
    }

    /// `error`, which happened after the failures in `suppressed` and wraps them.
    ///
    /// ```
    /// use janitor::dispose::DisposeError;
    ///
    /// let first = DisposeError::new("first".into());
    /// let both = DisposeError::suppressing("second".into(), first);
    /// assert_eq!(both.error().to_string(), "second");
    /// assert_eq!(both.suppressed().unwrap().error().to_string(), "first");
    /// ```
    pub fn suppressing(error: BoxError, suppressed: DisposeError) -> Self {
        Self {
            error,
            suppressed: Some(Box::new(suppressed)),
        }
    }

    /// The latest failure, with its own source chain intact.
    ///
    /// ```
    /// let error = janitor::dispose::DisposeError::new("flush failed".into());
    /// assert_eq!(error.error().to_string(), "flush failed");
    /// ```
    pub fn error(&self) -> &(dyn Error + Send + Sync + 'static) {
        &*self.error
    }

    /// The failures that happened before the latest one, if any.
    ///
    /// ```
    /// let error = janitor::dispose::DisposeError::new("alone".into());
    /// assert!(error.suppressed().is_none());
    /// ```
    pub fn suppressed(&self) -> Option<&DisposeError> {
        self.suppressed.as_deref()
    }

    /// Every failure, latest first.
    ///
    /// ```
    /// use janitor::dispose::DisposeError;
    ///
    /// let chain = DisposeError::suppressing("b".into(), DisposeError::new("a".into()));
    /// let messages: Vec<String> = chain.errors().map(|error| error.to_string()).collect();
    /// assert_eq!(messages, ["b", "a"]);
    /// ```
    pub fn errors(&self) -> impl Iterator<Item = &(dyn Error + Send + Sync + 'static)> {
        std::iter::successors(Some(self), |error| error.suppressed()).map(DisposeError::error)
    }

    /// How many failures the chain holds (at least one).
    ///
    /// ```
    /// assert_eq!(janitor::dispose::DisposeError::new("one".into()).len(), 1);
    /// ```
    #[allow(clippy::len_without_is_empty)] // never empty: a DisposeError is at least one failure
    pub fn len(&self) -> usize {
        self.errors().count()
    }

    /// The latest failure, unwrapped; the earlier ones are dropped.
    ///
    /// ```
    /// let error = janitor::dispose::DisposeError::new("gone".into());
    /// assert_eq!(error.into_error().to_string(), "gone");
    /// ```
    pub fn into_error(self) -> BoxError {
        self.error
    }
}

/// What a panic said, when it said it with a string (as `panic!` does).
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(message) = payload.downcast_ref::<&'static str>() {
        message
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message
    } else {
        "(a panic payload that is not a string)"
    }
}

/// The outcome of one cleanup step: its returned result, or the payload of its panic.
pub(crate) type StepOutcome = std::thread::Result<Result<(), BoxError>>;

/// Collects the failures of a run of cleanup steps, in the order the steps ran.
#[derive(Default)]
pub(crate) struct Failures {
    errors: Option<DisposeError>,
    first_panic: Option<Box<dyn Any + Send>>,
}

impl Failures {
    /// Runs one step, catching its panic so the steps after it still run.
    pub(crate) fn run(&mut self, step: impl FnOnce() -> Result<(), BoxError>) {
        self.record(panic::catch_unwind(AssertUnwindSafe(step)));
    }

    /// Keeps what went wrong in a step that has run.
    pub(crate) fn record(&mut self, outcome: StepOutcome) {
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                self.errors = Some(match self.errors.take() {
                    None => DisposeError::new(error),
                    Some(earlier) => DisposeError::suppressing(error, earlier),
                });
            }
            Err(payload) if self.first_panic.is_none() => self.first_panic = Some(payload),
            Err(payload) => tracing::warn!(
                panic = panic_message(&*payload),
                "a cleanup step panicked after an earlier one had; the first panic is resumed"
            ),
        }
    }

    /// Ends the run: resumes the first panic if there was one (the errors then go to `tracing`),
    /// otherwise returns the errors.
    pub(crate) fn finish(self) -> Result<(), DisposeError> {
        match self.first_panic {
            None => self.errors.map_or(Ok(()), Err),
            Some(payload) => {
                if let Some(errors) = self.errors {
                    log_errors(
                        &errors,
                        "a cleanup step panicked, so these errors cannot be returned",
                    );
                }
                resume_unless_unwinding(payload);
                Ok(())
            }
        }
    }

    /// Ends a run that has nobody to return errors to (a `Drop`, [`Dispose::dispose`]): the
    /// errors go to `tracing`, `context` saying where they happened, and the first panic is
    /// resumed.
    ///
    /// [`Dispose::dispose`]: crate::Dispose::dispose
    pub(crate) fn finish_unreturned(self, context: &str) {
        if let Err(errors) = self.finish() {
            log_errors(&errors, context);
        }
    }
}

/// Resumes a caught panic, unless this thread is already unwinding from another one: a second
/// panic there would abort the process, so it is reported instead.
pub(crate) fn resume_unless_unwinding(payload: Box<dyn Any + Send>) {
    if std::thread::panicking() {
        tracing::error!(
            panic = panic_message(&*payload),
            "a cleanup step panicked while the thread was already unwinding; not resumed, \
             to keep the process alive"
        );
    } else {
        panic::resume_unwind(payload);
    }
}

fn log_errors(errors: &DisposeError, context: &str) {
    for error in errors.errors() {
        tracing::warn!(error = %DisplayChain(error), "{context}");
    }
}

/// An error and its sources on one line, `outer: inner: innermost`.
struct DisplayChain<'a>(&'a (dyn Error + 'static));

impl fmt::Display for DisplayChain<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(error) = source {
            write!(formatter, ": {error}")?;
            source = error.source();
        }
        Ok(())
    }
}
