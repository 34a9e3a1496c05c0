//! The resolution stack: which registrations this thread is creating right now.
//!
//! Invariant: while a factory runs, its registration is on the stack of the thread running it, and
//! comes off when the factory returns or unwinds. A registration that asks for itself (directly
//! or through others) is found on the stack before its factory runs again, so a cycle is an error
//! with its path instead of a stack overflow or a deadlock on the creation lock.
//!
//! The stack is thread-local rather than carried by the resolver so that it also sees resolutions
//! through any other handle a factory might hold (a provider captured in a closure, a scope it
//! created). Frames are tagged with their container, so two providers never confuse each other.

use crate::error::ResolveError;
use crate::registry::Registry;
use crate::vocabulary::Lifetime;
use std::cell::RefCell;
use std::marker::PhantomData;

#[derive(Clone, Copy, PartialEq, Eq)]
struct Frame {
    container: usize,
    registration: usize,
}

thread_local! {
    static STACK: RefCell<Vec<Frame>> = const { RefCell::new(Vec::new()) };
}

/// A registration on this thread's stack; popped on drop, panics included.
pub(crate) struct Entered {
    /// The frame belongs to this thread's stack: the guard must not move to another thread.
    _not_send: PhantomData<*const ()>,
}

impl Drop for Entered {
    fn drop(&mut self) {
        STACK.with_borrow_mut(|stack| stack.pop());
    }
}

/// Pushes `registration` of `container` onto this thread's stack, or returns the cycle if it is
/// already there.
pub(crate) fn enter(
    container: usize,
    registration: usize,
    registry: &Registry,
) -> Result<Entered, ResolveError> {
    let frame = Frame {
        container,
        registration,
    };
    STACK.with_borrow_mut(|stack| {
        if let Some(start) = stack.iter().position(|entered| *entered == frame) {
            let path = stack[start..]
                .iter()
                .filter(|entered| entered.container == container)
                .chain(std::iter::once(&frame))
                .map(|entered| registry.get(entered.registration).display_name())
                .collect::<Vec<_>>()
                .join(" -> ");
            return Err(ResolveError::Cycle {
                service: registry.get(registration).display_name(),
                path,
            });
        }
        stack.push(frame);
        Ok(Entered {
            _not_send: PhantomData,
        })
    })
}

/// The singleton of `container` this thread is creating most recently, if any: the one that
/// would capture a scoped service resolved now.
pub(crate) fn innermost_singleton(container: usize, registry: &Registry) -> Option<usize> {
    STACK.with_borrow(|stack| {
        stack
            .iter()
            .rev()
            .filter(|entered| entered.container == container)
            .map(|entered| entered.registration)
            .find(|&registration| registry.get(registration).lifetime() == Lifetime::Singleton)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{NotDisposable, ServiceCollection};
    use std::any::type_name;
    use std::sync::Arc;

    /// Index 0 is the provider's own `ScopeFactory` singleton, 1 is `u8`, 2 is `u16`.
    fn registry() -> Registry {
        let mut services = ServiceCollection::new();
        services.add_transient(NotDisposable, |_| Ok(Arc::new(1_u8)));
        services.add_transient(NotDisposable, |_| Ok(Arc::new(2_u16)));
        services.freeze()
    }

    fn cycle_path(result: Result<Entered, ResolveError>) -> String {
        match result {
            Err(ResolveError::Cycle { path, .. }) => path,
            Err(other) => panic!("expected a cycle, got {other}"),
            Ok(_) => panic!("expected a cycle, the registration was entered"),
        }
    }

    #[test]
    fn a_registration_entered_twice_is_a_cycle_with_its_path() {
        let registry = registry();
        let _outer = enter(1, 1, &registry).unwrap();
        let _inner = enter(1, 2, &registry).unwrap();

        let path = cycle_path(enter(1, 1, &registry));

        let (byte, short) = (type_name::<u8>(), type_name::<u16>());
        assert_eq!(path, format!("{byte} -> {short} -> {byte}"));
    }

    #[test]
    fn frames_of_another_container_are_neither_a_cycle_nor_in_the_path() {
        let registry = registry();
        let _first = enter(1, 1, &registry).unwrap();
        let _other_container = enter(2, 1, &registry).unwrap();
        let _second = enter(1, 2, &registry).unwrap();

        let path = cycle_path(enter(1, 1, &registry));

        let (byte, short) = (type_name::<u8>(), type_name::<u16>());
        assert_eq!(path, format!("{byte} -> {short} -> {byte}"));
    }

    #[test]
    fn a_frame_is_popped_when_its_guard_drops_even_while_unwinding() {
        let registry = registry();
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _entered = enter(1, 1, &registry).unwrap();
            panic!("the factory panicked");
        }));
        assert!(unwound.is_err());

        assert!(
            enter(1, 1, &registry).is_ok(),
            "the frame of the panicked factory is gone"
        );
    }

    #[test]
    fn the_innermost_singleton_of_the_container_is_found() {
        let registry = registry();
        assert_eq!(innermost_singleton(1, &registry), None);
        let _singleton = enter(1, 0, &registry).unwrap();
        let _transient = enter(1, 1, &registry).unwrap();

        assert_eq!(innermost_singleton(1, &registry), Some(0));
        assert_eq!(innermost_singleton(2, &registry), None);
    }
}
