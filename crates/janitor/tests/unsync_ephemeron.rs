//! `ConditionalWeakTable` on both heaps: the single-thread DependentHandle and
//! ConditionalWeakTable scenarios of `gc_ephemeron.rs`, one body expanded for each heap by
//! `scenarios!` (the many-thread and address-reuse ones stay there: they concern the shared
//! heap's concurrency and its table index); then cycles through the thread-local heap's untracked
//! objects.

macro_rules! scenarios {
    ($heap:ident, $($path:ident)::+) => {
        mod $heap {
            use janitor::gc::Trace;
            use $($path)::+::{ConditionalWeakTable, Gc, GcCell, WeakGc, collect};
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
        }
    };
}

scenarios!(shared_heap, janitor::gc);
scenarios!(thread_local_heap, janitor::gc::unsync);

// Keys and values the tracking rule leaves untracked (immutable edges, untracked children): a
// cycle through a table can still pass through them, and a full collection finds it.
mod untracked {
    use janitor::gc::Trace;
    use janitor::gc::unsync::{ConditionalWeakTable, Gc, collect, collect_generation};

    #[derive(Trace)]
    struct Wrapper(Gc<String>);

    #[test]
    fn a_value_that_holds_its_untracked_key_does_not_keep_it_alive() {
        let table = ConditionalWeakTable::new();
        let key = Gc::new(String::from("key"));
        table.add(&key, Gc::new(Wrapper(key.clone()))).unwrap();
        let weak = Gc::downgrade(&key);
        drop(key);
        collect_generation(1);
        assert!(
            weak.upgrade().is_some(),
            "only a full collection examines untracked objects"
        );
        collect();
        assert!(weak.upgrade().is_none());
        assert!(table.is_empty());
    }

    #[test]
    fn a_value_that_reaches_its_key_through_untracked_objects_does_not_keep_it_alive() {
        let table = ConditionalWeakTable::new();
        let key = Gc::new(String::from("key"));
        let chain = Gc::new(Wrapper(key.clone()));
        #[derive(Trace)]
        struct Outer(Gc<Wrapper>);
        table.add(&key, Gc::new(Outer(chain))).unwrap();
        let weak = Gc::downgrade(&key);
        drop(key);
        collect();
        assert!(weak.upgrade().is_none());
        drop(weak);
        assert_eq!(janitor::gc::unsync::memory_info().heap_bytes, 0);
    }

    #[test]
    fn a_key_held_from_outside_keeps_its_value_through_full_collections() {
        let table = ConditionalWeakTable::new();
        let key = Gc::new(String::from("key"));
        table.add(&key, Gc::new(Wrapper(key.clone()))).unwrap();
        collect();
        collect();
        assert_eq!(*table.get(&key).unwrap().0, "key");
    }
}
