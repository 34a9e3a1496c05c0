//! The handler of panics that escape a finalizer, or a `Drop` the reclaimer runs: neither has a
//! caller to resume in, so each goes to one process-wide handler, and the process aborts without one.

use crate::sync::IgnorePoison;
use std::any::Any;
use std::sync::{Arc, RwLock};

/// What to do after a finalizer panicked, as decided by the handler installed with
/// [`set_finalizer_panic_handler`].
///
/// ```
/// use janitor::gc::FinalizerPanicAction;
/// assert_ne!(FinalizerPanicAction::Continue, FinalizerPanicAction::Abort);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FinalizerPanicAction {
    /// Treat the object as finalized and go on with the next finalizer.
    Continue,
    /// Abort the process (what happens without a handler, as in .NET).
    Abort,
}

/// A panic that escaped a finalizer, as shown to the handler.
///
/// ```
/// use janitor::gc::{FinalizerPanic, FinalizerPanicAction, set_finalizer_panic_handler};
/// set_finalizer_panic_handler(|panic: &FinalizerPanic| {
///     eprintln!("{} panicked: {}", panic.type_name(), panic.message());
///     FinalizerPanicAction::Continue
/// });
/// ```
#[derive(Debug)]
pub struct FinalizerPanic {
    type_name: &'static str,
    message: String,
}

impl FinalizerPanic {
    /// The type whose finalizer panicked.
    ///
    /// ```
    /// # use janitor::gc::{FinalizerPanic, FinalizerPanicAction, set_finalizer_panic_handler};
    /// set_finalizer_panic_handler(|panic: &FinalizerPanic| {
    ///     assert!(!panic.type_name().is_empty());
    ///     FinalizerPanicAction::Continue
    /// });
    /// ```
    pub fn type_name(&self) -> &'static str {
        self.type_name
    }

    /// The panic's message, when it was a string.
    ///
    /// ```
    /// # use janitor::gc::{FinalizerPanic, FinalizerPanicAction, set_finalizer_panic_handler};
    /// set_finalizer_panic_handler(|panic: &FinalizerPanic| {
    ///     let _ = panic.message();
    ///     FinalizerPanicAction::Continue
    /// });
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }
}

type Handler = Arc<dyn Fn(&FinalizerPanic) -> FinalizerPanicAction + Send + Sync>;

static HANDLER: RwLock<Option<Handler>> = RwLock::new(None);

/// Installs the function that decides what happens when a panic escapes a finalizer (or the drop
/// of the object it finalized, or a `Drop` that the `janitor-reclaimer` thread runs for an
/// automatic collection, see [`collect`](crate::gc::collect)), replacing any earlier one. Without a handler the process aborts
/// with a message naming the type, as .NET terminates the process on an exception escaping a
/// finalizer. The handler runs on the finalizer thread; with
/// [`Continue`](FinalizerPanicAction::Continue) the object counts as finalized.
///
/// ```
/// use janitor::gc::{Finalize, FinalizerPanicAction, Gc, Trace, set_finalizer_panic_handler,
///                   wait_for_pending_finalizers};
///
/// #[derive(Trace)]
/// #[trace(finalize)]
/// struct Flaky;
/// impl Finalize for Flaky {
///     fn finalize(_: &Gc<Self>) {
///         panic!("cannot flush");
///     }
/// }
///
/// set_finalizer_panic_handler(|panic| {
///     assert!(panic.type_name().ends_with("Flaky"));
///     FinalizerPanicAction::Continue
/// });
/// drop(Gc::new(Flaky));
/// wait_for_pending_finalizers(); // the process lives on
/// ```
pub fn set_finalizer_panic_handler(
    handler: impl Fn(&FinalizerPanic) -> FinalizerPanicAction + Send + Sync + 'static,
) {
    *HANDLER.write().ignore_poison() = Some(Arc::new(handler));
}

pub(crate) fn report_panic(type_name: &'static str, payload: Box<dyn Any + Send>) {
    report(type_name, payload, "the finalizer of");
}

/// Reports a panic that escaped a `Drop` the reclaimer ran for an automatic collection
/// (`reclaim.rs`): it has no caller to resume in, so it goes to the same handler as a finalizer's.
pub(crate) fn report_reclaimer_panic(type_name: &'static str, payload: Box<dyn Any + Send>) {
    report(
        type_name,
        payload,
        "the Drop, run by the reclaimer for an automatic collection, of",
    );
}

/// A panic payload's message, when it is a string.
pub(crate) fn message_of(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|message| (*message).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(a panic payload that is not a string)".to_owned())
}

/// Asks the handler what to do about a panic, and aborts without one; `what` names the code that
/// panicked, before the type, in the abort message.
fn report(type_name: &'static str, payload: Box<dyn Any + Send>, what: &str) {
    let message = message_of(&*payload);
    let panic = FinalizerPanic { type_name, message };
    let handler = HANDLER.read().ignore_poison().clone();
    let action = match handler {
        Some(handler) => handler(&panic),
        None => FinalizerPanicAction::Abort,
    };
    if action == FinalizerPanicAction::Abort {
        eprintln!(
            "janitor: {what} `{type_name}` panicked: {}; aborting the process \
             (a finalizer or a garbage object's Drop must not panic; install a handler with \
             janitor::gc::set_finalizer_panic_handler to continue instead)",
            panic.message
        );
        std::process::abort();
    }
}
