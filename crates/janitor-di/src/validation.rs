//! Validation: the options, and the build-time checks of the declared dependency graph.
//!
//! .NET validates on build by analysing constructors. A factory closure cannot be analysed, and
//! running it at build would open connections and start threads for a check. So build-time
//! validation works on what registrations declare with
//! [`depends_on`](crate::Registration::depends_on): every edge is a declared dependency,
//! resolved to the registration `get` would pick. What resolution discovers at run time (cycles
//! always, scope violations with `validate_scopes`) is checked then, declared or not.

use crate::collection::Lifetime;
use crate::error::ResolveError;
use crate::registry::Registry;

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

/// Every problem of the declared graph, in registration order.
pub(crate) fn validate(registry: &Registry, options: ProviderOptions) -> Vec<ResolveError> {
    let graph = Graph::new(registry);
    let mut errors = graph.missing_dependencies();
    errors.extend(graph.cycles());
    if options.validate_scopes {
        errors.extend(graph.scoped_below_singletons());
    }
    errors
}

/// Registrations as nodes; an edge for each declared dependency that is registered.
struct Graph<'a> {
    registry: &'a Registry,
    edges: Vec<Vec<usize>>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Visit {
    Unseen,
    OnPath,
    Done,
}

impl<'a> Graph<'a> {
    fn new(registry: &'a Registry) -> Self {
        let edges = registry
            .iter()
            .map(|(_, registration)| {
                registration
                    .descriptor
                    .dependencies
                    .iter()
                    .filter_map(|dependency| registry.find_last(dependency))
                    .collect()
            })
            .collect();
        Self { registry, edges }
    }

    fn name(&self, index: usize) -> String {
        self.registry.get(index).display_name()
    }

    fn missing_dependencies(&self) -> Vec<ResolveError> {
        let mut errors = Vec::new();
        for (_, registration) in self.registry.iter() {
            for dependency in &registration.descriptor.dependencies {
                if self.registry.find_last(dependency).is_none() {
                    errors.push(ResolveError::MissingDependency {
                        service: registration.display_name(),
                        dependency: dependency.display_name(),
                    });
                }
            }
        }
        errors
    }

    /// Each cycle once, found by depth-first search: an edge back to a node on the current path
    /// closes a cycle, reported from that node round to itself.
    fn cycles(&self) -> Vec<ResolveError> {
        let mut visits = vec![Visit::Unseen; self.edges.len()];
        let mut path = Vec::new();
        let mut errors = Vec::new();
        for start in 0..self.edges.len() {
            self.find_cycles(start, &mut visits, &mut path, &mut errors);
        }
        errors
    }

    fn find_cycles(
        &self,
        node: usize,
        visits: &mut [Visit],
        path: &mut Vec<usize>,
        errors: &mut Vec<ResolveError>,
    ) {
        match visits[node] {
            Visit::Done => return,
            Visit::OnPath => {
                let start = path
                    .iter()
                    .position(|&on_path| on_path == node)
                    .expect("a node on the path is in it");
                let names: Vec<String> = path[start..]
                    .iter()
                    .chain([&node])
                    .map(|&index| self.name(index))
                    .collect();
                errors.push(ResolveError::Cycle {
                    service: self.name(node),
                    path: names.join(" -> "),
                });
                return;
            }
            Visit::Unseen => {}
        }
        visits[node] = Visit::OnPath;
        path.push(node);
        for &next in &self.edges[node] {
            self.find_cycles(next, visits, path, errors);
        }
        path.pop();
        visits[node] = Visit::Done;
    }

    /// For each singleton, the scoped services it reaches through transients (a singleton below
    /// it is checked on its own turn, and named as the consumer, as .NET does).
    fn scoped_below_singletons(&self) -> Vec<ResolveError> {
        let mut errors = Vec::new();
        for (singleton, registration) in self.registry.iter() {
            if registration.lifetime() != Lifetime::Singleton {
                continue;
            }
            let mut seen = vec![false; self.edges.len()];
            let mut pending = self.edges[singleton].clone();
            while let Some(node) = pending.pop() {
                if std::mem::replace(&mut seen[node], true) {
                    continue;
                }
                match self.registry.get(node).lifetime() {
                    Lifetime::Scoped => errors.push(ResolveError::ScopedFromSingleton {
                        scoped: self.name(node),
                        singleton: self.name(singleton),
                    }),
                    Lifetime::Transient => pending.extend(&self.edges[node]),
                    Lifetime::Singleton => {}
                }
            }
        }
        errors
    }
}
