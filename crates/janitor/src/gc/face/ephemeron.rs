//! `ConditionalWeakTable<K, V>`: values attached to objects the table does not own.
//!
//! Invariant owned here: a value attached to a key object is owned by the key, as if it were a
//! field of the key's value. The attachments live in one side map, keyed by the key's header
//! address, guarded by one lock; the collector holds that lock from tracing until it has sealed
//! the isolate (as it holds a cell), and reports each attached value as an edge of its key. So a
//! value that references its key (directly or through a cycle) forms a garbage cycle with it,
//! which trial deletion frees; and a value lives exactly as long as its key, since whoever
//! destroys the key (the drop of its last reference, or the collector) detaches its values: a
//! key with values is weakened (the table's index holds a `WeakGc` to it), and the destroyer of a
//! weakened object looks in the side map.
//!
//! Addresses are reused: a key's memory block is freed with its value, weak references or not,
//! and the next object of its size may get the same address. Both maps are keyed by address, so
//! each must never hold a dead key's entry under an address a live object may have:
//! * the side map: a key's attachments are detached before its block is freed (by its destroyer,
//!   as above), and none is added after, since adding needs a `Gc` to the key: a key whose count
//!   reached zero has none, and a condemned key (cloned by the `Drop` of its garbage cycle) is
//!   refused, its value dropped as if attached and detached at once;
//! * each table's index of weak references to its keys (for `iter`, `clear` and the table's drop)
//!   may name a dead key until the next purge; such an entry is never taken for the new object at
//!   its address: an attachment of this table to a live key at that address can only have been made
//!   after the dead key's detach, and that insert replaced the index entry; `iter` reaches keys
//!   only by upgrading, and a dead key's weak reference never upgrades (its weak cell is its own,
//!   `weak.rs`); `remove` of a key without an attachment drops only the dead entry.
//!
//! Lock order: heap lock, then this lock; nothing that can free an object or allocate one runs
//! while this lock is held (values taken out are dropped after it is released).
//!
//! Untracked keys: an object the collector does not track (decided immutable and acyclic at its
//! construction, such as a `Gc<String>`) is in no generation list, yet an attachment gives it an
//! edge its type does not know of, and a value that reaches its key back makes a cycle through
//! it. So a full collection also examines the untracked keys in the side map ([`untracked_keys`])
//! and the untracked objects their values reach (`collector.rs`, `Untracked`): such a cycle is
//! freed by the next full collection, as .NET never keeps a key alive through its own value.

use crate::gc::core::object::Header;
use crate::gc::core::trace::{Trace, Tracer};
use crate::gc::face::ptr::Gc;
use crate::gc::face::weak::WeakGc;
use crate::sync::{Mutex as SideMutex, MutexGuard as SideGuard};
use std::any::Any;
use std::collections::HashMap;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

type Value = Gc<dyn Any + Send + Sync>;

/// One value attached to a key, by one table.
struct Attachment {
    table: u64,
    value: Value,
}

/// Attachments by key header address.
type Attachments = HashMap<usize, Vec<Attachment>>;

/// The side map's lock is loom's under `--cfg loom`: the collector holds it while it pins keys,
/// and a model (`collector.rs`) races that with a key's last drop, which takes it to detach.
struct SideMap(SideMutex<Option<Attachments>>);

// SAFETY: the map holds `Gc<dyn Any + Send + Sync>`s, which are `Send`; the raw addresses are keys.
unsafe impl Sync for SideMap {}

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
    ATTACHMENTS.0.lock().unwrap_or_else(PoisonError::into_inner)
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
            attachment.value.trace(tracer);
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
        .filter(|header| !unsafe { header.as_ref() }.vtable.tracked)
        .collect()
}

/// Takes the values attached to an object that is being destroyed; the caller drops them once
/// it may free objects (never while holding the heap lock).
pub(crate) fn detach_all(header: NonNull<Header>) -> Vec<Value> {
    let taken = lock()
        .as_mut()
        .and_then(|map| map.remove(&(header.as_ptr() as usize)));
    taken
        .into_iter()
        .flatten()
        .map(|attachment| attachment.value)
        .collect()
}

fn address<T: ?Sized>(key: &Gc<T>) -> usize {
    key.header().as_ptr() as usize
}

/// Whether the key is a member of a garbage cycle being dropped (reached through a clone made by
/// the `Drop` of another member): its attachments are already detached, and its memory is about
/// to be freed.
fn is_condemned<T: ?Sized>(key: &Gc<T>) -> bool {
    // SAFETY: the caller's `Gc` keeps the header allocated.
    unsafe { key.header().as_ref() }.count.is_condemned()
}

/// The attachment of `table` on the key, if any.
fn find(map: &Attachments, key: usize, table: u64) -> Option<&Attachment> {
    map.get(&key)?
        .iter()
        .find(|attachment| attachment.table == table)
}

/// Takes the attachment of `table` off the key.
fn take(map: &mut Attachments, key: usize, table: u64) -> Option<Value> {
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

/// The error of [`ConditionalWeakTable::add`]: the key already has a value in this table.
///
/// ```
/// use janitor::gc::{ConditionalWeakTable, Gc};
/// let table = ConditionalWeakTable::new();
/// let key = Gc::new(1);
/// table.add(&key, Gc::new("first")).unwrap();
/// let error = table.add(&key, Gc::new("second")).unwrap_err();
/// assert!(error.to_string().contains("already has a value"));
/// ```
#[derive(Debug, thiserror::Error)]
#[error(
    "the key already has a value in this ConditionalWeakTable; use try_add, get_or_insert_with, \
     or remove the old value first"
)]
pub struct KeyAlreadyPresent;

/// Attaches values to objects the table does not own, keyed by object identity, as .NET's
/// `ConditionalWeakTable<TKey, TValue>`.
///
/// An entry keeps its value alive only while its key is alive, and never keeps the key alive,
/// even when the value references the key, directly or through a cycle (the value is traced as
/// if it were a field of the key: an ephemeron). When the key dies, its entry goes away and the
/// value is dropped (unless something else holds it). Keys are compared by identity
/// ([`Gc::ptr_eq`]), never by value.
///
/// This holds for every key type. A key the collector does not track (its type has no
/// `GcCell`, `GcMutex` or `GcRwLock` holding a `Gc`, say a `Gc<String>`) is examined, with what
/// its values reach, by full collections ([`collect`](crate::gc::collect), and the automatic full
/// ones): a value that points back to such a key is freed with it at the next full collection.
///
/// A key that is already being dropped, as a member of a garbage cycle reached from the `Drop` of
/// another member, takes no value: `add`, `try_add` and `get_or_insert_with` succeed, but the value
/// is not attached (the key's entry goes away at once, with the key).
///
/// ```
/// use janitor::gc::{ConditionalWeakTable, Gc};
///
/// let notes = ConditionalWeakTable::new();
/// let document = Gc::new(String::from("report.txt"));
/// notes.add(&document, Gc::new("reviewed")).unwrap();
/// assert_eq!(*notes.get(&document).unwrap(), "reviewed");
/// let note = notes.get(&document).unwrap();
/// let weak_note = Gc::downgrade(&note);
/// drop(note);
/// drop(document); // the key dies: its entry and value go with it
/// assert!(weak_note.upgrade().is_none());
/// ```
///
/// ```
/// use janitor::gc::{ConditionalWeakTable, Gc, collect};
///
/// let backlinks = ConditionalWeakTable::new();
/// let page = Gc::new(String::from("index.html")); // untracked: no `Gc` inside
/// backlinks.add(&page, Gc::new(page.clone())).unwrap(); // the value points back to its key
/// let weak_page = Gc::downgrade(&page);
/// drop(page);
/// collect();
/// assert!(weak_page.upgrade().is_none(), "the value did not keep its key alive");
/// ```
pub struct ConditionalWeakTable<K: ?Sized, V: ?Sized> {
    id: u64,
    /// Weak references to the keys, by address; may name dead keys until the next purge.
    keys: Mutex<HashMap<usize, WeakGc<K>>>,
    /// The index's size after its last purge: it is purged again when it doubles.
    purged_at: Mutex<usize>,
    owns: PhantomData<fn() -> Gc<V>>,
}

impl<K: ?Sized + Send + Sync + 'static, V: Trace + Send + Sync + 'static> Default
    for ConditionalWeakTable<K, V>
{
    /// An empty table, as [`ConditionalWeakTable::new`].
    ///
    /// ```
    /// use janitor::gc::ConditionalWeakTable;
    /// let table: ConditionalWeakTable<u8, u8> = Default::default();
    /// assert_eq!(table.iter().count(), 0);
    /// ```
    fn default() -> Self {
        Self::new()
    }
}

impl<K: ?Sized + Send + Sync + 'static, V: Trace + Send + Sync + 'static>
    ConditionalWeakTable<K, V>
{
    /// An empty table.
    ///
    /// ```
    /// use janitor::gc::ConditionalWeakTable;
    /// let table: ConditionalWeakTable<String, u32> = ConditionalWeakTable::new();
    /// assert_eq!(table.iter().count(), 0);
    /// ```
    pub fn new() -> Self {
        Self {
            id: NEXT_TABLE.fetch_add(1, Ordering::Relaxed),
            keys: Mutex::new(HashMap::new()),
            purged_at: Mutex::new(0),
            owns: PhantomData,
        }
    }

    fn keys(&self) -> MutexGuard<'_, HashMap<usize, WeakGc<K>>> {
        self.keys.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Attaches `value` to `key`. Fails if the key already has a value in this table (.NET
    /// throws `ArgumentException`).
    ///
    /// ```
    /// use janitor::gc::{ConditionalWeakTable, Gc};
    /// let table = ConditionalWeakTable::new();
    /// let key = Gc::new(0_u8);
    /// assert!(table.add(&key, Gc::new(1)).is_ok());
    /// assert!(table.add(&key, Gc::new(2)).is_err());
    /// assert_eq!(*table.get(&key).unwrap(), 1);
    /// ```
    pub fn add(&self, key: &Gc<K>, value: Gc<V>) -> Result<(), KeyAlreadyPresent> {
        if self.try_add(key, value) {
            Ok(())
        } else {
            Err(KeyAlreadyPresent)
        }
    }

    /// Attaches `value` to `key` unless the key already has a value in this table; returns
    /// whether it did (the value is dropped if not).
    ///
    /// ```
    /// use janitor::gc::{ConditionalWeakTable, Gc};
    /// let table = ConditionalWeakTable::new();
    /// let key = Gc::new(0_u8);
    /// assert!(table.try_add(&key, Gc::new(1)));
    /// assert!(!table.try_add(&key, Gc::new(2)));
    /// ```
    pub fn try_add(&self, key: &Gc<K>, value: Gc<V>) -> bool {
        self.insert(key, value).is_ok()
    }

    /// Inserts unless present; returns the value that is attached now: `Ok` with the new one
    /// (given back unattached if the key is condemned), `Err` with the one that was there (the
    /// new one is given back to be dropped outside).
    fn insert(&self, key: &Gc<K>, value: Gc<V>) -> Result<Gc<V>, (Gc<V>, Gc<V>)> {
        if is_condemned(key) {
            // Its attachments were detached already: one attached now would outlive the key's
            // block and be found, under its address, as the next object's there.
            return Ok(value);
        }
        let erased: Value = crate::coerce_gc!(value.clone() => dyn Any + Send + Sync);
        let weak = Gc::downgrade(key);
        let address = address(key);
        // The index first, so that `iter` made after this call sees the key.
        let mut keys = self.keys();
        let mut map = lock();
        if let Some(existing) = map.as_ref().and_then(|map| find(map, address, self.id)) {
            let existing = downcast::<V>(&existing.value);
            drop(map);
            drop(keys);
            drop(erased);
            return Err((existing, value));
        }
        IN_USE.store(true, Ordering::Release);
        map.get_or_insert_with(HashMap::new)
            .entry(address)
            .or_default()
            .push(Attachment {
                table: self.id,
                value: erased,
            });
        drop(map);
        let replaced = keys.insert(address, weak);
        let purge = self.purge_due(keys.len());
        drop(keys);
        drop(replaced);
        if purge {
            self.purge();
        }
        Ok(value)
    }

    /// Whether the index has doubled since its last purge.
    fn purge_due(&self, len: usize) -> bool {
        let mut purged_at = self
            .purged_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if len >= 2 * (*purged_at).max(16) {
            *purged_at = len;
            true
        } else {
            false
        }
    }

    /// Drops the index's weak references to dead keys (their entries went with them).
    fn purge(&self) {
        let dead: Vec<WeakGc<K>> = {
            let mut keys = self.keys();
            let addresses: Vec<usize> = keys
                .iter()
                .filter(|(_, weak)| weak.upgrade().is_none())
                .map(|(&address, _)| address)
                .collect();
            addresses
                .into_iter()
                .filter_map(|address| keys.remove(&address))
                .collect()
        };
        *self
            .purged_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = self.keys().len();
        drop(dead);
    }

    /// The value attached to `key`, if any.
    ///
    /// ```
    /// use janitor::gc::{ConditionalWeakTable, Gc};
    /// let table = ConditionalWeakTable::new();
    /// let key = Gc::new(0_u8);
    /// assert!(table.get(&key).is_none());
    /// table.add(&key, Gc::new("x")).unwrap();
    /// assert_eq!(*table.get(&key).unwrap(), "x");
    /// assert!(table.get(&Gc::new(0_u8)).is_none(), "identity, not equality");
    /// ```
    pub fn get(&self, key: &Gc<K>) -> Option<Gc<V>> {
        let map = lock();
        let attachment = find(map.as_ref()?, address(key), self.id)?;
        Some(downcast::<V>(&attachment.value))
    }

    /// The value attached to `key`, attaching `make()` first if there is none. Under a race
    /// `make` may run on several threads, but one value wins and every caller gets it (.NET's
    /// `GetValue`).
    ///
    /// ```
    /// use janitor::gc::{ConditionalWeakTable, Gc};
    /// let table = ConditionalWeakTable::new();
    /// let key = Gc::new(0_u8);
    /// let first = table.get_or_insert_with(&key, || Gc::new(String::from("made")));
    /// let second = table.get_or_insert_with(&key, || unreachable!("already there"));
    /// assert!(Gc::ptr_eq(&first, &second));
    /// ```
    pub fn get_or_insert_with(&self, key: &Gc<K>, make: impl FnOnce() -> Gc<V>) -> Gc<V> {
        if let Some(value) = self.get(key) {
            return value;
        }
        match self.insert(key, make()) {
            Ok(value) => value,
            Err((existing, _lost)) => existing,
        }
    }

    /// Removes the entry of `key`; returns whether there was one.
    ///
    /// ```
    /// use janitor::gc::{ConditionalWeakTable, Gc};
    /// let table = ConditionalWeakTable::new();
    /// let key = Gc::new(0_u8);
    /// table.add(&key, Gc::new(1)).unwrap();
    /// assert!(table.remove(&key));
    /// assert!(!table.remove(&key));
    /// assert!(table.get(&key).is_none());
    /// ```
    pub fn remove(&self, key: &Gc<K>) -> bool {
        let address = address(key);
        let mut keys = self.keys();
        let value = lock().as_mut().and_then(|map| take(map, address, self.id));
        let weak = keys.remove(&address);
        drop(keys);
        drop(weak);
        value.is_some()
    }

    /// Removes every entry.
    ///
    /// ```
    /// use janitor::gc::{ConditionalWeakTable, Gc};
    /// let table = ConditionalWeakTable::new();
    /// let keys: Vec<Gc<u8>> = (0..3).map(Gc::new).collect();
    /// for key in &keys {
    ///     table.add(key, Gc::new(())).unwrap();
    /// }
    /// table.clear();
    /// assert_eq!(table.iter().count(), 0);
    /// ```
    pub fn clear(&self) {
        let keys = std::mem::take(&mut *self.keys());
        let values: Vec<Value> = {
            let mut map = lock();
            match map.as_mut() {
                Some(map) => keys
                    .keys()
                    .filter_map(|&address| take(map, address, self.id))
                    .collect(),
                None => Vec::new(),
            }
        };
        drop(values);
        drop(keys);
    }

    /// The live entries present when the iterator is made, as `(key, value)` pairs. The iterator
    /// holds only weak references: it keeps nothing alive, never yields an entry whose key died
    /// or that was removed meanwhile, and never yields entries added after it was made.
    ///
    /// ```
    /// use janitor::gc::{ConditionalWeakTable, Gc};
    /// let table = ConditionalWeakTable::new();
    /// let (a, b) = (Gc::new('a'), Gc::new('b'));
    /// table.add(&a, Gc::new(1)).unwrap();
    /// table.add(&b, Gc::new(2)).unwrap();
    /// let entries = table.iter();
    /// drop(b);
    /// table.add(&Gc::new('c'), Gc::new(3)).unwrap();
    /// let seen: Vec<(char, i32)> = entries.map(|(key, value)| (*key, *value)).collect();
    /// assert_eq!(seen, [('a', 1)]);
    /// ```
    pub fn iter(&self) -> Iter<'_, K, V> {
        let keys: Vec<WeakGc<K>> = self.keys().values().cloned().collect();
        Iter {
            table: self,
            keys: keys.into_iter(),
        }
    }
}

impl<K: ?Sized, V: ?Sized> Drop for ConditionalWeakTable<K, V> {
    fn drop(&mut self) {
        let keys = std::mem::take(self.keys.get_mut().unwrap_or_else(PoisonError::into_inner));
        let values: Vec<Value> = {
            let mut map = lock();
            match map.as_mut() {
                Some(map) => keys
                    .keys()
                    .filter_map(|&address| take(map, address, self.id))
                    .collect(),
                None => Vec::new(),
            }
        };
        drop(values);
    }
}

impl<K: ?Sized, V: ?Sized> std::fmt::Debug for ConditionalWeakTable<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConditionalWeakTable")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// The iterator of [`ConditionalWeakTable::iter`].
///
/// ```
/// use janitor::gc::{ConditionalWeakTable, Gc};
/// let table = ConditionalWeakTable::new();
/// let key = Gc::new(1);
/// table.add(&key, Gc::new(2)).unwrap();
/// for (key, value) in table.iter() {
///     assert_eq!((*key, *value), (1, 2));
/// }
/// ```
pub struct Iter<'table, K: ?Sized, V: ?Sized> {
    table: &'table ConditionalWeakTable<K, V>,
    keys: std::vec::IntoIter<WeakGc<K>>,
}

impl<K: ?Sized + Send + Sync + 'static, V: Trace + Send + Sync + 'static> Iterator
    for Iter<'_, K, V>
{
    type Item = (Gc<K>, Gc<V>);

    fn next(&mut self) -> Option<Self::Item> {
        for weak in self.keys.by_ref() {
            let Some(key) = weak.upgrade() else { continue };
            if let Some(value) = self.table.get(&key) {
                return Some((key, value));
            }
        }
        None
    }
}

impl<K: ?Sized, V: ?Sized> std::fmt::Debug for Iter<'_, K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Iter")
            .field("remaining", &self.keys.len())
            .finish()
    }
}

/// A new `Gc<V>` to the value behind an erased one that a table of `V`s stored.
fn downcast<V: Send + Sync + 'static>(value: &Value) -> Gc<V> {
    let cloned = std::mem::ManuallyDrop::new(value.clone());
    assert!(
        (**cloned).is::<V>(),
        "janitor: a ConditionalWeakTable value has the wrong type"
    );
    // SAFETY: the erased value is a `V` (checked above), at the same address; the clone's count
    // is handed over to the new `Gc`.
    unsafe { Gc::from_value(Gc::as_non_null(&cloned).cast::<V>()) }
}
