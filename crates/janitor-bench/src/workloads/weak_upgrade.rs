//! `weak-upgrade`: upgrading a weak reference to a live object, against `std::sync::Weak`.
//!
//! Shape: `UPGRADES` upgrades (20,000,000 full, 4,000,000 quick) of one weak reference to one live
//! object, each followed by the drop of the strong reference it returned. Row `janitor`:
//! `WeakGc::upgrade` (entering the object's weak cell, which keeps the block from being freed
//! under the upgrade; a compare-and-swap loop on the count word that refuses dead, condemned and,
//! for a short reference, short-cleared objects; leaving the cell) and the `Gc`'s drop. Row `arc`:
//! `std::sync::Weak::upgrade` and the `Arc`'s drop.
//!
//! What it measures: the price of a weak upgrade that is atomic with respect to collections. The
//! issue's target: within 2x of `std::sync::Weak::upgrade`. No peak memory: an upgrade allocates
//! nothing.
//!
//! Checksum: the sum of the values read through the upgraded references.

use std::hint::black_box;
use std::sync::Arc;

use janitor::gc::Gc;

use crate::harness::{Case, Sample, Scale, Workload};

/// The workload at `scale`: rows `janitor` and `arc`.
///
/// ```
/// use janitor_bench::harness::{measure, Scale};
/// let workload = janitor_bench::workloads::weak_upgrade::workload(Scale::Smoke);
/// assert_eq!(measure(&workload, 1, |_, _| {}).unwrap().rows.len(), 2);
/// ```
pub fn workload(scale: Scale) -> Workload {
    let upgrades: u64 = match scale {
        Scale::Smoke => 10_000,
        Scale::Quick => 4_000_000,
        Scale::Full => 20_000_000,
    };
    Workload {
        name: "weak-upgrade",
        baseline: "janitor",
        cases: vec![
            Case::new("janitor", move || {
                let strong = Gc::new(1_u64);
                let weak = Gc::downgrade(&strong);
                Sample::timing(|| {
                    (0..upgrades)
                        .map(|_| *black_box(weak.upgrade()).expect("the object lives"))
                        .sum()
                })
            })
            .without_memory(),
            Case::new("arc", move || {
                let strong = Arc::new(1_u64);
                let weak = Arc::downgrade(&strong);
                Sample::timing(|| {
                    (0..upgrades)
                        .map(|_| *black_box(weak.upgrade()).expect("the object lives"))
                        .sum()
                })
            })
            .without_memory(),
        ],
        absent: vec![],
    }
}
