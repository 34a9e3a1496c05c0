//! Per-object side tables and queues, built on the core: the weak cells, the ephemeron
//! attachments, the per-thread hand-off buffers, the finalizer queue and its panic handler.

pub(crate) mod attachments;
pub(crate) mod handoff;
pub(crate) mod panic;
pub(crate) mod queue;
pub(crate) mod weak_cells;
