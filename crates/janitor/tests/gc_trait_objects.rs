//! Trait objects on the heap: `Gc<dyn Trait>` for a trait with `Trace` as a supertrait, and
//! `Box<dyn Trace>` / `Gc<dyn Trace>` fields, which report what they hold (so cycles through them
//! are freed). None of these could be written before `Trace` lost its constants to `TraceMeta`:
//! a trait with associated constants cannot be made into a trait object.

use janitor::coerce_gc;
use janitor::gc::{Gc, GcCell, Trace, TraceMeta, collect};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

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

trait Shape: Trace + Send + Sync {
    fn area(&self) -> f64;
    fn link(&self, next: Gc<dyn Shape>);
}

#[derive(Trace)]
struct Square {
    #[trace(skip)]
    side: f64,
    next: GcCell<Option<Gc<dyn Shape>>>,
    #[trace(skip)]
    _drops: Drops,
}

impl Shape for Square {
    fn area(&self) -> f64 {
        self.side * self.side
    }
    fn link(&self, next: Gc<dyn Shape>) {
        *self.next.borrow_mut() = Some(next);
    }
}

#[derive(Trace)]
struct Circle {
    #[trace(skip)]
    radius: f64,
    next: GcCell<Option<Gc<dyn Shape>>>,
    #[trace(skip)]
    _drops: Drops,
}

impl Shape for Circle {
    fn area(&self) -> f64 {
        3.0 * self.radius * self.radius
    }
    fn link(&self, next: Gc<dyn Shape>) {
        *self.next.borrow_mut() = Some(next);
    }
}

#[test]
fn a_cycle_of_gc_dyn_trait_objects_of_two_types_is_freed() {
    let drops = Drops::default();
    let square: Gc<dyn Shape> = coerce_gc!(Gc::new(Square {
        side: 2.0,
        next: GcCell::new(None),
        _drops: drops.clone(),
    }) => dyn Shape);
    let circle: Gc<dyn Shape> = coerce_gc!(Gc::new(Circle {
        radius: 1.0,
        next: GcCell::new(None),
        _drops: drops.clone(),
    }) => dyn Shape);
    square.link(circle.clone());
    circle.link(square.clone());
    assert_eq!(square.area() + circle.area(), 7.0);
    drop((square, circle));
    collect();
    assert_eq!(
        drops.count(),
        2,
        "the cycle through `Gc<dyn Shape>` edges leaked"
    );
}

/// Holds its content behind a trait object: the collector sees only what `trace` reports.
#[derive(Trace)]
struct Boxed {
    content: Box<dyn Trace + Send + Sync>,
    #[trace(skip)]
    _drops: Drops,
}

#[derive(Trace)]
struct Back {
    to: GcCell<Option<Gc<Boxed>>>,
}

#[test]
fn a_box_dyn_trace_field_reports_its_content_so_a_cycle_through_it_is_freed() {
    const { assert!(<Box<dyn Trace + Send + Sync>>::HOLDS_GC) };
    const { assert!(<Box<dyn Trace + Send + Sync>>::MUTABLE_EDGES) };
    let drops = Drops::default();
    let back = Gc::new(Back {
        to: GcCell::new(None),
    });
    let boxed = Gc::new(Boxed {
        content: Box::new(back.clone()),
        _drops: drops.clone(),
    });
    *back.to.borrow_mut() = Some(boxed.clone());
    drop((back, boxed));
    collect();
    assert_eq!(
        drops.count(),
        1,
        "the cycle through the boxed trait object leaked"
    );
}

#[derive(Trace)]
struct Erased {
    any: GcCell<Option<Gc<dyn Trace + Send + Sync>>>,
    #[trace(skip)]
    _drops: Drops,
}

#[test]
fn a_gc_dyn_trace_field_is_an_edge_the_collector_follows() {
    let drops = Drops::default();
    let erased = Gc::new(Erased {
        any: GcCell::new(None),
        _drops: drops.clone(),
    });
    let itself: Gc<dyn Trace + Send + Sync> = coerce_gc!(erased.clone() => dyn Trace + Send + Sync);
    *erased.any.borrow_mut() = Some(itself);
    drop(erased);
    collect();
    assert_eq!(
        drops.count(),
        1,
        "the self-loop through `Gc<dyn Trace>` leaked"
    );
}

// A trait object of a trait of the program's in a `Box`: the one line that describes it.
// SAFETY: the defaults (can hold a `Gc`, mutable edges, no finalizer of its own).
unsafe impl TraceMeta for dyn Shape {}

#[derive(Trace)]
struct Gallery {
    shapes: GcCell<Vec<Box<dyn Shape>>>,
}

impl Shape for Gallery {
    fn area(&self) -> f64 {
        self.shapes.borrow().iter().map(|shape| shape.area()).sum()
    }
    fn link(&self, next: Gc<dyn Shape>) {
        self.shapes.borrow_mut().push(Box::new(Circle {
            radius: 0.0,
            next: GcCell::new(Some(next)),
            _drops: Drops::default(),
        }));
    }
}

#[test]
fn a_box_of_a_program_trait_object_is_traced_through_its_vtable() {
    let drops = Drops::default();
    let gallery = Gc::new(Gallery {
        shapes: GcCell::new(Vec::new()),
    });
    // The gallery holds, in a box, a circle that points back to the gallery.
    let as_shape: Gc<dyn Shape> = coerce_gc!(gallery.clone() => dyn Shape);
    gallery.shapes.borrow_mut().push(Box::new(Circle {
        radius: 1.0,
        next: GcCell::new(Some(as_shape)),
        _drops: drops.clone(),
    }));
    assert_eq!(gallery.area(), 3.0);
    drop(gallery);
    collect();
    assert_eq!(
        drops.count(),
        1,
        "the cycle through `Box<dyn Shape>` leaked"
    );
}
