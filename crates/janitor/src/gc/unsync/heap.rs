//! The thread-local heap: generation lists, the allocation budget, the finalizer queues, the
//! release of objects whose count reached zero, and the heap's end at thread exit.
//!
//! Invariants owned here:
//! * an object is in the list of its generation exactly when its [`TRACKED`] flag is set;
//! * [`Heap::busy`] is above zero exactly while the heap runs a collection or user code of its
//!   own (a value's `Drop`, a finalizer): no automatic collection starts and no finalizer runs
//!   then, so user code never finds itself inside a collection, nor a `Drop` inside a finalizer;
//! * at most [`RELEASE_DEPTH`] objects are being destroyed by nested [`release`]s at a time: an
//!   object whose count reaches zero deeper than that waits in `deferred` for the outermost one,
//!   so dropping a deep chain uses bounded stack.
//!
//! The heap value has no drop glue (its vectors are `ManuallyDrop`): its thread-local stays
//! readable while other thread-locals are destroyed, including by the one that ends the heap
//! when the thread exits (`collector.rs`).

use super::object::{
    self, CONDEMNED, HAS_NODE, Header, KEY, Node, QUEUED, REGISTERED, TRACKED, header_of_node,
    node_of,
};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::time::Duration;

/// How deep [`release`] recurses (a dropped value dropping the last `Gc` of another) before it
/// defers to the outermost frame. One: every nested release is deferred. Measured on
/// binary-trees (depth-16 trees, built and dropped 100 times), recursing 32 frames deep took 0.76 s
/// of CPU against 0.42 s for deferring all: the deferred stack frees a tree's blocks in an order
/// whose reuse by the next tree is kinder to the cache.
const RELEASE_DEPTH: u32 = 1;

/// A list of objects, through their nodes.
pub(super) struct List {
    pub(super) head: Cell<*const Node>,
    pub(super) len: Cell<usize>,
}

impl List {
    const fn new() -> Self {
        Self {
            head: Cell::new(std::ptr::null()),
            len: Cell::new(0),
        }
    }
}

/// A table of ephemerons, seen from the heap (`ephemeron.rs`).
pub(super) trait Ephemerons {
    /// Reports the edges of the values whose key has this header.
    fn trace_values_of(&self, key: NonNull<Header>, sink: &mut crate::gc::core::trace::Tracer<'_>);
    /// The headers of the live keys.
    fn keys(&self) -> Vec<NonNull<Header>>;
    /// Takes out the entries whose key is condemned or dead; the caller drops them.
    fn remove_dead(&self) -> Vec<Box<dyn std::any::Any>>;
    /// Takes out every entry (thread exit).
    fn remove_all(&self) -> Vec<Box<dyn std::any::Any>>;
}

/// The smallest growth of the tracked objects (allocations minus frees by counting) between two
/// young collections, after one that found its generation mostly live.
pub(super) const MIN_BUDGET: usize = 8 << 10;

/// The growth of the tracked objects between two young collections after one that found more than
/// three quarters of the generation-0 objects it examined garbage (an interpreter's frames,
/// callbacks), and before the first: collecting again soon keeps the garbage waiting small and
/// costs little more, since each examination is then mostly of garbage, which some collection
/// must examine once, and the collector's buffers are reused from one collection to the next.
/// Measured on `closures` at full size (cachegrind, one row per process): 1 Ki and 256 ran
/// 3.13 G and 3.15 G instructions, and the peak fell from 146 KiB to 49 KiB. A budget this small
/// always would cost `cycle-churn`, whose young objects mostly survive, 12% more instructions:
/// hence the choice by survival.
pub(super) const PRODUCTIVE_BUDGET: usize = 1 << 8;

/// Counters read by `stats` and `memory_info`.
#[derive(Default, Clone, Copy)]
pub(super) struct Counters {
    pub(super) collections: [u64; 3],
    pub(super) induced: u64,
    pub(super) automatic: u64,
    pub(super) pressure: u64,
    pub(super) examined: u64,
    pub(super) freed: u64,
    pub(super) finalized: u64,
    pub(super) promoted_objects: usize,
    pub(super) promoted_bytes: usize,
    pub(super) last_pause: Duration,
    pub(super) total_pause: Duration,
}

pub(super) struct Heap {
    pub(super) generations: [List; 3],
    /// Bytes of live objects.
    pub(super) bytes: Cell<usize>,
    /// Memory pressure declared and not withdrawn (`add_memory_pressure`).
    pub(super) pressure: Cell<usize>,
    /// Memory pressure added since the last full collection.
    pub(super) pressure_since_full: Cell<usize>,
    /// How far the tracked objects grew since the last young collection: allocations minus
    /// frees by counting (see [`Heap::collection_due`]).
    pub(super) grown: Cell<usize>,
    pub(super) budget: Cell<usize>,
    pub(super) young_since_middle: Cell<u32>,
    /// Whether the last collection found more than three quarters of what it examined garbage.
    pub(super) productive: Cell<bool>,
    /// Objects in the oldest generation after the last full collection.
    pub(super) old_after_full: Cell<usize>,
    pub(super) busy: Cell<u32>,
    /// Whether finalizers are running now.
    finalizing: Cell<bool>,
    /// Set when the thread's heap ended: nothing is tracked or registered any more.
    pub(super) closed: Cell<bool>,
    pub(super) armed: Cell<bool>,
    /// How many frames of [`release`] are on the stack.
    release_depth: Cell<u32>,
    pub(super) deferred: RefCell<ManuallyDrop<Vec<NonNull<Header>>>>,
    pub(super) normal: RefCell<ManuallyDrop<VecDeque<NonNull<Header>>>>,
    pub(super) critical: RefCell<ManuallyDrop<VecDeque<NonNull<Header>>>>,
    pub(super) tables: RefCell<ManuallyDrop<Vec<std::rc::Weak<dyn Ephemerons>>>>,
    pub(super) counters: Cell<Counters>,
}

thread_local! {
    static HEAP: Heap = const {
        Heap {
            generations: [List::new(), List::new(), List::new()],
            bytes: Cell::new(0),
            pressure: Cell::new(0),
            pressure_since_full: Cell::new(0),
            grown: Cell::new(0),
            budget: Cell::new(PRODUCTIVE_BUDGET),
            young_since_middle: Cell::new(0),
            productive: Cell::new(false),
            old_after_full: Cell::new(0),
            busy: Cell::new(0),
            finalizing: Cell::new(false),
            closed: Cell::new(false),
            armed: Cell::new(false),
            release_depth: Cell::new(0),
            deferred: RefCell::new(ManuallyDrop::new(Vec::new())),
            normal: RefCell::new(ManuallyDrop::new(VecDeque::new())),
            critical: RefCell::new(ManuallyDrop::new(VecDeque::new())),
            tables: RefCell::new(ManuallyDrop::new(Vec::new())),
            counters: Cell::new(Counters {
                collections: [0; 3],
                induced: 0,
                automatic: 0,
                pressure: 0,
                examined: 0,
                freed: 0,
                finalized: 0,
                promoted_objects: 0,
                promoted_bytes: 0,
                last_pause: Duration::ZERO,
                total_pause: Duration::ZERO,
            }),
        }
    };
}

/// Runs `body` on this thread's heap.
#[inline]
pub(super) fn with<R>(body: impl FnOnce(&Heap) -> R) -> R {
    HEAP.with(body)
}

/// Counts the heap busy for as long as it lives (also when a panic unwinds).
pub(super) struct Busy<'a>(&'a Heap);

impl<'a> Busy<'a> {
    pub(super) fn new(heap: &'a Heap) -> Self {
        heap.busy.set(heap.busy.get() + 1);
        Self(heap)
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.busy.set(self.0.busy.get() - 1);
    }
}

impl Heap {
    /// Counts the bytes of a new object.
    #[inline]
    pub(super) fn count_new(&self, header: NonNull<Header>) {
        // SAFETY: a new object is live.
        let size = object::size(unsafe { header.as_ref() });
        self.bytes.set(self.bytes.get() + size);
    }

    /// Takes an object whose value moved out (its strong count is zero and it is not condemned)
    /// out of the heap: out of its list, out of the tables' reach; its memory goes with its last
    /// weak count.
    ///
    /// # Safety
    /// The object's value was moved out; nothing uses it as a value again.
    pub(super) unsafe fn forget_taken(&self, header: NonNull<Header>) {
        // SAFETY: the memory is live until its weak count reaches zero, which only this does.
        let header_ref = unsafe { header.as_ref() };
        if header_ref.has(TRACKED) {
            // SAFETY: a tracked object (its value is gone, but nothing traces an unlinked one).
            unsafe { self.unlink(header) };
        }
        header_ref.clear(REGISTERED | KEY);
        if header_ref.decrement_weak() {
            // SAFETY: no `Gc` and no weak reference is left.
            unsafe { self.free(header) };
        }
    }

    /// Frees an object's memory and uncounts its bytes.
    ///
    /// # Safety
    /// As [`object::free`].
    pub(super) unsafe fn free(&self, header: NonNull<Header>) {
        // SAFETY: the caller's contract.
        let size = unsafe { object::free(header) };
        self.bytes.set(self.bytes.get() - size);
    }

    pub(super) fn update_counters(&self, change: impl FnOnce(&mut Counters)) {
        let mut counters = self.counters.get();
        change(&mut counters);
        self.counters.set(counters);
    }

    /// Links a new tracked object into generation 0; returns whether an automatic collection is
    /// due.
    ///
    /// # Safety
    /// `header` is a live object with a node, in no list.
    #[inline]
    pub(super) unsafe fn link_new(&self, header: NonNull<Header>) {
        // SAFETY: the caller's contract.
        unsafe { self.link(header, 0) };
        self.grown.set(self.grown.get() + 1);
    }

    /// Whether the budget says a collection is due and one may start now: the tracked objects
    /// grew by a budget. Growth, not allocations, as the shared heap counts (`core/heap.rs`,
    /// `Heap::due`): a collection frees only what counting did not, so acyclic garbage that dies
    /// young never makes one due.
    #[inline]
    pub(super) fn collection_due(&self) -> bool {
        self.grown.get() >= self.budget.get() && self.busy.get() == 0 && !self.closed.get()
    }

    /// # Safety
    /// `header` is a live object with a node, in no list.
    pub(super) unsafe fn link(&self, header: NonNull<Header>, generation: u8) {
        // SAFETY: the caller's contract.
        let header_ref = unsafe { header.as_ref() };
        // SAFETY: the object has a node.
        let node = unsafe { node_of(header) };
        let list = &self.generations[generation as usize];
        // SAFETY: the node is the object's, and the list's nodes are live objects'.
        unsafe {
            node.as_ref().prev.set(std::ptr::null());
            node.as_ref().next.set(list.head.get());
            if let Some(head) = list.head.get().as_ref() {
                head.prev.set(node.as_ptr());
            }
        }
        list.head.set(node.as_ptr());
        list.len.set(list.len.get() + 1);
        header_ref.set(TRACKED);
        header_ref.set_generation(generation);
    }

    /// # Safety
    /// `header` is a live tracked object.
    pub(super) unsafe fn unlink(&self, header: NonNull<Header>) {
        // SAFETY: the caller's contract.
        let header_ref = unsafe { header.as_ref() };
        // SAFETY: a tracked object has a node; its neighbours are live objects of the list.
        unsafe {
            let node = node_of(header).as_ref();
            let list = &self.generations[header_ref.generation() as usize];
            match node.prev.get().as_ref() {
                Some(prev) => prev.next.set(node.next.get()),
                None => list.head.set(node.next.get()),
            }
            if let Some(next) = node.next.get().as_ref() {
                next.prev.set(node.prev.get());
            }
            list.len.set(list.len.get() - 1);
        }
        header_ref.clear(TRACKED);
    }

    /// The headers of the objects in a generation's list.
    pub(super) fn objects_of(&self, generation: u8) -> Vec<NonNull<Header>> {
        let mut objects = Vec::with_capacity(self.generations[generation as usize].len.get());
        self.for_each_in(generation, |header| objects.push(header));
        objects
    }

    /// Calls `visit` with the header of each object in a generation's list, which `visit` must
    /// leave unchanged.
    #[inline]
    pub(super) fn for_each_in(&self, generation: u8, mut visit: impl FnMut(NonNull<Header>)) {
        let mut node = self.generations[generation as usize].head.get();
        while let Some(current) = NonNull::new(node.cast_mut()) {
            // SAFETY: nodes in a list are live objects'.
            visit(unsafe { header_of_node(current) });
            // SAFETY: as above; `visit` leaves the list alone.
            node = unsafe { current.as_ref() }.next.get();
        }
    }

    /// Queues a registered object that became unreachable for its finalizer: the queue holds a
    /// strong count on it, its short weak references stop upgrading.
    ///
    /// # Safety
    /// `header` is a live object with a node, registered, and not queued.
    pub(super) unsafe fn queue_for_finalizer(&self, header: NonNull<Header>) {
        // SAFETY: the caller's contract.
        let header_ref = unsafe { header.as_ref() };
        header_ref.set(QUEUED);
        header_ref.increment();
        // SAFETY: a registered object has a node.
        let node = unsafe { node_of(header).as_ref() };
        node.epoch.set(node.epoch.get().wrapping_add(1));
        let queue = if header_ref.vtable.critical {
            &self.critical
        } else {
            &self.normal
        };
        queue.borrow_mut().push_back(header);
    }

    pub(super) fn pending_finalizers(&self) -> usize {
        self.normal.borrow().len() + self.critical.borrow().len()
    }

    /// Runs one pass over the queued finalizers, every normal one before any critical one; does
    /// nothing inside a finalizer or a `Drop` the heap runs. Objects queued during the pass (a
    /// finalizer dropped the last `Gc` to another, or re-registered its own) wait for the next
    /// pass, as in .NET, so a finalizer that re-registers itself cannot keep a pass running.
    pub(super) fn run_finalizers(&self) {
        if self.finalizing.get() || self.busy.get() > 0 || self.pending_finalizers() == 0 {
            return;
        }
        self.finalizing.set(true);
        struct Finalizing<'a>(&'a Heap);
        impl Drop for Finalizing<'_> {
            fn drop(&mut self) {
                self.0.finalizing.set(false);
            }
        }
        let _finalizing = Finalizing(self);
        // Taken one at a time from the front: on a panic, the rest of the pass is still queued.
        for queue in [&self.normal, &self.critical] {
            let pass = queue.borrow().len();
            for _ in 0..pass {
                let next = queue.borrow_mut().pop_front();
                let Some(header) = next else { break };
                // SAFETY: the queue's count keeps the object live; that count is given back
                // there.
                unsafe { self.finalize_one(header) };
            }
        }
    }

    /// # Safety
    /// `header` was just taken off a queue, with the queue's count.
    unsafe fn finalize_one(&self, header: NonNull<Header>) {
        // SAFETY: the queue's count keeps it live.
        let header_ref = unsafe { header.as_ref() };
        header_ref.clear(QUEUED);
        // Gives the queue's count back even when the finalizer panics.
        struct GiveBack(NonNull<Header>);
        impl Drop for GiveBack {
            fn drop(&mut self) {
                // SAFETY: the queue's count, given back once.
                unsafe { decrement(self.0) };
            }
        }
        let give_back = GiveBack(header);
        // A finalizer suppressed while queued is skipped, as .NET's finalizer thread does.
        if header_ref.has(REGISTERED) {
            header_ref.clear(REGISTERED);
            self.update_counters(|counters| counters.finalized += 1);
            let run = header_ref
                .vtable
                .finalize
                .expect("a registered object's type has a finalizer");
            // SAFETY: the object is live, and the queue's count is lent to the finalizer.
            unsafe { run(header.cast()) };
        }
        drop(give_back);
    }
}

/// Condemns `garbage` (each pinned by one count), drops the table entries `entries` and then
/// every value, and gives the pins back: an object whose pin was its last count is freed; one a
/// `Drop` cloned a `Gc` to stays condemned until that `Gc` drops. Returns the first panic a
/// `Drop` raised; every value is dropped whatever panics.
///
/// # Safety
/// The objects are live, unlinked, unreachable from outside except by `Gc`s that drops cloned
/// meanwhile, and not condemned yet.
pub(super) unsafe fn condemn_and_drop(
    heap: &Heap,
    garbage: &[NonNull<Header>],
    entries: Vec<Box<dyn std::any::Any>>,
) -> Option<Box<dyn std::any::Any + Send>> {
    for &header in garbage {
        // SAFETY: the caller's contract.
        let header_ref = unsafe { header.as_ref() };
        header_ref.increment();
        header_ref.set(CONDEMNED);
        header_ref.clear(REGISTERED | KEY);
    }
    let mut first_panic = None;
    let mut note = |result: std::thread::Result<()>| {
        if let Err(payload) = result
            && first_panic.is_none()
        {
            first_panic = Some(payload);
        }
    };
    note(std::panic::catch_unwind(std::panic::AssertUnwindSafe(
        || drop(entries),
    )));
    for &header in garbage {
        note(std::panic::catch_unwind(std::panic::AssertUnwindSafe(
            // SAFETY: each value is live and dropped once; its object stays allocated (pinned).
            || unsafe { object::drop_value(header) },
        )));
    }
    for &header in garbage {
        // SAFETY: the pin taken above, given back once.
        unsafe { decrement(header) };
    }
    heap.update_counters(|counters| counters.freed += garbage.len() as u64);
    first_panic
}

impl Heap {
    /// Destroys the objects a panicking `Drop` left waiting (the panic unwound out of the loop of
    /// [`release`] before it reached them).
    pub(super) fn release_deferred(&self) {
        if self.release_depth.get() > 0 {
            return;
        }
        let next = self.deferred.borrow_mut().pop();
        if let Some(header) = next {
            // SAFETY: a deferred object reached zero and waits to be destroyed, once.
            unsafe { release(header) }
        }
    }
}

/// Gives back one strong count on an object, releasing it if that was the last.
///
/// # Safety
/// The caller owns one count on the object and never uses it again.
#[inline]
pub(super) unsafe fn decrement(header: NonNull<Header>) {
    // SAFETY: the caller's count keeps the object live.
    let header_ref = unsafe { header.as_ref() };
    let strong = header_ref.strong.get() - 1;
    header_ref.strong.set(strong);
    if strong == 0 {
        // SAFETY: that was the last count.
        unsafe { release(header) }
    }
}

/// Destroys an object whose strong count reached zero, or queues it for its finalizer. Nested
/// releases (the value's drop dropped another last `Gc`) beyond [`RELEASE_DEPTH`] frames wait in
/// `deferred` for the outermost frame, so a chain of any length is dropped in bounded stack.
///
/// # Safety
/// The object's strong count just reached zero.
#[cold]
#[inline(never)]
pub(super) unsafe fn release(header: NonNull<Header>) {
    with(|heap| {
        let depth = heap.release_depth.get();
        if depth >= RELEASE_DEPTH {
            heap.deferred.borrow_mut().push(header);
            return;
        }
        heap.release_depth.set(depth + 1);
        struct Depth<'a>(&'a Heap);
        impl Drop for Depth<'_> {
            fn drop(&mut self) {
                self.0.release_depth.set(self.0.release_depth.get() - 1);
            }
        }
        let frame = Depth(heap);
        // SAFETY: the object reached zero and is destroyed once, here.
        unsafe { destroy(heap, header) };
        if depth == 0 {
            loop {
                let next = heap.deferred.borrow_mut().pop();
                let Some(next) = next else { break };
                // SAFETY: each deferred object reached zero and is destroyed once, here.
                unsafe { destroy(heap, next) };
            }
        }
        drop(frame);
    })
}

/// # Safety
/// The object's strong count is zero; nothing else destroys it.
unsafe fn destroy(heap: &Heap, header: NonNull<Header>) {
    // SAFETY: the memory is live until its weak count reaches zero, which only this does.
    let header_ref = unsafe { header.as_ref() };
    if header_ref.has(CONDEMNED) {
        // Its value is gone (a garbage cycle's member a `Drop` held on to): only the memory is
        // left.
        if header_ref.decrement_weak() {
            // SAFETY: no `Gc` and no weak reference is left.
            unsafe { heap.free(header) };
        }
        return;
    }
    if header_ref.has(REGISTERED) && !heap.closed.get() {
        // SAFETY: registered objects have a node; a count-zero object is not queued.
        unsafe { heap.queue_for_finalizer(header) };
        return;
    }
    if header_ref.has(TRACKED) {
        // SAFETY: a live tracked object.
        unsafe { heap.unlink(header) };
        heap.grown.set(heap.grown.get().saturating_sub(1));
    }
    header_ref.clear(REGISTERED | KEY);
    let _busy = Busy::new(heap);
    // Frees the memory after the drop, also when the drop panics.
    struct Free<'a>(&'a Heap, NonNull<Header>);
    impl Drop for Free<'_> {
        fn drop(&mut self) {
            // SAFETY: the value is gone; the memory goes with the last weak count.
            if unsafe { self.1.as_ref() }.decrement_weak() {
                // SAFETY: nothing refers to the object any more.
                unsafe { self.0.free(self.1) };
            }
        }
    }
    let free = Free(heap, header);
    // SAFETY: the last count is gone: nobody reaches the value, which is dropped once.
    unsafe { object::drop_value(header) };
    drop(free);
}

/// Whether `header` has a node and what its short-weak epoch is.
pub(super) fn epoch_of(header: &Header) -> u32 {
    if header.has(HAS_NODE) {
        // SAFETY: the object has a node.
        unsafe { node_of(NonNull::from(header)).as_ref() }
            .epoch
            .get()
    } else {
        0
    }
}
