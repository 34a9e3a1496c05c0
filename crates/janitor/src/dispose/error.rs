//! The error an operation returns when its receiver has been disposed.

/// An operation was asked of a value that has already been disposed.
///
/// The counterpart of .NET's `ObjectDisposedException`. It names the type of the disposed value,
/// so the message points at the culprit:
///
/// ```
/// use janitor::ObjectDisposed;
///
/// struct Widget;
/// let error = ObjectDisposed::of::<Widget>();
/// assert!(error.object_name().ends_with("Widget"));
/// assert!(error.to_string().starts_with("Cannot access a disposed object. Object name: '"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "Cannot access a disposed object. Object name: '{object_name}'. \
     It was disposed before this use: create a new one, or dispose it only after its last use."
)]
pub struct ObjectDisposed {
    object_name: &'static str,
}

impl ObjectDisposed {
    /// The error for a disposed value of type `T`, named by its full path.
    ///
    /// ```
    /// let error = janitor::ObjectDisposed::of::<String>();
    /// assert_eq!(error.object_name(), "alloc::string::String");
    /// ```
    pub fn of<T: ?Sized>() -> Self {
        Self::named(std::any::type_name::<T>())
    }

    /// The error for a disposed value described by `object_name`, for values whose useful name is
    /// not their Rust type (a service key, a file path known at compile time).
    ///
    /// ```
    /// let error = janitor::ObjectDisposed::named("request scope");
    /// assert_eq!(error.object_name(), "request scope");
    /// ```
    pub fn named(object_name: &'static str) -> Self {
        Self { object_name }
    }

    /// The name of the disposed value.
    ///
    /// ```
    /// assert_eq!(janitor::ObjectDisposed::named("pool").object_name(), "pool");
    /// ```
    pub fn object_name(&self) -> &'static str {
        self.object_name
    }
}
