//! The frozen registrations of a provider: looked up by type and key, never changed after build.
//!
//! Invariant: the source of every registration stored under `TypeId::of::<T>()` is a
//! `Source<T>`, so the typed downcast in resolution cannot fail. Singleton and scoped
//! registrations each own a slot number, dense from zero within their lifetime, which indexes the
//! cache of the root provider (singletons) or of each scope (scoped services).

use crate::vocabulary::{Descriptor, Lifetime, ServiceId};
use std::any::TypeId;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A registration, frozen.
pub(crate) struct Registration {
    pub(crate) descriptor: Descriptor,
    /// The cache slot of a singleton or scoped registration; unused for the others.
    pub(crate) slot: usize,
}

impl Registration {
    pub(crate) fn lifetime(&self) -> Lifetime {
        self.descriptor.lifetime
    }

    pub(crate) fn display_name(&self) -> String {
        self.descriptor.service.display_name()
    }
}

/// The registrations of one service type, in registration order.
#[derive(Default)]
struct Entries {
    unkeyed: Vec<usize>,
    keyed: HashMap<Box<str>, Vec<usize>>,
}

pub(crate) struct Registry {
    registrations: Vec<Registration>,
    services: HashMap<TypeId, Entries, BuildHasherDefault<TypeIdHasher>>,
    singleton_slots: usize,
    scoped_slots: usize,
}

impl Registry {
    pub(crate) fn freeze(descriptors: Vec<Descriptor>) -> Self {
        let mut registry = Self {
            registrations: Vec::with_capacity(descriptors.len()),
            services: HashMap::default(),
            singleton_slots: 0,
            scoped_slots: 0,
        };
        for descriptor in descriptors {
            let index = registry.registrations.len();
            let slot = match descriptor.lifetime {
                Lifetime::Singleton if !descriptor.is_instance => {
                    next(&mut registry.singleton_slots)
                }
                Lifetime::Scoped => next(&mut registry.scoped_slots),
                Lifetime::Singleton | Lifetime::Transient => 0,
            };
            let entries = registry
                .services
                .entry(descriptor.service.type_id)
                .or_default();
            match &descriptor.service.key {
                None => entries.unkeyed.push(index),
                Some(key) => entries.keyed.entry(key.clone()).or_default().push(index),
            }
            registry
                .registrations
                .push(Registration { descriptor, slot });
        }
        registry
    }

    /// The registrations of `type_id` under `key`, in registration order.
    pub(crate) fn find(&self, type_id: TypeId, key: Option<&str>) -> &[usize] {
        let Some(entries) = self.services.get(&type_id) else {
            return &[];
        };
        match key {
            None => &entries.unkeyed,
            Some(key) => entries.keyed.get(key).map_or(&[], Vec::as_slice),
        }
    }

    /// The registration `get` resolves for `service`: the last one.
    pub(crate) fn find_last(&self, service: &ServiceId) -> Option<usize> {
        self.find(service.type_id, service.key.as_deref())
            .last()
            .copied()
    }

    pub(crate) fn len(&self) -> usize {
        self.registrations.len()
    }

    pub(crate) fn get(&self, index: usize) -> &Registration {
        &self.registrations[index]
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, &Registration)> {
        self.registrations.iter().enumerate()
    }

    pub(crate) fn singleton_slots(&self) -> usize {
        self.singleton_slots
    }

    pub(crate) fn scoped_slots(&self) -> usize {
        self.scoped_slots
    }
}

fn next(counter: &mut usize) -> usize {
    *counter += 1;
    *counter - 1
}

/// Hashes a `TypeId` by taking the 64 bits it writes: they are already the output of a hash, so
/// hashing them again (SipHash, the default) would only spend time on every resolution. Any other
/// write is mixed in with FNV-1a, so the hasher stays correct if `TypeId`'s `Hash` changes.
#[derive(Default)]
struct TypeIdHasher {
    hash: u64,
}

impl Hasher for TypeIdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.hash = (self.hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.hash ^= value;
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

#[cfg(test)]
mod tests {
    use crate::vocabulary::{Lifetime, ServiceId};
    use crate::{NotDisposable, ServiceCollection};
    use std::any::TypeId;
    use std::sync::Arc;

    #[test]
    fn keyed_and_unkeyed_registrations_are_kept_apart_in_order() {
        let mut services = ServiceCollection::new();
        services.add_singleton(NotDisposable, |_| Ok(Arc::new(1_u8)));
        services
            .add_scoped(NotDisposable, |_| Ok(Arc::new(2_u8)))
            .keyed("a");
        services.add_transient(NotDisposable, |_| Ok(Arc::new(3_u8)));
        services
            .add_scoped(NotDisposable, |_| Ok(Arc::new(4_u8)))
            .keyed("a");
        let registry = services.freeze();

        // Index 0 is the provider's own ScopeFactory.
        assert_eq!(registry.find(TypeId::of::<u8>(), None), [1, 3]);
        assert_eq!(registry.find(TypeId::of::<u8>(), Some("a")), [2, 4]);
        assert!(registry.find(TypeId::of::<u8>(), Some("b")).is_empty());
        assert!(registry.find(TypeId::of::<u16>(), None).is_empty());
        assert_eq!(registry.find_last(&ServiceId::of::<u8>(Some("a"))), Some(4));
    }

    #[test]
    fn cached_lifetimes_get_dense_slots_of_their_own() {
        let mut services = ServiceCollection::new();
        services.add_singleton(NotDisposable, |_| Ok(Arc::new(1_u8)));
        services.add_singleton_instance(Arc::new(2_u8));
        services.add_scoped(NotDisposable, |_| Ok(Arc::new(3_u8)));
        services.add_singleton(NotDisposable, |_| Ok(Arc::new(4_u8)));
        services.add_scoped(NotDisposable, |_| Ok(Arc::new(5_u8)));
        let registry = services.freeze();

        let slots: Vec<(Lifetime, usize)> = [1, 3, 4, 5]
            .iter()
            .map(|&index| (registry.get(index).lifetime(), registry.get(index).slot))
            .collect();
        // The ScopeFactory singleton holds singleton slot 0; the ready-made instance needs none.
        assert_eq!(
            slots,
            [
                (Lifetime::Singleton, 1),
                (Lifetime::Scoped, 0),
                (Lifetime::Singleton, 2),
                (Lifetime::Scoped, 1)
            ]
        );
        assert_eq!(
            (registry.singleton_slots(), registry.scoped_slots()),
            (3, 2)
        );
    }
}
