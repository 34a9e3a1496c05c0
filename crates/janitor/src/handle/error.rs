//! The one error type of the handle module.

use crate::dispose::ObjectDisposed;
use std::io;
use std::path::PathBuf;

/// What went wrong in an operation on a handle, and what to do about it.
///
/// ```
/// use janitor::Dispose;
/// use janitor::handle::{HandleError, NativeMemory};
///
/// let buffer = NativeMemory::alloc(8).unwrap();
/// assert!(matches!(
///     buffer.read::<u64>(4),
///     Err(HandleError::OutOfBounds { offset: 4, len: 8, capacity: 8 })
/// ));
/// buffer.dispose();
/// assert!(matches!(buffer.read::<u8>(0), Err(HandleError::Disposed(_))));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HandleError {
    /// The handle is closed: it was disposed (and its last use ended) or set as invalid.
    #[error(transparent)]
    Disposed(#[from] ObjectDisposed),

    /// A system call on a live handle failed.
    #[error("{operation} failed: {source}")]
    Io {
        /// The operation, as the system call is named (`read`, `fsync`, ...).
        operation: &'static str,
        /// The operating system's error.
        source: io::Error,
    },

    /// A file could not be opened.
    #[error(
        "cannot open '{}': {source}; check that the file exists and that this process may open it \
         with the access asked for",
        path.display()
    )]
    Open {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },

    /// A file could not be mapped into memory.
    #[error(
        "cannot map '{}': {source}; check that the file exists, is a regular file, and is opened \
         with the access the mapping asks for",
        path.display()
    )]
    Map {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },

    /// An empty file cannot be mapped (a mapping has at least one byte).
    #[error(
        "cannot map '{}': the file is empty; give it a length first (File::set_len) or do not map it",
        path.display()
    )]
    EmptyFile {
        /// The file.
        path: PathBuf,
    },

    /// A buffer access reaches past the end of the buffer.
    #[error(
        "{len} bytes at offset {offset} are out of bounds of a {capacity}-byte buffer; \
         keep offset + length within the buffer's byte_length()"
    )]
    OutOfBounds {
        /// Where the access starts.
        offset: usize,
        /// How many bytes it covers.
        len: usize,
        /// The buffer's length in bytes.
        capacity: usize,
    },

    /// A write to a buffer that is mapped read-only.
    #[error("the buffer is read-only; map the file with MapAccess::ReadWrite to write through it")]
    ReadOnly,

    /// Native memory could not be allocated.
    #[error("cannot allocate {len} bytes of native memory; ask for less")]
    AllocationFailed {
        /// The length asked for.
        len: usize,
    },

    /// Ownership could not be taken out of a handle because uses are still in flight.
    #[error(
        "cannot take the raw handle out: {uses} use(s) still in flight; end them \
         (drop their guards, call dangerous_release) first"
    )]
    UsesInFlight {
        /// How many.
        uses: usize,
    },

    /// Ownership could not be taken out of a handle that does not own its raw value.
    #[error("cannot take the raw handle out of a {handle} that does not own it")]
    NotOwned {
        /// The handle's type.
        handle: &'static str,
    },

    /// The operation needs a valid handle, and this one holds an invalid raw value.
    #[error("the {handle} holds an invalid raw value; create it from a live handle")]
    Invalid {
        /// The handle's type.
        handle: &'static str,
    },
}

impl HandleError {
    /// The error of system call `operation` failing with `errno`.
    pub(crate) fn io(operation: &'static str, errno: rustix::io::Errno) -> Self {
        Self::Io {
            operation,
            source: errno.into(),
        }
    }
}

/// For the `std::io` traits: keeps the operating system's error kind, wraps the rest.
impl From<HandleError> for io::Error {
    /// ```
    /// use janitor::handle::HandleError;
    ///
    /// let error = std::io::Error::from(HandleError::ReadOnly);
    /// assert!(error.get_ref().unwrap().is::<HandleError>());
    /// ```
    fn from(error: HandleError) -> Self {
        let kind = match &error {
            HandleError::Io { source, .. }
            | HandleError::Open { source, .. }
            | HandleError::Map { source, .. } => source.kind(),
            HandleError::OutOfBounds { .. } | HandleError::EmptyFile { .. } => {
                io::ErrorKind::InvalidInput
            }
            HandleError::ReadOnly => io::ErrorKind::PermissionDenied,
            HandleError::AllocationFailed { .. } => io::ErrorKind::OutOfMemory,
            HandleError::Disposed(_)
            | HandleError::UsesInFlight { .. }
            | HandleError::NotOwned { .. }
            | HandleError::Invalid { .. } => io::ErrorKind::Other,
        };
        io::Error::new(kind, error)
    }
}
