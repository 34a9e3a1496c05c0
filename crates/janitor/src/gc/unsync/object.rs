//! The layout of a thread-local object, its header word and flags, and its type's operations.
//!
//! ```text
//! with a node:  [pad]       [Node: prev, next, index, epoch] [Header: strong, state, vtable] [value]
//! without:      [pad]                                        [Header: strong, state, vtable] [value]
//! slice, str:   [pad] [len] [Node, if it has one]            [Header]                        [elements]
//! ```
//!
//! Invariants owned here: the header sits immediately before the value and a node immediately
//! before the header, so a `Gc<T>` needs only its value pointer. An object has a node when it is
//! tracked by the cycle collector or registered for finalization when created ([`HAS_NODE`]);
//! the node carries its links in a generation list, the collector's scratch index, and the epoch
//! that tells short weak references made before a resurrection from those made after.
//!
//! A slice or `str` object stores its length in a word before its node (or its header): a `Gc`
//! carries the length in its fat pointer, as `Rc` does, but the heap reaches an object through its
//! header alone, and needs the length to trace, drop and free it.
//!
//! `strong` counts the `Gc`s (and the collector's pins, the finalizer queue's hold); `state`
//! holds the weak count in its low 24 bits (the weak references, plus one for the strong side
//! while the value is live, as `Rc` does) and the flags in its top 8. The memory is freed when
//! the weak count reaches zero. Plain `Cell`s: the heap is owned by one thread, and `Gc` is
//! neither `Send` nor `Sync`.

use crate::gc::core::alloc;
use crate::gc::core::trace::{Trace, TraceMeta, Tracer};
use std::alloc::Layout;
use std::cell::Cell;
use std::marker::PhantomData;
use std::ptr::NonNull;

/// Linked into a generation list.
pub(super) const TRACKED: u32 = 1 << 24;
/// Has a node before its header.
pub(super) const HAS_NODE: u32 = 1 << 25;
/// The generation, two bits.
pub(super) const GENERATION_SHIFT: u32 = 26;
pub(super) const GENERATION_MASK: u32 = 3 << GENERATION_SHIFT;
/// Its finalizer runs when it becomes unreachable.
pub(super) const REGISTERED: u32 = 1 << 28;
/// Waiting in the finalizer queue, which holds one strong count on it.
pub(super) const QUEUED: u32 = 1 << 29;
/// Found garbage: its value is being dropped or was; dereferencing it panics.
pub(super) const CONDEMNED: u32 = 1 << 30;
/// A key of some `ConditionalWeakTable`.
pub(super) const KEY: u32 = 1 << 31;
/// The weak count's bits.
pub(super) const WEAK_MASK: u32 = (1 << 24) - 1;

/// The part of every object the heap reads.
#[repr(C)]
pub(super) struct Header {
    pub(super) strong: Cell<u32>,
    pub(super) state: Cell<u32>,
    pub(super) vtable: &'static VTable,
}

/// The node of an object with one ([`HAS_NODE`]).
#[repr(C)]
pub(super) struct Node {
    pub(super) prev: Cell<*const Node>,
    pub(super) next: Cell<*const Node>,
    /// The object's position among the running collection's examined objects.
    pub(super) index: Cell<u32>,
    /// Advanced each time the object's short weak references are cleared.
    pub(super) epoch: Cell<u32>,
}

/// The index of a node the running collection does not examine.
pub(super) const NOT_EXAMINED: u32 = u32::MAX;

const HEADER_SIZE: usize = size_of::<Header>();
const NODE_SIZE: usize = size_of::<Node>();

/// The size of a slice object's length word.
const LEN_SIZE: usize = size_of::<usize>();

/// How an object's allocation is laid out.
enum Shape {
    /// A sized value: the allocation with a node and without one, each with the header's offset.
    Sized {
        with_node: (Layout, usize),
        without_node: (Layout, usize),
    },
    /// A slice of elements with this layout, its length stored before the node or the header.
    Slice { element: Layout },
}

/// What the heap knows about an object's concrete type.
pub(super) struct VTable {
    shape: Shape,
    /// Whether the type can hold a `Gc` (`TraceMeta::HOLDS_GC`).
    pub(super) holds_gc: bool,
    trace: unsafe fn(NonNull<Header>, &mut Tracer<'_>),
    drop_value: unsafe fn(NonNull<Header>),
    /// Runs the type's finalizer on a count the caller lends (`TraceMeta::UNSYNC_FINALIZER`).
    pub(super) finalize: Option<unsafe fn(NonNull<u8>)>,
    /// Whether the finalizer is critical.
    pub(super) critical: bool,
    pub(super) type_name: fn() -> &'static str,
}

/// The vtable of `T`.
pub(super) struct VTables<T>(PhantomData<T>);

impl<T: TraceMeta + 'static> VTables<T> {
    pub(super) const VTABLE: VTable = VTable {
        shape: Shape::Sized {
            with_node: layout_of::<T>(NODE_SIZE),
            without_node: layout_of::<T>(0),
        },
        holds_gc: T::HOLDS_GC,
        trace: trace_erased::<T>,
        drop_value: drop_erased::<T>,
        finalize: match T::UNSYNC_FINALIZER {
            Some(finalizer) => Some(finalizer.run),
            None => None,
        },
        critical: match T::UNSYNC_FINALIZER {
            Some(finalizer) => finalizer.critical,
            None => false,
        },
        type_name: std::any::type_name::<T>,
    };
}

/// The vtable of slices of `T`, and the one of `str` (stored as bytes).
pub(super) struct SliceVTables<T>(PhantomData<T>);

impl<T: TraceMeta + 'static> SliceVTables<T> {
    pub(super) const VTABLE: VTable = VTable {
        shape: Shape::Slice {
            element: Layout::new::<T>(),
        },
        holds_gc: T::HOLDS_GC,
        trace: trace_slice::<T>,
        drop_value: drop_slice::<T>,
        // An element is not an object: slices of finalizable types are refused where they are
        // made (`Gc::<[T]>::allocate_slice`).
        finalize: None,
        critical: false,
        type_name: std::any::type_name::<[T]>,
    };
}

/// The vtable of `str` objects: bytes, which hold no `Gc`.
pub(super) static STR: VTable = VTable {
    type_name: || "str",
    ..SliceVTables::<u8>::VTABLE
};

/// The allocation for a `T` with `prefix` bytes before its header, and where the header starts.
const fn layout_of<T>(prefix: usize) -> (Layout, usize) {
    let mut align = align_of::<T>();
    if align < align_of::<Node>() {
        align = align_of::<Node>();
    }
    // A multiple of the value's alignment (and so of the header's and the node's) with room for
    // the prefix and the header: the header then ends exactly where the value starts.
    let value_offset = (prefix + HEADER_SIZE).div_ceil(align) * align;
    match Layout::from_size_align(value_offset + size_of::<T>(), align) {
        Ok(layout) => (layout.pad_to_align(), value_offset - HEADER_SIZE),
        Err(_) => panic!("janitor: a Gc value is too large to allocate"),
    }
}

/// The allocation of a slice object of `len` elements, with a node or not, and where its header
/// starts in it.
fn slice_layout(element: Layout, with_node: bool, len: usize) -> (Layout, usize) {
    let align = element.align().max(align_of::<Node>());
    let prefix = LEN_SIZE + if with_node { NODE_SIZE } else { 0 };
    // As in `layout_of`: the header ends where the first element starts.
    let value_offset = (prefix + HEADER_SIZE).div_ceil(align) * align;
    let too_large =
        || -> ! { panic!("janitor: a Gc slice of {len} elements is too large to allocate") };
    let elements = element
        .size()
        .checked_mul(len)
        .unwrap_or_else(|| too_large());
    let size = value_offset
        .checked_add(elements)
        .unwrap_or_else(|| too_large());
    match Layout::from_size_align(size, align) {
        Ok(layout) => (layout.pad_to_align(), value_offset - HEADER_SIZE),
        Err(_) => too_large(),
    }
}

/// The allocation behind a header, and the header's offset in it.
#[inline]
fn layout(header: &Header) -> (Layout, usize) {
    match header.vtable.shape {
        Shape::Sized {
            with_node,
            without_node,
        } => {
            if header.has(HAS_NODE) {
                with_node
            } else {
                without_node
            }
        }
        Shape::Slice { element } => slice_layout_behind(header, element),
    }
}

/// The allocation behind a slice object's header, and the header's offset in it.
#[inline(never)]
fn slice_layout_behind(header: &Header, element: Layout) -> (Layout, usize) {
    // SAFETY: a slice object's length word was written at its allocation and never changes.
    let len = unsafe { len_of(NonNull::from(header)).read() };
    slice_layout(element, header.has(HAS_NODE), len)
}

/// The length word of a slice object.
///
/// # Safety
/// `header` is the header of a slice object.
unsafe fn len_of(header: NonNull<Header>) -> NonNull<usize> {
    // SAFETY: the flag says whether a node sits between the length word and the header.
    let node = if unsafe { header.as_ref() }.has(HAS_NODE) {
        NODE_SIZE
    } else {
        0
    };
    // SAFETY: the length word sits right before the node or the header (`slice_layout`).
    unsafe { header.byte_sub(node + LEN_SIZE).cast() }
}

/// The elements of a slice object.
///
/// # Safety
/// `header` is the header of a slice object of `T`s whose length word is written.
#[inline]
pub(super) unsafe fn slice_of<T>(header: NonNull<Header>) -> NonNull<[T]> {
    // SAFETY: the caller's contract.
    let len = unsafe { len_of(header).read() };
    // SAFETY: the elements start right after the header.
    NonNull::slice_from_raw_parts(unsafe { value_of::<T>(header) }, len)
}

/// # Safety
/// `header` is the header of a live slice object of `T`s.
unsafe fn trace_slice<T: Trace>(header: NonNull<Header>, tracer: &mut Tracer<'_>) {
    // SAFETY: the caller's contract.
    for element in unsafe { slice_of::<T>(header).as_ref() } {
        element.trace(tracer);
    }
}

/// # Safety
/// `header` is the header of a slice object of `T`s whose elements are live and never used
/// again.
unsafe fn drop_slice<T>(header: NonNull<Header>) {
    // SAFETY: the caller's contract.
    unsafe { slice_of::<T>(header).drop_in_place() }
}

/// # Safety
/// `header` is the header of a live `T` object.
unsafe fn trace_erased<T: Trace>(header: NonNull<Header>, tracer: &mut Tracer<'_>) {
    // SAFETY: the caller's contract.
    unsafe { value_of::<T>(header).as_ref() }.trace(tracer)
}

/// # Safety
/// `header` is the header of a `T` object whose value is live and never used again.
unsafe fn drop_erased<T>(header: NonNull<Header>) {
    // SAFETY: the caller's contract.
    unsafe { value_of::<T>(header).drop_in_place() }
}

impl Header {
    #[inline]
    pub(super) fn has(&self, flag: u32) -> bool {
        self.state.get() & flag != 0
    }

    #[inline]
    pub(super) fn set(&self, flag: u32) {
        self.state.set(self.state.get() | flag);
    }

    #[inline]
    pub(super) fn clear(&self, flag: u32) {
        self.state.set(self.state.get() & !flag);
    }

    #[inline]
    pub(super) fn generation(&self) -> u8 {
        ((self.state.get() & GENERATION_MASK) >> GENERATION_SHIFT) as u8
    }

    #[inline]
    pub(super) fn set_generation(&self, generation: u8) {
        self.state.set(
            (self.state.get() & !GENERATION_MASK) | (u32::from(generation) << GENERATION_SHIFT),
        );
    }

    /// Takes one more strong count.
    #[inline]
    pub(super) fn increment(&self) {
        let strong = self.strong.get();
        if strong == u32::MAX {
            std::process::abort();
        }
        self.strong.set(strong + 1);
    }

    /// Takes one more weak count.
    #[inline]
    pub(super) fn increment_weak(&self) {
        if self.state.get() & WEAK_MASK == WEAK_MASK {
            std::process::abort();
        }
        self.state.set(self.state.get() + 1);
    }

    /// Gives back one weak count; returns whether it was the last.
    #[inline]
    pub(super) fn decrement_weak(&self) -> bool {
        self.state.set(self.state.get() - 1);
        self.state.get() & WEAK_MASK == 0
    }

    /// The number of weak references (the strong side's own weak count left out).
    pub(super) fn weak_references(&self) -> usize {
        let weak = (self.state.get() & WEAK_MASK) as usize;
        if self.strong.get() > 0 || self.has(CONDEMNED) {
            weak.saturating_sub(1)
        } else {
            weak
        }
    }

    /// The panic of a dereference of a condemned object.
    #[cold]
    #[inline(never)]
    pub(super) fn condemned(&self) -> ! {
        panic!(
            "janitor: dereferenced a `{}` that the thread-local collector found garbage and is \
             dropping (a `Drop` reached another member of a garbage cycle); move cleanup that \
             needs other objects into `unsync::Finalize`, which runs while they are intact",
            (self.vtable.type_name)()
        )
    }
}

/// The value of the object with this header.
///
/// # Safety
/// `header` is the header of a `T` object.
#[inline]
pub(super) unsafe fn value_of<T>(header: NonNull<Header>) -> NonNull<T> {
    // SAFETY: the value starts right after the header (the module's invariant).
    unsafe { header.byte_add(HEADER_SIZE).cast() }
}

/// The header of the object whose value this is.
///
/// # Safety
/// `value` points to the value of a thread-local object.
#[inline]
pub(super) unsafe fn header_of<T: ?Sized>(value: NonNull<T>) -> NonNull<Header> {
    // SAFETY: the header sits right before the value (the module's invariant).
    unsafe { value.cast::<u8>().byte_sub(HEADER_SIZE).cast() }
}

/// The node of an object that has one.
///
/// # Safety
/// `header` is the header of an object with [`HAS_NODE`].
#[inline]
pub(super) unsafe fn node_of(header: NonNull<Header>) -> NonNull<Node> {
    // SAFETY: the node sits right before the header (the module's invariant).
    unsafe { header.byte_sub(NODE_SIZE).cast() }
}

/// The header of the object whose node this is.
///
/// # Safety
/// `node` is the node of an object.
#[inline]
pub(super) unsafe fn header_of_node(node: NonNull<Node>) -> NonNull<Header> {
    // SAFETY: as above.
    unsafe { node.byte_add(NODE_SIZE).cast() }
}

/// Whether `value` points to a tracked object: it holds mutable edges, or one of the objects it
/// points to is tracked (an object with immutable edges and only untracked children can never
/// be on a cycle of its own edges).
pub(super) fn should_track<T: TraceMeta>(value: &T) -> bool {
    should_track_all::<T>(std::slice::from_ref(value))
}

/// Whether a slice of `values` is tracked, by the same rule.
pub(super) fn should_track_all<T: TraceMeta>(values: &[T]) -> bool {
    if !T::HOLDS_GC {
        return false;
    }
    if T::MUTABLE_EDGES {
        return true;
    }
    let mut tracer = Tracer::local_construction(is_tracked);
    for value in values {
        value.trace(&mut tracer);
    }
    tracer.found_tracked()
}

/// Whether the object with this header is tracked.
fn is_tracked(header: NonNull<u8>) -> bool {
    // SAFETY: the construction tracer passes the headers of the objects the value's `Gc`s (each
    // holding a count) point to: live objects.
    unsafe { header.cast::<Header>().as_ref() }.has(TRACKED)
}

/// Allocates an object for `value`, with a node or not; its header's flags are `flags` with one
/// strong and one weak count.
pub(super) fn allocate<T: TraceMeta + 'static>(value: T, flags: u32) -> NonNull<Header> {
    let header = allocate_uninit::<T>(flags);
    // SAFETY: room for a `T` follows the header, not written yet.
    unsafe { value_of::<T>(header).write(value) };
    // SAFETY: just made, and only this thread knows it.
    unsafe { header.as_ref() }.strong.set(1);
    header
}

/// Allocates an object for a `T` not written yet, with a node or not; its header's flags are
/// `flags` with no strong count (weak references refuse to upgrade) and one weak count (the
/// strong side's).
pub(super) fn allocate_uninit<T: TraceMeta + 'static>(flags: u32) -> NonNull<Header> {
    let vtable = &VTables::<T>::VTABLE;
    let Shape::Sized {
        with_node,
        without_node,
    } = vtable.shape
    else {
        unreachable!("a sized type's vtable")
    };
    let (layout, header_offset) = if flags & HAS_NODE != 0 {
        with_node
    } else {
        without_node
    };
    let start = alloc::allocate_local(layout);
    // SAFETY: the allocation holds the header at `header_offset` and, with a node, the node
    // right before it.
    unsafe {
        let header = start.byte_add(header_offset).cast::<Header>();
        write_header(header, vtable, flags, 0);
        header
    }
}

/// Writes an object's header, and its node if `flags` has one.
///
/// # Safety
/// The header (and the node) are in bounds of an allocation, aligned, and not written yet.
unsafe fn write_header(header: NonNull<Header>, vtable: &'static VTable, flags: u32, strong: u32) {
    // SAFETY: the caller's contract.
    unsafe {
        header.write(Header {
            strong: Cell::new(strong),
            state: Cell::new(flags | 1),
            vtable,
        });
        if flags & HAS_NODE != 0 {
            node_of(header).write(Node {
                prev: Cell::new(std::ptr::null()),
                next: Cell::new(std::ptr::null()),
                index: Cell::new(NOT_EXAMINED),
                epoch: Cell::new(0),
            });
        }
    }
}

/// Allocates a slice object with the given vtable and the first `len` items, with a node or
/// not; its header's flags are `flags` with one strong and one weak count.
///
/// # Panics
/// If `items` yields fewer than `len` items: the ones it gave are dropped and the memory freed
/// (as when `items` panics).
pub(super) fn allocate_slice<T>(
    vtable: &'static VTable,
    flags: u32,
    len: usize,
    mut items: impl Iterator<Item = T>,
) -> NonNull<Header> {
    /// The elements written so far, dropped with the memory if the iterator gives up.
    struct Partial<T> {
        start: NonNull<u8>,
        layout: Layout,
        first: NonNull<T>,
        written: usize,
    }
    impl<T> Drop for Partial<T> {
        fn drop(&mut self) {
            // SAFETY: the first `written` elements were written and are dropped once, here; the
            // block came from `allocate_local` with this layout.
            unsafe {
                NonNull::slice_from_raw_parts(self.first, self.written).drop_in_place();
                alloc::deallocate_local(self.start, self.layout);
            }
        }
    }
    let (layout, header_offset) = slice_layout(Layout::new::<T>(), flags & HAS_NODE != 0, len);
    let start = alloc::allocate_local(layout);
    // SAFETY: the header's offset is in bounds; the elements start right after the header.
    let header = unsafe { start.byte_add(header_offset).cast::<Header>() };
    // SAFETY: as above.
    let first = unsafe { value_of::<T>(header) };
    let mut partial = Partial {
        start,
        layout,
        first,
        written: 0,
    };
    while partial.written < len {
        let Some(item) = items.next() else {
            panic!(
                "janitor: an ExactSizeIterator promised {len} elements for a Gc slice and ended \
                 after {}",
                partial.written
            )
        };
        // SAFETY: element `written` is in bounds (below `len`), aligned, and not written yet.
        unsafe { first.add(partial.written).write(item) };
        partial.written += 1;
    }
    std::mem::forget(partial);
    // SAFETY: the header, the node and the length word are in bounds and aligned
    // (`slice_layout`), and not written yet; the length word is read through the header's flag.
    unsafe {
        write_header(header, vtable, flags, 1);
        len_of(header).write(len);
    }
    header
}

/// Reports the edges of a live object.
///
/// # Safety
/// `header` is the header of an object whose value is live.
pub(super) unsafe fn trace(header: NonNull<Header>, tracer: &mut Tracer<'_>) {
    // SAFETY: the caller's contract.
    let vtable = unsafe { header.as_ref() }.vtable;
    if vtable.holds_gc {
        // SAFETY: as above.
        unsafe { (vtable.trace)(header, tracer) }
    }
}

/// Drops an object's value in place.
///
/// # Safety
/// The value is live and never used again.
pub(super) unsafe fn drop_value(header: NonNull<Header>) {
    // SAFETY: the caller's contract.
    unsafe { (header.as_ref().vtable.drop_value)(header) }
}

/// Frees the memory of an object whose value is gone and whose weak count reached zero; returns
/// its size.
///
/// # Safety
/// Nothing uses the object any more.
#[inline]
pub(super) unsafe fn free(header: NonNull<Header>) -> usize {
    // SAFETY: the header is still readable until the memory goes.
    let (layout, header_offset) = layout(unsafe { header.as_ref() });
    // SAFETY: the allocation starts `header_offset` before the header and came from
    // `allocate_local` with this layout (the same vtable and node choice as `allocate`).
    unsafe { alloc::deallocate_local(header.byte_sub(header_offset).cast(), layout) };
    layout.size()
}

/// The bytes of the allocation behind a header.
#[inline]
pub(super) fn size(header: &Header) -> usize {
    layout(header).0.size()
}
