//! `Trace` for the standard library's types: leaves that hold no `Gc`, the owning containers
//! (which report what their elements report), and the shared pointers that report nothing.
//!
//! Invariant owned here: an impl reports exactly the `Gc`s its value owns, each once per trace,
//! and its constants are the OR of its elements' (a container of leaves is a leaf).

use crate::gc::core::trace::{Trace, Tracer};
#[cfg(all(feature = "handle", unix))]
use crate::handle::{HandleKind, SafeHandle};
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet, LinkedList, VecDeque};

macro_rules! leaf_trace {
    ($($ty:ty),* $(,)?) => {$(
        // SAFETY: the type holds no `Gc`, and reports none.
        unsafe impl Trace for $ty {
            const HOLDS_GC: bool = false;
            const MUTABLE_EDGES: bool = false;
            #[inline]
            fn trace(&self, _: &mut Tracer<'_>) {}
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
);

// SAFETY: a shared reference to static data owns nothing.
unsafe impl<T: ?Sized + 'static> Trace for &'static T {
    const HOLDS_GC: bool = false;
    const MUTABLE_EDGES: bool = false;
    fn trace(&self, _: &mut Tracer<'_>) {}
}

// SAFETY: an `Arc` is shared ownership: a `Gc` inside it is owned by every holder of the `Arc`,
// some of which may be outside the heap, so reporting it as an edge of one object could free a
// reachable object. An `Arc` therefore reports nothing: what it holds counts as held from
// outside, and a cycle through an `Arc` leaks, as it does with `Rc`. Use `Gc` for shared
// ownership inside the heap.
unsafe impl<T: ?Sized> Trace for std::sync::Arc<T> {
    const HOLDS_GC: bool = false;
    const MUTABLE_EDGES: bool = false;
    fn trace(&self, _: &mut Tracer<'_>) {}
}

/// A `SafeHandle` on the managed heap: `Gc<SafeHandle<K>>` releases its handle when the object is
/// freed. An object with a finalizer that holds one can still use it in its finalizer: the
/// handle is released after, when the finalized object (and then the handle's object) is freed,
/// which is the order .NET gets by making `SafeHandle` a critical finalizer.
#[cfg(all(feature = "handle", unix))]
// SAFETY: a handle holds no `Gc`.
unsafe impl<K: HandleKind> Trace for SafeHandle<K> {
    const HOLDS_GC: bool = false;
    const MUTABLE_EDGES: bool = false;
    #[inline]
    fn trace(&self, _: &mut Tracer<'_>) {}
}

// SAFETY: a box owns its content and reports what the content reports.
unsafe impl<T: ?Sized + Trace> Trace for Box<T> {
    const HOLDS_GC: bool = T::HOLDS_GC;
    const MUTABLE_EDGES: bool = T::MUTABLE_EDGES;
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if T::HOLDS_GC {
            (**self).trace(tracer)
        }
    }
}

// SAFETY: an option owns its content, if any.
unsafe impl<T: Trace> Trace for Option<T> {
    const HOLDS_GC: bool = T::HOLDS_GC;
    const MUTABLE_EDGES: bool = T::MUTABLE_EDGES;
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if let Some(value) = self {
            value.trace(tracer)
        }
    }
}

// SAFETY: a result owns whichever side it holds.
unsafe impl<T: Trace, E: Trace> Trace for Result<T, E> {
    const HOLDS_GC: bool = T::HOLDS_GC || E::HOLDS_GC;
    const MUTABLE_EDGES: bool = T::MUTABLE_EDGES || E::MUTABLE_EDGES;
    fn trace(&self, tracer: &mut Tracer<'_>) {
        match self {
            Ok(value) => value.trace(tracer),
            Err(error) => error.trace(tracer),
        }
    }
}

/// Implements `Trace` for a container by tracing each element its iterator yields once.
macro_rules! sequence_trace {
    ($($ty:ident<$($param:ident),*> $(where $($bound:ident: $trait:path),*)? => |$this:ident| $iter:expr;)*) => {$(
        // SAFETY: the container owns each element, and the iterator yields each once.
        unsafe impl<$($param: Trace),* $($(, $bound: $trait)*)?> Trace for $ty<$($param),* $($(, $bound)*)?> {
            const HOLDS_GC: bool = false $(|| $param::HOLDS_GC)*;
            const MUTABLE_EDGES: bool = false $(|| $param::MUTABLE_EDGES)*;
            fn trace(&self, tracer: &mut Tracer<'_>) {
                if Self::HOLDS_GC {
                    let $this = self;
                    for element in $iter {
                        element.trace(tracer);
                    }
                }
            }
        }
    )*};
}

sequence_trace! {
    Vec<T> => |this| this.iter();
    VecDeque<T> => |this| this.iter();
    LinkedList<T> => |this| this.iter();
    BinaryHeap<T> => |this| this.iter();
    BTreeSet<T> => |this| this.iter();
    HashSet<T> where S: std::hash::BuildHasher => |this| this.iter();
}

// SAFETY: a map owns its keys and values, and iteration yields each entry once.
unsafe impl<K: Trace, V: Trace> Trace for BTreeMap<K, V> {
    const HOLDS_GC: bool = K::HOLDS_GC || V::HOLDS_GC;
    const MUTABLE_EDGES: bool = K::MUTABLE_EDGES || V::MUTABLE_EDGES;
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if Self::HOLDS_GC {
            for (key, value) in self {
                key.trace(tracer);
                value.trace(tracer);
            }
        }
    }
}

// SAFETY: a map owns its keys and values, and iteration yields each entry once.
unsafe impl<K: Trace, V: Trace, S> Trace for HashMap<K, V, S> {
    const HOLDS_GC: bool = K::HOLDS_GC || V::HOLDS_GC;
    const MUTABLE_EDGES: bool = K::MUTABLE_EDGES || V::MUTABLE_EDGES;
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if Self::HOLDS_GC {
            for (key, value) in self {
                key.trace(tracer);
                value.trace(tracer);
            }
        }
    }
}

// SAFETY: a slice owns each element.
unsafe impl<T: Trace> Trace for [T] {
    const HOLDS_GC: bool = T::HOLDS_GC;
    const MUTABLE_EDGES: bool = T::MUTABLE_EDGES;
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if T::HOLDS_GC {
            for element in self {
                element.trace(tracer);
            }
        }
    }
}

// SAFETY: an array owns each element.
unsafe impl<T: Trace, const N: usize> Trace for [T; N] {
    const HOLDS_GC: bool = T::HOLDS_GC;
    const MUTABLE_EDGES: bool = T::MUTABLE_EDGES;
    fn trace(&self, tracer: &mut Tracer<'_>) {
        self.as_slice().trace(tracer)
    }
}

macro_rules! tuple_trace {
    ($($name:ident)+) => {
        // SAFETY: a tuple owns each of its fields.
        unsafe impl<$($name: Trace),+> Trace for ($($name,)+) {
            const HOLDS_GC: bool = false $(|| $name::HOLDS_GC)+;
            const MUTABLE_EDGES: bool = false $(|| $name::MUTABLE_EDGES)+;
            #[allow(non_snake_case)]
            fn trace(&self, tracer: &mut Tracer<'_>) {
                let ($($name,)+) = self;
                $($name.trace(tracer);)+
            }
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
