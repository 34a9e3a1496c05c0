//! `HandleGuard`: one use of a handle in flight, ended by `Drop`.
//!
//! The guard is the only safe way to reach the raw value for a use: it exists only while its count
//! is held, and it borrows the handle, so the value it lends cannot outlive the use.

use super::kind::HandleKind;
use super::safe_handle::SafeHandle;
use std::fmt;

/// A use of a [`SafeHandle`] in flight: the handle is not released while the guard lives.
///
/// Returned by [`SafeHandle::add_ref`]; dropping it ends the use (and, if it was the last use of
/// a disposed handle, releases the handle). The RAII form of .NET's
/// `DangerousAddRef`/`DangerousRelease` pair: the release cannot be forgotten, or done twice.
///
/// ```
/// use janitor::handle::SafeFd;
///
/// let (reader, _writer) = rustix::pipe::pipe().unwrap();
/// let handle = SafeFd::from(reader);
/// let guard = handle.add_ref().unwrap();
/// let stat = rustix::fs::fstat(guard.as_fd()).unwrap();
/// assert_eq!(rustix::fs::FileType::from_raw_mode(stat.st_mode), rustix::fs::FileType::Fifo);
/// ```
#[must_use = "a use ends as soon as its guard is dropped"]
pub struct HandleGuard<'a, K: HandleKind> {
    handle: &'a SafeHandle<K>,
}

impl<'a, K: HandleKind> HandleGuard<'a, K> {
    /// Wraps a use the caller has just started on `handle`.
    #[inline]
    pub(super) fn new(handle: &'a SafeHandle<K>) -> Self {
        Self { handle }
    }

    /// The raw handle value, valid (if the handle is valid) until this guard is dropped.
    ///
    /// ```
    /// use janitor::handle::SafeFd;
    ///
    /// let (reader, _writer) = rustix::pipe::pipe().unwrap();
    /// let handle = SafeFd::from(reader);
    /// assert_eq!(handle.add_ref().unwrap().raw(), handle.dangerous_get_handle());
    /// ```
    #[inline]
    pub fn raw(&self) -> K::Raw {
        self.handle.dangerous_get_handle()
    }

    /// The handle this use belongs to.
    ///
    /// ```
    /// use janitor::handle::SafeFd;
    ///
    /// let (reader, _writer) = rustix::pipe::pipe().unwrap();
    /// let handle = SafeFd::from(reader);
    /// let guard = handle.add_ref().unwrap();
    /// assert!(std::ptr::eq(guard.handle(), &handle));
    /// ```
    #[inline]
    pub fn handle(&self) -> &'a SafeHandle<K> {
        self.handle
    }
}

impl<K: HandleKind> Drop for HandleGuard<'_, K> {
    #[inline]
    fn drop(&mut self) {
        self.handle.end_use();
    }
}

impl<K: HandleKind> fmt::Debug for HandleGuard<'_, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandleGuard")
            .field("raw", &self.raw())
            .finish()
    }
}
