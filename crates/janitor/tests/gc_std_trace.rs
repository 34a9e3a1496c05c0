//! `Trace` for more of the standard library: cycles through a `OnceLock` set after construction,
//! through `std::sync::Mutex` and `RwLock` fields, and through an owned `Cow` are freed; markers
//! and atomics are fields like any other (no `#[trace(skip)]`), and a type parameter used only in
//! a `PhantomData` needs no `Trace`. On main none of these types was `Trace`.

use janitor::gc::{Gc, GcCell, Trace, collect};
use std::borrow::Cow;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

/// Counts the drops of the values that hold it.
#[derive(Clone, Default)]
struct Drops(Arc<AtomicUsize>);

impl Drops {
    fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Drop for Drops {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[derive(Trace)]
struct Lazy {
    next: OnceLock<Gc<Lazy>>,
    #[trace(skip)]
    _drops: Drops,
}

#[test]
fn a_cycle_closed_through_a_once_lock_after_construction_is_freed() {
    let drops = Drops::default();
    let a = Gc::new(Lazy {
        next: OnceLock::new(),
        _drops: drops.clone(),
    });
    let b = Gc::new(Lazy {
        next: OnceLock::from(a.clone()),
        _drops: drops.clone(),
    });
    assert!(a.next.set(b.clone()).is_ok());
    drop((a, b));
    collect();
    assert_eq!(drops.count(), 2, "the cycle through the OnceLock leaked");
}

#[derive(Trace)]
struct Locked {
    peers: Mutex<Vec<Gc<Locked>>>,
    readers: RwLock<Option<Gc<Locked>>>,
    visits: AtomicU32,
    #[trace(skip)]
    _drops: Drops,
}

#[test]
fn cycles_through_std_mutex_and_rw_lock_fields_are_freed() {
    let drops = Drops::default();
    let new = || {
        Gc::new(Locked {
            peers: Mutex::new(Vec::new()),
            readers: RwLock::new(None),
            visits: AtomicU32::new(0),
            _drops: drops.clone(),
        })
    };
    let (a, b, c) = (new(), new(), new());
    a.peers.lock().unwrap().push(b.clone());
    *b.readers.write().unwrap() = Some(a.clone());
    *c.readers.write().unwrap() = Some(c.clone());
    c.visits.fetch_add(1, Ordering::Relaxed);
    drop((a, b, c));
    collect();
    assert_eq!(drops.count(), 3, "a cycle through a std lock leaked");
}

#[derive(Trace)]
struct Copied {
    cells: Cow<'static, [GcCell<Option<Gc<Copied>>>]>,
    #[trace(skip)]
    _drops: Drops,
}

#[test]
fn a_cycle_through_an_owned_cow_is_freed() {
    let drops = Drops::default();
    let a = Gc::new(Copied {
        cells: Cow::Owned(vec![GcCell::new(None)]),
        _drops: drops.clone(),
    });
    *a.cells[0].borrow_mut() = Some(a.clone());
    drop(a);
    collect();
    assert_eq!(drops.count(), 1, "the cycle through the owned Cow leaked");
}

/// A type the program does not make `Trace`.
struct Meters;

#[derive(Trace)]
struct Typed<Unit> {
    unit: PhantomData<Unit>,
    next: GcCell<Option<Gc<Typed<Unit>>>>,
    #[trace(skip)]
    _drops: Drops,
}

#[test]
fn a_parameter_used_only_in_a_traced_phantom_data_needs_no_trace() {
    let drops = Drops::default();
    let typed = Gc::new(Typed::<Meters> {
        unit: PhantomData,
        next: GcCell::new(None),
        _drops: drops.clone(),
    });
    *typed.next.borrow_mut() = Some(typed.clone());
    drop(typed);
    collect();
    assert_eq!(drops.count(), 1);
}
