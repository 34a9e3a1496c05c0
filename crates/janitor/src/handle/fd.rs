//! File descriptors as a handle kind: `FdKind` and `SafeFd`.
//!
//! The bridge to Rust's I/O-safety types: an `OwnedFd` goes in, a `BorrowedFd` comes out only from
//! a guard, whose count keeps the descriptor open (and so its number from being reused) for exactly
//! as long as the borrow lasts.

use super::error::HandleError;
use super::guard::HandleGuard;
use super::kind::{HandleKind, InvalidHandleValue};
use super::safe_handle::SafeHandle;
use std::os::fd::{AsFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};

/// The kind of a file descriptor (a file, a socket, a pipe end, an eventfd): negative values are
/// invalid, and release is `close(2)`.
///
/// ```
/// use janitor::handle::{FdKind, HandleKind};
/// assert!(FdKind::is_invalid(-1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdKind;

impl HandleKind for FdKind {
    type Raw = RawFd;

    fn is_invalid(raw: RawFd) -> bool {
        raw < 0
    }

    unsafe fn release(raw: RawFd) -> bool {
        // SAFETY: the caller owns the open descriptor `raw` and never uses it again (the contract of
        // `HandleKind::release`). After `close` fails the descriptor is gone all the same (Linux).
        unsafe { rustix::io::try_close(raw) }.is_ok()
    }
}

// SAFETY: -1 is negative, which `FdKind::is_invalid` calls invalid.
unsafe impl InvalidHandleValue for FdKind {
    const INVALID: RawFd = -1;
}

/// A shared, safely disposable file descriptor: .NET's `SafeFileHandle` for any descriptor
/// (files, sockets, pipes, eventfd). See [`SafeHandle`] for the rules; [`SafeFile`](super::SafeFile)
/// adds reads and writes.
///
/// ```
/// use janitor::handle::SafeFd;
///
/// let (reader, writer) = rustix::pipe::pipe().unwrap();
/// let (reader, writer) = (SafeFd::from(reader), SafeFd::from(writer));
/// rustix::io::write(writer.add_ref().unwrap().as_fd(), b"hi").unwrap();
/// let mut bytes = [0; 2];
/// rustix::io::read(reader.add_ref().unwrap().as_fd(), &mut bytes).unwrap();
/// assert_eq!(&bytes, b"hi");
/// ```
pub type SafeFd = SafeHandle<FdKind>;

impl From<OwnedFd> for SafeHandle<FdKind> {
    /// Takes ownership of the descriptor.
    ///
    /// ```
    /// let (reader, _writer) = rustix::pipe::pipe().unwrap();
    /// let handle = janitor::handle::SafeFd::from(reader);
    /// assert!(handle.owns_handle());
    /// ```
    #[track_caller]
    fn from(fd: OwnedFd) -> Self {
        // SAFETY: `OwnedFd` owns an open descriptor, and `into_raw_fd` hands that ownership over.
        unsafe { Self::from_raw_owned(fd.into_raw_fd()) }
    }
}

impl SafeHandle<FdKind> {
    /// Gives the descriptor back as an [`OwnedFd`], without closing it. The handle must own a valid
    /// descriptor, be neither disposed nor closed, and have no use in flight (a `dangerous_add_ref`
    /// not yet released is refused with [`HandleError::UsesInFlight`]). On error the handle is
    /// dropped, which releases the descriptor only if nothing else could still be using it.
    ///
    /// ```
    /// use janitor::handle::SafeFd;
    ///
    /// let (reader, _writer) = rustix::pipe::pipe().unwrap();
    /// let fd = SafeFd::from(reader).into_owned_fd().unwrap();
    /// rustix::fs::fstat(&fd).unwrap();
    /// ```
    pub fn into_owned_fd(self) -> Result<OwnedFd, HandleError> {
        let raw = self.try_take()?;
        // SAFETY: `try_take` succeeded: the handle owned the valid descriptor `raw`, no use is in
        // flight, and the handle is now closed and disposed, so it never uses or closes `raw` again.
        Ok(unsafe { OwnedFd::from_raw_fd(raw) })
    }
}

impl<'a> HandleGuard<'a, FdKind> {
    /// The descriptor, borrowed for as long as this use lasts.
    ///
    /// # Panics
    ///
    /// If the handle holds an invalid (negative) descriptor, which no `BorrowedFd` may hold. Handles
    /// made from an `OwnedFd`, a `File` or by this module's constructors are always valid; check
    /// [`SafeHandle::is_invalid`] for one made by `from_raw_owned`, `from_raw_borrowed` or `invalid`.
    ///
    /// ```
    /// use janitor::handle::SafeFd;
    ///
    /// let (reader, _writer) = rustix::pipe::pipe().unwrap();
    /// let handle = SafeFd::from(reader);
    /// let guard = handle.add_ref().unwrap();
    /// assert!(rustix::fs::fstat(guard.as_fd()).is_ok());
    /// ```
    #[inline]
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        let raw = self.raw();
        assert!(
            raw >= 0,
            "as_fd on a SafeFd holding the invalid descriptor {raw}: check is_invalid() first"
        );
        // SAFETY: `raw` is not negative, so not -1. It is open for the lifetime of the borrow: this
        // guard holds a count, so the handle's final transition, and with it the close, cannot
        // happen before the guard is dropped, which the borrow of `self` prevents; a handle that
        // does not own `raw` has it kept open by its owner while the handle exists (`from_raw_borrowed`).
        unsafe { BorrowedFd::borrow_raw(raw) }
    }
}

impl AsFd for HandleGuard<'_, FdKind> {
    /// See [`HandleGuard::as_fd`].
    ///
    /// ```
    /// use janitor::handle::SafeFd;
    /// use std::os::fd::AsFd;
    ///
    /// let (reader, _writer) = rustix::pipe::pipe().unwrap();
    /// let handle = SafeFd::from(reader);
    /// let guard = handle.add_ref().unwrap();
    /// assert!(rustix::fs::fstat(&guard).is_ok());
    /// ```
    fn as_fd(&self) -> BorrowedFd<'_> {
        HandleGuard::as_fd(self)
    }
}
