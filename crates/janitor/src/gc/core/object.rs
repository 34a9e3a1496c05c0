//! The layout of a heap object: one allocation holding an optional tracking node, the header and
//! the value, and the per-type table of operations the engine calls on an erased object.
//!
//! ```text
//! tracked:    [pad] [Node: prev, next, generation, index] [Header: count word, vtable] [value]
//! untracked:  [pad]                                       [Header: count word, vtable] [value]
//!                                                          ^ value - size_of::<Header>()
//! ```
//!
//! Invariant owned here: the header sits immediately before the value, and a tracked object's
//! node immediately before its header, whatever the value's alignment. So a `Gc<T>` needs only a
//! pointer to its value (a fat one for `Gc<dyn Trait>`) to find its header, and the engine needs
//! only the header to find everything else through the header's vtable, which describes the
//! concrete type the object was created with. Whether an object is tracked is fixed at creation
//! and recorded by which of the type's two vtables its header points to.
//!
//! An object's value is dropped when its strong count reaches zero (or its garbage isolate is
//! condemned); its memory is freed then too (a tracked object's once it is unlinked), weak
//! references or not: they keep only a small cell of their own (`side/weak_cells.rs`).

use crate::gc::core::alloc;
use crate::gc::core::count::CountWord;
use crate::gc::core::trace::{NOT_EXAMINED, RunFinalizer, Trace, TraceMeta, Tracer};
use std::alloc::Layout;
use std::any::Any;
use std::cell::Cell;
use std::marker::PhantomData;
use std::ptr::NonNull;

/// The part of every object the engine reads: its count word and its type's operations. Both
/// are fixed at allocation; the rest of the crate reads them through [`Header::count`] and
/// [`Header::vtable`].
#[repr(C)]
pub(crate) struct Header {
    count: CountWord,
    vtable: &'static ObjectVTable,
}

impl Header {
    /// The object's count word.
    #[inline]
    pub(crate) fn count(&self) -> &CountWord {
        &self.count
    }

    /// The operations of the object's concrete type, and whether the object is tracked.
    #[inline]
    pub(crate) fn vtable(&self) -> &'static ObjectVTable {
        self.vtable
    }
}

/// The tracking node of an object the cycle collector examines: its links in its generation's
/// list and the collector's scratch index. Every field is read and written only with the heap
/// lock held (`heap.rs`).
#[repr(C)]
pub(crate) struct Node {
    pub(crate) prev: Cell<*const Node>,
    pub(crate) next: Cell<*const Node>,
    pub(crate) generation: Cell<u8>,
    /// The object's position in the running collection's table of examined objects.
    pub(crate) index: Cell<u32>,
}

/// What the engine knows about an object's concrete type.
pub(crate) struct ObjectVTable {
    /// The whole allocation.
    layout: Layout,
    /// Where the header starts, from the start of the allocation.
    header_offset: usize,
    /// Whether objects with this vtable are tracked by the cycle collector.
    pub(crate) tracked: bool,
    /// Whether the type can hold a `Gc` (`TraceMeta::HOLDS_GC`): if not, tracing it finds nothing.
    pub(crate) holds_gc: bool,
    /// Reports the value's edges.
    trace: unsafe fn(NonNull<Header>, &mut Tracer<'_>),
    /// Drops the value in place.
    drop_value: unsafe fn(NonNull<Header>),
    /// Runs the type's finalizer and gives back the count handed over; `None` for a type
    /// without one (objects of such types are never registered).
    finalize: Option<RunFinalizer>,
    /// Whether the finalizer is critical (runs after the normal ones).
    critical: bool,
    /// The type's name, for messages.
    type_name: fn() -> &'static str,
}

const HEADER_SIZE: usize = size_of::<Header>();
const NODE_SIZE: usize = size_of::<Node>();

/// The two vtables of a type `T`: one for tracked objects, one for untracked ones.
pub(crate) struct VTables<T>(PhantomData<T>);

impl<T: TraceMeta + Send + Sync + 'static> VTables<T> {
    pub(crate) const TRACKED: ObjectVTable = ObjectVTable::of::<T>(true);
    pub(crate) const UNTRACKED: ObjectVTable = ObjectVTable::of::<T>(false);
}

impl ObjectVTable {
    const fn of<T: TraceMeta + Send + Sync + 'static>(tracked: bool) -> Self {
        let prefix = if tracked { NODE_SIZE } else { 0 };
        let align = max(
            max(align_of::<T>(), align_of::<Header>()),
            align_of::<Node>(),
        );
        // The value's offset is a multiple of both its alignment and the header's, with room for
        // the prefix and the header before it; the header then ends exactly where the value starts.
        let value_offset = (prefix + HEADER_SIZE).div_ceil(align) * align;
        let layout = match Layout::from_size_align(value_offset + size_of::<T>(), align) {
            Ok(layout) => layout.pad_to_align(),
            Err(_) => panic!("janitor: a Gc value is too large to allocate"),
        };
        Self {
            layout,
            header_offset: value_offset - HEADER_SIZE,
            tracked,
            holds_gc: T::HOLDS_GC,
            trace: trace_erased::<T>,
            drop_value: drop_erased::<T>,
            finalize: match T::FINALIZER {
                Some(finalizer) => Some(finalizer.runner()),
                None => None,
            },
            critical: match T::FINALIZER {
                Some(finalizer) => finalizer.is_critical(),
                None => false,
            },
            type_name: std::any::type_name::<T>,
        }
    }

    /// Whether objects of this type have a finalizer.
    #[inline]
    pub(crate) fn has_finalizer(&self) -> bool {
        self.finalize.is_some()
    }

    /// Whether the type's finalizer is critical.
    pub(crate) fn finalizer_is_critical(&self) -> bool {
        self.critical
    }

    /// The type's name.
    pub(crate) fn type_name(&self) -> &'static str {
        (self.type_name)()
    }

    /// Runs the finalizer of the object, handing over a count; returns the panic that escaped.
    ///
    /// # Safety
    /// `header` is a live object with this vtable, and the caller hands over one count on it.
    pub(crate) unsafe fn run_finalizer(
        &self,
        header: NonNull<Header>,
    ) -> Result<(), Box<dyn Any + Send>> {
        match self.finalize {
            // SAFETY: the caller's contract; the function was made for this vtable's type.
            Some(run) => unsafe { run(header) },
            None => Ok(()),
        }
    }

    /// The bytes the object occupies.
    pub(crate) fn size(&self) -> usize {
        self.layout.size()
    }
}

const fn max(a: usize, b: usize) -> usize {
    if a > b { a } else { b }
}

/// # Safety
/// `header` is the header of a live object of type `T` whose value has not been dropped.
unsafe fn trace_erased<T: Trace>(header: NonNull<Header>, tracer: &mut Tracer<'_>) {
    // SAFETY: the caller guarantees a live `T` right after the header.
    let value = unsafe { value_of::<T>(header).as_ref() };
    value.trace(tracer);
}

/// # Safety
/// `header` is the header of an object of type `T` whose value is dropped exactly once, here.
unsafe fn drop_erased<T>(header: NonNull<Header>) {
    // SAFETY: the caller guarantees the value is live and never used again.
    unsafe { value_of::<T>(header).as_ptr().drop_in_place() }
}

/// The value that follows `header`.
///
/// # Safety
/// `header` is the header of an object whose value has type `T`.
#[inline]
pub(crate) unsafe fn value_of<T>(header: NonNull<Header>) -> NonNull<T> {
    // SAFETY: the value starts right after the header, inside the same allocation.
    unsafe { header.byte_add(HEADER_SIZE).cast() }
}

/// The header before `value`.
///
/// # Safety
/// `value` points to the value of a heap object.
#[inline]
pub(crate) unsafe fn header_of<T: ?Sized>(value: NonNull<T>) -> NonNull<Header> {
    // SAFETY: the header ends exactly where the value starts, inside the same allocation.
    unsafe { value.cast::<u8>().byte_sub(HEADER_SIZE).cast() }
}

/// The tracking node before a tracked object's header.
///
/// # Safety
/// `header` is the header of a tracked object.
#[inline]
pub(crate) unsafe fn node_of(header: NonNull<Header>) -> NonNull<Node> {
    // SAFETY: a tracked object's node ends exactly where its header starts.
    unsafe { header.byte_sub(NODE_SIZE).cast() }
}

/// The header after a tracked object's node.
///
/// # Safety
/// `node` is the node of a tracked object.
pub(crate) unsafe fn header_of_node(node: NonNull<Node>) -> NonNull<Header> {
    // SAFETY: the header follows the node in the same allocation.
    unsafe { node.byte_add(NODE_SIZE).cast() }
}

/// Allocates an object holding `value` with the given vtable and a count of one; returns its
/// header. A tracked object's node is initialized unlinked; linking it is the heap's job.
pub(crate) fn allocate<T>(value: T, vtable: &'static ObjectVTable) -> NonNull<Header> {
    let start = alloc::allocate(vtable.layout);
    // SAFETY: `header_offset` lies inside the allocation, and leaves room for the value after it.
    let header = unsafe { start.byte_add(vtable.header_offset) }.cast::<Header>();
    // SAFETY: the header and the value are in bounds and suitably aligned (see `ObjectVTable::of`),
    // and the node, for a tracked vtable, fits between the start and the header.
    unsafe {
        header.write(Header {
            count: if vtable.has_finalizer() {
                CountWord::new_registered()
            } else {
                CountWord::new()
            },
            vtable,
        });
        value_of::<T>(header).write(value);
        if vtable.tracked {
            node_of(header).write(Node {
                prev: Cell::new(std::ptr::null()),
                next: Cell::new(std::ptr::null()),
                generation: Cell::new(0),
                index: Cell::new(NOT_EXAMINED),
            });
        }
    }
    header
}

/// Reports the edges of the object's value.
///
/// # Safety
/// The object is live and its value not dropped (a pin, or a count held by the caller, keeps it so).
pub(crate) unsafe fn trace(header: NonNull<Header>, tracer: &mut Tracer<'_>) {
    // SAFETY: the header's vtable describes the value; liveness is the caller's.
    unsafe { (header.as_ref().vtable.trace)(header, tracer) }
}

/// Drops the object's value in place; its memory stays allocated.
///
/// # Safety
/// The value is live and no thread will use it again.
#[inline]
pub(crate) unsafe fn drop_value(header: NonNull<Header>) {
    // SAFETY: the header's vtable describes the value; exclusivity is the caller's.
    unsafe { (header.as_ref().vtable.drop_value)(header) }
}

/// Frees the object's memory.
///
/// # Safety
/// The value has been dropped, the object is unlinked from the heap, and nothing points to it.
#[inline]
pub(crate) unsafe fn deallocate(header: NonNull<Header>) {
    // SAFETY: the object is intact until its memory is freed below.
    let vtable = unsafe { header.as_ref().vtable };
    // SAFETY: the allocation starts `header_offset` bytes before the header, came from
    // `alloc::allocate` with this layout, and is unused (the caller's contract).
    unsafe {
        alloc::deallocate(
            header.byte_sub(vtable.header_offset).cast::<u8>(),
            vtable.layout,
        )
    }
}
