//! `Trace` for the standard library's types: leaves that hold no `Gc`, the owning containers
//! (which report what their elements report), and the shared pointers that report nothing.
//!
//! Invariant owned here: an impl reports exactly the `Gc`s its value owns, each once per trace,
//! and its constants are the OR of its elements' (a container of leaves is a leaf). A container
//! has no finalizer of its own, and its hooks refuse a finalizable element, which no finalizer
//! would ever see (`refuse_finalizable_inside`).

use crate::gc::core::trace::{
    Finalizer, Trace, TraceMeta, Tracer, UnsyncFinalizer, refuse_finalizable_inside,
    refuse_unsync_finalizable_inside,
};
#[cfg(all(feature = "handle", unix))]
use crate::handle::{HandleKind, SafeHandle};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet, LinkedList, VecDeque};
use std::marker::PhantomData;
use std::sync::atomic::{
    AtomicBool, AtomicI8, AtomicI16, AtomicI32, AtomicI64, AtomicIsize, AtomicU8, AtomicU16,
    AtomicU32, AtomicU64, AtomicUsize,
};
use std::sync::{Mutex, MutexGuard, OnceLock, RwLock, RwLockReadGuard, TryLockError};

macro_rules! leaf_trace {
    ($($ty:ty),* $(,)?) => {$(
        // SAFETY: the type holds no `Gc`, and reports none.
        unsafe impl Trace for $ty {
            #[inline]
            fn trace(&self, _: &mut Tracer<'_>) {}
        }
        // SAFETY: a leaf: no `Gc`, so no edge can change.
        unsafe impl TraceMeta for $ty {
            const HOLDS_GC: bool = false;
            const MUTABLE_EDGES: bool = false;
        }
    )*};
}

leaf_trace!(
    (),
    bool,
    char,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64,
    str,
    String,
    std::time::Duration,
    std::time::Instant,
    std::time::SystemTime,
    std::path::PathBuf,
    std::ffi::OsString,
    std::num::NonZeroU32,
    std::num::NonZeroU64,
    std::num::NonZeroUsize,
    AtomicBool,
    AtomicI8,
    AtomicI16,
    AtomicI32,
    AtomicI64,
    AtomicIsize,
    AtomicU8,
    AtomicU16,
    AtomicU32,
    AtomicU64,
    AtomicUsize,
);

// SAFETY: a shared reference to static data owns nothing.
unsafe impl<T: ?Sized + 'static> Trace for &'static T {
    fn trace(&self, _: &mut Tracer<'_>) {}
}
// SAFETY: reports nothing, so it is a leaf.
unsafe impl<T: ?Sized + 'static> TraceMeta for &'static T {
    const HOLDS_GC: bool = false;
    const MUTABLE_EDGES: bool = false;
}

// SAFETY: an `Arc` is shared ownership: a `Gc` inside it is owned by every holder of the `Arc`,
// some of which may be outside the heap, so reporting it as an edge of one object could free a
// reachable object. An `Arc` therefore reports nothing: what it holds counts as held from
// outside, and a cycle through an `Arc` leaks, as it does with `Rc`. Use `Gc` for shared
// ownership inside the heap.
unsafe impl<T: ?Sized> Trace for std::sync::Arc<T> {
    fn trace(&self, _: &mut Tracer<'_>) {}
}
// SAFETY: reports nothing, so it is a leaf.
unsafe impl<T: ?Sized> TraceMeta for std::sync::Arc<T> {
    const HOLDS_GC: bool = false;
    const MUTABLE_EDGES: bool = false;
}

/// A `SafeHandle` on the managed heap: `Gc<SafeHandle<K>>` releases its handle when the object is
/// freed. An object with a finalizer that holds one can still use it in its finalizer: the
/// handle is released after, when the finalized object (and then the handle's object) is freed,
/// which is the order .NET gets by making `SafeHandle` a critical finalizer.
#[cfg(all(feature = "handle", unix))]
// SAFETY: a handle holds no `Gc`.
unsafe impl<K: HandleKind> Trace for SafeHandle<K> {
    #[inline]
    fn trace(&self, _: &mut Tracer<'_>) {}
}
#[cfg(all(feature = "handle", unix))]
// SAFETY: a leaf: no `Gc` inside.
unsafe impl<K: HandleKind> TraceMeta for SafeHandle<K> {
    const HOLDS_GC: bool = false;
    const MUTABLE_EDGES: bool = false;
}

// SAFETY: a box owns its content and reports what the content reports. The content may be a
// trait object (`Box<dyn Trace + Send + Sync>`): its `trace` is reached through the vtable.
unsafe impl<T: ?Sized + Trace> Trace for Box<T> {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        (**self).trace(tracer)
    }
}
// SAFETY: the box's edges are its content's.
unsafe impl<T: ?Sized + TraceMeta> TraceMeta for Box<T> {
    const HOLDS_GC: bool = T::HOLDS_GC;
    const MUTABLE_EDGES: bool = T::MUTABLE_EDGES;
    const FINALIZER: Option<Finalizer<Self>> = refuse_finalizable_inside(T::FINALIZER.is_some());
    const UNSYNC_FINALIZER: Option<UnsyncFinalizer<Self>> =
        refuse_unsync_finalizable_inside(T::UNSYNC_FINALIZER.is_some());
}

// SAFETY: an option owns its content, if any.
unsafe impl<T: Trace> Trace for Option<T> {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if let Some(value) = self {
            value.trace(tracer)
        }
    }
}
// SAFETY: the content's constants.
unsafe impl<T: TraceMeta> TraceMeta for Option<T> {
    const HOLDS_GC: bool = T::HOLDS_GC;
    const MUTABLE_EDGES: bool = T::MUTABLE_EDGES;
    const FINALIZER: Option<Finalizer<Self>> = refuse_finalizable_inside(T::FINALIZER.is_some());
    const UNSYNC_FINALIZER: Option<UnsyncFinalizer<Self>> =
        refuse_unsync_finalizable_inside(T::UNSYNC_FINALIZER.is_some());
}

// SAFETY: a result owns whichever side it holds.
unsafe impl<T: Trace, E: Trace> Trace for Result<T, E> {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        match self {
            Ok(value) => value.trace(tracer),
            Err(error) => error.trace(tracer),
        }
    }
}
// SAFETY: the OR of the two sides' constants.
unsafe impl<T: TraceMeta, E: TraceMeta> TraceMeta for Result<T, E> {
    const HOLDS_GC: bool = T::HOLDS_GC || E::HOLDS_GC;
    const MUTABLE_EDGES: bool = T::MUTABLE_EDGES || E::MUTABLE_EDGES;
    const FINALIZER: Option<Finalizer<Self>> =
        refuse_finalizable_inside(T::FINALIZER.is_some() || E::FINALIZER.is_some());
    const UNSYNC_FINALIZER: Option<UnsyncFinalizer<Self>> = refuse_unsync_finalizable_inside(
        T::UNSYNC_FINALIZER.is_some() || E::UNSYNC_FINALIZER.is_some(),
    );
}

/// Implements `Trace` for a container by tracing each element its iterator yields once. The
/// walk is skipped when the elements cannot hold a `Gc`, which is why the elements need
/// `TraceMeta` and not only `Trace`.
macro_rules! sequence_trace {
    ($($ty:ty => <$($param:ident),*> $(where $($bound:ident: $trait:path),*)? => |$this:ident| $iter:expr;)*) => {$(
        // SAFETY: the container owns each element, and the iterator yields each once.
        unsafe impl<$($param: TraceMeta),* $($(, $bound: $trait)*)?> Trace for $ty {
            fn trace(&self, tracer: &mut Tracer<'_>) {
                if <Self as TraceMeta>::HOLDS_GC {
                    let $this = self;
                    for element in $iter {
                        element.trace(tracer);
                    }
                }
            }
        }
        // SAFETY: the OR of the elements' constants.
        unsafe impl<$($param: TraceMeta),* $($(, $bound: $trait)*)?> TraceMeta for $ty {
            const HOLDS_GC: bool = false $(|| $param::HOLDS_GC)*;
            const MUTABLE_EDGES: bool = false $(|| $param::MUTABLE_EDGES)*;
            const FINALIZER: Option<Finalizer<Self>> =
                refuse_finalizable_inside(false $(|| $param::FINALIZER.is_some())*);
            const UNSYNC_FINALIZER: Option<UnsyncFinalizer<Self>> =
                refuse_unsync_finalizable_inside(false $(|| $param::UNSYNC_FINALIZER.is_some())*);
        }
    )*};
}

sequence_trace! {
    Vec<T> => <T> => |this| this.iter();
    VecDeque<T> => <T> => |this| this.iter();
    LinkedList<T> => <T> => |this| this.iter();
    BinaryHeap<T> => <T> => |this| this.iter();
    BTreeSet<T> => <T> => |this| this.iter();
    HashSet<T, S> => <T> where S: Sized => |this| this.iter();
    [T] => <T> => |this| this.iter();
}
#[cfg(feature = "hashbrown")]
sequence_trace! {
    hashbrown::HashSet<T, S> => <T> where S: Sized => |this| this.iter();
}
#[cfg(feature = "indexmap")]
sequence_trace! {
    indexmap::IndexSet<T, S> => <T> where S: Sized => |this| this.iter();
}

/// Implements `Trace` for a map by tracing each key and value once, skipping the walk when
/// neither can hold a `Gc`.
macro_rules! map_trace {
    ($($ty:ty => <$($param:ident),*>;)*) => {$(
        // SAFETY: a map owns its keys and values, and iteration yields each entry once.
        unsafe impl<K: TraceMeta, V: TraceMeta $(, $param)*> Trace for $ty {
            fn trace(&self, tracer: &mut Tracer<'_>) {
                if K::HOLDS_GC || V::HOLDS_GC {
                    for (key, value) in self {
                        key.trace(tracer);
                        value.trace(tracer);
                    }
                }
            }
        }
        // SAFETY: the OR of the keys' and values' constants.
        unsafe impl<K: TraceMeta, V: TraceMeta $(, $param)*> TraceMeta for $ty {
            const HOLDS_GC: bool = K::HOLDS_GC || V::HOLDS_GC;
            const MUTABLE_EDGES: bool = K::MUTABLE_EDGES || V::MUTABLE_EDGES;
            const FINALIZER: Option<Finalizer<Self>> =
                refuse_finalizable_inside(K::FINALIZER.is_some() || V::FINALIZER.is_some());
            const UNSYNC_FINALIZER: Option<UnsyncFinalizer<Self>> = refuse_unsync_finalizable_inside(
                K::UNSYNC_FINALIZER.is_some() || V::UNSYNC_FINALIZER.is_some(),
            );
        }
    )*};
}

map_trace! {
    BTreeMap<K, V> => <>;
    HashMap<K, V, S> => <S>;
}
#[cfg(feature = "hashbrown")]
map_trace! {
    hashbrown::HashMap<K, V, S> => <S>;
}
#[cfg(feature = "indexmap")]
map_trace! {
    indexmap::IndexMap<K, V, S> => <S>;
}

// SAFETY: an array owns each element.
unsafe impl<T: TraceMeta, const N: usize> Trace for [T; N] {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        self.as_slice().trace(tracer)
    }
}
// SAFETY: the elements' constants.
unsafe impl<T: TraceMeta, const N: usize> TraceMeta for [T; N] {
    const HOLDS_GC: bool = T::HOLDS_GC;
    const MUTABLE_EDGES: bool = T::MUTABLE_EDGES;
    const FINALIZER: Option<Finalizer<Self>> = refuse_finalizable_inside(T::FINALIZER.is_some());
    const UNSYNC_FINALIZER: Option<UnsyncFinalizer<Self>> =
        refuse_unsync_finalizable_inside(T::UNSYNC_FINALIZER.is_some());
}

#[cfg(feature = "smallvec")]
// SAFETY: a small vector owns each element, inline or spilled.
unsafe impl<A: smallvec::Array<Item: TraceMeta>> Trace for smallvec::SmallVec<A> {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        self.as_slice().trace(tracer)
    }
}
#[cfg(feature = "smallvec")]
// SAFETY: the elements' constants.
unsafe impl<A: smallvec::Array<Item: TraceMeta>> TraceMeta for smallvec::SmallVec<A> {
    const HOLDS_GC: bool = A::Item::HOLDS_GC;
    const MUTABLE_EDGES: bool = A::Item::MUTABLE_EDGES;
    const FINALIZER: Option<Finalizer<Self>> =
        refuse_finalizable_inside(A::Item::FINALIZER.is_some());
    const UNSYNC_FINALIZER: Option<UnsyncFinalizer<Self>> =
        refuse_unsync_finalizable_inside(A::Item::UNSYNC_FINALIZER.is_some());
}

macro_rules! tuple_trace {
    ($($name:ident)+) => {
        // SAFETY: a tuple owns each of its fields.
        unsafe impl<$($name: Trace),+> Trace for ($($name,)+) {
            #[allow(non_snake_case)]
            fn trace(&self, tracer: &mut Tracer<'_>) {
                let ($($name,)+) = self;
                $($name.trace(tracer);)+
            }
        }
        // SAFETY: the OR of the fields' constants.
        unsafe impl<$($name: TraceMeta),+> TraceMeta for ($($name,)+) {
            const HOLDS_GC: bool = false $(|| $name::HOLDS_GC)+;
            const MUTABLE_EDGES: bool = false $(|| $name::MUTABLE_EDGES)+;
            const FINALIZER: Option<Finalizer<Self>> =
                refuse_finalizable_inside(false $(|| $name::FINALIZER.is_some())+);
            const UNSYNC_FINALIZER: Option<UnsyncFinalizer<Self>> =
                refuse_unsync_finalizable_inside(false $(|| $name::UNSYNC_FINALIZER.is_some())+);
        }
    };
}

tuple_trace!(A);
tuple_trace!(A B);
tuple_trace!(A B C);
tuple_trace!(A B C D);
tuple_trace!(A B C D E);
tuple_trace!(A B C D E F);
tuple_trace!(A B C D E F G);
tuple_trace!(A B C D E F G H);

// SAFETY: a marker owns nothing.
unsafe impl<T: ?Sized> Trace for PhantomData<T> {
    #[inline]
    fn trace(&self, _: &mut Tracer<'_>) {}
}
// SAFETY: reports nothing, so it is a leaf, whatever `T` is.
unsafe impl<T: ?Sized> TraceMeta for PhantomData<T> {
    const HOLDS_GC: bool = false;
    const MUTABLE_EDGES: bool = false;
}

// SAFETY: a `Cow` owns its content only when it is `Owned`; a borrowed one is someone else's.
// The content changes only through `to_mut`, which takes `&mut`: never while shared on the heap.
unsafe impl<B: ?Sized + ToOwned<Owned: Trace>> Trace for Cow<'_, B> {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if let Cow::Owned(owned) = self {
            owned.trace(tracer)
        }
    }
}
// SAFETY: the owned form's constants (the borrowed form reports nothing).
unsafe impl<B: ?Sized + ToOwned<Owned: TraceMeta>> TraceMeta for Cow<'_, B> {
    const HOLDS_GC: bool = <B::Owned as TraceMeta>::HOLDS_GC;
    const MUTABLE_EDGES: bool = <B::Owned as TraceMeta>::MUTABLE_EDGES;
    const FINALIZER: Option<Finalizer<Self>> =
        refuse_finalizable_inside(<B::Owned as TraceMeta>::FINALIZER.is_some());
    const UNSYNC_FINALIZER: Option<UnsyncFinalizer<Self>> =
        refuse_unsync_finalizable_inside(<B::Owned as TraceMeta>::UNSYNC_FINALIZER.is_some());
}

// SAFETY: the lock owns its value once set, and reports it once. Its one change while shared is
// from empty to set (`take` and `get_mut` need `&mut`), and `get` sees a value only once it is
// whole. So an edge can appear after the collector traced the lock, never disappear or change:
// the collector can free an object while something still reaches it only if an edge it counted
// as internal moves away, or one appears without a count the collector saw (see the protocol in
// `ARCHITECTURE.md`). A `Gc` stored by `set` was counted on its object before: if the collector
// read the object's count before the store, the reference counted as held from outside, which
// keeps the object; if after, the edge is traced or the object stays held from outside. The
// stored `Gc` came from a clone (which stamps its object) or from a place the storing thread
// owned, whose count the object already had.
unsafe impl<T: Trace> Trace for OnceLock<T> {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if let Some(value) = self.get() {
            value.trace(tracer)
        }
    }
}
// SAFETY: an edge can appear after construction (an empty lock set later), so a lock whose
// content can hold a `Gc` has mutable edges: its objects are tracked.
unsafe impl<T: TraceMeta> TraceMeta for OnceLock<T> {
    const HOLDS_GC: bool = T::HOLDS_GC;
    const MUTABLE_EDGES: bool = T::HOLDS_GC;
    const FINALIZER: Option<Finalizer<Self>> = refuse_finalizable_inside(T::FINALIZER.is_some());
    const UNSYNC_FINALIZER: Option<UnsyncFinalizer<Self>> =
        refuse_unsync_finalizable_inside(T::UNSYNC_FINALIZER.is_some());
}

// SAFETY: the mutex owns its value. The collector traces it only under a lock taken with
// `try_lock` and kept (the guard) until its decision, exactly as `GcMutex`: no thread changes the
// value meanwhile, and a lock it cannot take makes the object opaque. A poisoned lock is traced
// all the same: poisoning says a thread panicked while writing, not that the `Gc`s in the value
// are not owned; and the collector's guard never poisons it (guards are dropped after the
// tracing's panics are caught). `'static`: the guard is kept past the borrow it came from.
unsafe impl<T: ?Sized + TraceMeta + 'static> Trace for Mutex<T> {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if !T::HOLDS_GC {
            return;
        }
        let guard = match self.try_lock() {
            Ok(guard) => guard,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return tracer.mark_opaque(),
        };
        guard.trace(tracer);
        // SAFETY: only the lifetime changes; the tracer drops the guard while this mutex's object
        // is still live (`Tracer::keep`), so it never outlives the lock.
        let guard =
            unsafe { std::mem::transmute::<MutexGuard<'_, T>, MutexGuard<'static, T>>(guard) };
        tracer.keep(guard);
    }
}
// SAFETY: the value's edges change under the lock: mutable whenever it can hold a `Gc`.
unsafe impl<T: ?Sized + TraceMeta + 'static> TraceMeta for Mutex<T> {
    const HOLDS_GC: bool = T::HOLDS_GC;
    const MUTABLE_EDGES: bool = T::HOLDS_GC;
    const FINALIZER: Option<Finalizer<Self>> = refuse_finalizable_inside(T::FINALIZER.is_some());
    const UNSYNC_FINALIZER: Option<UnsyncFinalizer<Self>> =
        refuse_unsync_finalizable_inside(T::UNSYNC_FINALIZER.is_some());
}

// SAFETY: as `Mutex` above, with a read lock, which excludes writers; readers may clone the
// `Gc`s out meanwhile, which stamps their objects as any clone does.
unsafe impl<T: ?Sized + TraceMeta + 'static> Trace for RwLock<T> {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if !T::HOLDS_GC {
            return;
        }
        let guard = match self.try_read() {
            Ok(guard) => guard,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return tracer.mark_opaque(),
        };
        guard.trace(tracer);
        // SAFETY: only the lifetime changes; the tracer drops the guard while this lock's object
        // is still live (`Tracer::keep`), so it never outlives the lock.
        let guard = unsafe {
            std::mem::transmute::<RwLockReadGuard<'_, T>, RwLockReadGuard<'static, T>>(guard)
        };
        tracer.keep(guard);
    }
}
// SAFETY: the value's edges change under the write lock: mutable whenever it can hold a `Gc`.
unsafe impl<T: ?Sized + TraceMeta + 'static> TraceMeta for RwLock<T> {
    const HOLDS_GC: bool = T::HOLDS_GC;
    const MUTABLE_EDGES: bool = T::HOLDS_GC;
    const FINALIZER: Option<Finalizer<Self>> = refuse_finalizable_inside(T::FINALIZER.is_some());
    const UNSYNC_FINALIZER: Option<UnsyncFinalizer<Self>> =
        refuse_unsync_finalizable_inside(T::UNSYNC_FINALIZER.is_some());
}

/// `TraceMeta` for `Trace`'s own trait objects: the defaults (can hold a `Gc`, mutable edges, no
/// finalizer of their own), since what the object holds is unknown until it is traced.
macro_rules! dyn_trace_meta {
    ($($ty:ty),* $(,)?) => {$(
        // SAFETY: the conservative defaults: a wrong answer could only make a cycle leak, and
        // these are never wrong that way. A trait object is never an object's own type (a
        // `Gc<dyn Trace>` is made from a sized value, whose vtable and finalizer it keeps).
        unsafe impl TraceMeta for $ty {}
    )*};
}

dyn_trace_meta!(
    dyn Trace,
    dyn Trace + Send,
    dyn Trace + Sync,
    dyn Trace + Send + Sync,
);

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::gc::Gc;
    use crate::gc::core::trace::{EdgeSink, Holds};

    fn sink() -> EdgeSink {
        EdgeSink {
            max_generation: 0,
            edges: Vec::new(),
            holds: Holds::default(),
            untracked: None,
        }
    }

    #[test]
    fn the_collector_keeps_a_std_mutex_locked_from_its_trace_until_its_release() {
        let mutex = Mutex::new(None::<Gc<u8>>);
        let mut sink = sink();
        mutex.trace(&mut Tracer::collection(&mut sink));
        assert!(!sink.holds.opaque);
        assert!(matches!(mutex.try_lock(), Err(TryLockError::WouldBlock)));
        // SAFETY: the mutex outlives the holds.
        unsafe { sink.holds.release_all() };
        assert!(mutex.try_lock().is_ok());
    }

    #[test]
    fn a_std_mutex_locked_elsewhere_makes_its_object_opaque() {
        let mutex = Mutex::new(None::<Gc<u8>>);
        let guard = mutex.lock().unwrap();
        let mut sink = sink();
        mutex.trace(&mut Tracer::collection(&mut sink));
        assert!(sink.holds.opaque);
        drop(guard);
        // SAFETY: the mutex outlives the holds.
        unsafe { sink.holds.release_all() };
        assert!(mutex.try_lock().is_ok());
    }

    #[test]
    fn a_poisoned_std_mutex_is_traced_and_held_all_the_same() {
        let mutex = Mutex::new(None::<Gc<u8>>);
        let poisoner = std::panic::catch_unwind(|| {
            let _guard = mutex.lock().unwrap();
            panic!("poisons the mutex");
        });
        assert!(poisoner.is_err() && mutex.is_poisoned());
        let mut sink = sink();
        mutex.trace(&mut Tracer::collection(&mut sink));
        assert!(!sink.holds.opaque);
        assert!(matches!(mutex.try_lock(), Err(TryLockError::WouldBlock)));
        // SAFETY: the mutex outlives the holds.
        unsafe { sink.holds.release_all() };
        assert!(matches!(mutex.try_lock(), Err(TryLockError::Poisoned(_))));
    }

    #[test]
    fn the_collector_holds_a_std_rw_lock_shared_and_a_writer_makes_it_opaque() {
        let lock = RwLock::new(None::<Gc<u8>>);
        let mut sink = sink();
        lock.trace(&mut Tracer::collection(&mut sink));
        assert!(!sink.holds.opaque);
        assert!(
            lock.try_read().is_ok(),
            "readers go on beside the collector"
        );
        assert!(matches!(lock.try_write(), Err(TryLockError::WouldBlock)));
        // SAFETY: the lock outlives the holds.
        unsafe { sink.holds.release_all() };
        let writer = lock.write().unwrap();
        let mut sink = self::sink();
        lock.trace(&mut Tracer::collection(&mut sink));
        assert!(sink.holds.opaque);
        drop(writer);
    }

    #[test]
    fn markers_atomics_and_borrowed_data_are_leaves() {
        const { assert!(!<PhantomData<Gc<u8>>>::HOLDS_GC && !AtomicUsize::HOLDS_GC) };
        const { assert!(!AtomicBool::MUTABLE_EDGES && !<Cow<'static, str>>::HOLDS_GC) };
        const { assert!(<Cow<'static, [Gc<u8>]>>::HOLDS_GC) };
        const { assert!(!<Cow<'static, [Gc<u8>]>>::MUTABLE_EDGES) };
    }

    #[test]
    fn locks_and_once_locks_that_can_hold_a_gc_have_mutable_edges() {
        const { assert!(<OnceLock<Gc<u8>>>::MUTABLE_EDGES && !<OnceLock<u8>>::HOLDS_GC) };
        const { assert!(<Mutex<Vec<Gc<u8>>>>::MUTABLE_EDGES && !<Mutex<u8>>::MUTABLE_EDGES) };
        const { assert!(<RwLock<Gc<u8>>>::MUTABLE_EDGES) };
    }
}
