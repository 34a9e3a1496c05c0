//! The workloads, one module each. Every module documents the program's shape, what it measures and
//! the checksum that proves the implementations did the same work, and exposes
//! `workload(scale) -> Workload`.

use crate::harness::{Scale, Workload};

pub mod alloc_latency;
pub mod binary_trees;
pub mod closures;
pub mod cycle_churn;
pub mod di_resolve;
pub mod finalizable_churn;
pub mod gcbench;
pub mod gen0_pause;
pub mod handle_guard;
pub mod leak_cost;
pub mod mt_churn;
pub mod mt_shared;
pub mod weak_upgrade;

/// The workloads' names, in the order [`all`] returns them.
///
/// ```
/// assert!(janitor_bench::workloads::names().contains(&"binary-trees"));
/// ```
pub fn names() -> Vec<&'static str> {
    all(Scale::Smoke)
        .iter()
        .map(|workload| workload.name)
        .collect()
}

/// Every workload at `scale`.
///
/// ```
/// use janitor_bench::harness::Scale;
/// let names: Vec<_> = janitor_bench::workloads::all(Scale::Quick).iter().map(|w| w.name).collect();
/// assert_eq!(names, janitor_bench::workloads::names());
/// ```
pub fn all(scale: Scale) -> Vec<Workload> {
    vec![
        binary_trees::workload(scale),
        gcbench::workload(scale),
        cycle_churn::workload(scale),
        gen0_pause::workload(scale),
        handle_guard::workload(scale),
        di_resolve::workload(scale),
        finalizable_churn::workload(scale),
        weak_upgrade::workload(scale),
        leak_cost::workload(scale),
        leak_cost::workload_on_descriptors(scale),
        mt_churn::workload(scale),
        mt_shared::workload(scale),
        alloc_latency::workload(scale),
        closures::workload(scale),
    ]
}
