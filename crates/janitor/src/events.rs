//! The library's events when the `tracing` feature is off: `tracing::warn!(..)` and its siblings
//! resolve to these (the crate root names itself `tracing` then), which accept the same syntax —
//! fields `name = value`, `name = %value`, `name = ?value`, a bare `name`, then the message and
//! its arguments — and expand to a closure that is never called. The fields and the message still
//! type-check and count as used, so a build without the feature warns about nothing the build with
//! it would not, and no event costs anything at run time.

/// Expands one event's fields and message into uses inside a closure that is never called.
macro_rules! ignored_event {
    (@fields) => {};
    (@fields $message:literal $(, $argument:expr)* $(,)?) => {
        let _ = format_args!($message $(, $argument)*);
    };
    (@fields $name:ident = % $value:expr $(, $($rest:tt)*)?) => {
        let _ = &$value;
        $crate::events::ignored_event!(@fields $($($rest)*)?);
    };
    (@fields $name:ident = ? $value:expr $(, $($rest:tt)*)?) => {
        let _ = &$value;
        $crate::events::ignored_event!(@fields $($($rest)*)?);
    };
    (@fields $name:ident = $value:expr $(, $($rest:tt)*)?) => {
        let _ = &$value;
        $crate::events::ignored_event!(@fields $($($rest)*)?);
    };
    (@fields $name:ident $(, $($rest:tt)*)?) => {
        let _ = &$name;
        $crate::events::ignored_event!(@fields $($($rest)*)?);
    };
    ($($event:tt)*) => {{
        let _event = || {
            $crate::events::ignored_event!(@fields $($event)*);
        };
    }};
}

macro_rules! trace_event {
    ($($event:tt)*) => { $crate::events::ignored_event!($($event)*) };
}

macro_rules! debug_event {
    ($($event:tt)*) => { $crate::events::ignored_event!($($event)*) };
}

macro_rules! warn_event {
    ($($event:tt)*) => { $crate::events::ignored_event!($($event)*) };
}

macro_rules! error_event {
    ($($event:tt)*) => { $crate::events::ignored_event!($($event)*) };
}

// Renamed on export: `warn` alone would be ambiguous with the built-in `#[warn]` attribute.
pub(crate) use {
    debug_event as debug, error_event as error, ignored_event, trace_event as trace,
    warn_event as warn,
};
