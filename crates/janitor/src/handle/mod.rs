//! Safe operating-system handles: .NET's `SafeHandle`, in Rust.
//!
//! A [`SafeHandle<K>`] owns a raw handle (a file descriptor, a block of native memory, a mapped
//! view) whose [`HandleKind`] `K` says which raw values are invalid and how to release one. It is
//! `Send + Sync` and meant to be shared (through an `Arc`, later a `Gc`): any thread may use it,
//! and any thread may dispose it, at any time, without ever making another thread's use touch a
//! released handle, or a recycled one.
//!
//! The invariant this module owns: **a handle is released exactly once, after its last use, and
//! no use starts after that** — never for a handle that is invalid, not owned, or declared invalid
//! with [`SafeHandle::set_handle_as_invalid`]. One atomic state word decides it (see
//! `ARCHITECTURE.md`, section `handle`).
//!
//! A use is a [`HandleGuard`], returned by [`SafeHandle::add_ref`]: while it lives the handle stays
//! open, even across a dispose on another thread; dropping it ends the use, and the last use of a
//! disposed handle releases it. For descriptors the guard lends a [`BorrowedFd`](std::os::fd::BorrowedFd),
//! so the handle joins Rust's I/O-safety types.
//!
//! ```
//! use janitor::Dispose;
//! use janitor::handle::SafeFile;
//! use std::io::Write;
//! use std::sync::Arc;
//!
//! let file = Arc::new(SafeFile::from(tempfile()));
//! let writer = {
//!     let file = Arc::clone(&file);
//!     std::thread::spawn(move || (&*file).write_all(b"from another thread"))
//! };
//! writer.join().unwrap().unwrap();
//! file.dispose();
//! assert!((&*file).write_all(b"too late").is_err());
//! # fn tempfile() -> std::fs::File {
//! #     let path = std::env::temp_dir().join(format!("janitor-doc-mod-{}", std::process::id()));
//! #     let file = std::fs::File::create(&path).unwrap();
//! #     std::fs::remove_file(&path).unwrap();
//! #     file
//! # }
//! ```
//!
//! The kinds: [`SafeFd`] and [`SafeFile`] for descriptors (files, sockets, pipes, eventfd),
//! [`SafeBuffer`] over [`NativeMemory`] or a [`MappedView`] with bounds-checked reads and writes,
//! and `WaitHandle`, an event on an eventfd.
//!
//! # Platforms
//!
//! The module is file descriptors, on every Unix: [`SafeFd`], [`SafeFile`], [`NativeMemory`] and
//! [`MappedView`] build wherever the target is Unix (tested on Linux). `WaitHandle` needs an
//! eventfd, so it exists on Linux, Android, FreeBSD and illumos only; on other Unix systems it is
//! absent (a pipe pair would serve there). Windows `HANDLE` and `SOCKET` kinds are future work:
//! enabling the `handle` feature on a target that is not Unix is a compile error that says so.

mod buffer;
mod error;
mod fd;
mod file;
mod guard;
mod kind;
mod mapped;
mod native;
mod safe_handle;
mod state;
#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "illumos"
))]
mod wait;

pub use buffer::{BufferPointer, MapAccess, MemoryRange, Pod, SafeBuffer};
pub use error::HandleError;
pub use fd::{FdKind, SafeFd};
pub use file::SafeFile;
pub use guard::HandleGuard;
pub use kind::{HandleKind, InvalidHandleValue};
pub use mapped::MappedView;
pub use native::NativeMemory;
pub use safe_handle::SafeHandle;
#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "illumos"
))]
pub use wait::{EventResetMode, WaitHandle};

/// Every handle is shared across threads: that is what it is for.
const _: () = {
    const fn shareable<T: Send + Sync>() {}
    shareable::<SafeFd>();
    shareable::<SafeFile>();
    shareable::<SafeBuffer<NativeMemory>>();
    shareable::<SafeBuffer<MappedView>>();
    #[cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "illumos"
    ))]
    shareable::<WaitHandle>();
    shareable::<HandleGuard<'static, FdKind>>();
};
