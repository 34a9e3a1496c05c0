//! What users hold and call: `Gc`, `WeakGc`, the cells and locks, finalization,
//! `ConditionalWeakTable`, the .NET-named functions and the statistics.

pub(crate) mod api;
pub(crate) mod cell;
pub(crate) mod ephemeron;
pub(crate) mod finalize;
pub(crate) mod lock;
pub(crate) mod ptr;
pub(crate) mod stats;
mod std_impls;
pub(crate) mod weak;
