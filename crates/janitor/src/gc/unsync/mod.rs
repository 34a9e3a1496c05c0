//! A thread-local heap for object graphs that are not `Send`: `Rc`, `RefCell`, `Cell` and
//! `Rc<dyn Fn>` fields, handles to thread-bound libraries, interpreters and GUI trees.
//!
//! [`Gc<T>`] here is to [`crate::gc::Gc`] what `Rc` is to `Arc`: plain (non-atomic) counts, a
//! heap owned by the thread (its generation lists, budget and finalizer queue are thread-locals),
//! no lock on any path, and a pointer that is neither `Send` nor `Sync`, so `T` needs only
//! `Trace + 'static`. The same [`Trace`](crate::gc::Trace) trait and `#[derive(Trace)]` serve both
//! heaps. They cannot be mixed by type: a shared-heap value must be `Send + Sync`, which an
//! `unsync::Gc` is not. A shared-heap `Gc` inside a thread-local object is allowed: it is an
//! ordinary counted reference into the other heap, which this heap's collector ignores.
//!
//! ```
//! use janitor::gc::Trace;
//! use janitor::gc::unsync::{Gc, GcCell, collect};
//! use std::cell::Cell;
//! use std::rc::Rc;
//!
//! thread_local!(static DROPPED: Cell<usize> = const { Cell::new(0) });
//!
//! #[derive(Trace)]
//! struct Scope {
//!     parent: Option<Gc<Scope>>,
//!     closures: GcCell<Vec<Gc<Closure>>>,
//! }
//!
//! #[derive(Trace)]
//! struct Closure {
//!     scope: Gc<Scope>,
//!     native: Rc<dyn Fn(i64) -> i64>, // an `Rc` holds no `Gc` the collector must see
//! }
//!
//! impl Drop for Scope {
//!     fn drop(&mut self) {
//!         DROPPED.set(DROPPED.get() + 1);
//!     }
//! }
//!
//! let global = Gc::new(Scope { parent: None, closures: GcCell::new(Vec::new()) });
//! let double = Gc::new(Closure { scope: global.clone(), native: Rc::new(|x| 2 * x) });
//! global.closures.borrow_mut().push(double.clone()); // scope <-> closure: a cycle
//! assert_eq!((double.native)(21), 42);
//! drop((global, double));
//! collect();
//! assert_eq!(DROPPED.get(), 1);
//! ```
//!
//! The pointer API is the shared heap's: `Gc<str>` and `Gc<[T]>` (from strings, `Vec`s, slices,
//! boxes and iterators), [`Gc::new_cyclic`], [`Gc::try_unwrap`], [`Gc::into_inner`],
//! [`Gc::get_mut`], [`Gc::into_raw`] and [`Gc::from_raw`], [`Gc::pin`], [`WeakGc::new`], and
//! [`coerce_unsync_gc!`](crate::coerce_unsync_gc) / [`coerce_unsync_weak!`](crate::coerce_unsync_weak)
//! for trait objects (`Gc<dyn Trait>`, where `Trace` is a supertrait). So are the memory
//! functions, over this thread's heap: [`total_memory`], [`total_memory_after_collection`],
//! [`add_memory_pressure`], [`remove_memory_pressure`], [`weak_generation`].
//!
//! What is shared with the shared heap, and what is not:
//! * **Shared**: `Trace` and its derive; the trial-deletion mark step (`trial.rs`, generic over
//!   what it examines); the size classes and their per-thread cache (`alloc.rs`: this heap takes
//!   blocks from the same thread cache, without the shared heap's byte count, and counts its own
//!   bytes in a plain integer); the object layout (header right before the value, a node before
//!   the header for tracked objects); the tracking rule (an object with immutable edges whose
//!   children are all untracked is never examined); the snapshot types ([`GcStats`](crate::gc::GcStats),
//!   [`MemoryInfo`](crate::gc::MemoryInfo)).
//! * **Written again**, because sharing would put atomics or locks on these paths: the header
//!   (two `Cell<u32>`: strong count; weak count and flags), the generation lists and the budget
//!   (a thread-local, no heap lock), the collector (no pins, epochs or validation: no other
//!   thread can change a count, and no user code runs during an examination), the finalizer
//!   queue (run on this thread), and the ephemeron registry.
//!
//! Where user code runs: a value's `Drop` when its last `Gc` drops, or inside the collection that
//! found it garbage; finalizers at the safe points [`Finalize`] lists. An automatic collection
//! starts only in a `Gc::new` of a tracked object, never inside a `Drop` or a finalizer the heap
//! is running. Dropping a deep chain uses constant stack: an object whose count reaches zero while
//! another is being destroyed waits its turn.
//!
//! A garbage cycle is dropped as on the shared heap: every member is condemned first, then each
//! value is dropped; a `Drop` that dereferences another member panics with a message naming the
//! type (the other values are still dropped, and the first panic is resumed when all are done).
//! A `Gc` a `Drop` cloned out of the cycle keeps the member's memory, not its value.
//!
//! When the thread exits, its heap is collected and its finalizer queue run; then every object
//! still tracked (held by a thread-local not destroyed yet, or leaked) is dropped as a garbage
//! cycle's members are, and each one's memory is freed when its last `Gc` drops. After that,
//! objects allocated by later thread-local destructors are freed by counting only, and are not
//! finalized (as .NET Core runs no finalizers at exit).

mod api;
mod cell;
mod collector;
mod ephemeron;
mod finalize;
mod heap;
mod object;
mod ptr;
mod weak;

pub use crate::gc::core::trace::UnsyncFinalizer as Finalizer;
pub use api::{
    add_memory_pressure, collect, collect_generation, collection_count, generation, memory_info,
    remove_memory_pressure, stats, total_memory, total_memory_after_collection,
    wait_for_pending_finalizers, weak_generation,
};
pub use cell::GcCell;
pub use ephemeron::{ConditionalWeakTable, Iter as ConditionalWeakTableIter};
pub use finalize::{
    Finalize, FinalizerRegistered, is_registered_for_finalize, reregister_for_finalize,
    suppress_finalize,
};
pub use ptr::Gc;
pub use weak::WeakGc;
