//! The engine, built on the core and the side tables: releasing objects, collecting, the
//! finalizer thread's pass, the background collector, the reclaimer, the collection driver, the pacer and the finalizer thread.

pub(crate) mod background;
pub(crate) mod collector;
pub(crate) mod confined;
pub(crate) mod driver;
pub(crate) mod finalizer_thread;
pub(crate) mod pacer;
pub(crate) mod reclaim;
pub(crate) mod release;
pub(crate) mod retire;
