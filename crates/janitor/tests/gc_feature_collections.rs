//! `Trace` behind the features `hashbrown`, `indexmap`, `smallvec` and `parking_lot`: a cycle
//! through each of their collections and locks is freed.

use janitor::gc::{Gc, GcCell, Trace, TraceMeta, collect};
use std::hash::RandomState;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Counts the drops of the values that hold it.
#[derive(Clone, Default)]
struct Drops(Arc<AtomicUsize>);

impl Drop for Drops {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[derive(Trace)]
struct Node {
    by_name: GcCell<hashbrown::HashMap<u32, Gc<Node>, RandomState>>,
    ordered: GcCell<indexmap::IndexMap<u32, Gc<Node>, RandomState>>,
    inline: GcCell<smallvec::SmallVec<[Gc<Node>; 2]>>,
    locked: parking_lot::Mutex<Option<Gc<Node>>>,
    shared: parking_lot::RwLock<Option<Gc<Node>>>,
    sets: GcCell<(
        hashbrown::HashSet<u32, RandomState>,
        indexmap::IndexSet<u32, RandomState>,
    )>,
    #[trace(skip)]
    _drops: Drops,
}

fn node(drops: &Drops) -> Gc<Node> {
    Gc::new(Node {
        by_name: GcCell::default(),
        ordered: GcCell::default(),
        inline: GcCell::default(),
        locked: parking_lot::Mutex::new(None),
        shared: parking_lot::RwLock::new(None),
        sets: GcCell::default(),
        _drops: drops.clone(),
    })
}

#[test]
fn a_cycle_through_each_feature_collection_and_lock_is_freed() {
    const {
        assert!(
            !<hashbrown::HashSet<u32, RandomState>>::HOLDS_GC
                && !<indexmap::IndexSet<u32, RandomState>>::HOLDS_GC
        )
    };
    const { assert!(<parking_lot::Mutex<Option<Gc<Node>>>>::MUTABLE_EDGES) };
    let drops = Drops::default();
    let nodes: Vec<Gc<Node>> = (0..5).map(|_| node(&drops)).collect();
    nodes[0].by_name.borrow_mut().insert(1, nodes[1].clone());
    nodes[1].ordered.borrow_mut().insert(2, nodes[2].clone());
    nodes[2].inline.borrow_mut().push(nodes[3].clone());
    *nodes[3].locked.lock() = Some(nodes[4].clone());
    *nodes[4].shared.write() = Some(nodes[0].clone());
    nodes[4].sets.borrow_mut().0.insert(4);
    drop(nodes);
    collect();
    assert_eq!(
        drops.0.load(Ordering::SeqCst),
        5,
        "the cycle through the feature types leaked"
    );
}
