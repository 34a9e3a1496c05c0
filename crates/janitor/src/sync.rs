//! The one place the crate takes its synchronization primitives from.
//!
//! Under `--cfg loom` these are loom's model-checked versions, so every lock-free state machine
//! in the crate is explored in every interleaving by the `loom` tests; otherwise they are std's.
//! Code that takes part in a loom model imports its atomics from here, never from `std`.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering, fence};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering, fence};
