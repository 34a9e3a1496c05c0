//! `SafeFile`: a file (or any byte stream descriptor) whose every operation holds a use.
//!
//! Each method starts a use, makes its system call through the guard's `BorrowedFd`, and ends the
//! use when the call returns. A dispose on another thread therefore never closes the descriptor
//! under a call in progress, and a call that starts after the close fails with `ObjectDisposed`
//! instead of reaching whatever descriptor took the number since.

use super::error::HandleError;
use super::fd::SafeFd;
use super::guard::HandleGuard;
use crate::dispose::Dispose;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::fd::OwnedFd;
use std::path::Path;

/// A file shared across threads, disposable while calls are in flight: .NET's `FileStream` over a
/// `SafeFileHandle`, without the buffering.
///
/// `read`, `write`, `seek`, `sync_all` and `sync_data` take `&self`, and `std::io`'s `Read`,
/// `Write` and `Seek` are implemented for `&SafeFile` as well as `SafeFile`, so one file behind an
/// `Arc` serves many threads. Each call holds a use of the descriptor for its duration.
///
/// ```
/// use janitor::Dispose;
/// use janitor::handle::SafeFile;
/// use std::io::{Read, Seek, SeekFrom, Write};
///
/// # let path = std::env::temp_dir().join(format!("janitor-doc-file-{}", std::process::id()));
/// let mut options = std::fs::OpenOptions::new();
/// options.read(true).write(true).create(true).truncate(true);
/// let file = SafeFile::open(&path, &options).unwrap();
/// (&file).write_all(b"hello").unwrap();
/// file.seek(SeekFrom::Start(0)).unwrap();
/// let mut text = String::new();
/// (&file).read_to_string(&mut text).unwrap();
/// assert_eq!(text, "hello");
/// file.dispose();
/// assert!(file.read(&mut [0; 1]).is_err());
/// # std::fs::remove_file(&path).unwrap();
/// ```
#[derive(Debug)]
pub struct SafeFile {
    handle: SafeFd,
}

impl SafeFile {
    /// Opens `path` with `options` (std's builder: read, write, append, create, truncate, ...).
    /// A failure names the path.
    ///
    /// ```
    /// use janitor::handle::{HandleError, SafeFile};
    ///
    /// let error = SafeFile::open("/no/such/file", std::fs::OpenOptions::new().read(true)).unwrap_err();
    /// assert!(matches!(error, HandleError::Open { .. }));
    /// assert!(error.to_string().contains("/no/such/file"));
    /// ```
    #[track_caller]
    pub fn open(path: impl AsRef<Path>, options: &OpenOptions) -> Result<Self, HandleError> {
        let path = path.as_ref();
        // A `match`, not `map(Self::from)`: the leak report's creation site must be our caller's,
        // and `#[track_caller]` does not pass through a function pointer.
        match options.open(path) {
            Ok(file) => Ok(Self::from(file)),
            Err(source) => Err(HandleError::Open {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// The descriptor's handle, for its state (`is_closed`, `uses_in_flight`, ...) or a use of
    /// its own (`add_ref`).
    ///
    /// ```
    /// # let (reader, _writer) = rustix::pipe::pipe().unwrap();
    /// let file = janitor::handle::SafeFile::from(reader);
    /// assert_eq!(file.handle().uses_in_flight(), 0);
    /// ```
    pub fn handle(&self) -> &SafeFd {
        &self.handle
    }

    /// Reads up to `buf.len()` bytes at the file position; `Ok(0)` at end of file.
    ///
    /// ```
    /// use janitor::handle::SafeFile;
    ///
    /// let (reader, writer) = rustix::pipe::pipe().unwrap();
    /// let (reader, writer) = (SafeFile::from(reader), SafeFile::from(writer));
    /// writer.write(b"ab").unwrap();
    /// let mut bytes = [0; 2];
    /// assert_eq!(reader.read(&mut bytes).unwrap(), 2);
    /// ```
    pub fn read(&self, buf: &mut [u8]) -> Result<usize, HandleError> {
        let guard = self.use_fd()?;
        rustix::io::read(guard.as_fd(), buf).map_err(|errno| HandleError::io("read", errno))
    }

    /// Writes up to `buf.len()` bytes at the file position; returns how many were written.
    ///
    /// ```
    /// use janitor::handle::SafeFile;
    ///
    /// let (_reader, writer) = rustix::pipe::pipe().unwrap();
    /// assert_eq!(SafeFile::from(writer).write(b"abc").unwrap(), 3);
    /// ```
    pub fn write(&self, buf: &[u8]) -> Result<usize, HandleError> {
        let guard = self.use_fd()?;
        rustix::io::write(guard.as_fd(), buf).map_err(|errno| HandleError::io("write", errno))
    }

    /// Moves the file position; returns the new position from the start of the file.
    ///
    /// ```
    /// use janitor::handle::SafeFile;
    /// use std::io::SeekFrom;
    ///
    /// # let path = std::env::temp_dir().join(format!("janitor-doc-seek-{}", std::process::id()));
    /// let file = SafeFile::from(std::fs::File::create(&path).unwrap());
    /// file.write(b"12345").unwrap();
    /// assert_eq!(file.seek(SeekFrom::End(-2)).unwrap(), 3);
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn seek(&self, position: SeekFrom) -> Result<u64, HandleError> {
        let position = match position {
            SeekFrom::Start(offset) => rustix::fs::SeekFrom::Start(offset),
            SeekFrom::End(offset) => rustix::fs::SeekFrom::End(offset),
            SeekFrom::Current(offset) => rustix::fs::SeekFrom::Current(offset),
        };
        let guard = self.use_fd()?;
        rustix::fs::seek(guard.as_fd(), position).map_err(|errno| HandleError::io("lseek", errno))
    }

    /// Flushes the file's data and metadata to the device (`fsync`).
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("janitor-doc-sync-{}", std::process::id()));
    /// let file = janitor::handle::SafeFile::from(std::fs::File::create(&path).unwrap());
    /// file.write(b"durable").unwrap();
    /// file.sync_all().unwrap();
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn sync_all(&self) -> Result<(), HandleError> {
        let guard = self.use_fd()?;
        rustix::fs::fsync(guard.as_fd()).map_err(|errno| HandleError::io("fsync", errno))
    }

    /// Flushes the file's data, and only the metadata needed to read it back, to the device
    /// (`fdatasync`; `fsync` on Apple's systems and the others without `fdatasync`).
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("janitor-doc-sdata-{}", std::process::id()));
    /// let file = janitor::handle::SafeFile::from(std::fs::File::create(&path).unwrap());
    /// file.write(b"durable").unwrap();
    /// file.sync_data().unwrap();
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn sync_data(&self) -> Result<(), HandleError> {
        let guard = self.use_fd()?;
        // Where the system has no fdatasync(2) (Apple's, the BSDs that lack it), fsync(2) flushes
        // the metadata too: more than asked, never less.
        #[cfg(not(any(
            target_vendor = "apple",
            target_os = "dragonfly",
            target_os = "haiku",
            target_os = "redox"
        )))]
        let result = rustix::fs::fdatasync(guard.as_fd())
            .map_err(|errno| HandleError::io("fdatasync", errno));
        #[cfg(any(
            target_vendor = "apple",
            target_os = "dragonfly",
            target_os = "haiku",
            target_os = "redox"
        ))]
        let result =
            rustix::fs::fsync(guard.as_fd()).map_err(|errno| HandleError::io("fsync", errno));
        result
    }

    /// Disposes the file: the same operation as [`Dispose::dispose`]. Calls in flight finish; the
    /// descriptor is closed when the last of them returns.
    ///
    /// ```
    /// # let (reader, _writer) = rustix::pipe::pipe().unwrap();
    /// let file = janitor::handle::SafeFile::from(reader);
    /// file.close();
    /// assert!(file.is_closed());
    /// ```
    pub fn close(&self) {
        self.dispose();
    }

    /// Whether the descriptor is closed (no call can start any more).
    ///
    /// ```
    /// # let (reader, _writer) = rustix::pipe::pipe().unwrap();
    /// let file = janitor::handle::SafeFile::from(reader);
    /// assert!(!file.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.handle.is_closed()
    }

    /// A use of the descriptor for one system call. A `SafeFile` made from an invalid `SafeFd`
    /// (`SafeFd::invalid()`) answers every call with [`HandleError::Invalid`] rather than let the
    /// guard's `as_fd` panic: the file, not its caller, knows the descriptor may be invalid.
    fn use_fd(&self) -> Result<HandleGuard<'_, super::FdKind>, HandleError> {
        let guard = self.handle.add_ref()?;
        if self.handle.is_invalid() {
            return Err(HandleError::Invalid {
                handle: std::any::type_name::<Self>(),
            });
        }
        Ok(guard)
    }
}

impl Dispose for SafeFile {
    /// Disposes the descriptor's handle: closed now, or when the last call in flight returns.
    fn dispose(&self) {
        self.handle.dispose();
    }
}

impl From<SafeFd> for SafeFile {
    /// Reads and writes through an existing handle. If the handle is invalid (`SafeFd::invalid()`),
    /// every call fails with [`HandleError::Invalid`].
    ///
    /// ```
    /// use janitor::handle::{SafeFd, SafeFile};
    ///
    /// let (reader, _writer) = rustix::pipe::pipe().unwrap();
    /// let file = SafeFile::from(SafeFd::from(reader));
    /// assert!(!file.is_closed());
    /// ```
    fn from(handle: SafeFd) -> Self {
        Self { handle }
    }
}

impl From<OwnedFd> for SafeFile {
    /// Takes ownership of a descriptor (a pipe end, a socket, ...).
    ///
    /// ```
    /// let (reader, _writer) = rustix::pipe::pipe().unwrap();
    /// let file = janitor::handle::SafeFile::from(reader);
    /// assert!(file.handle().owns_handle());
    /// ```
    #[track_caller]
    fn from(fd: OwnedFd) -> Self {
        Self::from(SafeFd::from(fd))
    }
}

impl From<File> for SafeFile {
    /// Takes ownership of an open `std::fs::File`.
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("janitor-doc-from-{}", std::process::id()));
    /// let file = janitor::handle::SafeFile::from(std::fs::File::create(&path).unwrap());
    /// assert_eq!(file.write(b"x").unwrap(), 1);
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    #[track_caller]
    fn from(file: File) -> Self {
        Self::from(OwnedFd::from(file))
    }
}

impl Read for &SafeFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Ok(SafeFile::read(self, buf)?)
    }
}

impl Write for &SafeFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(SafeFile::write(self, buf)?)
    }

    /// Nothing to flush: `SafeFile` does not buffer. Use `sync_all` for durability.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Seek for &SafeFile {
    fn seek(&mut self, position: SeekFrom) -> io::Result<u64> {
        Ok(SafeFile::seek(self, position)?)
    }
}

impl Read for SafeFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Read::read(&mut &*self, buf)
    }
}

impl Write for SafeFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Write::write(&mut &*self, buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Write::flush(&mut &*self)
    }
}

impl Seek for SafeFile {
    fn seek(&mut self, position: SeekFrom) -> io::Result<u64> {
        Seek::seek(&mut &*self, position)
    }
}
