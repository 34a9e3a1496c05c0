//! Which path a cleanup runs on: .NET's `Dispose(bool disposing)`, as an enum.
//!
//! One cleanup routine serves two callers: an explicit `dispose`, where the whole object graph is
//! intact and the value may release everything it owns, and a finalizer (a `Drop` of an undisposed
//! value today, the managed heap's `Finalize` later), where the objects it points to may already be
//! finalized or gone and only the resources it holds directly may be touched.

/// The path a cleanup routine runs on: the Rust form of the `disposing` argument of .NET's
/// `Dispose(bool disposing)`.
///
/// A type that must release its resources both when disposed and when dropped (or finalized)
/// without having been disposed writes one `cleanup(&self, mode: DisposeMode)` and calls it from
/// both places. The mode says what the cleanup may touch:
///
/// - **[`Explicit`](Self::Explicit)** (`disposing == true`): called from [`Dispose::dispose`].
///   Everything the value owns is still alive: dispose its managed state (other disposable
///   values, registrations, buffers to flush), then release its unmanaged resources.
/// - **[`Finalizer`](Self::Finalizer)** (`disposing == false`): called from `Drop` or a
///   finalizer because nobody disposed the value. Release only the unmanaged resources the value
///   holds *directly* (a descriptor, a raw pointer, a count in a global table). Do not touch any
///   other finalizable object: in a collected cycle it may have been finalized already, in any
///   order. Managed state is released only on the explicit path; on this path it is left to its
///   own `Drop` or finalizer.
///
/// Both paths go through the same [`DisposeFlag`], so the cleanup runs once, whichever comes first.
///
/// # The full pattern
///
/// ```
/// use janitor::dispose::DisposeMode;
/// use janitor::{Dispose, DisposeFlag};
/// use std::sync::{Arc, Mutex};
///
/// /// A log file: an unmanaged descriptor it owns directly, and a managed buffer of lines that
/// /// must be written out on an orderly dispose.
/// struct LogFile {
///     disposed: DisposeFlag,
///     descriptor: i32,
///     pending: Mutex<Vec<String>>,
///     journal: Arc<Mutex<Vec<String>>>,
/// }
///
/// impl LogFile {
///     fn cleanup(&self, mode: DisposeMode) {
///         if !self.disposed.try_begin() {
///             return;
///         }
///         let mut journal = self.journal.lock().unwrap();
///         if mode.releases_managed_state() {
///             // Managed state: only on the explicit path, while everything is still alive.
///             let lines = self.pending.lock().unwrap().len();
///             journal.push(format!("flushed {lines} lines"));
///         }
///         // Unmanaged resources the value holds directly: on both paths.
///         journal.push(format!("closed descriptor {}", self.descriptor));
///     }
/// }
///
/// impl Dispose for LogFile {
///     fn dispose(&self) {
///         self.cleanup(DisposeMode::Explicit);
///     }
/// }
///
/// impl Drop for LogFile {
///     fn drop(&mut self) {
///         // After a dispose the flag is set and there is nothing left to do.
///         if !self.disposed.is_disposed() {
///             self.cleanup(DisposeMode::Finalizer);
///         }
///     }
/// }
///
/// let open = |descriptor, journal: &Arc<Mutex<Vec<String>>>| LogFile {
///     disposed: DisposeFlag::new(),
///     descriptor,
///     pending: Mutex::new(vec!["started".into()]),
///     journal: journal.clone(),
/// };
/// let journal = Arc::new(Mutex::new(Vec::new()));
///
/// let disposed = open(7, &journal);
/// disposed.dispose();
/// drop(disposed); // already disposed: the drop does nothing
///
/// drop(open(8, &journal)); // forgotten: the finalizer path skips the managed buffer
///
/// assert_eq!(
///     *journal.lock().unwrap(),
///     ["flushed 1 lines", "closed descriptor 7", "closed descriptor 8"]
/// );
/// ```
///
/// The managed heap's finalization hook will call the same `cleanup` with
/// [`DisposeMode::Finalizer`], so a type written this way needs nothing new to become finalizable.
///
/// [`Dispose::dispose`]: crate::Dispose::dispose
/// [`DisposeFlag`]: crate::DisposeFlag
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisposeMode {
    /// Called from [`Dispose::dispose`](crate::Dispose::dispose): the value may release
    /// everything it owns, managed state included.
    Explicit,
    /// Called from `Drop` or a finalizer on a value nobody disposed: release only the resources
    /// held directly, touch no other finalizable object.
    Finalizer,
}

impl DisposeMode {
    /// Whether managed state (other disposable values the value owns) may be released: `true`
    /// only on the [`Explicit`](Self::Explicit) path. The `disposing` of .NET's pattern.
    ///
    /// ```
    /// use janitor::dispose::DisposeMode;
    /// assert!(DisposeMode::Explicit.releases_managed_state());
    /// assert!(!DisposeMode::Finalizer.releases_managed_state());
    /// ```
    pub fn releases_managed_state(self) -> bool {
        self == Self::Explicit
    }
}
