//! The layout of a heap object: one allocation holding an optional tracking node, the header and
//! the value, and the per-type table of operations the engine calls on an erased object.
//!
//! ```text
//! tracked:    [pad] [Node: prev, next, generation, index] [Header: count word, vtable] [value]
//! untracked:  [pad]                                       [Header: count word, vtable] [value]
//!                                                          ^ value - size_of::<Header>()
//! slice:      [pad] [len] [Node, if tracked]              [Header: count word, vtable] [elements]
//! ```
//!
//! A slice or `str` object (`Gc<[T]>`, `Gc<str>` made from a `Vec`, a string or an iterator)
//! stores its length in a word before its node (or its header), where only its vtable's functions
//! look: a `Gc` carries the length in its fat pointer, as `Arc` does, but the engine reaches an
//! object through its header alone, and needs the length to trace, drop and free it. Sized
//! objects pay nothing for this: their header is unchanged, and their vtable holds their layout.
//!
//! Invariant owned here: the header sits immediately before the value, and a tracked object's
//! node immediately before its header, whatever the value's alignment. So a `Gc<T>` needs only a
//! pointer to its value (a fat one for `Gc<dyn Trait>`) to find its header, and the engine needs
//! only the header to find everything else through the header's vtable, which describes the
//! concrete type the object was created with. Whether an object is tracked is fixed at creation
//! and recorded by which of the type's two vtables its header points to.
//!
//! When the value is dropped and the memory freed, weak references or not:
//! `docs/gc-soundness.md#object-layout`.

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
/// lock held (`heap.rs`), but `next` while the object waits in the arrivals (`arrivals.rs`).
#[repr(C)]
pub(crate) struct Node {
    pub(crate) prev: Cell<*const Node>,
    pub(crate) next: Cell<*const Node>,
    /// The generation whose list the object is linked in; [`ARRIVING`] until it is linked, and
    /// [`DIED_ARRIVING`] once a holder of the heap lock found it dead before linking it.
    pub(crate) generation: Cell<u8>,
    /// The object's position in the running collection's table of examined objects.
    pub(crate) index: Cell<u32>,
}

/// The `generation` of a tracked object that waits in the arrivals, not linked yet. Above every
/// generation, so a collection that meets it along an edge does not examine it.
pub(crate) const ARRIVING: u8 = u8::MAX;
/// The `generation` of an arrival a holder of the heap lock found dead (in a retired batch or
/// departed) before linking it: it takes the arrivals in the same hold, skips it, and frees it
/// with the rest of the dead, never linked (`heap.rs`, `Heap::take_departures`).
pub(crate) const DIED_ARRIVING: u8 = u8::MAX - 1;

/// How an object's allocation is laid out.
enum Shape {
    /// A sized value: the whole allocation, and where the header starts in it.
    Fixed {
        layout: Layout,
        header_offset: usize,
    },
    /// A slice of elements with this layout, its length stored before the node (or the header).
    Slice { element: Layout },
}

/// What the engine knows about an object's concrete type.
pub(crate) struct ObjectVTable {
    /// The layout of the allocation.
    shape: Shape,
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
const LEN_SIZE: usize = size_of::<usize>();

/// The allocation of an object whose value has `value_size` bytes aligned to `value_align`, with
/// `prefix` bytes before its header, and where the header starts in it; `None` if too large.
const fn object_layout(
    prefix: usize,
    value_size: usize,
    value_align: usize,
) -> Option<(Layout, usize)> {
    let align = max(max(value_align, align_of::<Header>()), align_of::<Node>());
    // The value's offset is a multiple of both its alignment and the header's, with room for
    // the prefix and the header before it; the header then ends exactly where the value starts.
    let value_offset = (prefix + HEADER_SIZE).div_ceil(align) * align;
    let Some(size) = value_offset.checked_add(value_size) else {
        return None;
    };
    match Layout::from_size_align(size, align) {
        Ok(layout) => Some((layout.pad_to_align(), value_offset - HEADER_SIZE)),
        Err(_) => None,
    }
}

/// The allocation of a slice object of `len` elements, and where its header starts in it.
fn slice_layout(element: Layout, tracked: bool, len: usize) -> (Layout, usize) {
    let prefix = LEN_SIZE + if tracked { NODE_SIZE } else { 0 };
    element
        .size()
        .checked_mul(len)
        .and_then(|size| object_layout(prefix, size, element.align()))
        .unwrap_or_else(|| panic!("janitor: a Gc slice of {len} elements is too large to allocate"))
}

/// The two vtables of a type `T`: one for tracked objects, one for untracked ones.
pub(crate) struct VTables<T>(PhantomData<T>);

impl<T: TraceMeta + Send + Sync + 'static> VTables<T> {
    pub(crate) const TRACKED: ObjectVTable = ObjectVTable::of::<T>(true);
    pub(crate) const UNTRACKED: ObjectVTable = ObjectVTable::of::<T>(false);
}

/// The two vtables of slices of `T`, and the one of `str` (stored as bytes, never tracked).
pub(crate) struct SliceVTables<T>(PhantomData<T>);

impl<T: TraceMeta + Send + Sync + 'static> SliceVTables<T> {
    pub(crate) const TRACKED: ObjectVTable = ObjectVTable::of_slice::<T>(true);
    pub(crate) const UNTRACKED: ObjectVTable = ObjectVTable::of_slice::<T>(false);
}

/// The vtable of `str` objects.
pub(crate) static STR: ObjectVTable = ObjectVTable {
    type_name: std::any::type_name::<str>,
    ..ObjectVTable::of_slice::<u8>(false)
};

impl ObjectVTable {
    const fn of<T: TraceMeta + Send + Sync + 'static>(tracked: bool) -> Self {
        let prefix = if tracked { NODE_SIZE } else { 0 };
        let Some((layout, header_offset)) = object_layout(prefix, size_of::<T>(), align_of::<T>())
        else {
            panic!("janitor: a Gc value is too large to allocate")
        };
        Self {
            shape: Shape::Fixed {
                layout,
                header_offset,
            },
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

    /// Slices never have a finalizer: `[T]`'s `Trace` has none, whatever `T`'s.
    const fn of_slice<T: TraceMeta + Send + Sync + 'static>(tracked: bool) -> Self {
        Self {
            shape: Shape::Slice {
                element: Layout::new::<T>(),
            },
            tracked,
            holds_gc: T::HOLDS_GC,
            trace: trace_slice::<T>,
            drop_value: drop_slice::<T>,
            finalize: None,
            critical: false,
            type_name: std::any::type_name::<[T]>,
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
}

/// The object's allocation and where its header starts in it.
///
/// # Safety
/// `header` is the header of an allocated object (its value may be dropped).
#[inline]
unsafe fn allocation(header: NonNull<Header>) -> (Layout, usize) {
    // SAFETY: the header is intact while the object is allocated.
    let vtable = unsafe { header.as_ref() }.vtable;
    match vtable.shape {
        Shape::Fixed {
            layout,
            header_offset,
        } => (layout, header_offset),
        // SAFETY: a slice object stores its length before its node or header (`allocate_slice`).
        Shape::Slice { element } => slice_layout(element, vtable.tracked, unsafe {
            len_of(header, vtable.tracked).read()
        }),
    }
}

/// The bytes the object occupies.
///
/// # Safety
/// `header` is the header of an allocated object.
pub(crate) unsafe fn size(header: NonNull<Header>) -> usize {
    // SAFETY: the caller's contract.
    unsafe { allocation(header) }.0.size()
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

/// # Safety
/// `header` is the header of a live slice object of `T`s.
unsafe fn trace_slice<T: TraceMeta>(header: NonNull<Header>, tracer: &mut Tracer<'_>) {
    // SAFETY: the caller guarantees a live slice of `T`s right after the header.
    let value = unsafe { slice_of::<T>(header).as_ref() };
    value.trace(tracer);
}

/// # Safety
/// `header` is the header of a slice object of `T`s whose elements are dropped exactly once, here.
unsafe fn drop_slice<T>(header: NonNull<Header>) {
    // SAFETY: the caller guarantees the elements are live and never used again.
    unsafe { slice_of::<T>(header).as_ptr().drop_in_place() }
}

/// The length word of a slice object.
///
/// # Safety
/// `header` is the header of a slice object, tracked or not as `tracked` says.
#[inline]
unsafe fn len_of(header: NonNull<Header>, tracked: bool) -> NonNull<usize> {
    let prefix = LEN_SIZE + if tracked { NODE_SIZE } else { 0 };
    // SAFETY: the word lies `prefix` bytes before the header, inside the allocation.
    unsafe { header.byte_sub(prefix).cast() }
}

/// The elements that follow the header of a slice object.
///
/// # Safety
/// `header` is the header of an allocated slice object of `T`s.
#[inline]
pub(crate) unsafe fn slice_of<T>(header: NonNull<Header>) -> NonNull<[T]> {
    // SAFETY: the header is intact while the object is allocated.
    let tracked = unsafe { header.as_ref() }.vtable.tracked;
    // SAFETY: a slice object's length word was written at its allocation and never changes.
    let len = unsafe { len_of(header, tracked).read() };
    // SAFETY: the caller's contract: the elements start after the header.
    NonNull::slice_from_raw_parts(unsafe { value_of::<T>(header) }, len)
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
    let header = allocate_uninit(vtable);
    // SAFETY: room for a `T`, in bounds and aligned, right after the header.
    unsafe { value_of::<T>(header).write(value) };
    header
}

/// [`allocate`] without the value: the caller writes a value of the vtable's type after the
/// header before anything reads it (or releases the memory without dropping a value).
pub(crate) fn allocate_uninit(vtable: &'static ObjectVTable) -> NonNull<Header> {
    let Shape::Fixed {
        layout,
        header_offset,
    } = vtable.shape
    else {
        panic!("janitor: a sized value allocated with a slice's vtable")
    };
    let start = alloc::allocate(layout);
    // SAFETY: `header_offset` lies inside the allocation, and leaves room for the value after it.
    let header = unsafe { start.byte_add(header_offset) }.cast::<Header>();
    // SAFETY: the header is in bounds and aligned (see `object_layout`), and the node, for a
    // tracked vtable, fits between the start and the header.
    unsafe { write_header(header, vtable) };
    header
}

/// Allocates a slice object with the given vtable, a count of one, and the first `len` items of
/// `elements`; returns its header. Panics, leaving nothing behind, if `elements` ends early.
pub(crate) fn allocate_slice<T>(
    vtable: &'static ObjectVTable,
    len: usize,
    elements: impl IntoIterator<Item = T>,
) -> NonNull<Header> {
    /// The elements written so far, dropped with the block if the iterator panics or ends early.
    struct Partial<T> {
        first: NonNull<T>,
        written: usize,
        start: NonNull<u8>,
        layout: Layout,
    }
    impl<T> Drop for Partial<T> {
        fn drop(&mut self) {
            // SAFETY: the first `written` elements were written and nothing else refers to them;
            // the block came from `alloc::allocate` with `layout` and is known to nobody else.
            unsafe {
                NonNull::slice_from_raw_parts(self.first, self.written)
                    .as_ptr()
                    .drop_in_place();
                alloc::deallocate(self.start, self.layout);
            }
        }
    }

    let (layout, header_offset) = slice_layout(Layout::new::<T>(), vtable.tracked, len);
    let start = alloc::allocate(layout);
    // SAFETY: `header_offset` lies inside the allocation, and leaves room for the elements after it.
    let header = unsafe { start.byte_add(header_offset) }.cast::<Header>();
    // SAFETY: the length word, the node and the header are in bounds and aligned (`slice_layout`
    // puts `LEN_SIZE` and, when tracked, `NODE_SIZE` bytes before the header, all multiples of 8).
    let first = unsafe {
        len_of(header, vtable.tracked).write(len);
        write_header(header, vtable);
        value_of::<T>(header)
    };
    let mut partial = Partial {
        first,
        written: 0,
        start,
        layout,
    };
    let mut elements = elements.into_iter();
    while partial.written < len {
        let Some(element) = elements.next() else {
            panic!(
                "janitor: an ExactSizeIterator promised {len} elements for a Gc slice and ended \
                 after {}",
                partial.written
            )
        };
        // SAFETY: element `written` is in bounds (below `len`), aligned, and not written yet.
        unsafe { first.add(partial.written).write(element) };
        partial.written += 1;
    }
    std::mem::forget(partial);
    header
}

/// Writes the header of a new object, and its unlinked node if the vtable is tracked.
///
/// # Safety
/// `header` is in bounds and aligned, and so is the node before it for a tracked vtable.
unsafe fn write_header(header: NonNull<Header>, vtable: &'static ObjectVTable) {
    // SAFETY: the caller's contract.
    unsafe {
        header.write(Header {
            count: if vtable.has_finalizer() {
                CountWord::new_registered()
            } else {
                CountWord::new()
            },
            vtable,
        });
        if vtable.tracked {
            node_of(header).write(Node {
                prev: Cell::new(std::ptr::null()),
                next: Cell::new(std::ptr::null()),
                generation: Cell::new(ARRIVING),
                index: Cell::new(NOT_EXAMINED),
            });
        }
    }
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
    let (layout, header_offset) = unsafe { allocation(header) };
    // SAFETY: the allocation starts `header_offset` bytes before the header, came from
    // `alloc::allocate` with this layout, and is unused (the caller's contract).
    unsafe { alloc::deallocate(header.byte_sub(header_offset).cast::<u8>(), layout) }
}
