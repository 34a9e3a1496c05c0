//! The thread-local cycle collector: trial deletion over one thread's generations.
//!
//! The mark step is the shared heap's (`trial.rs`): an examined object is live when it is
//! reachable along recorded edges from one whose count exceeds the edges into it, or from an
//! opaque one (a cell borrowed mutably while traced, whose content could not be read). Nothing
//! else is shared with the concurrent collector, because nothing else is needed: the heap belongs
//! to this thread, and no user code runs from the first count read to the decision (tracing calls
//! only `Trace` implementations, which may not touch the heap), so counts and edges cannot change
//! under the examination. There are no pins, epochs or validation; the shared examiner's own
//! hold, which `trial.rs` subtracts, is therefore added to each snapshot count.
//!
//! Ephemerons: a table's value counts as an edge of its key (`ephemeron.rs`), so a value keeps
//! what it reaches alive only while its key lives, and a value that points back to its key does
//! not keep the key alive. A full collection while tables exist examines the untracked objects
//! that examined ones reach and that can lead back (they hold a `Gc`, or are a table's key):
//! a cycle through a table can pass through objects the tracking rule left untracked.
//!
//! Then: the garbage that is registered for finalization, and everything it reaches, survives
//! (the registered objects go to the finalizer queue); the rest is condemned and dropped;
//! survivors move one generation up (as in .NET, a full collection moves generation 0 to 1 and
//! 1 to 2).
//!
//! Also here, what decides when to collect: the budget (growth of the tracked objects since the
//! last young collection, allocations minus frees by counting: a quarter of the tracked objects,
//! and at least [`heap::MIN_BUDGET`], or [`heap::PRODUCTIVE_BUDGET`] after one that found more
//! than three quarters of the generation-0 objects it examined garbage; doubled, up to the
//! heap's size, after one that found nothing), every eighth young
//! collection a generation-1 one, and a full one instead when the oldest generation grew since the
//! last full one by half, or by a young budget if that is more (so the garbage that reaches a
//! small oldest generation waits no longer than a young budget's worth); and the heap's end at
//! thread exit, armed by the first allocation ([`arm`], [`end`]).

use super::heap::{self, Heap};
use super::object::{self, HAS_NODE, Header, KEY, NOT_EXAMINED, REGISTERED, TRACKED, node_of};
use crate::gc::core::trace::{LocalSink, Tracer};
use crate::gc::core::trial::{Examinee, MarkBuffers, mark_live_reusing, spread_life};
use std::collections::HashMap;
use std::collections::VecDeque;
use std::ops::Range;
use std::ptr::NonNull;
use std::time::Instant;

/// Young collections between two collections of generation 1.
const YOUNG_PER_MIDDLE: u32 = 8;

struct Examined {
    header: NonNull<Header>,
    count: u32,
    opaque: bool,
    edges: Range<usize>,
}

impl Examinee for Examined {
    fn snapshot_count(&self) -> u64 {
        u64::from(self.count) + 1
    }
    fn is_opaque(&self) -> bool {
        self.opaque
    }
    fn edges(&self) -> Range<usize> {
        self.edges.clone()
    }
}

/// The buffers of a collection, which the next one on this thread reuses: a young collection of a
/// few hundred objects, which an interpreter's heap runs thousands of times a second, then
/// allocates nothing. Buffers that a larger collection grew past [`SCRATCH_KEPT`] are freed
/// rather than kept, so that no examination holds its memory for the rest of the thread.
struct Scratch {
    examined: Vec<Examined>,
    edges: Vec<u32>,
    live: Vec<bool>,
    marking: MarkBuffers,
    garbage: Vec<NonNull<Header>>,
}

/// The most objects a kept [`Scratch`] has room for (and four edges each). A collection larger
/// than that allocates its own buffers, whose cost is then small beside its examination's; kept
/// buffers count in the thread's memory, and `cycle-churn`'s young collections of 8 Ki objects
/// and more would have kept a megabyte.
const SCRATCH_KEPT: usize = 1 << 10;

impl Scratch {
    const EMPTY: Scratch = Scratch {
        examined: Vec::new(),
        edges: Vec::new(),
        live: Vec::new(),
        marking: MarkBuffers::new(),
        garbage: Vec::new(),
    };

    /// This thread's buffers, emptied; fresh ones inside a collection that a `Drop` of another
    /// one's garbage started, or once the thread-local is gone.
    fn take() -> Scratch {
        let mut scratch = SCRATCH
            .try_with(|kept| kept.replace(Scratch::EMPTY))
            .unwrap_or(Scratch::EMPTY);
        scratch.examined.clear();
        scratch.edges.clear();
        scratch.garbage.clear();
        scratch
    }

    /// Keeps the buffers for the next collection, unless a large one grew them.
    fn keep(self) {
        let large =
            self.examined.capacity() > SCRATCH_KEPT || self.edges.capacity() > 4 * SCRATCH_KEPT;
        let kept = if large { Scratch::EMPTY } else { self };
        let _ = SCRATCH.try_with(|slot| slot.set(kept));
    }
}

thread_local! {
    static SCRATCH: std::cell::Cell<Scratch> = const { std::cell::Cell::new(Scratch::EMPTY) };
}

/// Collects generations `0..=generation` of `heap`; returns how many objects it found garbage.
fn collect(heap: &Heap, generation: u8) -> usize {
    let started = Instant::now();
    let busy = heap::Busy::new(heap);
    let mut scratch = Scratch::take();
    let tables: Vec<_> = heap
        .tables
        .borrow()
        .iter()
        .filter_map(std::rc::Weak::upgrade)
        .collect();
    let listed: usize = heap.generations[..=generation as usize]
        .iter()
        .map(|list| list.len.get())
        .sum();
    let examined = &mut scratch.examined;
    examined.reserve(listed);
    // The examined objects of generation 0 come first: `young` of them. Whether a collection was
    // productive is judged on them alone: the older generations a middle or full collection adds
    // hold what survived before, and would make an interpreter's young heap, nearly all garbage,
    // look mostly live every eighth collection.
    let mut young = 0;
    for current in 0..=generation {
        // Nothing below changes the lists: no user code runs until the decision.
        heap.for_each_in(current, |header| {
            // SAFETY: listed objects are live.
            let header_ref = unsafe { header.as_ref() };
            // An object whose count reached zero is already being destroyed (this collection
            // runs inside a `Drop`): it is not examined, and edges to it are not recorded.
            if header_ref.strong.get() == 0 {
                return;
            }
            // SAFETY: a listed object has a node.
            unsafe { node_of(header).as_ref() }
                .index
                .set(examined.len() as u32);
            examined.push(Examined {
                header,
                count: header_ref.strong.get(),
                opaque: false,
                edges: 0..0,
            });
        });
        if current == 0 {
            young = examined.len();
        }
    }
    // Untracked objects examined by a full collection with tables, by header.
    let mut extra: HashMap<NonNull<Header>, u32> = HashMap::new();
    let reach_untracked = generation == 2 && !tables.is_empty();
    if reach_untracked {
        // An untracked key is where a cycle through its own value starts: no tracked object
        // needs to lead to it.
        for table in &tables {
            for key in table.keys() {
                // SAFETY: a live key is a live object.
                let key_ref = unsafe { key.as_ref() };
                if !key_ref.has(TRACKED) {
                    extra.entry(key).or_insert_with(|| {
                        examined.push(Examined {
                            header: key,
                            count: key_ref.strong.get(),
                            opaque: false,
                            edges: 0..0,
                        });
                        (examined.len() - 1) as u32
                    });
                }
            }
        }
    }
    let edges = &mut scratch.edges;
    let mut sink = LocalSink::default();
    let mut index = 0;
    while index < examined.len() {
        let header = examined[index].header;
        sink.children.clear();
        sink.holds.opaque = false;
        {
            let mut tracer = Tracer::local(&mut sink);
            // SAFETY: examined objects are live.
            unsafe { object::trace(header, &mut tracer) };
            // SAFETY: as above.
            if unsafe { header.as_ref() }.has(KEY) {
                for table in &tables {
                    table.trace_values_of(header, &mut tracer);
                }
            }
        }
        let start = edges.len();
        for &child in &sink.children {
            let child = child.cast::<Header>();
            // SAFETY: an edge is a `Gc` a live value owns: its object is live.
            let child_ref = unsafe { child.as_ref() };
            if child_ref.has(TRACKED) {
                if child_ref.generation() <= generation {
                    // SAFETY: a tracked object has a node.
                    let target = unsafe { node_of(child).as_ref() }.index.get();
                    if target != NOT_EXAMINED {
                        edges.push(target);
                    }
                }
            } else if reach_untracked
                && child_ref.strong.get() > 0
                && !child_ref.has(object::CONDEMNED)
                && (child_ref.vtable.holds_gc || child_ref.has(KEY))
            {
                let target = *extra.entry(child).or_insert_with(|| {
                    examined.push(Examined {
                        header: child,
                        count: child_ref.strong.get(),
                        opaque: false,
                        edges: 0..0,
                    });
                    (examined.len() - 1) as u32
                });
                edges.push(target);
            }
        }
        examined[index].edges = start..edges.len();
        examined[index].opaque = sink.holds.opaque;
        index += 1;
    }
    let live = &mut scratch.live;
    mark_live_reusing(examined, edges, &mut scratch.marking, live);
    // SAFETY: every held cell belongs to an examined object, all still live.
    unsafe { sink.holds.release_all() };
    // Registered garbage keeps itself and what it reaches intact for its finalizer.
    let mut registered = Vec::new();
    for (index, object) in examined.iter().enumerate() {
        // SAFETY: examined objects are live.
        let header_ref = unsafe { object.header.as_ref() };
        if header_ref.has(TRACKED) {
            // SAFETY: a tracked object has a node.
            unsafe { node_of(object.header).as_ref() }
                .index
                .set(NOT_EXAMINED);
        }
        if !live[index] && header_ref.has(REGISTERED) {
            registered.push(index);
        }
    }
    if !registered.is_empty() {
        spread_life(examined, edges, live, &registered);
    }
    for &index in &registered {
        let header = examined[index].header;
        // SAFETY: live, registered, not queued (a queued object's queue count made it live), and
        // registered objects have a node.
        unsafe {
            debug_assert!(header.as_ref().has(HAS_NODE));
            heap.queue_for_finalizer(header);
        }
    }
    let garbage = &mut scratch.garbage;
    let mut promoted_objects = 0;
    let mut promoted_bytes = 0;
    for (object, &alive) in examined.iter().zip(live.iter()) {
        // SAFETY: examined objects are live.
        let header_ref = unsafe { object.header.as_ref() };
        let tracked = header_ref.has(TRACKED);
        if !alive {
            if tracked {
                // SAFETY: a live tracked object.
                unsafe { heap.unlink(object.header) };
            }
            garbage.push(object.header);
        } else if tracked && header_ref.generation() < 2 {
            let older = header_ref.generation() + 1;
            promoted_objects += 1;
            promoted_bytes += object::size(header_ref);
            // SAFETY: as above; it is linked again at once.
            unsafe {
                heap.unlink(object.header);
                heap.link(object.header, older);
            }
        }
    }
    // The entries of condemned keys go with the garbage (the flag says which keys).
    let mut entries = Vec::new();
    if !tables.is_empty() {
        for &header in garbage.iter() {
            // SAFETY: garbage objects are live until dropped below.
            unsafe { header.as_ref() }.set(object::CONDEMNED);
        }
        for table in &tables {
            entries.extend(table.remove_dead());
        }
        for &header in garbage.iter() {
            // SAFETY: as above; `condemn_and_drop` sets the flag again.
            unsafe { header.as_ref() }.clear(object::CONDEMNED);
        }
    }
    let young_garbage = live[..young].iter().filter(|&&alive| !alive).count();
    heap.productive.set(young_garbage * 4 > young * 3);
    let pause = started.elapsed();
    heap.update_counters(|counters| {
        for counted in &mut counters.collections[..=generation as usize] {
            *counted += 1;
        }
        counters.examined += examined.len() as u64;
        counters.promoted_objects = promoted_objects;
        counters.promoted_bytes = promoted_bytes;
        counters.last_pause = pause;
        counters.total_pause += pause;
    });
    drop(tables);
    // SAFETY: the garbage is live, unlinked, and reachable only from itself and from the
    // entries taken out above.
    let panic = unsafe { heap::condemn_and_drop(heap, garbage, entries) };
    let found = garbage.len();
    scratch.keep();
    drop(busy);
    if let Some(payload) = panic {
        std::panic::resume_unwind(payload);
    }
    found
}

/// Runs the automatic collection the budget asks for, then the finalizers it queued.
#[cold]
pub(super) fn collect_automatically(heap: &Heap) {
    let young = heap.young_since_middle.get() + 1;
    let generation = if young < YOUNG_PER_MIDDLE {
        heap.young_since_middle.set(young);
        0
    } else {
        heap.young_since_middle.set(0);
        let old = heap.generations[2].len.get();
        let slack = (heap.old_after_full.get() / 2).max(heap.budget.get());
        if old > heap.old_after_full.get() + slack {
            2
        } else {
            1
        }
    };
    heap.update_counters(|counters| counters.automatic += 1);
    collect_generation(heap, generation);
    heap.run_finalizers();
}

/// Collects generations `0..=generation`.
pub(super) fn collect_generation(heap: &Heap, generation: u8) {
    if heap.closed.get() {
        return;
    }
    heap.release_deferred();
    if generation == 2 {
        // Pressure the collection's drops declare counts towards the next one.
        heap.pressure_since_full.set(0);
    }
    let found = collect(heap, generation);
    heap.grown.set(0);
    let tracked: usize = heap.generations.iter().map(|list| list.len.get()).sum();
    let floor = if heap.productive.get() {
        heap::PRODUCTIVE_BUDGET
    } else {
        heap::MIN_BUDGET
    };
    let mut budget = floor.max(tracked / 4);
    if found == 0 {
        // A collection that found nothing (a program building data, or making garbage that its
        // counts free) doubles the budget, up to the heap's size: GCBench's rounds ran 46
        // collections that freed nothing, a fifth of their time. Garbage cycles made next wait
        // for at most as many objects as the heap holds, the growth Go's default pacing allows.
        budget = budget.max((2 * heap.budget.get()).min(tracked));
    }
    heap.budget.set(budget);
    if generation == 2 {
        heap.old_after_full.set(heap.generations[2].len.get());
    }
}

thread_local! {
    static TEARDOWN: Teardown = const { Teardown };
}

/// Ends the thread's heap when the thread exits (see the module's text).
struct Teardown;

impl Drop for Teardown {
    fn drop(&mut self) {
        heap::with(end);
    }
}

/// Arms the teardown at the first allocation.
#[inline]
pub(super) fn arm(heap: &Heap) {
    if !heap.armed.get() {
        heap.armed.set(true);
        // Touching the thread-local registers its destructor.
        TEARDOWN.with(|_| {});
    }
}

/// Ends the heap at thread exit: collects it, runs the finalizers that finds, and frees what
/// survives (objects still held by thread-locals not yet destroyed, or leaked): their values
/// are dropped as a garbage cycle's are (condemned first, so a `Drop` that reaches another
/// sees a panic, never freed memory), and the memory of each goes when its last `Gc` does.
/// Those drops may make new objects: the end goes round again, a bounded number of times,
/// before it closes the heap.
pub(super) fn end(heap: &Heap) {
    for _ in 0..4 {
        heap.release_deferred();
        // A panic cannot leave a thread-local destructor (the process would abort): a `Drop`
        // or a finalizer that panics here is reported by the panic hook, and the end goes on.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            collect_generation(heap, 2);
            heap.run_finalizers();
        }));
        let survivors = unlink_all(heap);
        if survivors.is_empty() && heap.pending_finalizers() == 0 {
            break;
        }
        drop_survivors(heap, &survivors);
    }
    heap.closed.set(true);
    let queued: VecDeque<_> = {
        let mut queued = std::mem::take(&mut **heap.normal.borrow_mut());
        queued.append(&mut heap.critical.borrow_mut());
        queued
    };
    for header in queued {
        // SAFETY: the queue's count, given back once; the heap is closed, so the object is
        // not queued again.
        unsafe { heap::decrement(header) };
    }
    let survivors = unlink_all(heap);
    drop_survivors(heap, &survivors);
    // Their memory goes now; empty vectors stay, which later thread-local destructors may
    // still read (a table dropped after this finds itself unregistered already).
    drop(std::mem::take(&mut **heap.tables.borrow_mut()));
    drop(std::mem::take(&mut **heap.deferred.borrow_mut()));
}

/// Takes every tracked object out of the generation lists.
fn unlink_all(heap: &Heap) -> Vec<NonNull<Header>> {
    let mut survivors = Vec::new();
    for generation in 0..3 {
        for header in heap.objects_of(generation) {
            // SAFETY: listed objects are live.
            unsafe { heap.unlink(header) };
            survivors.push(header);
        }
    }
    survivors
}

/// Drops the values of objects the end found still tracked, with the table entries.
fn drop_survivors(heap: &Heap, survivors: &[NonNull<Header>]) {
    let mut entries = Vec::new();
    for table in heap.tables.borrow().iter() {
        if let Some(table) = table.upgrade() {
            entries.extend(table.remove_all());
        }
    }
    // An object whose count reached zero waits in `deferred` (a panic left it there) and is
    // destroyed there, not here.
    let survivors: Vec<_> = survivors
        .iter()
        .copied()
        // SAFETY: the survivors were listed: live.
        .filter(|header| unsafe { header.as_ref() }.strong.get() > 0)
        .collect();
    let _busy = heap::Busy::new(heap);
    // SAFETY: the survivors are live and were unlinked; they are condemned and pinned before
    // any value drops. A panic was reported by the hook; nothing can receive it here.
    let _ = unsafe { heap::condemn_and_drop(heap, &survivors, entries) };
}
