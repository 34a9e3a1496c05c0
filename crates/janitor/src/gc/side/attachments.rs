//! The ephemeron attachments: values attached to key objects by `ConditionalWeakTable`s, in one
//! side map keyed by the key's header address, each held as an erased strong count.
//!
//! Invariant owned here: an attached value is owned by its key, as if it were a field of the key's
//! value. The map holds one strong count on each attached value's object; whoever takes an
//! attachment out of the map takes that count over (a table hands it to a `Gc`, the destroyer of a
//! key gives it back). The collector reports each attached value as an edge of its key, and whoever
//! destroys a key detaches its values. Why this frees a value that references its key and keeps a
//! value exactly as long as its key: `docs/gc-soundness.md#ephemerons`.
//!
//! The map knows values only as headers: an attachment made by a table of `V`s holds a `V`, since
//! only that table (found by its id) writes or reads attachments under its id.
//!
//! Lock order: heap lock, then this lock; nothing that can free an object or allocate one runs
//! while this lock is held (counts taken out are given back after it is released).
//!
//! Why a dead key's address never carries its attachments to a new object, and how a full
//! collection examines the untracked keys in the side map ([`untracked_keys`]) and the untracked
//! objects their values reach: `docs/gc-soundness.md#ephemerons` and `#untracked-keys`.

use crate::gc::core::object::Header;
use crate::gc::core::trace::Tracer;
use crate::sync::IgnorePoison;
use crate::sync::{Mutex as SideMutex, MutexGuard as SideGuard};
use std::collections::HashMap;
use std::ptr::NonNull;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// One value attached to a key, by one table: the value's object, on which the map holds a count.
struct Attachment {
    table: u64,
    value: NonNull<Header>,
}

/// Attachments by key header address.
type Attachments = HashMap<usize, Vec<Attachment>>;

/// The side map's lock is loom's under `--cfg loom`: the collector holds it while it pins keys,
/// and a model (`collector.rs`) races that with a key's last drop, which takes it to detach.
struct SideMap(SideMutex<Option<Attachments>>);

// SAFETY: the map holds counts on objects of `Send + Sync` types (a table's values are), which
// any thread may give back; the raw addresses are keys.
unsafe impl Sync for SideMap {}
// SAFETY: as above.
unsafe impl Send for Attachment {}

#[cfg(not(loom))]
static ATTACHMENTS: SideMap = SideMap(SideMutex::new(None));
#[cfg(loom)]
::loom::lazy_static! {
    static ref ATTACHMENTS: SideMap = SideMap(SideMutex::new(None));
}
static IN_USE: AtomicBool = AtomicBool::new(false);
static NEXT_TABLE: AtomicU64 = AtomicU64::new(0);

/// The side map, held: the collector holds it while it traces and seals.
pub(crate) struct Held(SideGuard<'static, Option<Attachments>>);

fn lock() -> SideGuard<'static, Option<Attachments>> {
    // Nothing panics while holding the lock except an allocation failure of the map itself.
    ATTACHMENTS.0.lock().ignore_poison()
}

/// A new table's id, under which its attachments are kept.
pub(crate) fn new_table() -> u64 {
    NEXT_TABLE.fetch_add(1, Ordering::Relaxed)
}

/// Takes the side map for a collection, if any table was ever used.
pub(crate) fn hold() -> Option<Held> {
    IN_USE.load(Ordering::Acquire).then(|| Held(lock()))
}

/// Reports the values attached to the object as its edges.
pub(crate) fn trace_attached(held: &Held, header: NonNull<Header>, tracer: &mut Tracer<'_>) {
    let Some(map) = held.0.as_ref() else { return };
    if let Some(attachments) = map.get(&(header.as_ptr() as usize)) {
        for attachment in attachments {
            tracer.visit(attachment.value);
        }
    }
}

/// The keys with attachments that the collector does not track, for a full collection to
/// examine (`collector.rs`). Each header is allocated while the map is held (a key's attachments
/// are detached before its memory is released) and weakened (the table's index holds a `WeakGc`
/// to it); its count may be zero (its destroyer waits for the map), which a pin refuses.
pub(crate) fn untracked_keys(held: &Held) -> Vec<NonNull<Header>> {
    let Some(map) = held.0.as_ref() else {
        return Vec::new();
    };
    map.keys()
        .filter_map(|&address| NonNull::new(address as *mut Header))
        // SAFETY: allocated while the map is held (see above); the vtable never changes.
        .filter(|header| !unsafe { header.as_ref() }.vtable().tracked)
        .collect()
}

/// Takes the values attached to an object that is being destroyed, with the map's count on
/// each; the caller gives them back once it may free objects (never while holding the heap lock).
pub(crate) fn detach_all(key: NonNull<Header>) -> Vec<NonNull<Header>> {
    let taken = lock()
        .as_mut()
        .and_then(|map| map.remove(&(key.as_ptr() as usize)));
    taken
        .into_iter()
        .flatten()
        .map(|attachment| attachment.value)
        .collect()
}

/// The value `table` attached to the key at `key`, with a new count on it for the caller.
pub(crate) fn attached(key: usize, table: u64) -> Option<NonNull<Header>> {
    let map = lock();
    let value = find(map.as_ref()?, key, table)?;
    // SAFETY: the map's count keeps the value's object live while the lock is held.
    unsafe { value.as_ref() }.count().increment();
    Some(value)
}

/// Attaches `value` (the caller's count on it passes to the map) to the key at `key` for
/// `table`, unless the table has a value there already: then the map keeps its own, the caller
/// keeps its count on `value`, and gets the present value with a new count on it.
pub(crate) fn attach_unless_present(
    key: usize,
    table: u64,
    value: NonNull<Header>,
) -> Result<(), NonNull<Header>> {
    let mut map = lock();
    if let Some(present) = map.as_ref().and_then(|map| find(map, key, table)) {
        // SAFETY: the map's count keeps the present value live while the lock is held.
        unsafe { present.as_ref() }.count().increment();
        return Err(present);
    }
    IN_USE.store(true, Ordering::Release);
    map.get_or_insert_with(HashMap::new)
        .entry(key)
        .or_default()
        .push(Attachment { table, value });
    Ok(())
}

/// Takes the attachments of `table` off the keys at `keys`, with the map's count on each.
pub(crate) fn detach(keys: impl IntoIterator<Item = usize>, table: u64) -> Vec<NonNull<Header>> {
    let mut guard = lock();
    let Some(map) = guard.as_mut() else {
        return Vec::new();
    };
    keys.into_iter()
        .filter_map(|key| take(map, key, table))
        .collect()
}

/// The attachment of `table` on the key, if any.
fn find(map: &Attachments, key: usize, table: u64) -> Option<NonNull<Header>> {
    map.get(&key)?
        .iter()
        .find(|attachment| attachment.table == table)
        .map(|attachment| attachment.value)
}

/// Takes the attachment of `table` off the key.
fn take(map: &mut Attachments, key: usize, table: u64) -> Option<NonNull<Header>> {
    let attachments = map.get_mut(&key)?;
    let position = attachments
        .iter()
        .position(|attachment| attachment.table == table)?;
    let value = attachments.swap_remove(position).value;
    if attachments.is_empty() {
        map.remove(&key);
    }
    Some(value)
}
