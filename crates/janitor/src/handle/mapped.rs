//! A file mapped into memory as a handle kind: .NET's `SafeMemoryMappedViewHandle`, a `SafeBuffer`
//! whose release is `munmap`.

use super::buffer::{MapAccess, MemoryRange, SafeBuffer};
use super::error::HandleError;
use super::kind::HandleKind;
use std::fs::OpenOptions;
use std::path::Path;

/// The kind of a view of a file mapped into memory; also where such views are made
/// ([`open`](Self::open)).
///
/// The view maps the whole file, shared: writes reach the file and other mappings of it. Accesses
/// go through [`SafeBuffer`], bounds-checked and holding a use, so the view is never unmapped under
/// one.
///
/// One hazard stays, as with every mapping (and in .NET): **the file must not shrink while it is
/// mapped.** If it does — truncated by another process, or by this one through safe code such as
/// `File::set_len` — the next access to a lost page raises `SIGBUS`, which kills the process
/// (unless the program installed a `SIGBUS` handler of its own). So does a page the file system
/// cannot read or back (an I/O error; a hole of a sparse file written on a full disk). It is a
/// crash, not undefined behaviour: no access ever returns bytes that are not the file's, and no
/// reference to the mapping is ever formed, which is why [`open`](Self::open) can stay safe where
/// memmap2's `Mmap::map` cannot.
///
/// ```
/// use janitor::handle::{MapAccess, MappedView};
///
/// # let path = std::env::temp_dir().join(format!("janitor-doc-map-{}", std::process::id()));
/// std::fs::write(&path, [1u8, 2, 3, 4]).unwrap();
/// let view = MappedView::open(&path, MapAccess::ReadWrite).unwrap();
/// view.write::<u8>(0, 9).unwrap();
/// drop(view);
/// assert_eq!(std::fs::read(&path).unwrap(), [9, 2, 3, 4]);
/// # std::fs::remove_file(&path).unwrap();
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MappedView;

impl MappedView {
    /// Maps the whole file at `path`. Errors name the path: a missing or unopenable file, an empty
    /// file (nothing to map), or a file that cannot be mapped (a directory, a pipe).
    ///
    /// The file must not shrink while the view exists: an access to a page the file lost kills the
    /// process with `SIGBUS` (see [`MappedView`]).
    ///
    /// ```
    /// use janitor::handle::{HandleError, MapAccess, MappedView};
    ///
    /// let error = MappedView::open("/no/such/file", MapAccess::ReadOnly).unwrap_err();
    /// assert!(matches!(error, HandleError::Map { .. }));
    /// assert!(error.to_string().contains("/no/such/file"));
    /// ```
    #[track_caller]
    pub fn open(
        path: impl AsRef<Path>,
        access: MapAccess,
    ) -> Result<SafeBuffer<Self>, HandleError> {
        use rustix::mm::{MapFlags, ProtFlags};

        let path = path.as_ref();
        let failed = |source: std::io::Error| HandleError::Map {
            path: path.to_path_buf(),
            source,
        };
        let writable = access == MapAccess::ReadWrite;
        let file = OpenOptions::new()
            .read(true)
            .write(writable)
            .open(path)
            .map_err(failed)?;
        let size = rustix::fs::fstat(&file)
            .map_err(|errno| failed(errno.into()))?
            .st_size;
        if size == 0 {
            return Err(HandleError::EmptyFile {
                path: path.to_path_buf(),
            });
        }
        let len =
            usize::try_from(size).map_err(|_| failed(std::io::ErrorKind::FileTooLarge.into()))?;
        let protection = if writable {
            ProtFlags::READ | ProtFlags::WRITE
        } else {
            ProtFlags::READ
        };
        // SAFETY: a null address lets the kernel choose where to map, so no existing memory is
        // replaced; the other arguments are checked by the kernel.
        let address = unsafe {
            rustix::mm::mmap(
                std::ptr::null_mut(),
                len,
                protection,
                MapFlags::SHARED,
                &file,
                0,
            )
        }
        .map_err(|errno| failed(errno.into()))?;
        // SAFETY: the kernel just mapped `len` bytes at `address` for this view alone: readable,
        // writable if `writable`, initialized (file contents or zeros past its end in the last page).
        // Other mappings and processes change the bytes only from outside the Rust memory model,
        // as `from_owned_range` allows. A file that shrinks makes accesses fault (`SIGBUS`, a crash
        // documented on `MappedView`), never return other memory. The mapping outlives `file`, and
        // `MappedView::release` unmaps exactly this range.
        Ok(unsafe { SafeBuffer::from_owned_range(MemoryRange::new(address.cast(), len), access) })
    }
}

impl HandleKind for MappedView {
    type Raw = MemoryRange;

    fn is_invalid(range: MemoryRange) -> bool {
        range.address().is_null()
    }

    unsafe fn release(range: MemoryRange) -> bool {
        // SAFETY: the caller owns the mapping `range` (the contract of `release`) and nothing uses
        // it afterwards, so unmapping it invalidates no live access.
        unsafe { rustix::mm::munmap(range.address().cast(), range.len()) }.is_ok()
    }
}
