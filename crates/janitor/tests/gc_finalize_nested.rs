//! Where a finalizable value may sit: as an object's own value it is finalized, and so is every
//! `Gc<T>` of it held inside containers, cells and derived fields, since each is an object of
//! its own. (Held by value inside another value it would never be finalized, so that does not
//! compile: `finalizable_inside_fail` pins those errors.) Each test counts its own objects
//! through its own tally; no test sleeps: they collect and wait for pending finalizers.

use janitor::gc::{
    Finalize, Gc, GcCell, GcMutex, Trace, TraceMeta, collect, wait_for_pending_finalizers,
};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Trace)]
#[trace(finalize)]
struct Connection {
    #[trace(skip)]
    finalized: Arc<AtomicUsize>,
}

impl Finalize for Connection {
    fn finalize(this: &Gc<Self>) {
        this.finalized.fetch_add(1, Ordering::SeqCst);
    }
}

/// A tally of finalized connections, and a maker of connections that report to it.
struct Tally(Arc<AtomicUsize>);

impl Tally {
    fn new() -> Self {
        Self(Arc::new(AtomicUsize::new(0)))
    }

    fn connection(&self) -> Connection {
        Connection {
            finalized: self.0.clone(),
        }
    }

    fn object(&self) -> Gc<Connection> {
        Gc::new(self.connection())
    }

    /// The finalizers run once everything that held the connections is gone.
    fn finalized_after_collecting(&self) -> usize {
        collect();
        wait_for_pending_finalizers();
        self.0.load(Ordering::SeqCst)
    }
}

#[derive(Trace)]
struct Pool {
    idle: Vec<Option<Gc<Connection>>>,
    busy: GcMutex<HashMap<u32, Gc<Connection>>>,
}

#[test]
fn a_finalizable_value_that_is_an_objects_own_value_is_finalized() {
    let tally = Tally::new();
    drop(tally.object());
    drop(Gc::<Connection>::from(Box::new(tally.connection())));
    assert_eq!(tally.finalized_after_collecting(), 2);
}

#[test]
fn a_gc_of_a_finalizable_value_in_a_std_container_is_an_object_of_its_own_and_is_finalized() {
    let tally = Tally::new();
    let in_vec = Gc::new(vec![tally.object(), tally.object()]);
    let in_option = Gc::new(Some(tally.object()));
    let in_box = Gc::new(Box::new(tally.object()));
    let in_tuple = Gc::new((1_u8, tally.object()));
    let in_array = Gc::new([tally.object(), tally.object()]);
    let in_map = Gc::new(HashMap::from([(1_u32, tally.object())]));
    let in_slice: Gc<[Gc<Connection>]> = (0..2).map(|_| tally.object()).collect();
    assert_eq!(tally.finalized_after_collecting(), 0, "all still held");
    drop((
        in_vec, in_option, in_box, in_tuple, in_array, in_map, in_slice,
    ));
    assert_eq!(tally.finalized_after_collecting(), 10);
}

#[test]
fn a_gc_of_a_finalizable_value_in_a_cell_or_a_derived_field_is_finalized() {
    let tally = Tally::new();
    let cell = Gc::new(GcCell::new(Some(tally.object())));
    let pool = Gc::new(Pool {
        idle: vec![Some(tally.object()), None],
        busy: GcMutex::new(HashMap::from([(7, tally.object())])),
    });
    *cell.borrow_mut() = None;
    assert_eq!(
        tally.finalized_after_collecting(),
        1,
        "the one the cell let go"
    );
    pool.busy.lock().clear();
    assert_eq!(tally.finalized_after_collecting(), 2);
    drop((cell, pool));
    assert_eq!(tally.finalized_after_collecting(), 3);
}

#[test]
fn holders_of_gcs_of_finalizable_values_have_no_finalizer_of_their_own() {
    const {
        assert!(Connection::FINALIZER.is_some());
        assert!(<Gc<Connection>>::FINALIZER.is_none());
        assert!(<Vec<Option<Gc<Connection>>>>::FINALIZER.is_none());
        assert!(<(u8, Gc<Connection>)>::FINALIZER.is_none());
        assert!(<GcCell<Gc<Connection>>>::FINALIZER.is_none());
        assert!(Pool::FINALIZER.is_none());
    };
}
