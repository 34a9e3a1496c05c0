//! The cycle collector: trial deletion over the tracked objects of generations `0..=N`, run
//! while other threads clone, drop, move and mutate.
//!
//! Invariant owned here: **an object is condemned only if no thread can reach it.** A collection
//! pins and reads the examined objects (their *snapshots*), traces them with their cells held,
//! subtracts the recorded edges from the counts, marks what is held from outside, freezes the
//! candidates left and condemns them once all are frozen, then releases the cells; dropping the
//! condemned values, giving back the pins and unpinning the survivors is the [`Aftermath`], which
//! the caller finishes (on the reclaimer for an automatic collection, `reclaim.rs`). The steps and
//! why each is needed: `docs/gc-soundness.md#the-collection`; the argument:
//! `#no-thread-can-reach-a-condemned-object` and `#freeze-and-validation`; the untracked objects a
//! full collection examines ([`Untracked`]): `#untracked-keys`.

use crate::gc::core::count::Snapshot;
use crate::gc::core::heap::{Heap, Lists, OLDEST, Trigger};
use crate::gc::core::object::{self, Header, Node};
use crate::gc::core::trace::{EdgeSink, Holds, NOT_EXAMINED, Tracer};
use crate::gc::core::trial;
use crate::gc::engine::{release, retire};
use crate::gc::side::attachments;
use crate::gc::side::queue;
use crate::gc::side::weak_cells;
use crate::sync::unlock_fair;
use std::collections::HashMap;
use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::ptr::NonNull;
use std::time::Instant;

/// One pinned object of a collection.
struct Examined {
    header: NonNull<Header>,
    snapshot: Snapshot,
    edges: Range<usize>,
    opaque: bool,
}

/// What a collection leaves to do once the heap lock is released (step 7): the condemned isolate,
/// each member still pinned, and the pinned survivors. It owns one count on every object in it
/// and must be finished, on some thread, exactly once.
pub(crate) struct Aftermath {
    isolate: Vec<NonNull<Header>>,
    survivors: Vec<NonNull<Header>>,
}

// SAFETY: the aftermath holds counts (pins) on heap objects, which are `Send + Sync` (`Gc::new`
// requires it); the isolate is unreachable by any thread, so whichever thread finishes it is its
// only user.
unsafe impl Send for Aftermath {}

crate::sync::thread_local! {
    // Not `const`: loom's `thread_local!` has no const form.
    #[allow(clippy::missing_const_for_thread_local)]
    /// `Some` while this thread finishes an aftermath: whether its drops had their collection.
    static IN_DROPS: std::cell::Cell<Option<bool>> = std::cell::Cell::new(None);
}

/// Whether this thread is running the drops of an aftermath (the `Drop` of a garbage object, or
/// code it calls).
pub(crate) fn is_finishing() -> bool {
    IN_DROPS
        .try_with(|in_drops| in_drops.get().is_some())
        .unwrap_or(false)
}

/// Whether a collection the drops of the aftermath being finished ask for may run: the first
/// may, later ones may not. Each `Drop` of a cycle whose members all collect would otherwise start
/// a collection of the whole heap, as many as the isolate has members; one collection examines
/// what all of them left. Outside an aftermath, every collection may run.
pub(crate) fn take_collection_in_drops() -> bool {
    IN_DROPS
        .try_with(|in_drops| match in_drops.get() {
            Some(true) => false,
            Some(false) => {
                in_drops.set(Some(true));
                true
            }
            None => true,
        })
        .unwrap_or(true)
}

/// A panic that escaped the `Drop` of an isolate member, with the member's type.
pub(crate) type DropPanic = (&'static str, Box<dyn std::any::Any + Send>);

impl Aftermath {
    /// The objects it holds a count on.
    pub(crate) fn objects(&self) -> usize {
        self.isolate.len() + self.survivors.len()
    }

    /// An aftermath with nothing to do.
    pub(crate) fn empty() -> Aftermath {
        Aftermath {
            isolate: Vec::new(),
            survivors: Vec::new(),
        }
    }

    /// Gives back at once every survivor's pin that is not its last count, and keeps the rest
    /// for [`finish`](Aftermath::finish): what remains runs user code only through the objects
    /// it frees, so it can go to the reclaimer while the collecting thread goes on.
    pub(crate) fn unpin_shared_survivors(mut self) -> Aftermath {
        self.survivors.retain(|&header| {
            // SAFETY: pinned, so allocated; a survivor whose pin is given back here is not freed
            // (another count remains), so no user code runs.
            !unsafe { header.as_ref() }.count().decrement_unless_last()
        });
        self
    }

    /// Step 7: drops the isolate, frees it, gives back the survivors' pins. Returns the first
    /// panic that escaped a member's `Drop`, after everything is done.
    ///
    /// Meanwhile this thread is inside an aftermath's drops ([`is_finishing`]), and the first
    /// collection those drops ask for is the only one they get ([`take_collection_in_drops`]).
    pub(crate) fn finish(self) -> Result<(), DropPanic> {
        struct Restore(Option<bool>);
        impl Drop for Restore {
            fn drop(&mut self) {
                let _ = IN_DROPS.try_with(|in_drops| in_drops.set(self.0));
            }
        }
        let _restore = IN_DROPS
            .try_with(|in_drops| in_drops.replace(Some(false)))
            .map(Restore);
        let Aftermath { isolate, survivors } = self;
        // Inside `draining`, objects that unpinning or the isolate's drops free are queued and
        // destroyed at the end, so no user code runs between the isolate's drops and the
        // unpins: a panicking `Drop` never leaves a survivor pinned.
        release::draining(|| {
            let isolate_panic = drop_isolate(&isolate);
            for &header in &survivors {
                // SAFETY: pinned, and the pin is the count given back.
                unsafe { release::give_back(header) };
            }
            isolate_panic
        })
    }
}

/// Which generations a collection examines.
#[derive(Clone, Copy)]
pub(crate) enum Examine {
    /// Generations `0..=N`.
    UpTo(u8),
    /// Those the allocation budgets make due, read under the heap lock the collection takes
    /// anyway, once the turn is held (so that reading them never waits for another examination).
    Due,
}

/// Collects the generations `examine` names; returns what is left to do once the lock is
/// released (step 7). Each step is a function below, named for what it does.
pub(crate) fn collect(heap: &Heap, examine: Examine, trigger: Trigger) -> Aftermath {
    let started = Instant::now();
    let mut lists = heap.lock();
    heap.begin_examination(&lists);
    let max_generation = match examine {
        Examine::UpTo(generation) => generation.min(OLDEST),
        Examine::Due => lists.generation_to_collect(),
    };
    heap.start_counting_afresh(&mut lists);
    let mut departed = retire::DepartedMeanwhile::new();
    let mut examined = pin_generations(heap, &mut lists, max_generation, &mut departed);
    let mut free_departed = || departed.free_departed(heap, &mut lists);
    let traced = trace_holding_cells(&mut examined, max_generation, &mut free_departed);
    let (mut sink, attachments) = match traced {
        Ok(traced) => traced,
        Err(panic) => {
            let unlinked = departed.finish(heap, &mut lists);
            heap.end_examination(&lists);
            drop(lists);
            unlinked.free();
            unpin(&examined);
            resume_unwind(panic);
        }
    };
    free_departed();
    let (condemned, finalizable) = decide(&examined, &sink.edges, &mut free_departed);
    // Step 6: release the cells, unlink the condemned, promote the survivors.
    drop(attachments);
    // SAFETY: every held cell's object is still pinned (the pins are given back in step 7).
    unsafe { sink.holds.release_all() };
    unlink_condemned(&mut lists, &examined, &condemned);
    queue_finalizable(&examined, &finalizable);
    let promoted =
        heap.promote_survivors(&mut lists, max_generation, examined.len(), condemned.len());
    let pause = started.elapsed();
    lists.stats = lists.stats.after_collection(
        trigger,
        pause,
        promoted,
        examined.len() as u64,
        condemned.len() as u64,
    );
    // What threads dropped since the last step (`retire.rs`).
    let departed = departed.finish(heap, &mut lists);
    heap.end_examination(&lists);
    // Handed to the longest waiter: a thread that collects back to back would otherwise take it
    // again first, and starve the others (issue 11).
    unlock_fair(lists);
    departed.free();
    // Step 7 is the caller's (drop the isolate, free it, give back the last pins); the other pins
    // are given back first, so that a thread that sees this collection counted sees every
    // survivor it holds with its exact count.
    let examined_count = examined.len();
    let aftermath = split_off_isolate(examined, &condemned).unpin_shared_survivors();
    heap.count_collection(max_generation);
    if max_generation == OLDEST {
        heap.reset_pressure_since_full();
    }
    tracing::debug!(
        generation = max_generation,
        trigger = ?trigger,
        examined = examined_count,
        freed = condemned.len(),
        finalizable = finalizable.len(),
        pause_us = pause.as_micros() as u64,
        "janitor: collection"
    );
    aftermath
}

/// Step 1: pins every object of the examined generations and reads its count word, freeing what
/// threads depart meanwhile every [`FREE_DEPARTED_EVERY`] objects pinned.
fn pin_generations(
    heap: &Heap,
    lists: &mut Lists,
    max_generation: u8,
    departed: &mut retire::DepartedMeanwhile,
) -> Vec<Examined> {
    let mut examined = Vec::new();
    let pin = |header: NonNull<Header>, node: &Node| {
        // Indices are `u32`: past four billion objects the rest are left unexamined, which is
        // sound (their references count as external), and only delays their collection.
        if examined.len() >= NOT_EXAMINED as usize {
            node.index.set(NOT_EXAMINED);
            return false;
        }
        // SAFETY: linked objects are allocated; the count word is atomic.
        match unsafe { header.as_ref() }.count().pin() {
            Some(snapshot) => {
                node.index.set(examined.len() as u32);
                examined.push(Examined {
                    header,
                    snapshot,
                    edges: 0..0,
                    opaque: false,
                });
                // Pinned: its count cannot reach zero, so it never departs.
                true
            }
            None => {
                node.index.set(NOT_EXAMINED);
                false
            }
        }
    };
    lists.for_each_with_pauses(max_generation, FREE_DEPARTED_EVERY, pin, |lists| {
        departed.free_departed(heap, lists)
    });
    examined
}

/// How many objects the examination traces between two calls that free what threads departed
/// meanwhile: often enough that a thread which drops and allocates while a million objects are
/// traced finds its dead objects freed within a fraction of a millisecond, rarely enough that the
/// call (an atomic swap when nothing departed) costs nothing beside the traces.
const FREE_DEPARTED_EVERY: usize = 1024;

/// Step 2: traces every pinned object, holding the cells it reads through (and the side map of
/// attached values, which are edges of their keys) until the isolate is sealed. A full
/// collection also examines the untracked keys of tables, and the untracked objects on the way
/// from their values back to them (see `Untracked`). Every [`FREE_DEPARTED_EVERY`] objects it
/// calls `free_departed`. A panicking `Trace` must not leave cells held: the holds are released
/// and the panic returned, for the caller to unpin and resume it.
fn trace_holding_cells(
    examined: &mut Vec<Examined>,
    max_generation: u8,
    free_departed: &mut dyn FnMut(),
) -> Result<(EdgeSink, Option<attachments::Held>), Box<dyn std::any::Any + Send>> {
    let mut sink = EdgeSink {
        max_generation,
        edges: Vec::new(),
        holds: Holds::default(),
        untracked: None,
    };
    let attachments = attachments::hold();
    let mut untracked = match &attachments {
        Some(held) if max_generation == OLDEST => Untracked::pin_keys(held, examined),
        _ => None,
    };
    if untracked.is_some() {
        sink.untracked = Some(Vec::new());
    }
    let traced = catch_unwind(AssertUnwindSafe(|| {
        for index in 0..examined.len() {
            trace_examined(examined, index, &mut sink, attachments.as_ref());
            if let Some(untracked) = &mut untracked {
                untracked.note_children(index, &mut sink);
            }
            if index % FREE_DEPARTED_EVERY == FREE_DEPARTED_EVERY - 1 {
                free_departed();
            }
        }
        if let Some(untracked) = &mut untracked {
            untracked.examine_reached(examined, &mut sink, attachments.as_ref());
        }
    }));
    match traced {
        Ok(()) => Ok((sink, attachments)),
        Err(panic) => {
            drop(attachments);
            // SAFETY: every held cell's object is pinned until the caller unpins it.
            unsafe { sink.holds.release_all() };
            Err(panic)
        }
    }
}

/// Steps 3 to 5: subtracts internal references and marks from the roots, validates by freezing
/// (what a thread touched lives, with all it reaches), and seals the fates of the rest; returns
/// the indices of the condemned and of those kept for finalization.
fn decide(
    examined: &[Examined],
    edges: &[u32],
    free_departed: &mut dyn FnMut(),
) -> (Vec<usize>, Vec<usize>) {
    let mut live = trial::mark_live_pausing(examined, edges, FREE_DEPARTED_EVERY, free_departed);
    let candidates = freeze_candidates(examined, edges, &mut live);
    let fates = decide_fates(examined, edges, &candidates);
    seal(examined, &candidates, &fates);
    split_by_fate(&candidates, &fates)
}

/// Step 6, under the heap lock: takes the condemned tracked objects out of their lists.
fn unlink_condemned(lists: &mut Lists, examined: &[Examined], condemned: &[usize]) {
    for &index in condemned {
        let header = examined[index].header;
        // SAFETY: pinned, so allocated.
        if !unsafe { header.as_ref() }.vtable().tracked {
            // An untracked key of a table, or an object on the way back to one: in no list.
            continue;
        }
        // SAFETY: a linked tracked object, and the lock is held.
        unsafe { lists.remove(header) };
        // A `Drop` of the isolate may clone a member out of it (step 7): a later collection
        // that traces that clone must not take this collection's index for its own.
        // SAFETY: tracked, so it has a node; the lock guards the node's fields.
        unsafe { object::node_of(header).as_ref() }
            .index
            .set(NOT_EXAMINED);
    }
}

/// Step 6, under the heap lock: queues the objects kept for finalization. One call queues them
/// all, so normal entries come before critical ones; and under the heap lock, so that a
/// `collect` that returns after this one has queued them (the queue's lock is a leaf: nothing is
/// locked while holding it).
fn queue_finalizable(examined: &[Examined], finalizable: &[usize]) {
    let queued: Vec<NonNull<Header>> = finalizable
        .iter()
        .map(|&index| examined[index].header)
        .collect();
    // SAFETY: each took one count for the queue in `seal`, and has a finalizer (it was
    // registered).
    unsafe { queue::enqueue(&queued) };
}

/// The aftermath: the condemned, taken out of the examined objects, and the survivors.
fn split_off_isolate(mut survivors: Vec<Examined>, condemned: &[usize]) -> Aftermath {
    let mut isolate = Vec::with_capacity(condemned.len());
    // `condemned` is in increasing order, so each removal leaves the next index in place.
    for &index in condemned.iter().rev() {
        isolate.push(survivors.swap_remove(index).header);
    }
    Aftermath {
        isolate,
        survivors: survivors.iter().map(|object| object.header).collect(),
    }
}

/// Traces one examined object, its attached values included, and records its edges after those
/// recorded so far.
fn trace_examined(
    examined: &mut [Examined],
    index: usize,
    sink: &mut EdgeSink,
    attachments: Option<&attachments::Held>,
) {
    let header = examined[index].header;
    let start = sink.edges.len();
    sink.holds.opaque = false;
    let mut tracer = Tracer::collection(sink);
    // SAFETY: the object is pinned, so its value is live.
    unsafe { object::trace(header, &mut tracer) };
    if let Some(attachments) = attachments {
        attachments::trace_attached(attachments, header, &mut tracer);
    }
    examined[index].edges = start..sink.edges.len();
    examined[index].opaque = sink.holds.opaque;
}

/// The untracked objects a full collection examines while some table has an untracked key: the
/// keys that have attachments, and every untracked object that can hold a `Gc` reached from them
/// along recorded edges (attached values included), so that a cycle a value closes through its
/// untracked key is examined and freed. Why: `docs/gc-soundness.md#untracked-keys`.
///
/// None of them is pinned behind a unique holder's back: a key is pinned by the address the side
/// map holds, and is weakened, which disables the unique-holder shortcuts; every other one is
/// pinned through an edge held in place. The argument:
/// `docs/gc-soundness.md#pinning-untracked-objects`.
struct Untracked {
    /// The examined index of each untracked object examined.
    index_of: HashMap<NonNull<Header>, u32>,
    /// The examined indices of the keys.
    keys: Vec<usize>,
    /// The untracked objects the traced values point to: those of examined object `i` are
    /// `children[starts[i]..starts[i + 1]]` (objects are traced in index order, each once).
    children: Vec<NonNull<Header>>,
    starts: Vec<usize>,
}

impl Untracked {
    /// Pins the untracked keys of the side map; `None` if there are none.
    fn pin_keys(held: &attachments::Held, examined: &mut Vec<Examined>) -> Option<Untracked> {
        let mut untracked = Untracked {
            index_of: HashMap::new(),
            keys: Vec::new(),
            children: Vec::new(),
            starts: vec![0],
        };
        for header in attachments::untracked_keys(held) {
            // SAFETY: allocated while the map is held; weakened, so pinning it by address is
            // sound (see above); a count of zero is refused.
            let Some(snapshot) = unsafe { header.as_ref() }.count().pin() else {
                continue;
            };
            untracked.index_of.insert(header, examined.len() as u32);
            untracked.keys.push(examined.len());
            examined.push(Examined {
                header,
                snapshot,
                edges: 0..0,
                opaque: false,
            });
        }
        if untracked.keys.is_empty() {
            None
        } else {
            Some(untracked)
        }
    }

    /// Takes the untracked children the last trace found, as those of object `index`, the next
    /// one in index order.
    fn note_children(&mut self, index: usize, sink: &mut EdgeSink) {
        debug_assert_eq!(self.starts.len(), index + 1);
        if let Some(found) = &mut sink.untracked {
            self.children.append(found);
        }
        self.starts.push(self.children.len());
    }

    /// The positions in `children` of object `index`'s untracked children.
    fn children_of(&self, index: usize) -> Range<usize> {
        self.starts[index]..self.starts[index + 1]
    }

    /// From the keys, along recorded edges and untracked children, pins and traces every
    /// untracked object that can hold a `Gc` (a leaf that is no key is on no cycle), and records
    /// the edges to them. Every examined object's edges stay contiguous in `sink.edges`.
    fn examine_reached(
        &mut self,
        examined: &mut Vec<Examined>,
        sink: &mut EdgeSink,
        attachments: Option<&attachments::Held>,
    ) {
        let mut reached = vec![false; examined.len()];
        let mut stack = self.keys.clone();
        let mut extra: Vec<(usize, u32)> = Vec::new();
        while let Some(index) = stack.pop() {
            if std::mem::replace(&mut reached[index], true) {
                continue;
            }
            stack.extend(
                sink.edges[examined[index].edges.clone()]
                    .iter()
                    .map(|&target| target as usize),
            );
            for position in self.children_of(index) {
                let child = self.children[position];
                let target = match self.index_of.get(&child) {
                    Some(&target) => target,
                    None => {
                        // SAFETY: `child` was reported by a trace whose edge is still held in
                        // place (a pinned value, a held cell, the held side map): live.
                        let child_ref = unsafe { child.as_ref() };
                        if !child_ref.vtable().holds_gc {
                            continue;
                        }
                        let Some(snapshot) = child_ref.count().pin() else {
                            continue;
                        };
                        let target = examined.len();
                        self.index_of.insert(child, target as u32);
                        examined.push(Examined {
                            header: child,
                            snapshot,
                            edges: 0..0,
                            opaque: false,
                        });
                        reached.push(false);
                        trace_examined(examined, target, sink, attachments);
                        self.note_children(target, sink);
                        target as u32
                    }
                };
                extra.push((index, target));
                stack.push(target as usize);
            }
        }
        // Objects no key reaches may still point to examined untracked objects (a tracked
        // object holding a key): those references are internal too.
        for (index, _) in reached.iter().enumerate().filter(|(_, reached)| !**reached) {
            for position in self.children_of(index) {
                if let Some(&target) = self.index_of.get(&self.children[position]) {
                    extra.push((index, target));
                }
            }
        }
        if !extra.is_empty() {
            merge_edges(examined, &mut sink.edges, extra);
        }
    }
}

/// Adds `extra` edges (source, target) to their sources' ranges, rebuilding the edge list.
fn merge_edges(examined: &mut [Examined], edges: &mut Vec<u32>, mut extra: Vec<(usize, u32)>) {
    extra.sort_unstable_by_key(|&(source, _)| source);
    let mut merged = Vec::with_capacity(edges.len() + extra.len());
    let mut pending = extra.into_iter().peekable();
    for (index, object) in examined.iter_mut().enumerate() {
        let start = merged.len();
        merged.extend_from_slice(&edges[object.edges.clone()]);
        while let Some((_, target)) = pending.next_if(|&(source, _)| source == index) {
            merged.push(target);
        }
        object.edges = start..merged.len();
    }
    *edges = merged;
}

impl trial::Examinee for Examined {
    fn snapshot_count(&self) -> u64 {
        self.snapshot.count()
    }
    fn is_opaque(&self) -> bool {
        self.opaque
    }
    fn edges(&self) -> Range<usize> {
        self.edges.clone()
    }
}

/// What a collection does with a candidate once the isolate is sealed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fate {
    /// Dropped and freed.
    Condemn,
    /// Registered for finalization: queued, with one more count.
    Finalize,
    /// Reachable from a registered candidate: kept whole for its finalizer.
    Keep,
}

/// A candidate registered for finalization is queued instead of condemned, and everything it
/// reaches is kept, so the finalizer finds its object whole; the rest of the isolate is
/// condemned. (Registration is read from the snapshot; the freeze validates it, since a change
/// of registration changes the word.)
fn decide_fates(examined: &[Examined], edges: &[u32], candidates: &[usize]) -> Vec<Fate> {
    let mut fates = vec![Fate::Condemn; examined.len()];
    let mut stack = Vec::new();
    for &index in candidates {
        if examined[index].snapshot.is_registered() {
            fates[index] = Fate::Finalize;
            stack.push(index);
        }
    }
    while let Some(index) = stack.pop() {
        for &target in &edges[examined[index].edges.clone()] {
            let target = target as usize;
            if fates[target] == Fate::Condemn {
                fates[target] = Fate::Keep;
                stack.push(target);
            }
        }
    }
    fates
}

/// The candidates to condemn, and those to queue for finalization.
fn split_by_fate(candidates: &[usize], fates: &[Fate]) -> (Vec<usize>, Vec<usize>) {
    let pick = |fate| {
        candidates
            .iter()
            .copied()
            .filter(|&index| fates[index] == fate)
            .collect()
    };
    (pick(Fate::Condemn), pick(Fate::Finalize))
}

/// Step 5, validation: freezes every candidate by a compare-and-swap from exactly its snapshot;
/// returns the candidates left, all frozen. A candidate whose freeze fails (it was touched since
/// its pin) becomes a root: it and everything it reaches along recorded edges live
/// ([`trial::spread_life`]), those already frozen are thawed, and the rest stay frozen. Why a
/// failed freeze revives only what it reaches, and why what is left may be condemned (by
/// [`seal`]): `docs/gc-soundness.md#freeze-and-validation`.
fn freeze_candidates(examined: &[Examined], edges: &[u32], live: &mut [bool]) -> Vec<usize> {
    let count = |index: usize| {
        // SAFETY: examined objects are pinned, so allocated.
        unsafe { examined[index].header.as_ref() }.count()
    };
    let mut frozen = vec![false; examined.len()];
    let mut touched = Vec::new();
    for index in (0..examined.len()).filter(|&index| !live[index]) {
        if count(index).freeze(examined[index].snapshot) {
            frozen[index] = true;
        } else {
            touched.push(index);
        }
    }
    for revived in trial::spread_life(examined, edges, live, &touched) {
        if frozen[revived] {
            count(revived).thaw();
            frozen[revived] = false;
        }
    }
    (0..examined.len()).filter(|&index| frozen[index]).collect()
}

/// Step 5, the decision for the frozen candidates: the members to free are condemned (their
/// waiting upgrades fail), the ones kept for finalization thawed with their short weak references
/// cleared (waiting long upgrades succeed), the registered ones take a count for the queue.
///
/// Two phases ([`freeze_candidates`], then this), because weak upgrades can enter an isolate the
/// collector has validated. An upgrade that finds a frozen object waits, and nothing else looks
/// at the bit (so `Deref` never sees it). No member is condemned before every member that stays
/// a candidate is frozen, so a revived object never shows a condemned bit to a thread.
fn seal(examined: &[Examined], candidates: &[usize], fates: &[Fate]) {
    for &index in candidates {
        // SAFETY: examined objects are pinned, so allocated.
        let count = unsafe { examined[index].header.as_ref() }.count();
        match fates[index] {
            Fate::Condemn => count.condemn_frozen(),
            Fate::Finalize => count.queue_frozen(),
            Fate::Keep => count.thaw_with_short_cleared(),
        }
    }
}

/// Gives back the collector's counts on survivors. Runs without the heap lock: an unpin may free.
fn unpin(survivors: &[Examined]) {
    for object in survivors {
        // SAFETY: pinned, and the pin is the count given back.
        unsafe { release::give_back(object.header) };
    }
}

/// Step 7 for the condemned: every value is dropped before any memory is freed, so a `Drop` that
/// touches another member finds it condemned (and panics), never freed. A panic in one `Drop`
/// does not stop the others; the first one is returned once everything is freed.
fn drop_isolate(isolate: &[NonNull<Header>]) -> Result<(), DropPanic> {
    let mut first_panic: Option<DropPanic> = None;
    let mut detached = Vec::new();
    for &header in isolate {
        // SAFETY: pinned, so allocated.
        if unsafe { header.as_ref() }.count().is_weakened() {
            // SAFETY: the map's counts on the values pass to us.
            detached
                .extend(unsafe { release::OwnedCount::take_over(attachments::detach_all(header)) });
        }
    }
    for &header in isolate {
        // SAFETY: condemned: unreachable by any other thread, and dropped once, here; the pin
        // keeps the memory allocated.
        let dropped = catch_unwind(AssertUnwindSafe(|| unsafe { object::drop_value(header) }));
        if let Err(panic) = dropped {
            // SAFETY: pinned, so allocated; the vtable outlives the value.
            let type_name = unsafe { header.as_ref() }.vtable().type_name();
            first_panic.get_or_insert((type_name, panic));
        }
    }
    // The detached values may be members: their counts drop while their memory is still there.
    if let Err(panic) = catch_unwind(AssertUnwindSafe(|| drop(detached))) {
        first_panic.get_or_insert(("a value attached by a ConditionalWeakTable", panic));
    }
    for &header in isolate {
        // A `Drop` may have cloned a member (a clone touches only the count word), so the pin is
        // given back like any count: the memory is released by whoever gives back the last one,
        // here or at the last clone's drop (`release.rs` knows a condemned object's value is
        // already dropped). Until then a clone's deref panics on the condemned bit.
        // SAFETY: the pin keeps the object allocated until this decrement.
        if unsafe { header.as_ref() }.count().decrement() {
            // SAFETY: every value is dropped; the object is unlinked, and that was its last count.
            unsafe { weak_cells::release_memory(header) };
        }
    }
    first_panic.map_or(Ok(()), Err)
}

/// Loom models of the concurrent collector: a collection racing a mutator that rearranges a
/// small graph. Each checks the invariant of this module, exactly as argued above: no object is
/// freed while a thread can reach it, and garbage is freed once nothing can.
#[cfg(all(test, loom))]
mod loom {
    use crate::gc::{Gc, GcCell, Trace, collect};
    use crate::sync::{AtomicBool, Ordering};
    use loom::sync::Arc;

    /// One node of a model graph; `freed[id]` is set when its value drops. The flags live
    /// outside the heap, so reading them never touches freed memory.
    #[derive(Trace)]
    struct Node {
        next: GcCell<Option<Gc<Node>>>,
        #[trace(skip)]
        id: usize,
        #[trace(skip)]
        freed: Arc<[AtomicBool; 2]>,
    }

    impl Drop for Node {
        fn drop(&mut self) {
            self.freed[self.id].store(true, Ordering::SeqCst);
        }
    }

    fn flags() -> Arc<[AtomicBool; 2]> {
        Arc::new([AtomicBool::new(false), AtomicBool::new(false)])
    }

    fn node(id: usize, freed: &Arc<[AtomicBool; 2]>) -> Gc<Node> {
        Gc::new(Node {
            next: GcCell::new(None),
            id,
            freed: freed.clone(),
        })
    }

    fn is_freed(freed: &[AtomicBool; 2], id: usize) -> bool {
        freed[id].load(Ordering::SeqCst)
    }

    /// The safety property: nothing is freed while the mutator can still reach it.
    fn assert_none_freed(freed: &[AtomicBool; 2]) {
        assert!(
            !is_freed(freed, 0) && !is_freed(freed, 1),
            "freed while reachable"
        );
    }

    /// The liveness property: once the mutator let go, a collection frees the whole cycle.
    fn assert_all_freed(freed: &[AtomicBool; 2]) {
        assert!(
            is_freed(freed, 0) && is_freed(freed, 1),
            "garbage left after the mutator let go"
        );
    }

    fn model(body: impl Fn() + Sync + Send + 'static) {
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = Some(3);
        builder.check(body);
    }

    /// A two-node cycle held from outside only through `a`. The mutator clones `b` out of `a`'s
    /// cell and drops `a`: from then on it reaches the cycle only through the clone. A collection
    /// that read `b`'s count before the clone and `a`'s after the drop sees no external
    /// reference at all; only the version of `b`'s word tells it that `b` was reached.
    #[test]
    fn loom_collector_never_frees_a_cycle_a_mutator_walks_into_by_cloning() {
        model(|| {
            let freed = flags();
            // `b` first: the collector pins in allocation order, and the race that needs the
            // version is the one where `b` is read before the clone and `a` after the drop.
            let b = node(1, &freed);
            let a = node(0, &freed);
            *a.next.borrow_mut() = Some(b.clone());
            *b.next.borrow_mut() = Some(a.clone());
            drop(b);
            let mutator = {
                let freed = freed.clone();
                loom::thread::spawn(move || {
                    let b = a.next.borrow().clone().expect("a points to b");
                    drop(a);
                    assert_none_freed(&freed);
                    let back = b.next.borrow().clone().expect("b points to a");
                    assert_eq!(back.id, 0);
                    assert_none_freed(&freed);
                })
            };
            collect();
            mutator.join().unwrap();
            collect();
            assert_all_freed(&freed);
        });
    }

    /// The mutator holds `a` and `b`, moves its `Gc<b>` into `a`'s cell (no count changes: a
    /// move), then walks from `a` to `b`. The collector must see `a` held from outside whatever
    /// order it reads the words and the cell in.
    #[test]
    fn loom_collector_never_frees_an_object_moved_into_a_cell_during_the_scan() {
        model(|| {
            let freed = flags();
            let (a, b) = (node(0, &freed), node(1, &freed));
            *b.next.borrow_mut() = Some(a.clone());
            let mutator = {
                let freed = freed.clone();
                loom::thread::spawn(move || {
                    *a.next.borrow_mut() = Some(b);
                    let b = a.next.borrow().clone().expect("a points to b");
                    assert_eq!(b.id, 1);
                    assert_none_freed(&freed);
                })
            };
            collect();
            mutator.join().unwrap();
            collect();
            assert_all_freed(&freed);
        });
    }

    /// A garbage self-loop, and a live node that the mutator links to itself and unlinks while
    /// the collection runs: for a moment the live node looks like garbage, then its word moves.
    /// Whatever the interleaving, the live node survives and the garbage loop is freed by this
    /// very collection: a failed freeze revives only what the touched object reaches.
    #[test]
    fn loom_a_lookalike_touched_during_the_scan_never_saves_an_unrelated_garbage_cycle() {
        model(|| {
            let freed = flags();
            let garbage = node(0, &freed);
            *garbage.next.borrow_mut() = Some(garbage.clone());
            drop(garbage);
            let lookalike = node(1, &freed);
            let mutator = {
                let freed = freed.clone();
                loom::thread::spawn(move || {
                    *lookalike.next.borrow_mut() = Some(lookalike.clone());
                    let unlinked = lookalike.next.borrow_mut().take();
                    assert!(!is_freed(&freed, 1), "freed while reachable");
                    drop(unlinked);
                    lookalike
                })
            };
            collect();
            assert!(is_freed(&freed, 0), "garbage at the call left by collect");
            let lookalike = mutator.join().unwrap();
            assert!(!is_freed(&freed, 1), "freed while reachable");
            drop(lookalike);
            assert_all_freed(&freed);
        });
    }

    /// A two-node cycle held from outside only by a weak reference to `b`. The mutator upgrades
    /// it and walks to `a` while a collection decides the cycle's fate: the upgrade either wins
    /// (and the collection frees nothing) or fails, and the walk never meets a condemned or freed
    /// node. Without the freeze phase, an upgrade between validation and condemn would reach `a`
    /// while it is condemned, or a freed one.
    #[test]
    fn loom_an_upgrade_racing_a_collection_wins_or_fails_whole() {
        model(|| {
            let freed = flags();
            let b = node(1, &freed);
            let a = node(0, &freed);
            *a.next.borrow_mut() = Some(b.clone());
            *b.next.borrow_mut() = Some(a.clone());
            let weak = crate::gc::Gc::downgrade(&b);
            drop((a, b));
            let mutator = {
                let freed = freed.clone();
                loom::thread::spawn(move || {
                    if let Some(b) = weak.upgrade() {
                        let a = b.next.borrow().clone().expect("b points to a");
                        assert_eq!(a.id, 0);
                        assert_none_freed(&freed);
                    }
                })
            };
            collect();
            mutator.join().unwrap();
            collect();
            assert_all_freed(&freed);
        });
    }

    /// An untracked table key (no `Gc` inside), its value pointing back to it (untracked too).
    #[derive(Trace)]
    struct Leaf {
        #[trace(skip)]
        id: usize,
        #[trace(skip)]
        freed: Arc<[AtomicBool; 2]>,
    }

    impl Drop for Leaf {
        fn drop(&mut self) {
            assert!(
                !self.freed[self.id].swap(true, Ordering::SeqCst),
                "a key dropped twice"
            );
        }
    }

    #[derive(Trace)]
    struct Back {
        key: Gc<Leaf>,
        #[trace(skip)]
        freed: Arc<[AtomicBool; 2]>,
    }

    impl Drop for Back {
        fn drop(&mut self) {
            self.freed[1].store(true, Ordering::SeqCst);
        }
    }

    /// A full collection pins an untracked key by the address in the side map (see
    /// `Untracked`), while the mutator reads the key's value and drops its last outside
    /// reference to the key, then the value. Whatever the order, nothing is freed while the
    /// mutator can reach it (the key's `W` bit keeps its holder off the unique-drop shortcut,
    /// which the pin would break), and once it let go a collection frees key and value.
    #[test]
    fn loom_a_collection_pinning_an_untracked_key_races_its_last_drop() {
        use crate::gc::ConditionalWeakTable;
        model(|| {
            let freed = flags();
            let table = Arc::new(ConditionalWeakTable::new());
            let key = Gc::new(Leaf {
                id: 0,
                freed: freed.clone(),
            });
            let back = Gc::new(Back {
                key: key.clone(),
                freed: freed.clone(),
            });
            table.add(&key, back).unwrap();
            let mutator = {
                let (table, freed) = (table.clone(), freed.clone());
                loom::thread::spawn(move || {
                    let value = table.get(&key).expect("a live key has its value");
                    drop(key);
                    assert_none_freed(&freed);
                    assert_eq!(value.key.id, 0);
                    drop(value);
                })
            };
            collect();
            mutator.join().unwrap();
            collect();
            assert_all_freed(&freed);
            drop(table);
        });
    }

    /// The same race where the mutator's reference is the key's only one (its value does not
    /// point back): its drop is the last, and takes the read-modify-write path because the key
    /// is weakened, so a pin taken by address either comes first (the unpin then frees the key)
    /// or is refused (count zero). The key and its value are dropped exactly once.
    #[test]
    fn loom_a_collection_pinning_an_untracked_key_races_its_only_holders_drop() {
        use crate::gc::ConditionalWeakTable;
        model(|| {
            let freed = flags();
            let table = Arc::new(ConditionalWeakTable::new());
            let key = Gc::new(Leaf {
                id: 0,
                freed: freed.clone(),
            });
            let note = Gc::new(Leaf {
                id: 1,
                freed: freed.clone(),
            });
            table.add(&key, note).unwrap();
            let mutator = {
                let freed = freed.clone();
                loom::thread::spawn(move || {
                    assert_eq!(key.id, 0);
                    assert_none_freed(&freed);
                    drop(key);
                })
            };
            collect();
            mutator.join().unwrap();
            collect();
            assert_all_freed(&freed);
            drop(table);
        });
    }
}
