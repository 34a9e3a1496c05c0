//! Derive macros for [janitor](https://docs.rs/janitor). Use them through the re-exports in
//! `janitor`; this crate has no API of its own.
