//! The managed heap: `Gc<T>` pointers with atomic counts, and a generational cycle collector.
//!
//! Hold objects through [`Gc<T>`] as you would through `Arc<T>`. Acyclic garbage is freed by the
//! drop of its last `Gc` (or, when a collection on another thread examines it at that moment, as
//! that collection ends: see [`Gc`]). Garbage cycles, which leak under `Arc` and `Rc`, are found by a
//! trial-deletion collector that runs automatically (a budget of growth for gen 0, counts of collections for the older
//! generations, and memory pressure) or on [`collect`]. Types say which `Gc`s they own by implementing [`Trace`]
//! (usually `#[derive(Trace)]`); mutable edges live in [`GcCell`], [`GcMutex`] or [`GcRwLock`].
//!
//! ```
//! use janitor::gc::{Gc, GcCell, Trace, collect};
//! use std::sync::atomic::{AtomicUsize, Ordering};
//!
//! static DROPPED: AtomicUsize = AtomicUsize::new(0);
//!
//! #[derive(Trace)]
//! struct Person {
//!     spouse: GcCell<Option<Gc<Person>>>,
//! }
//! impl Drop for Person {
//!     fn drop(&mut self) {
//!         DROPPED.fetch_add(1, Ordering::Relaxed);
//!     }
//! }
//!
//! let ada = Gc::new(Person { spouse: GcCell::new(None) });
//! let bob = Gc::new(Person { spouse: GcCell::new(Some(ada.clone())) });
//! *ada.spouse.borrow_mut() = Some(bob.clone());
//! drop((ada, bob));
//! collect();
//! assert_eq!(DROPPED.load(Ordering::Relaxed), 2);
//! ```
//!
//! Objects up to 512 bytes live in size classes with per-thread caches; memory they free is
//! reused by later objects and not returned to the system. Setting the environment variable
//! `JANITOR_GC_ALLOCATOR=system` before the first allocation puts every object in the global
//! allocator instead (for memory checkers such as valgrind).
//!
//! The heap is built in four layers, each naming only those below it: `core` (the count word, the
//! object layout, the allocator, `Trace`, the generation lists, trial deletion), `side` (weak
//! cells, ephemeron attachments, hand-off buffers, the finalizer queue), `engine` (release, the
//! collector, the reclaimer, the driver, the finalizer thread) and `face` (this API). The map is
//! `ARCHITECTURE.md`; why the heap is sound, `docs/gc-soundness.md`.

mod core;
mod engine;
mod face;
mod side;
pub mod unsync;

pub use core::trace::{Finalizer, Trace, TraceMeta, Tracer};
pub use engine::finalizer_thread::{
    ShutdownGuard, ShutdownPolicy, has_shutdown_started, shutdown_guard,
    wait_for_pending_finalizers,
};
pub use face::api::{
    MAX_GENERATION, WeakTargetCollected, ZeroMemoryPressure, add_memory_pressure, collect,
    collect_generation, collection_count, generation, remove_memory_pressure, total_memory,
    total_memory_after_collection, weak_generation,
};
pub use face::cell::{BorrowError, GcCell, GcRef, GcRefMut};
pub use face::ephemeron::{
    ConditionalWeakTable, Iter as ConditionalWeakTableIter, KeyAlreadyPresent,
};
pub use face::finalize::{
    Finalize, FinalizerRegistered, is_registered_for_finalize, keep_alive, reregister_for_finalize,
    suppress_finalize,
};
pub use face::lock::{GcMutex, GcMutexGuard, GcReadGuard, GcRwLock, GcWriteGuard};
pub use face::ptr::{Gc, SyncHeapValue};
pub use face::stats::{GcStats, GenerationInfo, MemoryInfo, memory_info, stats};
pub use face::weak::WeakGc;
/// `#[derive(Trace)]`: implements [`Trace`] by tracing every field, and [`TraceMeta`] beside it;
/// `#[trace(skip)]` leaves out a field that holds no `Gc`. The derived constants are the OR of the
/// traced fields'.
/// `#[trace(finalize)]` on the type registers its objects for finalization: the type must then
/// implement [`Finalize`].
#[cfg(any(feature = "derive", test))]
pub use janitor_derive::Trace;
/// What `#[derive(Trace)]` names in the code it generates; not an API.
#[doc(hidden)]
pub mod __private {
    pub use super::core::trace::{FinalizableProbe, NotFinalizable};
}
pub use side::panic::{FinalizerPanic, FinalizerPanicAction, set_finalizer_panic_handler};
