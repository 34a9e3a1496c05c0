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

pub mod dispose;
pub mod gc;
pub mod handle;
pub mod leak;
mod sync;

pub use dispose::{Dispose, DisposeFlag, ObjectDisposed};
pub use gc::{Gc, GcCell, GcMutex, GcRwLock, Trace, collect};
pub use handle::{HandleGuard, HandleKind, SafeBuffer, SafeFd, SafeFile, SafeHandle, WaitHandle};
// The derive shares the trait's name, as serde's derives do: `use janitor::Dispose` brings both.
pub use janitor_derive::Dispose;

/// The README's examples, compiled and run as doc tests so that the front page never lies.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
