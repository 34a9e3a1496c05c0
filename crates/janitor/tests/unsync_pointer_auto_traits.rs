//! `Send`, `Sync` and `Unpin` of the thread-local heap's pointer types, pinned at compile time:
//! each assertion below is a constant that stops the test from compiling if an implementation
//! appears or disappears (the probe is `gc_pointer_auto_traits.rs`'s).
//!
//! `Probe<T>` has an inherent constant when `T` has the trait, and a trait's default constant
//! otherwise; inherent items win, so `Probe::<T>::SEND` says whether `T: Send`.

// The minimum supported Rust (1.88) does not count uses inside `const _` items.
#![allow(dead_code)]

use janitor::gc::unsync::{Gc, GcCell, WeakGc};
use std::marker::{PhantomData, PhantomPinned};
use std::rc::Rc;

struct Probe<T: ?Sized>(PhantomData<T>);

trait NotSend {
    const SEND: bool = false;
}
trait NotSync {
    const SYNC: bool = false;
}
trait NotUnpin {
    const UNPIN: bool = false;
}
impl<T: ?Sized> NotSend for Probe<T> {}
impl<T: ?Sized> NotSync for Probe<T> {}
impl<T: ?Sized> NotUnpin for Probe<T> {}

impl<T: ?Sized + Send> Probe<T> {
    const SEND: bool = true;
}
impl<T: ?Sized + Sync> Probe<T> {
    const SYNC: bool = true;
}
impl<T: ?Sized + Unpin> Probe<T> {
    const UNPIN: bool = true;
}

/// Asserts `Send`, `Sync` and `Unpin` of a type, in that order.
macro_rules! traits {
    ($type:ty => $send:expr, $sync:expr, $unpin:expr) => {
const _: () = assert!(Probe::<$type>::SEND == $send, stringify!($type: Send));
const _: () = assert!(Probe::<$type>::SYNC == $sync, stringify!($type: Sync));
const _: () = assert!(Probe::<$type>::UNPIN == $unpin, stringify!($type: Unpin));
    };
}

// Neither `Send` nor `Sync` whatever `T` (the counts are plain integers owned by the thread,
// as `Rc`'s), and `Unpin` whatever `T`: moving the pointer never moves the value.
traits!(Gc<u8> => false, false, true);
traits!(Gc<str> => false, false, true);
traits!(Gc<[u8]> => false, false, true);
traits!(Gc<dyn std::fmt::Debug> => false, false, true);
traits!(Gc<dyn std::fmt::Debug + Send + Sync> => false, false, true);
traits!(Gc<Rc<u8>> => false, false, true);
traits!(Gc<PhantomPinned> => false, false, true);
traits!(Gc<GcCell<u8>> => false, false, true);

traits!(WeakGc<u8> => false, false, true);
traits!(WeakGc<str> => false, false, true);
traits!(WeakGc<[u8]> => false, false, true);
traits!(WeakGc<dyn std::fmt::Debug + Send + Sync> => false, false, true);
traits!(WeakGc<Rc<u8>> => false, false, true);
traits!(WeakGc<PhantomPinned> => false, false, true);

// The probe itself tells the traits apart.
traits!(u8 => true, true, true);
traits!(PhantomPinned => true, true, false);

/// A value that must not move once pinned.
#[derive(janitor::gc::Trace)]
struct SelfAddressed {
    #[trace(skip)]
    _pinned: PhantomPinned,
}

#[test]
fn a_pinned_value_that_is_not_unpin_stays_in_place_as_its_gc_moves() {
    let pinned = Gc::pin(SelfAddressed {
        _pinned: PhantomPinned,
    });
    let address: *const SelfAddressed = &*pinned;
    let moved = Box::new(pinned); // the pointer moves; the value does not
    assert!(std::ptr::eq(&**moved, address));
}
