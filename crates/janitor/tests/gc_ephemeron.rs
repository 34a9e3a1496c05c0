//! `ConditionalWeakTable`: ports of .NET's DependentHandle and ConditionalWeakTable scenarios.
//! Each test counts its own objects. Tests run in parallel, and a collection started by one may
//! hold a pin on another's object for a moment, deferring its free to the unpin; so before
//! counting drops a test calls `collect`, which returns after every earlier collection finished.

use janitor::gc::{ConditionalWeakTable, Gc, GcCell, Trace, WeakGc, collect};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A tracked key (it has a cell holding a `Gc`): cycles through it are collectable.
#[derive(Trace)]
struct Key {
    other: GcCell<Option<Gc<Key>>>,
    #[trace(skip)]
    drops: Arc<AtomicUsize>,
}

impl Drop for Key {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

/// A value that may point back to its key.
#[derive(Trace)]
struct Value {
    key: GcCell<Option<Gc<Key>>>,
    #[trace(skip)]
    drops: Arc<AtomicUsize>,
}

impl Drop for Value {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

fn key(drops: &Arc<AtomicUsize>) -> Gc<Key> {
    Gc::new(Key {
        other: GcCell::new(None),
        drops: drops.clone(),
    })
}

fn value(drops: &Arc<AtomicUsize>) -> Gc<Value> {
    Gc::new(Value {
        key: GcCell::new(None),
        drops: drops.clone(),
    })
}

#[test]
fn the_key_keeps_its_value_alive_through_collections() {
    let drops = Arc::new(AtomicUsize::new(0));
    let table = ConditionalWeakTable::new();
    let k = key(&drops);
    let v = value(&drops);
    let weak: WeakGc<Value> = Gc::downgrade(&v);
    table.add(&k, v).unwrap();
    collect();
    collect();
    assert!(weak.upgrade().is_some());
    assert!(Gc::ptr_eq(
        &table.get(&k).unwrap(),
        &weak.upgrade().unwrap()
    ));
    assert_eq!(drops.load(Ordering::SeqCst), 0);
}

#[test]
fn the_value_dies_when_its_key_dies() {
    let drops = Arc::new(AtomicUsize::new(0));
    let table = ConditionalWeakTable::new();
    let k = key(&drops);
    let v = value(&drops);
    let weak = Gc::downgrade(&v);
    table.add(&k, v).unwrap();
    drop(k);
    collect();
    assert_eq!(drops.load(Ordering::SeqCst), 2, "key and value");
    assert!(weak.upgrade().is_none());
    assert_eq!(table.iter().count(), 0);
}

#[test]
fn a_value_pointing_to_its_key_does_not_keep_it_alive() {
    let drops = Arc::new(AtomicUsize::new(0));
    let table = ConditionalWeakTable::new();
    let k = key(&drops);
    let v = value(&drops);
    *v.key.borrow_mut() = Some(k.clone());
    let weak_key = Gc::downgrade(&k);
    table.add(&k, v).unwrap();
    drop(k);
    collect();
    assert!(weak_key.upgrade().is_none());
    assert_eq!(drops.load(Ordering::SeqCst), 2);
}

#[test]
fn a_value_reaching_its_key_through_a_cycle_does_not_keep_it_alive() {
    let drops = Arc::new(AtomicUsize::new(0));
    let table = ConditionalWeakTable::new();
    let (k, middle) = (key(&drops), key(&drops));
    *middle.other.borrow_mut() = Some(k.clone());
    *k.other.borrow_mut() = Some(middle.clone());
    let v = value(&drops);
    *v.key.borrow_mut() = Some(middle.clone());
    let weak_key = Gc::downgrade(&k);
    table.add(&k, v).unwrap();
    drop((k, middle));
    collect();
    assert!(weak_key.upgrade().is_none());
    assert_eq!(drops.load(Ordering::SeqCst), 3);
}

#[test]
fn add_refuses_a_duplicate_key_and_try_add_reports_it() {
    let table = ConditionalWeakTable::new();
    let k = Gc::new(1_u8);
    table.add(&k, Gc::new(10)).unwrap();
    assert!(table.add(&k, Gc::new(20)).is_err());
    assert!(!table.try_add(&k, Gc::new(30)));
    assert_eq!(*table.get(&k).unwrap(), 10);
    let other = Gc::new(1_u8);
    assert!(table.try_add(&other, Gc::new(40)), "keys are identities");
}

#[test]
fn remove_drops_the_value_and_a_removed_key_can_be_added_again() {
    let drops = Arc::new(AtomicUsize::new(0));
    let table = ConditionalWeakTable::new();
    let k = key(&drops);
    table.add(&k, value(&drops)).unwrap();
    assert!(table.remove(&k));
    collect();
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    assert!(!table.remove(&k));
    table.add(&k, value(&drops)).unwrap();
    assert!(table.get(&k).is_some());
}

#[test]
fn iteration_skips_collected_entries_and_entries_added_after_it_began() {
    let drops = Arc::new(AtomicUsize::new(0));
    let table = ConditionalWeakTable::new();
    let keys: Vec<Gc<Key>> = (0..4).map(|_| key(&drops)).collect();
    for k in &keys {
        table.add(k, value(&drops)).unwrap();
    }
    let entries = table.iter();
    let mut keys = keys;
    let dead = keys.pop().unwrap();
    *dead.other.borrow_mut() = Some(dead.clone());
    drop(dead);
    collect();
    let late = key(&drops);
    table.add(&late, value(&drops)).unwrap();
    let seen: Vec<Gc<Key>> = entries.map(|(k, _)| k).collect();
    assert_eq!(seen.len(), 3);
    assert!(
        seen.iter()
            .all(|k| keys.iter().any(|kept| Gc::ptr_eq(k, kept)))
    );
}

#[test]
fn an_iterator_keeps_nothing_alive() {
    let drops = Arc::new(AtomicUsize::new(0));
    let table = ConditionalWeakTable::new();
    let k = key(&drops);
    table.add(&k, value(&drops)).unwrap();
    let entries = table.iter();
    drop(k);
    collect();
    assert_eq!(drops.load(Ordering::SeqCst), 2);
    assert_eq!(entries.count(), 0);
}

#[test]
fn clear_and_dropping_the_table_drop_every_value() {
    let drops = Arc::new(AtomicUsize::new(0));
    let keys: Vec<Gc<Key>> = (0..3).map(|_| key(&drops)).collect();
    let table = ConditionalWeakTable::new();
    for k in &keys {
        table.add(k, value(&drops)).unwrap();
    }
    table.clear();
    collect();
    assert_eq!(drops.load(Ordering::SeqCst), 3);
    let table = ConditionalWeakTable::new();
    for k in &keys {
        table.add(k, value(&drops)).unwrap();
    }
    drop(table);
    collect();
    assert_eq!(drops.load(Ordering::SeqCst), 6);
    assert!(keys.iter().all(|k| k.other.borrow().is_none()));
}

#[test]
fn two_tables_attach_separate_values_to_one_key() {
    let first = ConditionalWeakTable::new();
    let second = ConditionalWeakTable::new();
    let k = Gc::new("key");
    first.add(&k, Gc::new(1)).unwrap();
    second.add(&k, Gc::new(2)).unwrap();
    assert_eq!((*first.get(&k).unwrap(), *second.get(&k).unwrap()), (1, 2));
    first.remove(&k);
    assert_eq!(*second.get(&k).unwrap(), 2);
}

#[test]
fn concurrent_adds_and_gets_from_four_threads_agree_on_one_value_per_key() {
    let drops = Arc::new(AtomicUsize::new(0));
    let table = Arc::new(ConditionalWeakTable::<Key, Value>::new());
    let keys: Arc<Vec<Gc<Key>>> = Arc::new((0..200).map(|_| key(&drops)).collect());
    let made = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (table, keys, drops, made) =
                (table.clone(), keys.clone(), drops.clone(), made.clone());
            std::thread::spawn(move || {
                keys.iter()
                    .map(|k| {
                        let got = table.get_or_insert_with(k, || {
                            made.fetch_add(1, Ordering::SeqCst);
                            value(&drops)
                        });
                        assert!(Gc::ptr_eq(&got, &table.get(k).unwrap()));
                        Gc::as_ptr(&got) as usize
                    })
                    .collect::<Vec<usize>>()
            })
        })
        .collect();
    let results: Vec<Vec<usize>> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(
        results.windows(2).all(|pair| pair[0] == pair[1]),
        "one winner per key"
    );
    assert!(made.load(Ordering::SeqCst) >= 200);
    collect();
    assert_eq!(
        drops.load(Ordering::SeqCst),
        made.load(Ordering::SeqCst) - 200,
        "the losing values were dropped"
    );
}

/// A new untracked key at the address `dead` had: the allocator gives a freed block back to the
/// next allocation of its size (LIFO per thread), or to one of the next ones (not under
/// valgrind, which holds freed blocks back).
fn key_at(dead: *const [u64; 3]) -> Gc<[u64; 3]> {
    let mut misses = Vec::new();
    for _ in 0..1000 {
        let key = Gc::new([2; 3]);
        if Gc::as_ptr(&key) == dead {
            return key;
        }
        misses.push(key);
    }
    panic!("the allocator never reused the freed block");
}

#[test]
fn a_new_key_at_a_dead_key_address_has_no_entry_and_takes_one() {
    let table = ConditionalWeakTable::new();
    let old = Gc::new([1_u64; 3]);
    let old_value = Gc::new(String::from("old"));
    let old_value_weak = Gc::downgrade(&old_value);
    table.add(&old, old_value).unwrap();
    let address = Gc::as_ptr(&old);
    drop(old);
    assert!(
        old_value_weak.upgrade().is_none(),
        "the dead key's value died"
    );
    let new = key_at(address);
    assert!(
        table.get(&new).is_none(),
        "the dead key's entry is not the new key's"
    );
    assert_eq!(table.iter().count(), 0);
    assert!(!table.remove(&new));
    table
        .add(&new, Gc::new(String::from("new")))
        .expect("the new key has no entry yet");
    assert_eq!(*table.get(&new).unwrap(), "new");
    let entries: Vec<_> = table.iter().collect();
    assert_eq!(entries.len(), 1);
    assert!(Gc::ptr_eq(&entries[0].0, &new));
    assert!(table.remove(&new));
    assert!(table.get(&new).is_none());
}

#[test]
fn a_dead_key_entry_left_in_the_index_never_reaches_the_new_key_at_its_address() {
    let table = ConditionalWeakTable::new();
    let old = Gc::new([1_u64; 3]);
    table.add(&old, Gc::new(1_u32)).unwrap();
    let address = Gc::as_ptr(&old);
    drop(old);
    let new = key_at(address);
    let other_table = ConditionalWeakTable::new();
    other_table.add(&new, Gc::new(2_u32)).unwrap();
    table.clear();
    assert_eq!(
        *other_table.get(&new).unwrap(),
        2,
        "another table's entry stays"
    );
    drop(table);
    assert_eq!(*other_table.get(&new).unwrap(), 2);
}

/// A member of a two-node cycle whose `Drop` attaches a value to the other member, which the
/// collector has condemned with it.
#[derive(Trace)]
struct Attacher {
    other: GcCell<Option<Gc<Attacher>>>,
    #[trace(skip)]
    table: Arc<ConditionalWeakTable<Attacher, String>>,
    #[trace(skip)]
    attached: Arc<AtomicUsize>,
}

impl Drop for Attacher {
    fn drop(&mut self) {
        if let Some(other) = self.other.borrow().clone() {
            let value = Gc::new(String::from("attached while condemned"));
            let weak_value = Gc::downgrade(&value);
            assert!(self.table.try_add(&other, value));
            if weak_value.upgrade().is_some() {
                self.attached.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
}

#[test]
fn a_condemned_key_takes_no_value_and_its_address_stays_clean() {
    let table = Arc::new(ConditionalWeakTable::new());
    let attached = Arc::new(AtomicUsize::new(0));
    let attacher = || {
        Gc::new(Attacher {
            other: GcCell::new(None),
            table: table.clone(),
            attached: attached.clone(),
        })
    };
    let (a, b) = (attacher(), attacher());
    *a.other.borrow_mut() = Some(b.clone());
    *b.other.borrow_mut() = Some(a.clone());
    let addresses = [Gc::as_ptr(&a), Gc::as_ptr(&b)];
    drop((a, b));
    collect();
    assert_eq!(
        attached.load(Ordering::SeqCst),
        0,
        "a value given to a condemned key is dropped, not kept"
    );
    let mut reused = 0;
    let mut keep = Vec::new();
    for _ in 0..1000 {
        let fresh = attacher();
        if addresses.contains(&Gc::as_ptr(&fresh)) {
            reused += 1;
            assert!(
                table.get(&fresh).is_none(),
                "a value attached to a dead key reached a new object at its address"
            );
        }
        keep.push(fresh);
        if reused == addresses.len() {
            break;
        }
    }
    assert!(reused > 0, "the allocator never reused a freed block");
}
