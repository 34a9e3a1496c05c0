//! `SafeBuffer`: bounds-checked reads and writes of native memory that hold a use for their
//! duration, so a dispose on another thread never frees or unmaps the memory under them.
//!
//! The memory is shared: any number of threads may read and write it through `&SafeBuffer` at
//! once (as .NET's `SafeBuffer` allows), and a mapped file may also change under another process's
//! writes. So the bytes are never turned into Rust references; they are copied in and out with
//! relaxed atomic byte accesses, which makes such races tear values (as they do in .NET) instead of
//! being undefined behaviour. Those byte atomics are std's on purpose: they guard no state machine
//! of the crate, and loom's cannot be laid over foreign memory.

use super::error::HandleError;
use super::guard::HandleGuard;
use super::kind::HandleKind;
use super::safe_handle::SafeHandle;
use crate::dispose::Dispose;
use std::fmt;
use std::mem::{MaybeUninit, size_of, size_of_val};
use std::sync::atomic::{AtomicU8, Ordering};

/// Whether a buffer's memory may be written: how a file is mapped, or how a buffer took over memory.
///
/// ```
/// use janitor::handle::MapAccess;
/// assert_ne!(MapAccess::ReadOnly, MapAccess::ReadWrite);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapAccess {
    /// Reads only; writes through the buffer are refused with [`HandleError::ReadOnly`].
    ReadOnly,
    /// Reads and writes; writes reach the file (the mapping is shared).
    ReadWrite,
}

/// A block of native memory: where it starts and how many bytes it spans. The raw value of the
/// memory kinds ([`NativeMemory`](super::NativeMemory), [`MappedView`](super::MappedView)).
///
/// It only describes the block; reaching the bytes takes a use ([`SafeBuffer::acquire_pointer`]).
///
/// ```
/// let buffer = janitor::handle::NativeMemory::alloc(32).unwrap();
/// let range = buffer.handle().dangerous_get_handle();
/// assert_eq!(range.len(), 32);
/// assert!(!range.address().is_null());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryRange {
    address: *mut u8,
    len: usize,
}

// SAFETY: a `MemoryRange` is an address and a length; it grants no access by itself (reaching the
// bytes takes a use of the owning handle), so moving or sharing the description between threads is
// harmless.
unsafe impl Send for MemoryRange {}
// SAFETY: as for `Send`: nothing is reachable through `&MemoryRange` but two plain numbers.
unsafe impl Sync for MemoryRange {}

impl MemoryRange {
    /// Describes `len` bytes at `address`.
    ///
    /// ```
    /// let range = janitor::handle::MemoryRange::new(std::ptr::null_mut(), 0);
    /// assert!(range.is_empty());
    /// ```
    pub fn new(address: *mut u8, len: usize) -> Self {
        Self { address, len }
    }

    /// The first byte.
    ///
    /// ```
    /// let range = janitor::handle::MemoryRange::new(std::ptr::null_mut(), 0);
    /// assert!(range.address().is_null());
    /// ```
    pub fn address(&self) -> *mut u8 {
        self.address
    }

    /// The length in bytes.
    ///
    /// ```
    /// assert_eq!(janitor::handle::MemoryRange::new(std::ptr::null_mut(), 4).len(), 4);
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the range spans no byte.
    ///
    /// ```
    /// assert!(janitor::handle::MemoryRange::new(std::ptr::null_mut(), 0).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Plain old data: a `Copy` type with no padding for which every bit pattern is a valid value, so
/// it can be copied in and out of raw memory as bytes.
///
/// # Safety
///
/// Implement it only for types without padding bytes, with no invalid bit patterns (no `bool`,
/// `char`, references, enums or `NonZero*`), and without interior pointers whose validity matters.
/// It is implemented for the primitive integers and floats and for arrays of `Pod` types.
///
/// ```
/// use janitor::handle::{NativeMemory, Pod};
///
/// #[derive(Clone, Copy, Debug, PartialEq)]
/// #[repr(C)]
/// struct Point {
///     x: u32,
///     y: u32,
/// }
/// // SAFETY: two u32 fields, repr(C): no padding, every bit pattern valid.
/// unsafe impl Pod for Point {}
///
/// let buffer = NativeMemory::alloc_zeroed(16).unwrap();
/// buffer.write(8, Point { x: 1, y: 2 }).unwrap();
/// assert_eq!(buffer.read::<Point>(8).unwrap(), Point { x: 1, y: 2 });
/// ```
pub unsafe trait Pod: Copy + Send + Sync + 'static {}

macro_rules! pod {
    ($($type:ty),*) => {
        $(
            // SAFETY: a primitive number: no padding, every bit pattern valid.
            unsafe impl Pod for $type {}
        )*
    };
}

pod!(
    u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, f32, f64
);

// SAFETY: an array has no padding between its elements, and every bit pattern of each element is
// valid, so every bit pattern of the array is.
unsafe impl<T: Pod, const N: usize> Pod for [T; N] {}

/// A handle to a block of native memory, with bounds-checked, use-holding reads and writes:
/// .NET's `SafeBuffer`. Made by [`NativeMemory::alloc`](super::NativeMemory::alloc) and
/// [`MappedView::open`](super::MappedView::open).
///
/// Every access starts a use, checks `offset + size` against [`byte_length`](Self::byte_length),
/// copies, and ends the use: an access is never out of bounds, and never reaches memory freed or
/// unmapped by a dispose on another thread. Values are copied, so no alignment is required.
/// (A [`MappedView`](super::MappedView) adds one hazard no bounds check can catch: the file must
/// not shrink while mapped, or the access kills the process with `SIGBUS`.)
///
/// ```
/// use janitor::Dispose;
/// use janitor::handle::{HandleError, NativeMemory};
///
/// let buffer = NativeMemory::alloc_zeroed(16).unwrap();
/// buffer.write::<u32>(4, 0xdead_beef).unwrap();
/// assert_eq!(buffer.read::<u32>(4).unwrap(), 0xdead_beef);
/// assert!(matches!(buffer.read::<u64>(12), Err(HandleError::OutOfBounds { .. })));
/// buffer.dispose();
/// assert!(matches!(buffer.read::<u8>(0), Err(HandleError::Disposed(_))));
/// ```
pub struct SafeBuffer<K: HandleKind<Raw = MemoryRange>> {
    handle: SafeHandle<K>,
    writable: bool,
}

impl<K: HandleKind<Raw = MemoryRange>> SafeBuffer<K> {
    /// Takes charge of `range`, released by `K` after the last use.
    ///
    /// # Safety
    ///
    /// `range` is memory of kind `K`, owned by the caller and handed over: readable for its whole
    /// length, writable too if `access` is [`MapAccess::ReadWrite`], initialized, and used by
    /// nothing else but through atomic byte accesses. Nothing else releases it.
    #[track_caller]
    pub(super) unsafe fn from_owned_range(range: MemoryRange, access: MapAccess) -> Self {
        // SAFETY: forwarded from this function's contract.
        let handle = unsafe { SafeHandle::from_raw_owned(range) };
        Self {
            handle,
            writable: access == MapAccess::ReadWrite,
        }
    }

    /// The buffer's length in bytes (.NET's `ByteLength`).
    ///
    /// ```
    /// assert_eq!(janitor::handle::NativeMemory::alloc(24).unwrap().byte_length(), 24);
    /// ```
    pub fn byte_length(&self) -> usize {
        self.handle.dangerous_get_handle().len()
    }

    /// Whether writes are allowed (false for a read-only mapping).
    ///
    /// ```
    /// assert!(janitor::handle::NativeMemory::alloc(1).unwrap().is_writable());
    /// ```
    pub fn is_writable(&self) -> bool {
        self.writable
    }

    /// The memory's handle, for its state or a use of its own.
    ///
    /// ```
    /// let buffer = janitor::handle::NativeMemory::alloc(1).unwrap();
    /// assert!(!buffer.handle().is_closed());
    /// ```
    pub fn handle(&self) -> &SafeHandle<K> {
        &self.handle
    }

    /// Reads a `T` at byte `offset` (no alignment needed).
    ///
    /// ```
    /// let buffer = janitor::handle::NativeMemory::alloc_zeroed(8).unwrap();
    /// assert_eq!(buffer.read::<u64>(0).unwrap(), 0);
    /// ```
    pub fn read<T: Pod>(&self, offset: usize) -> Result<T, HandleError> {
        let mut value = MaybeUninit::<T>::uninit();
        let pointer = self.acquire_range(offset, size_of::<T>())?;
        // SAFETY: `acquire_range` checked that the `size_of::<T>()` bytes at `offset` lie in the
        // buffer and holds a use, so they stay allocated; `value` has room for them. Safe code
        // reaches the buffer only through `copy_in`/`copy_out` (atomic bytes); raw-pointer users
        // of `acquire_pointer` took on not racing them non-atomically.
        unsafe {
            copy_out(
                pointer.at(offset),
                value.as_mut_ptr().cast(),
                size_of::<T>(),
            )
        };
        // SAFETY: every byte of `value` was written, and `T: Pod` makes any bytes a valid `T`.
        Ok(unsafe { value.assume_init() })
    }

    /// Writes `value` at byte `offset` (no alignment needed).
    ///
    /// ```
    /// let buffer = janitor::handle::NativeMemory::alloc(8).unwrap();
    /// buffer.write(0, 1.5f64).unwrap();
    /// assert_eq!(buffer.read::<f64>(0).unwrap(), 1.5);
    /// ```
    pub fn write<T: Pod>(&self, offset: usize, value: T) -> Result<(), HandleError> {
        self.write_slice(offset, std::slice::from_ref(&value))
    }

    /// Fills `values` from the bytes starting at `offset`.
    ///
    /// ```
    /// let buffer = janitor::handle::NativeMemory::alloc_zeroed(8).unwrap();
    /// buffer.write_slice(0, &[1u16, 2, 3, 4]).unwrap();
    /// let mut values = [0u16; 3];
    /// buffer.read_slice(2, &mut values).unwrap();
    /// assert_eq!(values, [2, 3, 4]);
    /// ```
    pub fn read_slice<T: Pod>(&self, offset: usize, values: &mut [T]) -> Result<(), HandleError> {
        let len = size_of_val(values);
        let pointer = self.acquire_range(offset, len)?;
        // SAFETY: the `len` bytes at `offset` lie in the buffer and stay allocated for the use held
        // by `pointer`, and are accessed only atomically meanwhile (as in `read`); `values` spans
        // exactly `len` bytes, and `T: Pod` accepts any bytes.
        unsafe { copy_out(pointer.at(offset), values.as_mut_ptr().cast(), len) };
        Ok(())
    }

    /// Writes `values` to the bytes starting at `offset`.
    ///
    /// ```
    /// let buffer = janitor::handle::NativeMemory::alloc_zeroed(4).unwrap();
    /// buffer.write_slice(1, &[7u8, 8, 9]).unwrap();
    /// assert_eq!(buffer.read::<[u8; 4]>(0).unwrap(), [0, 7, 8, 9]);
    /// ```
    pub fn write_slice<T: Pod>(&self, offset: usize, values: &[T]) -> Result<(), HandleError> {
        if !self.writable {
            return Err(HandleError::ReadOnly);
        }
        let len = size_of_val(values);
        let pointer = self.acquire_range(offset, len)?;
        // SAFETY: the `len` bytes at `offset` lie in the buffer, are writable (checked above), stay
        // allocated for the use held by `pointer`, and are accessed only atomically meanwhile (as
        // in `read`); `T: Pod` has no padding, so every byte of `values` is initialized.
        unsafe { copy_in(values.as_ptr().cast(), pointer.at(offset), len) };
        Ok(())
    }

    /// Starts a use and hands out the raw pointer, for code that must reach the memory directly
    /// (.NET's `AcquirePointer`; dropping the returned guard is `ReleasePointer`). The memory stays
    /// allocated while the guard lives; bounds, writability and data races are the caller's to
    /// respect from here on.
    ///
    /// ```
    /// let buffer = janitor::handle::NativeMemory::alloc_zeroed(4).unwrap();
    /// let pointer = buffer.acquire_pointer().unwrap();
    /// assert_eq!(pointer.len(), 4);
    /// // SAFETY: within the 4 bytes, no other thread touches the buffer, and the use is held.
    /// unsafe { pointer.as_ptr().add(3).write(42) };
    /// drop(pointer);
    /// assert_eq!(buffer.read::<u8>(3).unwrap(), 42);
    /// ```
    pub fn acquire_pointer(&self) -> Result<BufferPointer<'_, K>, HandleError> {
        Ok(BufferPointer {
            guard: self.handle.add_ref()?,
        })
    }

    /// Disposes the buffer: the same operation as [`Dispose::dispose`]. Accesses in flight finish;
    /// the memory is released when the last of them ends.
    ///
    /// ```
    /// let buffer = janitor::handle::NativeMemory::alloc(4).unwrap();
    /// buffer.close();
    /// assert!(buffer.read::<u8>(0).is_err());
    /// ```
    pub fn close(&self) {
        self.dispose();
    }

    /// Whether the buffer is closed (no access can start any more).
    ///
    /// ```
    /// assert!(!janitor::handle::NativeMemory::alloc(4).unwrap().is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.handle.is_closed()
    }

    /// A use of the buffer, after checking that `len` bytes at `offset` lie within it.
    fn acquire_range(
        &self,
        offset: usize,
        len: usize,
    ) -> Result<BufferPointer<'_, K>, HandleError> {
        let pointer = self.acquire_pointer()?;
        let capacity = pointer.len();
        match offset.checked_add(len) {
            Some(end) if end <= capacity => Ok(pointer),
            _ => Err(HandleError::OutOfBounds {
                offset,
                len,
                capacity,
            }),
        }
    }
}

impl<K: HandleKind<Raw = MemoryRange>> Dispose for SafeBuffer<K> {
    /// Disposes the memory's handle: released now, or when the last access in flight ends.
    fn dispose(&self) {
        self.handle.dispose();
    }
}

impl<K: HandleKind<Raw = MemoryRange>> fmt::Debug for SafeBuffer<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SafeBuffer")
            .field("handle", &self.handle)
            .field("writable", &self.writable)
            .finish()
    }
}

/// A use of a [`SafeBuffer`] that hands out its raw pointer; returned by
/// [`SafeBuffer::acquire_pointer`]. The memory stays allocated until it is dropped.
///
/// ```
/// let buffer = janitor::handle::NativeMemory::alloc(4).unwrap();
/// let pointer = buffer.acquire_pointer().unwrap();
/// assert!(!pointer.as_ptr().is_null());
/// ```
#[must_use = "the pointer may only be used while the guard lives"]
#[derive(Debug)]
pub struct BufferPointer<'a, K: HandleKind<Raw = MemoryRange>> {
    guard: HandleGuard<'a, K>,
}

impl<K: HandleKind<Raw = MemoryRange>> BufferPointer<'_, K> {
    /// The first byte of the buffer.
    ///
    /// ```
    /// let buffer = janitor::handle::NativeMemory::alloc(4).unwrap();
    /// let pointer = buffer.acquire_pointer().unwrap();
    /// assert_eq!(pointer.as_ptr(), buffer.handle().dangerous_get_handle().address());
    /// ```
    pub fn as_ptr(&self) -> *mut u8 {
        self.guard.raw().address()
    }

    /// The buffer's length in bytes.
    ///
    /// ```
    /// let buffer = janitor::handle::NativeMemory::alloc(4).unwrap();
    /// assert_eq!(buffer.acquire_pointer().unwrap().len(), 4);
    /// ```
    pub fn len(&self) -> usize {
        self.guard.raw().len()
    }

    /// Whether the buffer spans no byte.
    ///
    /// ```
    /// let buffer = janitor::handle::NativeMemory::alloc(0).unwrap();
    /// assert!(buffer.acquire_pointer().unwrap().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The address of byte `offset`; the caller has checked `offset <= len`.
    fn at(&self, offset: usize) -> *mut u8 {
        self.as_ptr().wrapping_add(offset)
    }
}

/// Copies `len` bytes out of shared memory, one relaxed atomic byte load each.
///
/// # Safety
///
/// `from` is valid for reads of `len` bytes that nothing accesses non-atomically meanwhile; `to` is
/// valid for writes of `len` bytes and does not overlap `from`.
unsafe fn copy_out(from: *const u8, to: *mut u8, len: usize) {
    for index in 0..len {
        // SAFETY: `from + index` is in bounds, readable, aligned (bytes), and only accessed
        // atomically while this runs (the contract); `to + index` is in bounds and writable.
        // `AtomicU8::from_ptr` asks for memory valid for writes too, which a read-only mapping is
        // not; std's atomic docs ("Atomic accesses to read-only memory") make the exception this
        // relies on: a `Relaxed` load of at most 4 bytes (8 on 64-bit targets) works on read-only
        // memory. This function only ever does single-byte `Relaxed` loads.
        unsafe {
            let byte = AtomicU8::from_ptr(from.add(index).cast_mut()).load(Ordering::Relaxed);
            to.add(index).write(byte);
        }
    }
}

/// Copies `len` bytes into shared memory, one relaxed atomic byte store each.
///
/// # Safety
///
/// `to` is valid for writes of `len` bytes that nothing accesses non-atomically meanwhile; `from`
/// is valid for reads of `len` initialized bytes and does not overlap `to`.
unsafe fn copy_in(from: *const u8, to: *mut u8, len: usize) {
    for index in 0..len {
        // SAFETY: `to + index` is in bounds, writable, aligned (bytes), and only accessed
        // atomically while this runs (the contract); `from + index` is in bounds and initialized.
        unsafe {
            let byte = from.add(index).read();
            AtomicU8::from_ptr(to.add(index)).store(byte, Ordering::Relaxed);
        }
    }
}
