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
//! survivors move one generation up (as in .NET, a full collection moves generation 0 to 1 and 1 to 2).

use super::super::trace::{LocalSink, Tracer};
use super::super::trial::{Examinee, mark_live, spread_life};
use super::heap::{self, Heap};
use super::object::{self, HAS_NODE, Header, KEY, NOT_EXAMINED, REGISTERED, TRACKED, node_of};
use std::collections::HashMap;
use std::ops::Range;
use std::ptr::NonNull;
use std::time::Instant;

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
pub(super) fn collect(heap: &Heap, generation: u8) {
    let started = Instant::now();
    let busy = heap::Busy::new(heap);
    let tables: Vec<_> = heap
        .tables
        .borrow()
        .iter()
        .filter_map(std::rc::Weak::upgrade)
        .collect();
    let mut examined = Vec::new();
    for current in 0..=generation {
        for header in heap.objects_of(current) {
            // SAFETY: listed objects are live.
            let header_ref = unsafe { header.as_ref() };
            // An object whose count reached zero is already being destroyed (this collection
            // runs inside a `Drop`): it is not examined, and edges to it are not recorded.
            if header_ref.strong.get() == 0 {
                continue;
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
