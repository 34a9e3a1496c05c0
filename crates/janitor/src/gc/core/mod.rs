//! The heap's core: what an object is and how the collector decides. It names only `crate::sync`.
//!
//! The count word ([`count`]), the object layout and its vtables ([`object`]), the size-class
//! allocator ([`alloc`]), the `Trace` contract ([`trace`]), the generation lists ([`heap`]) with
//! the lock-free ways into and out of them ([`arrivals`], [`departures`]), and trial deletion
//! ([`trial`]).

pub(crate) mod alloc;
pub(crate) mod arrivals;
pub(crate) mod count;
pub(crate) mod departures;
pub(crate) mod heap;
pub(crate) mod object;
pub(crate) mod trace;
pub(crate) mod trial;
