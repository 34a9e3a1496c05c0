//! `Send`, `Sync` and `Unpin` of the public pointer types of both heaps, their cells and locks and
//! the guards of those, pinned at compile time: each assertion below is a constant that stops the
//! test from compiling if an implementation appears or disappears.
//!
//! `Probe<T>` has an inherent constant when `T` has the trait, and a trait's default constant
//! otherwise; inherent items win, so `Probe::<T>::SEND` says whether `T: Send`.

// The minimum supported Rust (1.88) does not count uses inside `const _` items.
#![allow(dead_code)]

use janitor::gc::{
    Gc, GcCell, GcMutex, GcMutexGuard, GcReadGuard, GcRef, GcRefMut, GcRwLock, GcWriteGuard,
    WeakGc, unsync,
};
use std::cell::Cell;
use std::marker::{PhantomData, PhantomPinned};
use std::pin::Pin;
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

/// `Send` but not `Sync`.
type SendOnly = Cell<u8>;
/// `Sync` but not `Send`.
type SyncOnly = std::sync::MutexGuard<'static, u8>;

// `Gc<T>` and `WeakGc<T>` are `Send` and `Sync` exactly when `T` is both (as `Arc`), and `Unpin`
// whatever `T`: moving the pointer never moves the value.
traits!(Gc<u8> => true, true, true);
traits!(Gc<str> => true, true, true);
traits!(Gc<[u8]> => true, true, true);
traits!(Gc<dyn std::fmt::Debug + Send + Sync> => true, true, true);
traits!(Gc<dyn std::fmt::Debug> => false, false, true);
traits!(Gc<Rc<u8>> => false, false, true);
traits!(Gc<SendOnly> => false, false, true);
traits!(Gc<SyncOnly> => false, false, true);
traits!(Gc<PhantomPinned> => true, true, true);

traits!(WeakGc<u8> => true, true, true);
traits!(WeakGc<str> => true, true, true);
traits!(WeakGc<[u8]> => true, true, true);
traits!(WeakGc<dyn std::fmt::Debug + Send + Sync> => true, true, true);
traits!(WeakGc<Rc<u8>> => false, false, true);
traits!(WeakGc<SendOnly> => false, false, true);
traits!(WeakGc<SyncOnly> => false, false, true);
traits!(WeakGc<PhantomPinned> => true, true, true);

// A pinned `Gc` is the `Gc`'s traits: `Pin` adds none and takes none away.
traits!(Pin<Gc<u8>> => true, true, true);
traits!(Pin<Gc<PhantomPinned>> => true, true, true);
traits!(Pin<Gc<Rc<u8>>> => false, false, true);

// The thread-local heap's pointers never leave their thread, whatever `T`.
traits!(unsync::Gc<u8> => false, false, true);
traits!(unsync::Gc<str> => false, false, true);
traits!(unsync::Gc<PhantomPinned> => false, false, true);
traits!(unsync::WeakGc<u8> => false, false, true);
traits!(unsync::WeakGc<PhantomPinned> => false, false, true);

// The cells and locks: `GcCell` as `RwLock` (its flag admits several readers across threads),
// `GcMutex` as `Mutex` (one thread at a time sees the value), `GcRwLock` as `RwLock`; each
// `Unpin` as its value is, since the value is inline. `unsync::GcCell` as `RefCell`.
traits!(GcCell<u8> => true, true, true);
traits!(GcCell<SendOnly> => true, false, true);
traits!(GcCell<SyncOnly> => false, false, true);
traits!(GcCell<Rc<u8>> => false, false, true);
traits!(GcCell<PhantomPinned> => true, true, false);
traits!(GcMutex<u8> => true, true, true);
traits!(GcMutex<SendOnly> => true, true, true);
traits!(GcMutex<SyncOnly> => false, false, true);
traits!(GcMutex<PhantomPinned> => true, true, false);
traits!(GcRwLock<u8> => true, true, true);
traits!(GcRwLock<SendOnly> => true, false, true);
traits!(GcRwLock<SyncOnly> => false, false, true);
traits!(GcRwLock<PhantomPinned> => true, true, false);
traits!(unsync::GcCell<u8> => true, false, true);
traits!(unsync::GcCell<Rc<u8>> => false, false, true);

// Their guards: a `GcCell`'s give its borrow back with one atomic operation, from any thread;
// a lock's are unlocked on the thread that locked (as `std`'s). Sharing any guard shares `&T`.
traits!(GcRef<'static, u8> => true, true, true);
traits!(GcRef<'static, SendOnly> => false, false, true);
traits!(GcRefMut<'static, u8> => true, true, true);
traits!(GcRefMut<'static, SendOnly> => true, false, true);
traits!(GcRefMut<'static, SyncOnly> => false, true, true);
traits!(GcMutexGuard<'static, u8> => false, true, true);
traits!(GcMutexGuard<'static, SendOnly> => false, false, true);
traits!(GcReadGuard<'static, u8> => false, true, true);
traits!(GcWriteGuard<'static, u8> => false, true, true);
traits!(GcWriteGuard<'static, SendOnly> => false, false, true);

// The probe itself tells the traits apart.
traits!(SendOnly => true, false, true);
traits!(SyncOnly => false, true, true);
traits!(PhantomPinned => true, true, false);

#[test]
fn a_gc_and_its_weak_reference_move_to_another_thread_and_back() {
    let text: Gc<str> = Gc::from("shared");
    let weak = Gc::downgrade(&text);
    let (text, weak) = std::thread::spawn(move || (text, weak)).join().unwrap();
    assert!(Gc::ptr_eq(&weak.upgrade().unwrap(), &text));
}
