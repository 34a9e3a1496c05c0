//! # janitor
//!
//! The .NET object-lifetime system for Rust, and past it: deterministic disposal (`Dispose`,
//! `using`, `DisposeStack`), safe operating-system handles (`SafeHandle`, `SafeFile`,
//! `SafeBuffer`), leak diagnostics that name a resource dropped without dispose and where it
//! was created (`leak`), and, as the workspace grows, a managed heap that collects cycles and
//! runs finalizers, weak references and ephemeron tables.
//!
//! Each concept lives in its own module; the everyday names are re-exported here.
//!
//! ```
//! use janitor::{Dispose, DisposeFlag, ObjectDisposed};
//!
//! struct Widget {
//!     disposed: DisposeFlag,
//! }
//!
//! impl Widget {
//!     fn draw(&self) -> Result<(), ObjectDisposed> {
//!         self.disposed.check::<Self>()?;
//!         Ok(())
//!     }
//! }
//!
//! impl Dispose for Widget {
//!     fn dispose(&self) {
//!         if self.disposed.try_begin() {
//!             // Release what the widget owns, exactly once.
//!         }
//!     }
//! }
//!
//! let widget = Widget { disposed: DisposeFlag::new() };
//! widget.draw().unwrap();
//! widget.dispose();
//! widget.dispose(); // the second call does nothing
//! assert!(widget.draw().is_err());
//! ```

// Lets the derives' `::janitor::` paths resolve inside the crate too (its own tests and models).
extern crate self as janitor;

// Without the `tracing` feature the library's `tracing::warn!(..)` and siblings resolve here, to
// macros that expand to nothing (see `events`): every call site stays as it is, and no event costs
// anything.
#[cfg(not(feature = "tracing"))]
extern crate self as tracing;

// The handle module is file descriptors: it cannot exist where there are none, and is left out
// there so that this error is the only one. The rest of the crate builds everywhere.
#[cfg(all(feature = "handle", not(unix)))]
compile_error!(
    "janitor's `handle` feature (SafeHandle over file descriptors) needs a Unix target; Windows \
     HANDLE and SOCKET kinds are future work. Depend on janitor with `default-features = false, \
     features = [\"derive\", \"tracing\"]` to use the heap, dispose and leak modules here."
);

pub mod dispose;
#[cfg(not(feature = "tracing"))]
mod events;
pub mod gc;
#[cfg(all(feature = "handle", unix))]
pub mod handle;
pub mod leak;
mod sync;

pub use dispose::{Dispose, DisposeFlag, ObjectDisposed};
pub use gc::{Gc, GcCell, GcMutex, GcRwLock, Trace, collect};
#[cfg(all(
    feature = "handle",
    unix,
    any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "illumos"
    )
))]
pub use handle::WaitHandle;
#[cfg(all(feature = "handle", unix))]
pub use handle::{HandleGuard, HandleKind, SafeBuffer, SafeFd, SafeFile, SafeHandle};
// The derive shares the trait's name, as serde's derives do: `use janitor::Dispose` brings both.
// The unit tests declare their types with it whatever the features (a dev-dependency).
#[cfg(not(feature = "tracing"))]
pub(crate) use events::{debug, error, trace, warn};
#[cfg(any(feature = "derive", test))]
pub use janitor_derive::Dispose;

/// The crate's README (its page on the registry), compiled and run as doc tests so that it never
/// lies.
#[doc = include_str!("../README.md")]
#[cfg(all(doctest, feature = "derive"))]
pub struct ReadmeDoctests;
