//! `ConditionalWeakTable` never keeps a key alive through its own value, whatever the key's type:
//! also for keys the collector does not track (types without a mutable `Gc` edge, such as a
//! `Gc<String>` or a struct of plain fields), as .NET's DependentHandle never keeps its target
//! alive through its dependent. Tests run in parallel, and a collection started by one may hold a
//! pin on another's object for a moment, so each test calls `collect` before it counts drops.

use janitor::gc::{ConditionalWeakTable, Gc, GcCell, Trace, WeakGc, collect};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Counts the drops of the objects that hold it.
#[derive(Clone, Default)]
struct Drops(Arc<AtomicUsize>);

impl Drops {
    fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// An untracked key: no `Gc` inside, so the collector never examines it on its own account.
#[derive(Trace)]
struct Key {
    #[trace(skip)]
    name: &'static str,
    #[trace(skip)]
    drops: Drops,
}

impl Drop for Key {
    fn drop(&mut self) {
        self.drops.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A value that points back to its key through an immutable field: untracked too.
#[derive(Trace)]
struct Back {
    key: Gc<Key>,
    #[trace(skip)]
    drops: Drops,
}

impl Drop for Back {
    fn drop(&mut self) {
        self.drops.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A value that points back to its key through a cell: tracked.
#[derive(Trace)]
struct CellBack {
    key: GcCell<Option<Gc<Key>>>,
    #[trace(skip)]
    drops: Drops,
}

impl Drop for CellBack {
    fn drop(&mut self) {
        self.drops.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn key(name: &'static str, drops: &Drops) -> Gc<Key> {
    Gc::new(Key {
        name,
        drops: drops.clone(),
    })
}

#[test]
fn an_untracked_key_whose_value_points_back_dies_with_its_value() {
    let drops = Drops::default();
    let table = ConditionalWeakTable::new();
    let k = key("k", &drops);
    let v = Gc::new(Back {
        key: k.clone(),
        drops: drops.clone(),
    });
    let (weak_key, weak_value) = (Gc::downgrade(&k), Gc::downgrade(&v));
    table.add(&k, v).unwrap();
    drop(k);
    collect();
    assert!(weak_key.upgrade().is_none(), "the value kept its key alive");
    assert!(weak_value.upgrade().is_none());
    assert_eq!(drops.get(), 2, "the key and the value are dropped");
    assert_eq!(table.iter().count(), 0, "the entry is gone");
}

#[test]
fn an_untracked_key_whose_tracked_value_points_back_dies_with_its_value() {
    let drops = Drops::default();
    let table = ConditionalWeakTable::new();
    let k = key("k", &drops);
    let v = Gc::new(CellBack {
        key: GcCell::new(Some(k.clone())),
        drops: drops.clone(),
    });
    let (weak_key, weak_value) = (Gc::downgrade(&k), Gc::downgrade(&v));
    table.add(&k, v).unwrap();
    drop(k);
    collect();
    assert!(weak_key.upgrade().is_none(), "the value kept its key alive");
    assert!(weak_value.upgrade().is_none());
    assert_eq!(drops.get(), 2);
    assert_eq!(table.iter().count(), 0);
}

/// An untracked object above the key: `U -> key`, and the key's value points back to `U`.
#[derive(Trace)]
struct Above {
    key: Gc<Key>,
    #[trace(skip)]
    drops: Drops,
}

impl Drop for Above {
    fn drop(&mut self) {
        self.drops.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// The value attached to the key, pointing to the object above it.
#[derive(Trace)]
struct ToAbove {
    above: GcCell<Option<Gc<Above>>>,
    #[trace(skip)]
    drops: Drops,
}

impl Drop for ToAbove {
    fn drop(&mut self) {
        self.drops.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_value_pointing_to_an_untracked_object_above_its_key_keeps_neither_alive() {
    let drops = Drops::default();
    let table = ConditionalWeakTable::new();
    let k = key("k", &drops);
    let above = Gc::new(Above {
        key: k.clone(),
        drops: drops.clone(),
    });
    let v = Gc::new(ToAbove {
        above: GcCell::new(Some(above.clone())),
        drops: drops.clone(),
    });
    let weak_key = Gc::downgrade(&k);
    let weak_above = Gc::downgrade(&above);
    table.add(&k, v).unwrap();
    drop((k, above));
    collect();
    assert!(
        weak_key.upgrade().is_none(),
        "the cycle through the value kept the key"
    );
    assert!(weak_above.upgrade().is_none());
    assert_eq!(drops.get(), 3);
    assert_eq!(table.iter().count(), 0);
}

#[test]
fn a_value_held_from_outside_keeps_its_key_alive_until_it_is_let_go() {
    let drops = Drops::default();
    let table = ConditionalWeakTable::new();
    let k = key("k", &drops);
    let v = Gc::new(Back {
        key: k.clone(),
        drops: drops.clone(),
    });
    let weak_key = Gc::downgrade(&k);
    table.add(&k, v.clone()).unwrap();
    drop(k);
    collect();
    collect();
    let k = weak_key
        .upgrade()
        .expect("the value is held from outside and holds its key");
    assert_eq!(k.name, "k");
    assert!(Gc::ptr_eq(&table.get(&k).unwrap(), &v));
    assert_eq!(drops.get(), 0);
    drop((k, v));
    collect();
    assert!(weak_key.upgrade().is_none());
    assert_eq!(drops.get(), 2);
    assert_eq!(table.iter().count(), 0);
}

#[test]
fn a_live_untracked_key_keeps_its_value_that_points_back_through_collections() {
    let drops = Drops::default();
    let table = ConditionalWeakTable::new();
    let k = key("k", &drops);
    let v = Gc::new(Back {
        key: k.clone(),
        drops: drops.clone(),
    });
    let weak_value = Gc::downgrade(&v);
    table.add(&k, v).unwrap();
    for _ in 0..3 {
        collect();
        assert_eq!(drops.get(), 0);
        let value = table.get(&k).expect("the live key keeps its value");
        assert!(Gc::ptr_eq(&value.key, &k));
    }
    drop(k);
    collect();
    assert!(weak_value.upgrade().is_none());
    assert_eq!(drops.get(), 2);
}

/// The second object of the dependent's cycle: it holds the target.
#[derive(Trace)]
struct Holder {
    target: Gc<Key>,
}

/// The dependent: a cycle through a cell, and an edge to an object that holds the target.
#[derive(Trace)]
struct Dependent {
    myself: GcCell<Option<Gc<Dependent>>>,
    holder: Gc<Holder>,
}

/// .NET's `DependentHandleTests.DependentDoesNotKeepTargetAlive_EvenWithReferenceCycles`, with an
/// untracked target: the dependent is in a cycle of its own and reaches the target; dropping the
/// target's last outside reference frees target and dependent.
#[test]
fn dependent_does_not_keep_an_untracked_target_alive_even_with_reference_cycles() {
    let drops = Drops::default();
    let table = ConditionalWeakTable::new();
    let target = key("target", &drops);
    let dependent = Gc::new(Dependent {
        myself: GcCell::new(None),
        holder: Gc::new(Holder {
            target: target.clone(),
        }),
    });
    *dependent.myself.borrow_mut() = Some(dependent.clone());
    let weak_target: WeakGc<Key> = Gc::downgrade(&target);
    let weak_dependent: WeakGc<Dependent> = Gc::downgrade(&dependent);
    table.add(&target, dependent).unwrap();
    drop(target);
    collect();
    assert!(weak_target.upgrade().is_none(), "the target is collected");
    assert!(
        weak_dependent.upgrade().is_none(),
        "the dependent is collected"
    );
    assert_eq!(drops.get(), 1);
    assert_eq!(table.iter().count(), 0);
}

#[test]
fn values_of_two_tables_pointing_back_to_one_untracked_key_keep_nothing_alive() {
    let drops = Drops::default();
    let (first, second) = (ConditionalWeakTable::new(), ConditionalWeakTable::new());
    let k = key("k", &drops);
    for table in [&first, &second] {
        let value = Gc::new(Back {
            key: k.clone(),
            drops: drops.clone(),
        });
        table.add(&k, value).unwrap();
    }
    let weak_key = Gc::downgrade(&k);
    drop(k);
    collect();
    assert!(weak_key.upgrade().is_none());
    assert_eq!(drops.get(), 3);
    assert_eq!(first.iter().count() + second.iter().count(), 0);
}

#[test]
fn a_string_key_whose_value_points_back_is_collected() {
    let table: ConditionalWeakTable<String, Gc<String>> = ConditionalWeakTable::new();
    let k = Gc::new(String::from("document"));
    let weak_key = Gc::downgrade(&k);
    table.add(&k, Gc::new(k.clone())).unwrap();
    drop(k);
    collect();
    assert!(weak_key.upgrade().is_none());
    assert_eq!(table.iter().count(), 0);
}

#[test]
fn untracked_keys_attached_and_dropped_on_threads_while_others_collect_are_all_freed() {
    const THREADS: usize = 3;
    const ROUNDS: usize = 300;
    let drops = Drops::default();
    let table = Arc::new(ConditionalWeakTable::new());
    let workers: Vec<_> = (0..THREADS)
        .map(|worker| {
            let (table, drops) = (table.clone(), drops.clone());
            std::thread::spawn(move || {
                for round in 0..ROUNDS {
                    let k = key("k", &drops);
                    let v = Gc::new(Back {
                        key: k.clone(),
                        drops: drops.clone(),
                    });
                    table.add(&k, v).unwrap();
                    let read = table.get(&k).unwrap();
                    assert!(Gc::ptr_eq(&read.key, &k));
                    drop((k, read));
                    if (round + worker) % 16 == 0 {
                        collect();
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    collect();
    assert_eq!(drops.get(), 2 * THREADS * ROUNDS);
    assert_eq!(table.iter().count(), 0);
}

#[test]
fn untracked_keys_cloned_upgraded_and_dropped_across_threads_during_collections_are_freed_once() {
    const WORKERS: usize = 3;
    const ROUNDS: usize = 400;
    let drops = Drops::default();
    let table = Arc::new(ConditionalWeakTable::new());
    let shared: Gc<janitor::gc::GcMutex<Vec<Gc<Key>>>> = Gc::new(Default::default());
    let weak_keys: Arc<std::sync::Mutex<Vec<WeakGc<Key>>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let collector = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                collect();
            }
        })
    };
    let workers: Vec<_> = (0..WORKERS)
        .map(|worker| {
            let (table, drops, shared, weak_keys) = (
                table.clone(),
                drops.clone(),
                shared.clone(),
                weak_keys.clone(),
            );
            std::thread::spawn(move || {
                for round in 0..ROUNDS {
                    let k = key("k", &drops);
                    table
                        .add(
                            &k,
                            Gc::new(Back {
                                key: k.clone(),
                                drops: drops.clone(),
                            }),
                        )
                        .unwrap();
                    weak_keys.lock().unwrap().push(Gc::downgrade(&k));
                    match (round + worker) % 3 {
                        0 => shared.lock().push(k),
                        1 => drop(shared.lock().pop()),
                        _ => drop(k),
                    }
                    let weak = weak_keys
                        .lock()
                        .unwrap()
                        .get(round * 7 % (round + 1))
                        .cloned();
                    if let Some(other) = weak.and_then(|weak| weak.upgrade()) {
                        let value = table.get(&other);
                        if let Some(value) = value {
                            assert!(Gc::ptr_eq(&value.key, &other));
                        }
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    stop.store(true, Ordering::SeqCst);
    collector.join().unwrap();
    shared.lock().clear();
    collect();
    assert_eq!(
        drops.get(),
        2 * WORKERS * ROUNDS,
        "every key and value dropped once"
    );
    assert!(
        weak_keys
            .lock()
            .unwrap()
            .iter()
            .all(|weak| weak.upgrade().is_none())
    );
    assert_eq!(table.iter().count(), 0);
}
