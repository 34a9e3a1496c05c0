//! Derive macros for [janitor](https://docs.rs/janitor). Use them through the re-exports in
//! `janitor`; this crate has no API of its own. Each derive lives in its own module; this file
//! only declares the entry points.

mod trace;

/// `#[derive(Trace)]`: see `janitor::gc::Trace`.
#[proc_macro_derive(Trace, attributes(trace))]
pub fn derive_trace(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    trace::derive(input.into()).into()
}
