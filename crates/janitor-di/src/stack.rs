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

use crate::collection::Lifetime;
use crate::error::ResolveError;
use crate::registry::Registry;
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
