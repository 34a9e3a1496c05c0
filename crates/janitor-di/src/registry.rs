//! The frozen registrations of a provider: looked up by type and key, never changed after build.
//!
//! Invariant: the source of every registration stored under `TypeId::of::<T>()` is a
//! `Source<T>`, so the typed downcast in resolution cannot fail. Singleton and scoped
//! registrations each own a slot number, dense from zero within their lifetime, which indexes the
//! cache of the root provider (singletons) or of each scope (scoped services).

use crate::collection::{Descriptor, Lifetime, ServiceId};
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
