//! What a kind of handle is: its raw value, which values are invalid, and how one is released.

use std::fmt::Debug;

/// A kind of operating-system handle: what [`SafeHandle`](super::SafeHandle) needs to know to own one.
///
/// The counterpart of the two abstract members of .NET's `SafeHandle`: `IsInvalid` and
/// `ReleaseHandle`. A kind is a type-level tag (usually a unit struct); the handle value itself is
/// its [`Raw`](Self::Raw).
///
/// ```
/// use janitor::Dispose;
/// use janitor::handle::{HandleKind, SafeHandle};
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// static RELEASED: AtomicUsize = AtomicUsize::new(0);
///
/// /// A handle into some table of slots; slot 0 means "none".
/// struct Slot;
///
/// impl HandleKind for Slot {
///     type Raw = u32;
///     fn is_invalid(raw: u32) -> bool {
///         raw == 0
///     }
///     unsafe fn release(_raw: u32) -> bool {
///         RELEASED.fetch_add(1, Ordering::Relaxed);
///         true
///     }
/// }
///
/// // SAFETY: slot 7 is ours to release; nothing else releases it.
/// let handle = unsafe { SafeHandle::<Slot>::from_raw_owned(7) };
/// handle.dispose();
/// assert_eq!(RELEASED.load(Ordering::Relaxed), 1);
/// ```
pub trait HandleKind: Send + Sync + 'static {
    /// The raw handle value (a descriptor number, an address and length, ...).
    type Raw: Copy + Eq + Send + Sync + Debug;

    /// Whether `raw` is a value that names no handle (and so is never released).
    ///
    /// It must be a pure function of `raw`: [`SafeHandle`](super::SafeHandle) asks it when deciding
    /// whether to release.
    ///
    /// ```
    /// use janitor::handle::{FdKind, HandleKind};
    /// assert!(FdKind::is_invalid(-1));
    /// assert!(!FdKind::is_invalid(0));
    /// ```
    fn is_invalid(raw: Self::Raw) -> bool;

    /// Releases the handle `raw` names. Returns `false` if the operating system reported a
    /// failure; [`SafeHandle`](super::SafeHandle) reports that through `tracing` (as .NET Framework's
    /// `ReleaseHandleFailed` assistant did), never as a panic: the handle is gone either way.
    ///
    /// # Safety
    ///
    /// `raw` is a valid handle of this kind owned by the caller, and nothing uses or releases it
    /// afterwards. [`SafeHandle`](super::SafeHandle) calls it at most once, after the last use.
    ///
    /// ```
    /// use janitor::handle::{FdKind, HandleKind};
    /// use std::os::fd::IntoRawFd;
    ///
    /// let (reader, writer) = rustix::pipe::pipe().unwrap();
    /// drop(writer);
    /// // SAFETY: the descriptor was just taken out of its owner and is not used again.
    /// assert!(unsafe { FdKind::release(reader.into_raw_fd()) });
    /// ```
    unsafe fn release(raw: Self::Raw) -> bool;
}

/// A [`HandleKind`] with a well-known invalid value, for [`SafeHandle::invalid`](super::SafeHandle::invalid)
/// (.NET's parameterless `SafeHandle` constructors, such as `new SafeFileHandle()`).
///
/// # Safety
///
/// `Self::is_invalid(Self::INVALID)` must be `true`, every time it is asked: a handle made by
/// `invalid()` owns its value, and only invalidity keeps it from being released.
///
/// ```
/// use janitor::handle::{FdKind, HandleKind, InvalidHandleValue};
/// assert!(FdKind::is_invalid(FdKind::INVALID));
/// ```
pub unsafe trait InvalidHandleValue: HandleKind {
    /// The invalid value.
    const INVALID: Self::Raw;
}
