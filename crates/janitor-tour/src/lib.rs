//! The tour of janitor and the workspace README's examples.
//!
//! Nothing here is a library: the tour is `examples/tour` (`cargo run --release --example tour`
//! from the workspace root), `tests/tour.rs` checks what it prints, and the README at the root of
//! the workspace, which shows `janitor` and `janitor-di` together, is compiled and run as this
//! crate's doc tests so that the front page never lies. The published crates test their own
//! READMEs.

/// The workspace README's examples, compiled and run as doc tests.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
