//! Native memory from the global allocator as a handle kind: .NET's `Marshal.AllocHGlobal` with a
//! `SafeBuffer` around it, so the block is freed exactly once, after its last access.

use super::buffer::MapAccess;
use super::buffer::{MemoryRange, SafeBuffer};
use super::error::HandleError;
use super::kind::HandleKind;
use std::alloc::Layout;

/// The kind of a block of native memory from the global allocator; also where such blocks are
/// made ([`alloc`](Self::alloc), [`alloc_zeroed`](Self::alloc_zeroed)).
///
/// Blocks are aligned to 16 bytes, enough for every primitive type (as `malloc` is). A null
/// address is invalid; a zero-length block owns no memory.
///
/// ```
/// use janitor::Dispose;
/// use janitor::handle::NativeMemory;
///
/// let buffer = NativeMemory::alloc_zeroed(64).unwrap();
/// buffer.write::<u64>(56, u64::MAX).unwrap();
/// buffer.dispose(); // freed here, exactly once
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NativeMemory;

/// The alignment of every block: that of `max_align_t` on 64-bit Linux.
const ALIGN: usize = 16;

impl NativeMemory {
    /// Allocates `len` bytes whose contents are unspecified (.NET's `AllocHGlobal`).
    ///
    /// Safe Rust may not read uninitialized memory, and every byte of a `SafeBuffer` can be read,
    /// so the block is initialized all the same: through the allocator's zeroing path, which for
    /// fresh pages costs no more than a plain allocation. Code that needs zeros should still ask for
    /// them with [`alloc_zeroed`](Self::alloc_zeroed), which promises them.
    ///
    /// `Err(AllocationFailed)` when the allocator cannot satisfy the request (.NET throws
    /// `OutOfMemoryException`). `alloc(0)` succeeds with an empty buffer, as `AllocHGlobal(0)` does.
    ///
    /// ```
    /// let buffer = janitor::handle::NativeMemory::alloc(128).unwrap();
    /// assert_eq!(buffer.byte_length(), 128);
    /// assert!(janitor::handle::NativeMemory::alloc(usize::MAX).is_err());
    /// ```
    #[track_caller]
    pub fn alloc(len: usize) -> Result<SafeBuffer<Self>, HandleError> {
        Self::alloc_zeroed(len)
    }

    /// Allocates `len` bytes, all zero.
    ///
    /// ```
    /// let buffer = janitor::handle::NativeMemory::alloc_zeroed(16).unwrap();
    /// assert_eq!(buffer.read::<u128>(0).unwrap(), 0);
    /// ```
    #[track_caller]
    pub fn alloc_zeroed(len: usize) -> Result<SafeBuffer<Self>, HandleError> {
        let address = if len == 0 {
            std::ptr::without_provenance_mut(ALIGN)
        } else {
            let layout = layout(len)?;
            // SAFETY: `layout` has a non-zero size.
            let address = unsafe { std::alloc::alloc_zeroed(layout) };
            if address.is_null() {
                return Err(HandleError::AllocationFailed { len });
            }
            address
        };
        // SAFETY: a zero-length range owns nothing; otherwise `address` was just allocated with
        // `layout(len)`, is zeroed (initialized), readable and writable for `len` bytes, and known
        // to no one else; `NativeMemory::release` frees it with the same layout.
        Ok(unsafe {
            SafeBuffer::from_owned_range(MemoryRange::new(address, len), MapAccess::ReadWrite)
        })
    }
}

impl HandleKind for NativeMemory {
    type Raw = MemoryRange;

    fn is_invalid(range: MemoryRange) -> bool {
        range.address().is_null()
    }

    unsafe fn release(range: MemoryRange) -> bool {
        if range.is_empty() {
            return true;
        }
        let Ok(layout) = layout(range.len()) else {
            return false;
        };
        // SAFETY: the caller owns `range` (the contract of `release`), which `alloc_zeroed` made
        // with this very layout, and nothing uses it afterwards.
        unsafe { std::alloc::dealloc(range.address(), layout) };
        true
    }
}

fn layout(len: usize) -> Result<Layout, HandleError> {
    Layout::from_size_align(len, ALIGN).map_err(|_| HandleError::AllocationFailed { len })
}
