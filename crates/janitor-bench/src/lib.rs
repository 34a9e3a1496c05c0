//! janitor-bench: the standard workloads, written once per implementation (janitor and its peers),
//! run interleaved in one process and reduced to medians, ratios and peak memory.
//!
//! The binary (`cargo run --release -p janitor-bench -- --help`) is a thin layer over this library:
//! [`workloads`] builds each workload's cases, [`harness`] runs them and checks that they agree,
//! [`report`] prints the table or the JSON, and [`memory`] counts peak bytes through the global
//! allocator the binary installs.

pub mod harness;
pub mod memory;
pub mod report;
pub mod workloads;
