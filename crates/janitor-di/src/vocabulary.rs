//! The words every part of the container shares: how long an instance lives, which service is
//! asked for, and one registration as the collection holds it. A leaf: it names no other module,
//! so the collection, the registry, the scopes and validation all speak it without depending on
//! each other.

use std::any::{Any, TypeId, type_name};

/// How long an instance lives, and so who caches and disposes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lifetime {
    /// One instance per provider, created on first use, disposed with the root provider.
    Singleton,
    /// One instance per scope, disposed with that scope.
    Scoped,
    /// A new instance per resolution, disposed with the scope that resolved it.
    Transient,
}

/// A service asked for by type and optional key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServiceId {
    pub(crate) type_id: TypeId,
    pub(crate) type_name: &'static str,
    pub(crate) key: Option<Box<str>>,
}

impl ServiceId {
    pub(crate) fn of<T: ?Sized + 'static>(key: Option<&str>) -> Self {
        Self {
            type_id: TypeId::of::<T>(),
            type_name: type_name::<T>(),
            key: key.map(Box::from),
        }
    }

    /// The name errors use: the type, and the key if there is one (`app::Db["eu"]`).
    pub(crate) fn display_name(&self) -> String {
        match &self.key {
            None => self.type_name.to_owned(),
            Some(key) => format!("{}[{key:?}]", self.type_name),
        }
    }
}

/// One registration, as the collection holds it.
pub(crate) struct Descriptor {
    pub(crate) service: ServiceId,
    pub(crate) lifetime: Lifetime,
    pub(crate) is_instance: bool,
    pub(crate) source: Box<dyn Any + Send + Sync>,
    pub(crate) dependencies: Vec<ServiceId>,
}

impl std::fmt::Debug for Descriptor {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Registration")
            .field("service", &self.service.display_name())
            .field("lifetime", &self.lifetime)
            .field("instance", &self.is_instance)
            .finish_non_exhaustive()
    }
}
