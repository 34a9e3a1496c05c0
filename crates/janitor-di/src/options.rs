//! What a provider checks, chosen when it is built. A leaf: the collection, the provider and
//! validation all read it.

/// The checks a provider makes (.NET's `ServiceProviderOptions`). Both are off by default, as in
/// .NET; cycle detection at resolution is always on.
///
/// ```
/// use janitor_di::{NotDisposable, ProviderOptions, Resolve, ServiceCollection};
/// use std::sync::Arc;
///
/// struct Session;
///
/// let mut services = ServiceCollection::new();
/// services.add_scoped(NotDisposable, |_| Ok(Arc::new(Session)));
/// let options = ProviderOptions::default().with_scope_validation();
/// let provider = services.build_provider_with(options).unwrap();
/// assert!(provider.get::<Session>().is_err()); // scoped from root
/// assert!(provider.create_scope().unwrap().get::<Session>().is_ok());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProviderOptions {
    /// Refuse a scoped service resolved from the root provider ("Cannot resolve scoped service
    /// 'T' from root provider.") or needed by a singleton ("Cannot consume scoped service 'S'
    /// from singleton 'X'."), at resolution, and with `validate_on_build` also in the declared
    /// graph.
    pub validate_scopes: bool,
    /// Check the declared dependencies when the provider is built: every declared dependency is
    /// registered, the declarations form no cycle, and (with `validate_scopes`) no singleton
    /// depends on a scoped service through singletons or transients.
    pub validate_on_build: bool,
}

impl ProviderOptions {
    /// No validation, as [`Default`]; usable in a `const`.
    ///
    /// ```
    /// use janitor_di::ProviderOptions;
    ///
    /// const STRICT: ProviderOptions = ProviderOptions::new().with_scope_validation().with_build_validation();
    /// assert_eq!(ProviderOptions::new(), ProviderOptions::default());
    /// assert!(STRICT.validate_scopes && STRICT.validate_on_build);
    /// ```
    pub const fn new() -> Self {
        Self {
            validate_scopes: false,
            validate_on_build: false,
        }
    }

    /// These options with [`validate_scopes`](Self::validate_scopes) on (.NET's
    /// `ValidateScopes = true`).
    ///
    /// ```
    /// let options = janitor_di::ProviderOptions::default().with_scope_validation();
    /// assert!(options.validate_scopes && !options.validate_on_build);
    /// ```
    #[must_use]
    pub const fn with_scope_validation(mut self) -> Self {
        self.validate_scopes = true;
        self
    }

    /// These options with [`validate_on_build`](Self::validate_on_build) on (.NET's
    /// `ValidateOnBuild = true`).
    ///
    /// ```
    /// let options = janitor_di::ProviderOptions::default().with_build_validation();
    /// assert!(options.validate_on_build && !options.validate_scopes);
    /// ```
    #[must_use]
    pub const fn with_build_validation(mut self) -> Self {
        self.validate_on_build = true;
        self
    }
}
