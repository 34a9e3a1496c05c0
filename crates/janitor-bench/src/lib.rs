//! janitor-bench: the standard workloads, written once per implementation (janitor and its peers),
//! run interleaved in one process and reduced to medians, ratios and peak memory.
//!
//! The binary (`cargo run --release -p janitor-bench -- --help`) is a thin layer over this library:
//! [`workloads`] builds each workload's cases, [`harness`] runs them and checks that they agree,
//! [`report`] prints the table or the JSON, [`chart`] draws the SVG bar chart, and [`memory`]
//! counts peak bytes through the global allocator the binary installs.
//!
//! What the numbers promise:
//! * **the same work**: each workload's program is written once against a trait its
//!   implementations supply; every run returns a checksum, and the harness refuses runs that
//!   disagree;
//! * **a fair order**: round `r` rotates the cases by `r`; rows are medians, and ratios are to a
//!   baseline measured in the same run (`janitor`; `janitor-full` for `gen0-pause`, `untracked` for
//!   the leak workloads);
//! * **a clean slate**: a run frees what it allocated before it returns, collecting inside the
//!   timed part; a peak counts from the level at the run's start, and memory an allocator keeps for
//!   reuse is not garbage, so peaks are compared one workload per process;
//! * **one set of rows**: the table, the Markdown, the JSON and the chart agree;
//! * **honest notes**: a row that leaks, frees nothing, or cannot express the workload says so.
//!
//! Adding a workload: a module in [`workloads`] with its shape in its doc, its trait and
//! `workload(scale)`, an entry in [`workloads::all`], and a test pinning its checksum.

pub mod chart;
pub mod harness;
pub mod memory;
pub mod report;
pub mod workloads;
