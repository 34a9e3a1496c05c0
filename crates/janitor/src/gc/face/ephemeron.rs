//! `ConditionalWeakTable<K, V>`: values attached to objects the table does not own.
//!
//! Invariant owned here: each table's index of weak references to its keys (for `iter`, `clear` and
//! the table's drop) may name a dead key until the next purge, but such an entry is never taken for
//! a new object at the dead key's address; a condemned key (cloned by the `Drop` of its garbage
//! cycle) is refused. Why: `docs/gc-soundness.md#ephemerons`. The attachments themselves, and why a
//! value lives exactly as long as its key, are `side/attachments.rs`'s.

use crate::gc::core::object::{self, Header};
use crate::gc::core::trace::Trace;
use crate::gc::engine::release;
use crate::gc::face::ptr::Gc;
use crate::gc::face::weak::WeakGc;
use crate::gc::side::attachments;
use crate::sync::IgnorePoison;
use std::collections::HashMap;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::{Mutex, MutexGuard};

fn address<T: ?Sized>(key: &Gc<T>) -> usize {
    key.header().as_ptr() as usize
}

/// Whether the key is a member of a garbage cycle being dropped (reached through a clone made by
/// the `Drop` of another member): its attachments are already detached, and its memory is about
/// to be freed.
fn is_condemned<T: ?Sized>(key: &Gc<T>) -> bool {
    // SAFETY: the caller's `Gc` keeps the header allocated.
    unsafe { key.header().as_ref() }.count().is_condemned()
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
            id: attachments::new_table(),
            keys: Mutex::new(HashMap::new()),
            purged_at: Mutex::new(0),
            owns: PhantomData,
        }
    }

    fn keys(&self) -> MutexGuard<'_, HashMap<usize, WeakGc<K>>> {
        self.keys.lock().ignore_poison()
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
        let weak = Gc::downgrade(key);
        let address = address(key);
        // The index first, so that `iter` made after this call sees the key.
        let mut keys = self.keys();
        // The map's count on the value is a new one: `value` stays the caller's.
        let attached = value.clone();
        if let Err(present) =
            attachments::attach_unless_present(address, self.id, attached.header())
        {
            drop(keys);
            drop(attached);
            // SAFETY: the present value is this table's, so a `V`, with a count for us.
            return Err((unsafe { take_over::<V>(present) }, value));
        }
        std::mem::forget(attached);
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
        let mut purged_at = self.purged_at.lock().ignore_poison();
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
        *self.purged_at.lock().ignore_poison() = self.keys().len();
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
        let value = attachments::attached(address(key), self.id)?;
        // SAFETY: an attachment of this table holds a `V`; `attached` took a count for us.
        Some(unsafe { take_over::<V>(value) })
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
        let values = attachments::detach([address], self.id);
        let weak = keys.remove(&address);
        drop(keys);
        drop(weak);
        let removed = !values.is_empty();
        give_back(values);
        removed
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
        give_back(attachments::detach(keys.keys().copied(), self.id));
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
        let keys = std::mem::take(self.keys.get_mut().ignore_poison());
        give_back(attachments::detach(keys.keys().copied(), self.id));
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

/// A `Gc<V>` taking over a count on an attached value.
///
/// # Safety
/// The object holds a `V` (it was attached by a table of `V`s) and the caller hands over one count.
unsafe fn take_over<V: Send + Sync + 'static>(value: NonNull<Header>) -> Gc<V> {
    // SAFETY: the caller's contract.
    unsafe { Gc::from_value(object::value_of::<V>(value)) }
}

/// Gives back the counts on values taken out of the side map, as their `Gc`s' drops would.
fn give_back(values: Vec<NonNull<Header>>) {
    // SAFETY: each count was the map's, now ours, and is never used again.
    drop(unsafe { release::OwnedCount::take_over(values) });
}
