//! What only queued objects reach: its short weak references cleared, its finalizable objects
//! queued with them.
//!
//! Invariant owned here: **`S` is set on an object, and an object is queued for its finalizer
//! here, only if, at one instant, every reference to it came from objects that only the
//! finalizer queue holds** (directly, or through other such objects). .NET's collection finds
//! unreachable everything that only f-reachable objects reach: it clears their short weak
//! references before any finalizer runs, and queues every registered one among them in the same
//! collection. A collection here does it for the garbage isolates it queues (their kept members
//! get `S`); an acyclic object queued by its last drop gets `S` itself. This module does the rest:
//! the finalizer thread runs it on each batch before the batch's finalizers, over the queued
//! objects whose type can hold a `Gc`. The registered objects it finds *confined* (below) are
//! queued into the running batch: so `wait_for_pending_finalizers` covers a finalizable object
//! that only another pending one holds (a field of it, or a member of a garbage cycle the
//! collection queued), instead of leaving it to a later collection or to the moment its holder's
//! memory goes. When the finalizer thread is idle an object's last drop may start it at once: the
//! pass then sees the heap as it is at that moment (a child still held elsewhere an instant longer
//! is not confined).
//!
//! It is the collector's trial deletion rooted at the queued objects, with the same tools for the
//! same reasons: serialized with collections, snapshots, cells held until the decision, and a seal
//! per connected component by freezing, which leaves a component as it was when one freeze fails.
//! Every failure leaves things as they were before the pass; the work is bounded per chunk of
//! roots. The steps, the bounds and the argument: `docs/gc-soundness.md#the-confined-pass`.

use crate::gc::core::count::Snapshot;
use crate::gc::core::heap::Heap;
use crate::gc::core::object::{self, Header};
use crate::gc::core::trace::{ChildSink, Holds, Tracer};
use crate::gc::core::trial;
use crate::gc::engine::release;
use crate::sync::MutexGuard;
use std::collections::HashMap;
use std::ptr::NonNull;
use std::sync::TryLockError;
use std::time::{Duration, Instant};

/// Roots examined together.
const ROOTS_PER_PASS: usize = 256;
/// How long the pass waits for the collection turn before it gives up on its chunk: longer than
/// an ordinary young collection, short enough that a `Drop` waiting for this batch under the turn
/// is released at once in human terms, and that finalizers are not held back behind a heap that
/// collects without pause.
const PATIENCE_FOR_THE_TURN: Duration = Duration::from_millis(20);
/// The pause between two tries for the turn.
const POLL_THE_TURN: Duration = Duration::from_micros(50);
/// Objects (roots included) one pass examines at most before giving up.
const MAX_EXAMINED: usize = 4096;

impl trial::Examinee for Examined {
    fn snapshot_count(&self) -> u64 {
        self.snapshot.count()
    }
    fn is_opaque(&self) -> bool {
        self.opaque
    }
    fn edges(&self) -> std::ops::Range<usize> {
        self.edges.clone()
    }
}

/// One examined object.
struct Examined {
    header: NonNull<Header>,
    snapshot: Snapshot,
    /// A root: held by the queue's count, not pinned.
    root: bool,
    /// Recorded edges from this object: `children[edges]` are indices into the examined list.
    edges: std::ops::Range<usize>,
    opaque: bool,
}

/// Clears the short weak references of the objects that only `queued` reach, and queues the
/// registered ones among them (see the module's documentation); returns those, each holding a
/// count for the queue. Called by the finalizer thread before it runs a batch.
///
/// # Safety
/// Each object in `queued` is held by the queue's count until after this call.
pub(crate) unsafe fn examine_below(
    queued: impl Iterator<Item = NonNull<Header>>,
) -> Vec<NonNull<Header>> {
    let mut found = Vec::new();
    let mut roots = Vec::with_capacity(ROOTS_PER_PASS);
    // SAFETY: held by the queue's count (the caller's contract).
    for header in queued.filter(|header| unsafe { header.as_ref() }.vtable().holds_gc) {
        roots.push(header);
        if roots.len() == ROOTS_PER_PASS {
            // SAFETY: the caller's contract.
            unsafe { pass_or_one_by_one(&roots, &mut found) };
            roots.clear();
        }
    }
    if !roots.is_empty() {
        // SAFETY: the caller's contract.
        unsafe { pass_or_one_by_one(&roots, &mut found) };
    }
    found
}

/// How a pass over a chunk ended.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Pass {
    /// The chunk was examined whole and sealed where it could be.
    Done,
    /// Something in the chunk stopped the examination (a root whose `trace` panicked, the
    /// examined-object bound, a count that reached zero): nothing was changed.
    Incomplete,
    /// The collection turn could not be had: nothing was changed.
    NoTurn,
}

/// A pass over the chunk; if one root's subgraph stopped it, a pass per root, so that one
/// queued object (another thread's, with a panicking `trace` or a huge subgraph) does not cost
/// the others their clearing.
///
/// # Safety
/// As for [`examine_below`].
unsafe fn pass_or_one_by_one(roots: &[NonNull<Header>], found: &mut Vec<NonNull<Header>>) {
    // SAFETY: the caller's contract.
    let outcome = unsafe { pass(roots, found) };
    if outcome == Pass::Incomplete && roots.len() > 1 {
        for root in roots {
            // SAFETY: the caller's contract.
            unsafe { pass(std::slice::from_ref(root), found) };
        }
    }
}

/// One pass over a chunk of roots; the confined registered objects it queues go to `found`.
///
/// # Safety
/// As for [`examine_below`].
unsafe fn pass(roots: &[NonNull<Header>], found: &mut Vec<NonNull<Header>>) -> Pass {
    let Some(turn) = take_turn_patiently(Heap::global()) else {
        return Pass::NoTurn;
    };
    // SAFETY: the caller's contract.
    let (mut examined, mut index_of) = unsafe { seed(roots) };
    let mut sink = ChildSink {
        children: Vec::new(),
        holds: Holds::default(),
    };
    let mut edges: Vec<u32> = Vec::new();
    let complete = explore(&mut examined, &mut index_of, &mut sink, &mut edges);
    if complete {
        seal_confined(&examined, &edges, found);
    }
    // SAFETY: each held cell belongs to an examined object, live (queue count or pin) until the
    // pins are given back below.
    unsafe { sink.holds.release_all() };
    drop(turn);
    // Without the collection mutex: an unpin may free (a `Drop` may collect).
    release::draining(|| {
        for object in examined.iter().filter(|object| !object.root) {
            // SAFETY: pinned above; the pin is the count given back.
            unsafe { release::give_back(object.header) };
        }
    });
    if complete {
        Pass::Done
    } else {
        Pass::Incomplete
    }
}

/// Takes the collection turn, waiting for it, but not for long: an induced collection holds it
/// while it drops its garbage, and a `Drop` there may wait for pending finalizers, which would
/// wait for this batch (a deadlock). So the pass polls the turn, sleeping between tries (a
/// spinning finalizer thread would slow the collection it waits for), and after
/// [`PATIENCE_FOR_THE_TURN`] gives up on this chunk (`None`), leaving its short references as
/// they were, which is always allowed.
fn take_turn_patiently(heap: &Heap) -> Option<MutexGuard<'_, ()>> {
    let started = Instant::now();
    loop {
        match heap.collection.try_lock() {
            Ok(turn) => return Some(turn),
            Err(TryLockError::Poisoned(poisoned)) => return Some(poisoned.into_inner()),
            Err(TryLockError::WouldBlock) if started.elapsed() > PATIENCE_FOR_THE_TURN => {
                return None;
            }
            Err(TryLockError::WouldBlock) => std::thread::sleep(POLL_THE_TURN),
        }
    }
}

/// The roots, once each, as the first examined objects, with their index by header.
///
/// # Safety
/// As for [`examine_below`]: each root is held by the queue's count.
unsafe fn seed(roots: &[NonNull<Header>]) -> (Vec<Examined>, HashMap<NonNull<Header>, usize>) {
    let mut examined: Vec<Examined> = Vec::new();
    let mut index_of: HashMap<NonNull<Header>, usize> = HashMap::new();
    for &header in roots {
        if index_of.contains_key(&header) {
            continue;
        }
        index_of.insert(header, examined.len());
        examined.push(Examined {
            header,
            // SAFETY: held by the queue's count (the caller's contract).
            snapshot: unsafe { header.as_ref() }.count().read(),
            root: true,
            edges: 0..0,
            opaque: false,
        });
    }
    (examined, index_of)
}

/// Traces the examined objects in order, pinning and appending each child met for the first
/// time, holding the cells read through; returns whether the whole subgraph below the roots was
/// examined (false when a `trace` panicked, a child could not be pinned, or the pass reached
/// [`MAX_EXAMINED`] objects).
fn explore(
    examined: &mut Vec<Examined>,
    index_of: &mut HashMap<NonNull<Header>, usize>,
    sink: &mut ChildSink,
    edges: &mut Vec<u32>,
) -> bool {
    let mut complete = true;
    let mut next = 0;
    while next < examined.len() {
        let header = examined[next].header;
        sink.children.clear();
        sink.holds.opaque = false;
        let mut tracer = Tracer::subgraph(sink);
        // A `trace` that panics breaks `Trace`'s contract; the collector resumes such a panic on
        // the collecting thread, but here it would end the finalizer thread: the pass gives up
        // (every hold and pin is still given back below) and reports it.
        let traced = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            // SAFETY: a root is held by the queue, every other examined object by our pin.
            unsafe { object::trace(header, &mut tracer) }
        }));
        if traced.is_err() {
            // SAFETY: examined objects are live (queue count or pin).
            let type_name = unsafe { header.as_ref() }.vtable().type_name();
            tracing::error!(
                r#type = type_name,
                "janitor: a `Trace` implementation panicked; short weak references under \
                 objects waiting for their finalizer are left as they are"
            );
            complete = false;
            break;
        }
        let start = edges.len();
        for &child in &sink.children {
            // A condemned child is a garbage cycle's member that a `Drop` of its cycle cloned out
            // to here: its value is dropped, so it is neither traced nor part of the decision (it
            // reaches nothing, and nothing it held is a reference any more). The turn is held, so
            // no collection condemns anything meanwhile: the bit read here stays as read.
            // SAFETY: `child` is a `Gc` inside a value we hold, so it holds a count: allocated.
            if unsafe { child.as_ref() }.count().is_condemned() {
                continue;
            }
            let index = match index_of.get(&child) {
                Some(&index) => index,
                None => {
                    if examined.len() == MAX_EXAMINED {
                        complete = false;
                        break;
                    }
                    // SAFETY: `child` is a `Gc` inside a value we hold (traced with its cells
                    // held), so it holds a count: the object is live.
                    let Some(snapshot) = unsafe { child.as_ref() }.count().pin() else {
                        complete = false;
                        break;
                    };
                    index_of.insert(child, examined.len());
                    examined.push(Examined {
                        header: child,
                        snapshot,
                        root: false,
                        edges: 0..0,
                        opaque: false,
                    });
                    examined.len() - 1
                }
            };
            // At most `MAX_EXAMINED` objects, so an index fits.
            edges.push(index as u32);
        }
        examined[next].edges = start..edges.len();
        examined[next].opaque = sink.holds.opaque;
        if !complete {
            break;
        }
        next += 1;
    }
    complete
}

/// Steps 4 and 5: finds the confined objects and, if the seal holds, queues the registered ones
/// (into `found`) and sets `S` on those that have weak references.
fn seal_confined(examined: &[Examined], edges: &[u32], found: &mut Vec<NonNull<Header>>) {
    let live = trial::mark_live(examined, edges);
    let confined = |index: usize| !live[index] && !examined[index].root;
    let count = |index: usize| {
        // SAFETY: examined objects are live (queue count or pin).
        unsafe { examined[index].header.as_ref() }.count()
    };
    let matters = |index: usize| {
        let snapshot = examined[index].snapshot;
        confined(index) && (snapshot.is_weakened() || snapshot.is_registered())
    };
    // Sealed per connected component: no recorded edge joins two components, so every `Gc` to a
    // component's confined member lives in that component, and one component's failed freeze
    // (an unrelated queued object upgraded meanwhile) leaves the others alone.
    for component in components(examined, edges) {
        if !component.iter().any(|&index| matters(index)) {
            continue;
        }
        let sealed: Vec<usize> = component
            .into_iter()
            .filter(|&index| !live[index])
            .collect();
        if !freeze_all_or_none(examined, &sealed) {
            continue;
        }
        for &index in &sealed {
            if confined(index) && examined[index].snapshot.is_registered() {
                // Registration is read from the snapshot; the freeze validated it.
                count(index).queue_frozen();
                found.push(examined[index].header);
            } else {
                if confined(index) && examined[index].snapshot.is_weakened() {
                    count(index).thaw_with_short_cleared();
                } else {
                    count(index).thaw();
                }
            }
        }
    }
}

/// Freezes every object of `group` from exactly its snapshot, or, if one was touched since
/// (its freeze fails), thaws those already frozen and returns false: a group is decided whole
/// or not at all.
fn freeze_all_or_none(examined: &[Examined], group: &[usize]) -> bool {
    let count = |index: usize| {
        // SAFETY: examined objects are live (queue count or pin).
        unsafe { examined[index].header.as_ref() }.count()
    };
    let frozen = group
        .iter()
        .take_while(|&&index| count(index).freeze(examined[index].snapshot))
        .count();
    if frozen == group.len() {
        return true;
    }
    for &index in &group[..frozen] {
        count(index).thaw();
    }
    false
}

/// The examined objects grouped by connected component of the recorded edges (direction
/// ignored).
fn components(examined: &[Examined], edges: &[u32]) -> Vec<Vec<usize>> {
    fn find(parent: &mut [usize], mut index: usize) -> usize {
        while parent[index] != index {
            parent[index] = parent[parent[index]];
            index = parent[index];
        }
        index
    }
    let mut parent: Vec<usize> = (0..examined.len()).collect();
    for (from, object) in examined.iter().enumerate() {
        for &to in &edges[object.edges.clone()] {
            let (a, b) = (find(&mut parent, from), find(&mut parent, to as usize));
            parent[a] = b;
        }
    }
    let mut groups: std::collections::HashMap<usize, Vec<usize>> = std::collections::HashMap::new();
    for index in 0..examined.len() {
        let root = find(&mut parent, index);
        groups.entry(root).or_default().push(index);
    }
    groups.into_values().collect()
}
