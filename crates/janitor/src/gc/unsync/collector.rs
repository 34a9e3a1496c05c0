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
//! last young collection, allocations minus frees by counting: a quarter of the tracked objects, and at least [`heap::MIN_BUDGET`], or
//! [`heap::PRODUCTIVE_BUDGET`] after one that found more than three quarters of what it examined
//! garbage), every eighth young collection a generation-1 one, and a full one instead when the
//! oldest generation grew by half since the last; and the heap's end at thread exit, armed by the
//! first allocation ([`arm`], [`end`]).

use super::heap::{self, Heap};
use super::object::{self, HAS_NODE, Header, KEY, NOT_EXAMINED, REGISTERED, TRACKED, node_of};
use crate::gc::core::trace::{LocalSink, Tracer};
use crate::gc::core::trial::{Examinee, mark_live, spread_life};
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

/// Collects generations `0..=generation` of `heap`.
fn collect(heap: &Heap, generation: u8) {
    let started = Instant::now();
    let busy = heap::Busy::new(heap);
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
    let mut examined = Vec::with_capacity(listed);
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
    let mut edges: Vec<u32> = Vec::new();
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
    let mut live = mark_live(&examined, &edges);
    // SAFETY: every held cell belongs to an examined object, all still live.
    unsafe { sink.holds.release_all() };
    for object in &examined {
        // SAFETY: examined objects are live.
        if unsafe { object.header.as_ref() }.has(TRACKED) {
            // SAFETY: a tracked object has a node.
            unsafe { node_of(object.header).as_ref() }
                .index
                .set(NOT_EXAMINED);
        }
    }
    // Registered garbage keeps itself and what it reaches intact for its finalizer.
    let registered: Vec<usize> = (0..examined.len())
        .filter(|&index| {
            // SAFETY: examined objects are live.
            !live[index] && unsafe { examined[index].header.as_ref() }.has(REGISTERED)
        })
        .collect();
    spread_life(&examined, &edges, &mut live, &registered);
    for &index in &registered {
        let header = examined[index].header;
        // SAFETY: live, registered, not queued (a queued object's queue count made it live), and
        // registered objects have a node.
        unsafe {
            debug_assert!(header.as_ref().has(HAS_NODE));
            heap.queue_for_finalizer(header);
        }
    }
    let mut garbage = Vec::new();
    let mut promoted_objects = 0;
    let mut promoted_bytes = 0;
    for (object, &alive) in examined.iter().zip(&live) {
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
    for &header in &garbage {
        // SAFETY: garbage objects are live until dropped below.
        unsafe { header.as_ref() }.set(object::CONDEMNED);
    }
    let mut entries = Vec::new();
    for table in &tables {
        entries.extend(table.remove_dead());
    }
    for &header in &garbage {
        // SAFETY: as above; `condemn_and_drop` sets the flag again.
        unsafe { header.as_ref() }.clear(object::CONDEMNED);
    }
    heap.productive.set(garbage.len() * 4 > examined.len() * 3);
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
    let panic = unsafe { heap::condemn_and_drop(heap, &garbage, entries) };
    drop(busy);
    if let Some(payload) = panic {
        std::panic::resume_unwind(payload);
    }
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
        if old > heap.old_after_full.get() + heap.old_after_full.get() / 2 + heap::MIN_BUDGET {
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
    collect(heap, generation);
    heap.grown.set(0);
    let tracked: usize = heap.generations.iter().map(|list| list.len.get()).sum();
    let floor = if heap.productive.get() {
        heap::PRODUCTIVE_BUDGET
    } else {
        heap::MIN_BUDGET
    };
    heap.budget.set(floor.max(tracked / 4));
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
