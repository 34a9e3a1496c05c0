//! `#[derive(Trace)]` on generic types and enums: the collector finds every `Gc` reached through a
//! traced field or variant; a type parameter that no traced field uses needs no `Trace`; a
//! `#[trace(skip)]` variant is not traced; a type that holds itself by value (a tree of boxes)
//! derives it, and holds a `Gc` only through its other fields.

use janitor::gc::{Gc, GcCell, Trace, TraceMeta, collect};
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// What a type from another crate looks like to the derive: it implements no `Trace`.
struct Foreign {
    id: u32,
}

/// Counts the drops of the values that hold it.
#[derive(Clone, Default)]
struct Drops(Arc<AtomicUsize>);

impl Drops {
    fn count(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

impl Drop for Drops {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// `M` is used by a skipped field and, through `Gc`, by a traced one: a `Gc` is traced whatever
/// it points to, so `M` needs no `Trace`.
#[derive(Trace)]
struct Tagged<T, M> {
    next: GcCell<Option<Gc<Tagged<T, M>>>>,
    payload: T,
    #[trace(skip)]
    meta: M,
    #[trace(skip)]
    _drops: Drops,
}

fn tagged<T, M>(payload: T, meta: M, drops: &Drops) -> Gc<Tagged<T, M>>
where
    Tagged<T, M>: TraceMeta + Send + Sync + 'static,
{
    Gc::new(Tagged {
        next: GcCell::new(None),
        payload,
        meta,
        _drops: drops.clone(),
    })
}

#[test]
fn a_type_parameter_used_only_in_skipped_fields_may_be_a_type_without_trace() {
    let value = Tagged::<u8, Foreign> {
        next: GcCell::new(None),
        payload: 1,
        meta: Foreign { id: 7 },
        _drops: Drops::default(),
    };
    const { assert!(<Tagged<u8, Foreign>>::MUTABLE_EDGES) };
    assert_eq!(value.meta.id + u32::from(value.payload), 8);
}

#[test]
fn a_cycle_through_a_traced_generic_field_is_freed() {
    let drops = Drops::default();
    let a = tagged(Vec::<Gc<u8>>::new(), Foreign { id: 1 }, &drops);
    let b = tagged(vec![Gc::new(2u8)], Foreign { id: 2 }, &drops);
    *a.next.borrow_mut() = Some(b.clone());
    *b.next.borrow_mut() = Some(a.clone());
    assert_eq!(a.meta.id + b.meta.id, 3);
    drop((a, b));
    collect();
    assert_eq!(drops.count(), 2);
}

/// The payload's `Gc` is the only edge of the cycle: found only if the parameter's field is traced.
#[derive(Trace)]
struct Boxed<T> {
    payload: T,
    #[trace(skip)]
    _drops: Drops,
}

#[derive(Trace)]
struct Link(GcCell<Option<Gc<Boxed<Link>>>>);

#[test]
fn a_cycle_whose_edge_is_a_type_parameter_is_freed() {
    let drops = Drops::default();
    let a = Gc::new(Boxed {
        payload: Link(GcCell::new(None)),
        _drops: drops.clone(),
    });
    let b = Gc::new(Boxed {
        payload: Link(GcCell::new(Some(a.clone()))),
        _drops: drops.clone(),
    });
    *a.payload.0.borrow_mut() = Some(b.clone());
    drop((a, b));
    collect();
    assert_eq!(drops.count(), 2);
}

/// A parameter that appears in no field but `PhantomData`, which is skipped.
#[derive(Trace)]
struct Id<T> {
    raw: u64,
    #[trace(skip)]
    kind: PhantomData<fn() -> T>,
}

#[test]
fn a_type_parameter_that_no_traced_field_uses_gets_no_bound() {
    let id = Gc::new(Id::<Foreign> {
        raw: 9,
        kind: PhantomData,
    });
    const { assert!(!<Id<Foreign>>::HOLDS_GC) };
    assert_eq!(id.raw, 9);
}

/// `I::Item` is traced and `I` is not: the derive bounds the associated type, not `I`, so an
/// iterator type without `Trace` is fine.
#[derive(Trace)]
struct Peeked<I: Iterator> {
    head: Option<I::Item>,
    #[trace(skip)]
    rest: I,
    #[trace(skip)]
    _drops: Drops,
}

type PeekedBacks = Peeked<std::vec::IntoIter<Gc<Back>>>;

#[derive(Trace)]
struct Back {
    to: GcCell<Option<Gc<PeekedBacks>>>,
    #[trace(skip)]
    _drops: Drops,
}

#[test]
fn a_cycle_through_an_associated_type_of_a_skipped_parameter_is_freed() {
    let drops = Drops::default();
    let back = Gc::new(Back {
        to: GcCell::new(None),
        _drops: drops.clone(),
    });
    let peeked = Gc::new(Peeked {
        head: Some(back.clone()),
        rest: Vec::new().into_iter(),
        _drops: drops.clone(),
    });
    *back.to.borrow_mut() = Some(peeked.clone());
    assert_eq!(peeked.rest.len(), 0);
    drop((back, peeked));
    collect();
    assert_eq!(drops.count(), 2);
}

/// `Opaque` is skipped: its fields are not traced, so its parameter needs no `Trace`.
#[derive(Trace)]
enum Slot<X> {
    Linked(GcCell<Option<Gc<Slot<X>>>>, #[trace(skip)] Drops),
    #[trace(skip)]
    Opaque(X, Gc<u8>),
    #[trace(skip)]
    Empty,
}

#[test]
fn a_cycle_through_a_traced_variant_is_freed_beside_a_skipped_one() {
    let drops = Drops::default();
    let a = Gc::new(Slot::<Foreign>::Linked(GcCell::new(None), drops.clone()));
    let b = Gc::new(Slot::Linked(GcCell::new(Some(a.clone())), drops.clone()));
    if let Slot::Linked(next, drops) = &*a {
        *next.borrow_mut() = Some(b.clone());
        assert_eq!(drops.count(), 0);
    }
    let opaque = Gc::new(Slot::Opaque(Foreign { id: 3 }, Gc::new(3)));
    let empty = Gc::new(Slot::<Foreign>::Empty);
    drop((a, b));
    collect();
    assert_eq!(drops.count(), 2);
    assert!(matches!(&*opaque, Slot::Opaque(foreign, three) if foreign.id == 3 && **three == 3));
    assert!(matches!(*empty, Slot::Empty));
}

/// Its only `Gc` is in a skipped variant, so the type holds none as far as the collector knows.
#[derive(Trace)]
enum Cached {
    Computed(u64),
    #[trace(skip)]
    Shared(Gc<u64>),
}

#[test]
fn a_skipped_variant_contributes_no_edges() {
    const { assert!(!Cached::HOLDS_GC && !Cached::MUTABLE_EDGES) };
    let shared = Gc::new(Cached::Shared(Gc::new(5)));
    let computed = Gc::new(Cached::Computed(4));
    assert!(matches!(&*shared, Cached::Shared(five) if **five == 5));
    assert!(matches!(*computed, Cached::Computed(4)));
}

/// `Hidden`'s cell holds a `Gc`, but the variant is skipped: the collector never sees that edge.
#[derive(Trace)]
enum Edge {
    Traced(GcCell<Option<Gc<Edge>>>, #[trace(skip)] Drops),
    #[trace(skip)]
    Hidden(GcCell<Option<Gc<Edge>>>, Drops),
}

#[test]
fn a_cycle_through_a_skipped_variant_is_never_freed() {
    let drops = Drops::default();
    let a = Gc::new(Edge::Traced(GcCell::new(None), drops.clone()));
    let b = Gc::new(Edge::Hidden(GcCell::new(Some(a.clone())), drops.clone()));
    if let Edge::Traced(next, held) = &*a {
        *next.borrow_mut() = Some(b.clone());
        assert_eq!(held.count(), 0);
    }
    if let Edge::Hidden(next, held) = &*b {
        assert!(next.borrow().is_some());
        assert_eq!(held.count(), 0);
    }
    drop((a, b));
    collect();
    // The edge from `b` counts as held from outside, so the cycle leaks, safely.
    assert_eq!(drops.count(), 0);
}

/// Holds itself by value (its children), and no `Gc`.
#[derive(Trace)]
struct Tree {
    children: Vec<Tree>,
    #[trace(skip)]
    value: u32,
}

/// Holds itself by value and, beside that, a `Gc` with a fixed edge.
#[derive(Trace)]
struct Leaves {
    children: Vec<Leaves>,
    leaf: Option<Gc<u8>>,
}

/// A generic enum that holds itself by value in boxes.
#[derive(Trace)]
enum Expr<T> {
    Value(T),
    Add(Box<Expr<T>>, Box<Self>),
}

/// A list held by value, whose nodes may point into the heap through cells.
#[derive(Trace)]
struct Chain {
    next: Option<Box<Chain>>,
    peer: GcCell<Option<Gc<Chain>>>,
    #[trace(skip)]
    _drops: Drops,
}

#[test]
fn a_type_that_holds_itself_by_value_holds_a_gc_only_through_its_other_fields() {
    const {
        assert!(!Tree::HOLDS_GC && !Tree::MUTABLE_EDGES && Tree::FINALIZER.is_none());
        assert!(Leaves::HOLDS_GC && !Leaves::MUTABLE_EDGES);
        assert!(!<Expr<u8>>::HOLDS_GC && <Expr<Gc<u8>>>::HOLDS_GC);
        assert!(<Expr<GcCell<Gc<u8>>>>::MUTABLE_EDGES);
        assert!(Chain::HOLDS_GC && Chain::MUTABLE_EDGES);
    };
    let sum = Expr::Add(Box::new(Expr::Value(1)), Box::new(Expr::Value(2)));
    assert!(matches!(sum, Expr::Add(left, _) if matches!(*left, Expr::Value(1))));
    let tree = Gc::new(Tree {
        children: vec![Tree {
            children: Vec::new(),
            value: 2,
        }],
        value: 1,
    });
    assert_eq!(tree.value + tree.children[0].value, 3);
}

#[test]
fn a_cycle_through_a_type_that_holds_itself_by_value_is_freed() {
    let drops = Drops::default();
    let link = |next| Chain {
        next,
        peer: GcCell::new(None),
        _drops: drops.clone(),
    };
    let head = Gc::new(link(Some(Box::new(link(Some(Box::new(link(None))))))));
    let last = head.next.as_ref().unwrap().next.as_ref().unwrap();
    *last.peer.borrow_mut() = Some(head.clone());
    drop(head);
    collect();
    assert_eq!(
        drops.count(),
        3,
        "the cycle through the innermost link was freed"
    );
}
