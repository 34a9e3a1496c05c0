//! `unsync::ConditionalWeakTable<K, V>`: ephemerons on the thread-local heap.
//!
//! Invariant owned here: an entry's value is an edge of its key, not of the table. The collector
//! traces a key's entries as part of the key (`collector.rs`, through [`Ephemerons`]), so the
//! value keeps what it reaches alive exactly while the key lives, and a value that points back
//! to its key does not keep the key alive: both are one garbage isolate when nothing else holds
//! the key. The entry holds its key by a weak count (its memory, hence its identity, stays
//! while the entry does); entries whose key died are removed at the next collection or access.

use super::heap::{self, Ephemerons};
use super::object::{CONDEMNED, Header, KEY};
use super::ptr::Gc;
use super::weak::WeakGc;
use crate::gc::KeyAlreadyPresent;
use crate::gc::Tracer;
use crate::gc::{Trace, TraceMeta};
use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::ptr::NonNull;
use std::rc::Rc;

/// A table that attaches values to thread-local objects by identity, without keeping the
/// objects alive: .NET's `ConditionalWeakTable<TKey, TValue>`.
///
/// An entry lives while its key does; a value that refers back to its key does not keep the
/// key alive. `add` fails on a key already present, as in .NET.
///
/// ```
/// use janitor::gc::Trace;
/// use janitor::gc::unsync::{ConditionalWeakTable, Gc, GcCell, collect};
///
/// #[derive(Trace)]
/// struct Widget;
/// #[derive(Trace)]
/// struct Extra {
///     owner: GcCell<Option<Gc<Widget>>>, // points back to its key
/// }
///
/// let table = ConditionalWeakTable::new();
/// let widget = Gc::new(Widget);
/// let extra = Gc::new(Extra { owner: GcCell::new(Some(widget.clone())) });
/// table.add(&widget, extra.clone()).unwrap();
/// let watch = Gc::downgrade(&extra);
/// drop((widget, extra));
/// collect();
/// assert!(watch.upgrade().is_none()); // the key died, and its value with it
/// assert_eq!(table.len(), 0);
/// ```
pub struct ConditionalWeakTable<K: ?Sized + 'static, V: ?Sized + 'static> {
    inner: Rc<Entries<K, V>>,
}

/// An entry: its key, held by a long weak reference (for its identity), and its value.
type Entry<K, V> = (WeakGc<K>, Gc<V>);

struct Entries<K: ?Sized, V: ?Sized> {
    map: RefCell<HashMap<NonNull<Header>, Entry<K, V>>>,
}

fn key_is_live(header: NonNull<Header>) -> bool {
    // SAFETY: an entry's weak count keeps its key's header readable.
    let header = unsafe { header.as_ref() };
    header.strong.get() > 0 && !header.has(CONDEMNED)
}

impl<K: ?Sized + 'static, V: ?Sized + 'static> Ephemerons for Entries<K, V> {
    fn trace_values_of(&self, key: NonNull<Header>, tracer: &mut Tracer<'_>) {
        match self.map.try_borrow() {
            Ok(map) => {
                if let Some((_, value)) = map.get(&key) {
                    value.trace(tracer);
                }
            }
            // Not reachable (no user code runs while the map is borrowed); were it, the key's
            // object would be opaque, which only keeps it alive.
            Err(_) => tracer.mark_opaque(),
        }
    }

    fn keys(&self) -> Vec<NonNull<Header>> {
        self.map
            .borrow()
            .keys()
            .copied()
            .filter(|&key| key_is_live(key))
            .collect()
    }

    fn remove_dead(&self) -> Vec<Box<dyn Any>> {
        let mut map = self.map.borrow_mut();
        let dead: Vec<NonNull<Header>> = map
            .keys()
            .copied()
            .filter(|&key| !key_is_live(key))
            .collect();
        dead.into_iter()
            .filter_map(|key| map.remove(&key))
            .map(|entry| Box::new(entry) as Box<dyn Any>)
            .collect()
    }

    fn remove_all(&self) -> Vec<Box<dyn Any>> {
        let taken = std::mem::take(&mut *self.map.borrow_mut());
        vec![Box::new(taken)]
    }
}

impl<K: ?Sized + 'static, V: ?Sized + 'static> Default for ConditionalWeakTable<K, V> {
    /// An empty table.
    ///
    /// ```
    /// let table: janitor::gc::unsync::ConditionalWeakTable<u8, u8> = Default::default();
    /// assert_eq!(table.len(), 0);
    /// ```
    fn default() -> Self {
        Self::new()
    }
}

impl<K: ?Sized + 'static, V: ?Sized + 'static> ConditionalWeakTable<K, V> {
    /// An empty table, registered with this thread's heap.
    ///
    /// ```
    /// let table = janitor::gc::unsync::ConditionalWeakTable::<String, u32>::new();
    /// assert_eq!(table.len(), 0);
    /// ```
    #[must_use]
    pub fn new() -> Self {
        let inner = Rc::new(Entries {
            map: RefCell::new(HashMap::new()),
        });
        heap::with(|heap| {
            if !heap.closed.get() {
                let mut tables = heap.tables.borrow_mut();
                if tables.len() >= 8 && tables.len().is_power_of_two() {
                    tables.retain(|table| table.strong_count() > 0);
                }
                let weak: std::rc::Weak<dyn Ephemerons> = Rc::downgrade(&inner) as _;
                tables.push(weak);
            }
        });
        Self { inner }
    }

    /// Attaches `value` to `key`; fails if `key` has an entry already.
    ///
    /// ```
    /// use janitor::gc::unsync::{ConditionalWeakTable, Gc};
    /// let table = ConditionalWeakTable::new();
    /// let key = Gc::new(1);
    /// assert!(table.add(&key, Gc::new("one")).is_ok());
    /// assert!(table.add(&key, Gc::new("uno")).is_err());
    /// ```
    pub fn add(&self, key: &Gc<K>, value: Gc<V>) -> Result<(), KeyAlreadyPresent> {
        if self.try_add(key, value) {
            Ok(())
        } else {
            Err(KeyAlreadyPresent)
        }
    }

    /// Attaches `value` to `key` unless `key` has an entry; returns whether it did.
    ///
    /// ```
    /// use janitor::gc::unsync::{ConditionalWeakTable, Gc};
    /// let table = ConditionalWeakTable::new();
    /// let key = Gc::new(1);
    /// assert!(table.try_add(&key, Gc::new(10)));
    /// assert!(!table.try_add(&key, Gc::new(20)));
    /// assert_eq!(*table.get(&key).unwrap(), 10);
    /// ```
    pub fn try_add(&self, key: &Gc<K>, value: Gc<V>) -> bool {
        let header = key.header_ptr();
        let mut map = self.inner.map.borrow_mut();
        if map.contains_key(&header) {
            return false;
        }
        key.header().set(KEY);
        map.insert(header, (Gc::downgrade_long(key), value));
        true
    }

    /// The value attached to `key`, if any.
    ///
    /// ```
    /// use janitor::gc::unsync::{ConditionalWeakTable, Gc};
    /// let table = ConditionalWeakTable::new();
    /// let key = Gc::new(1);
    /// assert!(table.get(&key).is_none());
    /// table.add(&key, Gc::new(2)).unwrap();
    /// assert_eq!(*table.get(&key).unwrap(), 2);
    /// ```
    #[must_use]
    pub fn get(&self, key: &Gc<K>) -> Option<Gc<V>> {
        self.inner
            .map
            .borrow()
            .get(&key.header_ptr())
            .map(|(_, value)| value.clone())
    }

    /// The value attached to `key`, attaching `make()` first if there is none. `make` runs
    /// without the table borrowed, so it may use the table.
    ///
    /// ```
    /// use janitor::gc::unsync::{ConditionalWeakTable, Gc};
    /// let table = ConditionalWeakTable::new();
    /// let key = Gc::new(1);
    /// assert_eq!(*table.get_or_insert_with(&key, || Gc::new(5)), 5);
    /// assert_eq!(*table.get_or_insert_with(&key, || Gc::new(6)), 5);
    /// ```
    pub fn get_or_insert_with(&self, key: &Gc<K>, make: impl FnOnce() -> Gc<V>) -> Gc<V> {
        if let Some(value) = self.get(key) {
            return value;
        }
        let value = make();
        if self.try_add(key, value.clone()) {
            value
        } else {
            // `make` attached one itself; the first one wins, as in .NET.
            self.get(key).expect("the key has an entry")
        }
    }

    /// Removes `key`'s entry; returns whether there was one.
    ///
    /// ```
    /// use janitor::gc::unsync::{ConditionalWeakTable, Gc};
    /// let table = ConditionalWeakTable::new();
    /// let key = Gc::new(1);
    /// table.add(&key, Gc::new(2)).unwrap();
    /// assert!(table.remove(&key));
    /// assert!(!table.remove(&key));
    /// ```
    pub fn remove(&self, key: &Gc<K>) -> bool {
        let removed = self.inner.map.borrow_mut().remove(&key.header_ptr());
        removed.is_some()
    }

    /// Removes every entry.
    ///
    /// ```
    /// use janitor::gc::unsync::{ConditionalWeakTable, Gc};
    /// let table = ConditionalWeakTable::new();
    /// let key = Gc::new(1);
    /// table.add(&key, Gc::new(2)).unwrap();
    /// table.clear();
    /// assert_eq!(table.len(), 0);
    /// ```
    pub fn clear(&self) {
        let taken = std::mem::take(&mut *self.inner.map.borrow_mut());
        drop(taken);
    }

    /// The number of entries whose key is alive.
    ///
    /// ```
    /// use janitor::gc::unsync::{ConditionalWeakTable, Gc};
    /// let table = ConditionalWeakTable::new();
    /// let key = Gc::new(1);
    /// table.add(&key, Gc::new(2)).unwrap();
    /// assert_eq!(table.len(), 1);
    /// drop(key);
    /// assert_eq!(table.len(), 0);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        let dead = self.inner.remove_dead();
        let len = self.inner.map.borrow().len();
        drop(dead);
        len
    }

    /// Whether no entry's key is alive.
    ///
    /// ```
    /// let table = janitor::gc::unsync::ConditionalWeakTable::<u8, u8>::new();
    /// assert!(table.is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entries whose key is alive, in no particular order. The iterator keeps nothing alive:
    /// it never yields an entry whose key died or that was removed after it began, nor one added
    /// after it began (.NET's enumeration rules).
    ///
    /// ```
    /// use janitor::gc::unsync::{ConditionalWeakTable, Gc};
    /// let table = ConditionalWeakTable::new();
    /// let key = Gc::new(1);
    /// table.add(&key, Gc::new(2)).unwrap();
    /// let entries: Vec<_> = table.iter().map(|(key, value)| (*key, *value)).collect();
    /// assert_eq!(entries, [(1, 2)]);
    /// ```
    #[must_use]
    pub fn iter(&self) -> Iter<'_, K, V> {
        let keys: Vec<WeakGc<K>> = self
            .inner
            .map
            .borrow()
            .values()
            .map(|(key, _)| key.clone())
            .collect();
        Iter {
            table: self,
            keys: keys.into_iter(),
        }
    }
}

/// The iterator of [`ConditionalWeakTable::iter`]: `(key, value)` pairs.
///
/// ```
/// use janitor::gc::unsync::{ConditionalWeakTable, ConditionalWeakTableIter, Gc};
/// let table = ConditionalWeakTable::<u8, u8>::new();
/// let mut entries: ConditionalWeakTableIter<'_, u8, u8> = table.iter();
/// assert!(entries.next().is_none());
/// ```
pub struct Iter<'table, K: ?Sized + 'static, V: ?Sized + 'static> {
    table: &'table ConditionalWeakTable<K, V>,
    keys: std::vec::IntoIter<WeakGc<K>>,
}

impl<K: ?Sized + 'static, V: ?Sized + 'static> Iterator for Iter<'_, K, V> {
    type Item = (Gc<K>, Gc<V>);

    fn next(&mut self) -> Option<Self::Item> {
        for key in self.keys.by_ref() {
            if let Some(key) = key.upgrade()
                && let Some(value) = self.table.get(&key)
            {
                return Some((key, value));
            }
        }
        None
    }
}

impl<K: ?Sized + 'static, V: ?Sized + 'static> std::fmt::Debug for Iter<'_, K, V> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Iter")
            .field("remaining", &self.keys.len())
            .finish()
    }
}

// SAFETY: reports nothing: the values are edges of their keys (see the module's text), which the
// collector finds through the heap's registry of tables.
unsafe impl<K: ?Sized + 'static, V: ?Sized + 'static> Trace for ConditionalWeakTable<K, V> {
    fn trace(&self, _: &mut Tracer<'_>) {}
}
// SAFETY: the table reports no edge: nothing to track.
unsafe impl<K: ?Sized + 'static, V: ?Sized + 'static> TraceMeta for ConditionalWeakTable<K, V> {
    const HOLDS_GC: bool = false;
    const MUTABLE_EDGES: bool = false;
}

impl<K: ?Sized + 'static, V: ?Sized + 'static> std::fmt::Debug for ConditionalWeakTable<K, V> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ConditionalWeakTable")
            .field("entries", &self.inner.map.borrow().len())
            .finish()
    }
}
