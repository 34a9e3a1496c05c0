//! The pointer API that `Rc` users expect of the thread-local heap's `Gc` and `WeakGc`, the same
//! as the shared heap's (`gc_pointer_api.rs`): slices and strings, building a value that points to
//! itself, taking the value back out, raw pointers, counts, weak references to nothing, unsizing.
//!
//! The behaviours both heaps share are written once, in `both_heaps!`, and run against each heap;
//! the ones that differ by design (finalization's derive attribute and trait, `get_mut` after the
//! weak references die, values that are not `Send`) follow, for the thread-local heap alone.

use janitor::gc::Trace;
use janitor::gc::unsync::{
    Finalize, Gc, GcCell, WeakGc, collect, memory_info, suppress_finalize,
    wait_for_pending_finalizers,
};
use janitor::{coerce_unsync_gc, coerce_unsync_weak};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// The tests whose bodies hold for both heaps; the caller brings the heap's names into scope, and
/// `coerce_weak!` for its weak references' coercion.
macro_rules! both_heaps {
    () => {
        use std::fmt::Display;
        use std::panic::{AssertUnwindSafe, catch_unwind};
        use std::pin::Pin;
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};

        /// Counts its drops.
        #[derive(Trace, Clone)]
        struct Counted {
            #[trace(skip)]
            drops: Arc<AtomicUsize>,
            #[trace(skip)]
            id: usize,
        }

        impl Drop for Counted {
            fn drop(&mut self) {
                self.drops.fetch_add(1, Ordering::SeqCst);
            }
        }

        fn counted(drops: &Arc<AtomicUsize>, id: usize) -> Counted {
            Counted {
                drops: drops.clone(),
                id,
            }
        }

        /// A tracked element: its edge lives in a cell.
        #[derive(Trace)]
        struct Link {
            next: GcCell<Option<Gc<[Link]>>>,
            #[trace(skip)]
            drops: Arc<AtomicUsize>,
        }

        impl Drop for Link {
            fn drop(&mut self) {
                self.drops.fetch_add(1, Ordering::SeqCst);
            }
        }

        #[test]
        fn a_str_object_holds_a_copy_of_the_text_from_each_source() {
            let from_str: Gc<str> = Gc::from("hello");
            let from_string: Gc<str> = Gc::from(String::from("hello"));
            let from_box: Gc<str> = Gc::from(Box::<str>::from("hello"));
            let empty: Gc<str> = Gc::from("");
            assert_eq!(&*from_str, "hello");
            assert_eq!(from_str, from_string);
            assert_eq!(from_string, from_box);
            assert_eq!(format!("{from_str} {from_str:?}"), "hello \"hello\"");
            assert_eq!(&*empty, "");
            let long = "x".repeat(10_000); // past the size classes: the global allocator's path
            assert_eq!(&*Gc::<str>::from(long.as_str()), long);
        }

        #[test]
        fn slice_objects_hold_the_elements_in_order_from_each_source() {
            let from_vec: Gc<[u32]> = Gc::from(vec![1, 2, 3]);
            let from_slice: Gc<[u32]> = Gc::from(&[1, 2, 3][..]);
            let from_box: Gc<[u32]> = Gc::from(vec![1, 2, 3].into_boxed_slice());
            let collected: Gc<[u32]> = (1..=3).collect();
            let exact: Gc<[u32]> = Gc::from_exact_iter(1..4);
            for slice in [&from_vec, &from_slice, &from_box, &collected, &exact] {
                assert_eq!(&**slice, &[1, 2, 3]);
            }
            let empty: Gc<[String]> = Gc::from(Vec::new());
            assert!(empty.is_empty());
            assert!(Gc::<[String]>::default().is_empty());
            assert_eq!(&*Gc::<str>::default(), "");
            let units: Gc<[()]> = Gc::from(vec![(); 7]);
            assert_eq!(units.len(), 7);
            let aligned: Gc<[u128]> = Gc::from(vec![u128::MAX; 100]);
            assert!(aligned.iter().all(|&n| n == u128::MAX));
            assert_eq!(aligned.as_ptr() as usize % align_of::<u128>(), 0);
        }

        #[test]
        fn the_elements_of_a_slice_are_dropped_once_with_its_last_gc() {
            let drops = Arc::new(AtomicUsize::new(0));
            let slice: Gc<[Counted]> = (0..5).map(|id| counted(&drops, id)).collect();
            let clone = slice.clone();
            drop(slice);
            collect();
            assert_eq!(drops.load(Ordering::SeqCst), 0, "a clone still holds the slice");
            assert_eq!(clone.iter().map(|c| c.id).sum::<usize>(), 10);
            drop(clone);
            collect();
            assert_eq!(drops.load(Ordering::SeqCst), 5);
        }

        #[test]
        fn a_slice_of_tracked_elements_on_a_garbage_cycle_is_freed_by_a_collection() {
            let drops = Arc::new(AtomicUsize::new(0));
            let links: Gc<[Link]> = Gc::from_exact_iter((0..3).map(|_| Link {
                next: GcCell::new(None),
                drops: drops.clone(),
            }));
            let weak = Gc::downgrade(&links);
            *links[1].next.borrow_mut() = Some(links.clone()); // the slice points to itself
            drop(links);
            assert!(weak.upgrade().is_some(), "a cycle lives until a collection");
            assert_eq!(drops.load(Ordering::SeqCst), 0);
            collect();
            assert!(weak.upgrade().is_none(), "the cycle is freed");
            assert_eq!(drops.load(Ordering::SeqCst), 3);
        }

        /// Claims `len` items and yields `yields`, the last of which may panic instead.
        struct Liar {
            drops: Arc<AtomicUsize>,
            len: usize,
            yields: usize,
            panics: bool,
        }

        impl Iterator for Liar {
            type Item = Counted;
            fn next(&mut self) -> Option<Counted> {
                if self.yields == 0 {
                    return None;
                }
                self.yields -= 1;
                if self.yields == 0 && self.panics {
                    panic!("the iterator failed");
                }
                Some(counted(&self.drops, self.yields))
            }

            fn size_hint(&self) -> (usize, Option<usize>) {
                (self.len, Some(self.len))
            }
        }

        impl ExactSizeIterator for Liar {
            fn len(&self) -> usize {
                self.len
            }
        }

        #[test]
        fn an_iterator_that_ends_early_or_panics_leaves_nothing_behind() {
            let drops = Arc::new(AtomicUsize::new(0));
            let short = Liar {
                drops: drops.clone(),
                len: 4,
                yields: 2,
                panics: false,
            };
            let failed = catch_unwind(AssertUnwindSafe(|| Gc::from_exact_iter(short)));
            let message = failed.err().unwrap();
            let message = message.downcast_ref::<String>().unwrap();
            assert!(message.contains("promised 4 elements"), "{message}");
            assert_eq!(drops.load(Ordering::SeqCst), 2, "both items it gave are dropped");

            let panicking = Liar {
                drops: drops.clone(),
                len: 3,
                yields: 3,
                panics: true,
            };
            assert!(catch_unwind(AssertUnwindSafe(|| Gc::from_exact_iter(panicking))).is_err());
            assert_eq!(drops.load(Ordering::SeqCst), 4, "the two before the panic are dropped");
        }

        #[test]
        fn a_tracked_slice_whose_iterator_panics_drops_what_it_gave() {
            let drops = Arc::new(AtomicUsize::new(0));
            // `Link`'s edges are in a cell: the slice is tracked, and its items go straight in.
            let items = (0..4).map(|index| {
                if index == 3 {
                    panic!("the iterator failed");
                }
                Link {
                    next: GcCell::new(None),
                    drops: drops.clone(),
                }
            });
            let built = catch_unwind(AssertUnwindSafe(|| Gc::<[Link]>::from_exact_iter(items)));
            assert!(built.is_err());
            assert_eq!(drops.load(Ordering::SeqCst), 3);
        }

        #[test]
        fn a_boxed_value_moves_onto_the_heap() {
            let gc: Gc<Vec<u8>> = Gc::from(Box::new(vec![1, 2]));
            assert_eq!(*gc, [1, 2]);
        }

        #[test]
        fn a_raw_pointer_keeps_the_count_until_it_is_turned_back() {
            let drops = Arc::new(AtomicUsize::new(0));
            let raw = Gc::into_raw(Gc::new(counted(&drops, 7)));
            collect();
            assert_eq!(drops.load(Ordering::SeqCst), 0);
            // SAFETY: from `into_raw`, turned back once.
            let back = unsafe { Gc::from_raw(raw) };
            assert_eq!(back.id, 7);
            assert_eq!(Gc::as_ptr(&back), raw);
            drop(back);
            collect();
            assert_eq!(drops.load(Ordering::SeqCst), 1);

            let slice: Gc<[u8]> = Gc::from(vec![9, 8]);
            let raw = Gc::into_raw(slice);
            // SAFETY: from `into_raw`, turned back once; the fat pointer keeps the length.
            let slice = unsafe { Gc::from_raw(raw) };
            assert_eq!(&*slice, &[9, 8]);
        }

        #[test]
        fn get_mut_gives_the_value_only_to_the_only_gc() {
            let mut only = Gc::new(String::from("a"));
            Gc::get_mut(&mut only).unwrap().push('b');
            let other = only.clone();
            assert!(Gc::get_mut(&mut only).is_none(), "another Gc");
            drop(other);
            assert_eq!(Gc::get_mut(&mut only).unwrap(), "ab");
            let weak = Gc::downgrade(&only);
            assert!(Gc::get_mut(&mut only).is_none(), "a weak reference could upgrade");
            drop(weak);

            let mut slice: Gc<[u8]> = Gc::from(vec![1, 2]);
            Gc::get_mut(&mut slice).unwrap()[0] = 5;
            assert_eq!(&*slice, &[5, 2]);
        }

        #[test]
        fn get_mut_refuses_a_value_that_can_hold_a_gc() {
            let mut holder = Gc::new(Some(Gc::new(1_u8)));
            assert_eq!(Gc::strong_count(&holder), 1);
            assert!(
                Gc::get_mut(&mut holder).is_none(),
                "its edges would change behind the collector's back"
            );
        }

        /// A tracked object that holds a payload.
        #[derive(Trace)]
        struct Holder {
            next: GcCell<Option<Gc<Holder>>>,
            payload: Gc<String>,
        }

        #[test]
        fn get_mut_is_refused_while_a_garbage_cycle_holds_another_gc_and_given_after_it_is_freed() {
            let mut payload = Gc::new(String::from("payload"));
            let holder = Gc::new(Holder {
                next: GcCell::new(None),
                payload: payload.clone(),
            });
            *holder.next.borrow_mut() = Some(holder.clone());
            drop(holder);
            assert!(Gc::get_mut(&mut payload).is_none(), "the garbage cycle still holds it");
            collect();
            Gc::get_mut(&mut payload).unwrap().push('!');
            assert_eq!(&*payload, "payload!");
        }

        #[test]
        fn try_unwrap_takes_the_value_of_the_only_gc_and_kills_its_weak_references() {
            let drops = Arc::new(AtomicUsize::new(0));
            let only = Gc::new(counted(&drops, 3));
            let other = only.clone();
            let Err(only) = Gc::try_unwrap(only) else {
                panic!("another Gc shares it")
            };
            drop(other);
            let weak = Gc::downgrade_long(&only);
            let value = Gc::try_unwrap(only).ok().unwrap();
            assert_eq!(value.id, 3);
            assert!(weak.upgrade().is_none());
            assert_eq!(weak.strong_count(), 0);
            collect();
            assert_eq!(drops.load(Ordering::SeqCst), 0, "the value was moved out, not dropped");
            drop(value);
            assert_eq!(drops.load(Ordering::SeqCst), 1);
        }

        #[test]
        fn try_unwrap_of_a_tracked_object_takes_it_out_of_the_collector_s_lists() {
            let drops = Arc::new(AtomicUsize::new(0));
            let link = Gc::new(Link {
                next: GcCell::new(None),
                drops: drops.clone(),
            });
            let value = Gc::try_unwrap(link).ok().unwrap();
            collect(); // examines nothing that is gone
            assert_eq!(drops.load(Ordering::SeqCst), 0);
            drop(value);
            assert_eq!(drops.load(Ordering::SeqCst), 1);
        }

        #[test]
        fn try_unwrap_of_a_table_key_removes_its_entry() {
            let drops = Arc::new(AtomicUsize::new(0));
            let table = ConditionalWeakTable::<String, Counted>::new();
            let key = Gc::new(String::from("key"));
            table.add(&key, Gc::new(counted(&drops, 1))).unwrap();
            assert_eq!(Gc::weak_count(&key), 1, "the table's weak reference");
            // On the shared heap a full collection examines a table's keys, holding a count on
            // each while it does: one running now (another test's, or the background
            // collector's) makes `try_unwrap` fail, as documented, until it ends.
            let mut key = key;
            let value = loop {
                match Gc::try_unwrap(key) {
                    Ok(value) => break value,
                    Err(shared) => {
                        assert_eq!(Gc::weak_count(&shared), 1, "no other holder appeared");
                        key = shared;
                        std::thread::yield_now();
                    }
                }
            };
            assert_eq!(value, "key");
            collect();
            assert_eq!(drops.load(Ordering::SeqCst), 1, "the value died with its key");
            assert_eq!(table.iter().count(), 0);
        }

        #[test]
        fn into_inner_gives_the_value_to_the_last_holder_only() {
            let drops = Arc::new(AtomicUsize::new(0));
            let first = Gc::new(counted(&drops, 5));
            let second = first.clone();
            assert!(Gc::into_inner(first).is_none());
            collect();
            assert_eq!(drops.load(Ordering::SeqCst), 0);
            assert_eq!(Gc::into_inner(second).unwrap().id, 5);
            assert_eq!(drops.load(Ordering::SeqCst), 1);
        }

        /// A value built around a weak reference to itself.
        #[derive(Trace)]
        struct SelfAware {
            this: WeakGc<SelfAware>,
            peer: GcCell<Option<Gc<SelfAware>>>,
            #[trace(skip)]
            drops: Arc<AtomicUsize>,
        }

        impl Drop for SelfAware {
            fn drop(&mut self) {
                self.drops.fetch_add(1, Ordering::SeqCst);
            }
        }

        #[test]
        fn new_cyclic_gives_a_weak_reference_that_upgrades_only_once_the_value_is_built() {
            let drops = Arc::new(AtomicUsize::new(0));
            let upgraded_while_building = AtomicUsize::new(0);
            let object = Gc::new_cyclic(|this| {
                if this.upgrade().is_some() {
                    upgraded_while_building.fetch_add(1, Ordering::SeqCst);
                }
                assert_eq!(this.strong_count(), 0);
                SelfAware {
                    this: this.clone(),
                    peer: GcCell::new(None),
                    drops: drops.clone(),
                }
            });
            assert_eq!(upgraded_while_building.load(Ordering::SeqCst), 0);
            assert!(Gc::ptr_eq(&object.this.upgrade().unwrap(), &object));
            assert_eq!(Gc::weak_count(&object), 1);
            *object.peer.borrow_mut() = Some(object.clone()); // a cycle, through the cell
            let weak = object.this.clone();
            drop(object);
            collect();
            assert!(weak.upgrade().is_none(), "the cycle is collected");
            assert_eq!(drops.load(Ordering::SeqCst), 1);
        }

        #[test]
        fn new_cyclic_whose_builder_panics_leaves_its_weak_references_dead() {
            let escaped = std::sync::Mutex::new(None);
            let built = catch_unwind(AssertUnwindSafe(|| {
                Gc::<SelfAware>::new_cyclic(|this| {
                    *escaped.lock().unwrap() = Some(this.clone());
                    panic!("the builder failed")
                })
            }));
            assert!(built.is_err());
            let escaped = escaped.lock().unwrap().take().unwrap();
            assert!(escaped.upgrade().is_none());
            assert_eq!(escaped.strong_count(), 0);
        }

        #[test]
        fn a_weak_reference_to_nothing_never_upgrades() {
            let nothing: WeakGc<String> = WeakGc::new();
            let default: WeakGc<String> = WeakGc::default();
            assert!(nothing.upgrade().is_none());
            assert!(default.clone().upgrade().is_none());
            assert_eq!(nothing.strong_count(), 0);
            assert!(WeakGc::ptr_eq(&nothing, &default));
            let live = Gc::new(String::new());
            assert!(!WeakGc::ptr_eq(&nothing, &Gc::downgrade(&live)));
        }

        #[test]
        fn strong_and_weak_counts_follow_the_references() {
            let strong = Gc::new(1_u8);
            let weak = Gc::downgrade(&strong);
            let long = Gc::downgrade_long(&strong);
            assert_eq!((Gc::strong_count(&strong), Gc::weak_count(&strong)), (1, 2));
            let clone = strong.clone();
            assert_eq!(weak.strong_count(), 2);
            drop((clone, long));
            assert_eq!((weak.strong_count(), Gc::weak_count(&strong)), (1, 1));
            drop(strong);
            assert_eq!(weak.strong_count(), 0);
        }

        #[test]
        fn a_weak_reference_coerces_to_a_trait_object_and_a_slice() {
            let number = Gc::new(42_u16);
            let weak: WeakGc<dyn Display + Send + Sync> =
                coerce_weak!(Gc::downgrade_long(&number) => dyn Display + Send + Sync);
            assert!(weak.tracks_resurrection());
            assert_eq!(weak.upgrade().unwrap().to_string(), "42");
            let array = Gc::new([1_u8, 2, 3]);
            let weak_slice: WeakGc<[u8]> = coerce_weak!(Gc::downgrade(&array) => [u8]);
            assert_eq!(&*weak_slice.upgrade().unwrap(), &[1, 2, 3]);
            drop((number, array));
            assert!(weak.upgrade().is_none());
            assert!(weak_slice.upgrade().is_none());
            let nothing: WeakGc<[u8]> = coerce_weak!(WeakGc::<[u8; 2]>::new() => [u8]);
            assert!(nothing.upgrade().is_none());
        }

        #[test]
        fn a_pinned_object_derefs_to_its_value() {
            let pinned: Pin<Gc<String>> = Gc::pin(String::from("pinned"));
            let clone = pinned.clone();
            assert_eq!(&*clone, "pinned");
        }
    };
}

mod shared_heap {
    use janitor::coerce_weak;
    use janitor::gc::{ConditionalWeakTable, Gc, GcCell, Trace, WeakGc, collect};

    both_heaps!();
}

mod thread_local_heap {
    use janitor::coerce_unsync_weak as coerce_weak;
    use janitor::gc::Trace;
    use janitor::gc::unsync::{ConditionalWeakTable, Gc, GcCell, WeakGc, collect};

    both_heaps!();
}

// What follows is the thread-local heap's alone.

#[test]
fn get_mut_gives_the_value_again_once_the_weak_references_are_gone() {
    // As `Rc::get_mut`: the weak references alive now count, not the ones that were.
    let mut only = Gc::new(String::from("a"));
    let weak = Gc::downgrade(&only);
    assert!(Gc::get_mut(&mut only).is_none());
    drop(weak);
    Gc::get_mut(&mut only).unwrap().push('b');
    assert_eq!(&*only, "ab");
}

/// A finalizable value that counts its finalizations.
#[derive(Trace)]
#[trace(unsync_finalize)]
struct Finalized {
    #[trace(skip)]
    finalized: Rc<Cell<usize>>,
}

impl Finalize for Finalized {
    fn finalize(this: &Gc<Self>) {
        this.finalized.set(this.finalized.get() + 1);
    }
}

#[test]
fn get_mut_gives_the_value_of_an_object_registered_for_finalization_which_still_finalizes() {
    let finalized = Rc::new(Cell::new(0));
    let mut object = Gc::new(Finalized {
        finalized: Rc::new(Cell::new(0)),
    });
    Gc::get_mut(&mut object).unwrap().finalized = finalized.clone();
    drop(object);
    wait_for_pending_finalizers();
    assert_eq!(finalized.get(), 1);
}

#[test]
fn try_unwrap_refuses_an_object_registered_for_finalization_until_it_is_suppressed() {
    let finalized = Rc::new(Cell::new(0));
    let object = Gc::new(Finalized {
        finalized: finalized.clone(),
    });
    let Err(object) = Gc::try_unwrap(object) else {
        panic!("registered for finalization")
    };
    suppress_finalize(&object);
    let value = Gc::try_unwrap(object).ok().unwrap();
    collect();
    assert_eq!(finalized.get(), 0);
    assert_eq!(Rc::strong_count(&value.finalized), 2);
}

#[test]
fn into_inner_of_a_registered_object_runs_its_finalizer_instead() {
    let finalized = Rc::new(Cell::new(0));
    let object = Gc::new(Finalized {
        finalized: finalized.clone(),
    });
    assert!(Gc::into_inner(object).is_none());
    wait_for_pending_finalizers();
    assert_eq!(finalized.get(), 1);
}

#[test]
fn new_cyclic_registers_a_finalizable_value_which_finalizes_once_dropped() {
    let finalized = Rc::new(Cell::new(0));
    let object = Gc::new_cyclic(|this: &WeakGc<Finalized>| {
        assert!(this.upgrade().is_none());
        Finalized {
            finalized: finalized.clone(),
        }
    });
    drop(object);
    wait_for_pending_finalizers();
    assert_eq!(finalized.get(), 1);
}

/// A self-referencing value whose builder runs a collection.
#[derive(Trace)]
struct Cyclic {
    this: WeakGc<Cyclic>,
    next: GcCell<Option<Gc<Cyclic>>>,
}

#[test]
fn a_collection_while_new_cyclic_builds_leaves_the_unbuilt_object_alone() {
    let object = Gc::new_cyclic(|this| {
        collect();
        assert!(this.upgrade().is_none());
        Cyclic {
            this: this.clone(),
            next: GcCell::new(None),
        }
    });
    *object.next.borrow_mut() = Some(object.clone());
    let weak = object.this.clone();
    collect();
    assert!(weak.upgrade().is_some(), "held by `object`");
    drop(object);
    collect();
    assert!(weak.upgrade().is_none(), "its cycle is freed");
}

trait Native: Trace {
    fn call(&self, argument: i64) -> i64;
    fn capture(&self, environment: Gc<dyn Native>);
}

/// A closure with an `Rc` native (not `Send`): the thread-local heap's kind of trait object.
#[derive(Trace)]
struct Closure {
    #[trace(skip)]
    native: Rc<dyn Fn(i64) -> i64>,
    environment: GcCell<Option<Gc<dyn Native>>>,
    #[trace(skip)]
    dropped: Rc<Cell<usize>>,
}

impl Native for Closure {
    fn call(&self, argument: i64) -> i64 {
        (self.native)(argument)
    }
    fn capture(&self, environment: Gc<dyn Native>) {
        *self.environment.borrow_mut() = Some(environment);
    }
}

impl Drop for Closure {
    fn drop(&mut self) {
        self.dropped.set(self.dropped.get() + 1);
    }
}

#[test]
fn a_cycle_of_trait_objects_that_are_not_send_is_freed_by_a_collection() {
    let dropped = Rc::new(Cell::new(0));
    let make = |step: i64| -> Gc<dyn Native> {
        coerce_unsync_gc!(Gc::new(Closure {
            native: Rc::new(move |x| x + step),
            environment: GcCell::new(None),
            dropped: dropped.clone(),
        }) => dyn Native)
    };
    let (one, two) = (make(1), make(2));
    one.capture(two.clone());
    two.capture(one.clone());
    assert_eq!(one.call(two.call(0)), 3);
    let weak: WeakGc<dyn Native> = coerce_unsync_weak!(Gc::downgrade(&Gc::new(Closure {
        native: Rc::new(|x| x),
        environment: GcCell::new(None),
        dropped: dropped.clone(),
    })) => dyn Native);
    assert!(weak.upgrade().is_none(), "its only Gc dropped");
    assert_eq!(dropped.get(), 1);
    drop((one, two));
    collect();
    assert_eq!(dropped.get(), 3);
}

#[test]
fn the_bytes_of_slices_and_strings_are_counted_while_they_live() {
    let before = memory_info().heap_bytes;
    let text: Gc<str> = Gc::from("x".repeat(1000).as_str());
    let numbers: Gc<[u64]> = Gc::from(vec![7; 1000]);
    let during = memory_info().heap_bytes;
    assert!(during >= before + 1000 + 8000, "{before} then {during}");
    drop((text, numbers));
    assert_eq!(memory_info().heap_bytes, before);
}

#[test]
fn a_slice_that_holds_a_refcell_and_an_rc_is_a_thread_local_value() {
    let shared = Rc::new(RefCell::new(Vec::new()));
    let slice: Gc<[Rc<RefCell<Vec<u8>>>]> = Gc::from(vec![shared.clone(), shared.clone()]);
    slice[0].borrow_mut().push(1);
    slice[1].borrow_mut().push(2);
    assert_eq!(*shared.borrow(), [1, 2]);
    drop(slice);
    assert_eq!(Rc::strong_count(&shared), 1);
}

/// A garbage cycle member whose `Drop` keeps a `Gc` to the other member.
#[derive(Trace)]
struct Escape {
    other: GcCell<Option<Gc<Escape>>>,
}

thread_local!(static ESCAPED: RefCell<Option<Gc<Escape>>> = const { RefCell::new(None) });

impl Drop for Escape {
    fn drop(&mut self) {
        if let Some(other) = self.other.borrow().as_ref() {
            ESCAPED.with_borrow_mut(|escaped| *escaped = Some(other.clone()));
        }
    }
}

#[test]
fn try_unwrap_refuses_the_only_gc_of_a_cycle_member_whose_value_is_gone() {
    let a = Gc::new(Escape {
        other: GcCell::new(None),
    });
    let b = Gc::new(Escape {
        other: GcCell::new(Some(a.clone())),
    });
    *a.other.borrow_mut() = Some(b.clone());
    drop((a, b));
    collect();
    let escaped = ESCAPED
        .take()
        .expect("a Drop kept a Gc to the other member");
    assert_eq!(Gc::strong_count(&escaped), 1, "the only Gc");
    let escaped = Gc::try_unwrap(escaped)
        .err()
        .expect("its value was dropped");
    assert!(Gc::into_inner(escaped).is_none());
}
