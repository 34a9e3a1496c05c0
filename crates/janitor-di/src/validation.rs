//! Validation: the build-time checks of the declared dependency graph.
//!
//! .NET validates on build by analysing constructors. A factory closure cannot be analysed, and
//! running it at build would open connections and start threads for a check. So build-time
//! validation works on what registrations declare with
//! [`depends_on`](crate::Registration::depends_on): every edge is a declared dependency,
//! resolved to the registration `get` would pick. What resolution discovers at run time (cycles
//! always, scope violations with `validate_scopes`) is checked then, declared or not.

use crate::error::ResolveError;
use crate::options::ProviderOptions;
use crate::registry::Registry;
use crate::vocabulary::Lifetime;

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
