//! `SafeHandle<K>`: a raw handle, who owns it, and the state word that decides when it is released.
//!
//! Every transition is the state word's (`state.rs`); this file turns a final transition into the
//! release (or into nothing, for a handle that is invalid, not owned, or closed early), and turns
//! `Drop` without dispose into the finalization path.

use super::error::HandleError;
use super::guard::HandleGuard;
use super::kind::{HandleKind, InvalidHandleValue};
use super::state::{Decrement, StateWord, TakeRefused};
use crate::dispose::{Dispose, ObjectDisposed};
use crate::leak::LeakTracker;
use std::fmt;
use std::marker::PhantomData;

/// An owned operating-system handle that can be shared across threads, used, and disposed at any
/// moment without ever letting a use touch a released or recycled handle.
///
/// The counterpart of .NET's `SafeHandle`. Uses are counted in one atomic word together with the
/// "closed" and "disposed" bits:
///
/// - [`add_ref`](Self::add_ref) starts a use and returns a [`HandleGuard`]; dropping the guard ends it.
///   No use starts once the handle is closed.
/// - [`dispose`](Dispose::dispose) (or [`close`](Self::close), the same) gives back the count
///   creation holds. The handle is released on the transition of the count to zero: at the dispose
///   if no use is in flight, otherwise when the last use ends. A second dispose does nothing.
/// - The release ([`HandleKind::release`]) runs at most once, and never for an invalid handle
///   ([`is_invalid`](Self::is_invalid)), a handle it does not own ([`owns_handle`](Self::owns_handle)),
///   or after [`set_handle_as_invalid`](Self::set_handle_as_invalid).
/// - Dropping the last owner without dispose is the finalization path: the drop performs the
///   dispose transition, so the handle is released then.
///
/// ```
/// use janitor::Dispose;
/// use janitor::handle::SafeFd;
/// use std::sync::Arc;
///
/// let (reader, _writer) = rustix::pipe::pipe().unwrap();
/// let handle = Arc::new(SafeFd::from(reader));
///
/// let guard = handle.add_ref().unwrap();  // a use in flight
/// handle.dispose();                       // disposed, but not closed: the use still runs
/// assert!(!handle.is_closed());
/// rustix::fs::fstat(guard.as_fd()).unwrap();
/// drop(guard);                            // the last use ends: the descriptor is closed now
/// assert!(handle.is_closed());
/// assert!(handle.add_ref().is_err());     // ObjectDisposed
/// ```
pub struct SafeHandle<K: HandleKind> {
    raw: K::Raw,
    owns_handle: bool,
    state: StateWord,
    /// Tracked only for an owned, valid handle: dropping any other undisposed leaks nothing.
    leak: LeakTracker,
    kind: PhantomData<K>,
}

impl<K: HandleKind> SafeHandle<K> {
    /// Takes charge of `raw` and owns it: the handle releases it after its last use (.NET's
    /// `ownsHandle: true`).
    ///
    /// An owned, valid handle carries a [`LeakTracker`] (tracked as the
    /// [leak level](crate::leak::LeakLevel) decides), created here with the handle's type name and
    /// the caller's place (`#[track_caller]`), and closed by dispose, `set_handle_as_invalid` or
    /// taking the value out (`into_owned_fd`); dropping the handle undisposed reports it. An
    /// invalid value is never tracked: dropping its handle undisposed leaks nothing.
    ///
    /// # Safety
    ///
    /// `K::is_invalid(raw)` gives the same answer every time it is asked (it is asked again at the
    /// release; a kind whose answer can change is not fit for this call). If `raw` is valid
    /// (`is_invalid` is `false`), it names a live handle of kind `K` whose ownership passes to the
    /// `SafeHandle`: nothing else releases `raw` or uses it after the `SafeHandle` is closed.
    ///
    /// ```
    /// use janitor::handle::SafeFd;
    /// use std::os::fd::IntoRawFd;
    ///
    /// let (reader, _writer) = rustix::pipe::pipe().unwrap();
    /// // SAFETY: the descriptor was just taken out of its owner; the SafeFd owns it from now on.
    /// let handle = unsafe { SafeFd::from_raw_owned(reader.into_raw_fd()) };
    /// assert!(handle.owns_handle());
    /// assert!(!handle.is_invalid());
    /// ```
    #[track_caller]
    pub unsafe fn from_raw_owned(raw: K::Raw) -> Self {
        let leak = if K::is_invalid(raw) {
            LeakTracker::untracked()
        } else {
            LeakTracker::new::<Self>()
        };
        Self {
            raw,
            owns_handle: true,
            state: StateWord::new(),
            leak,
            kind: PhantomData,
        }
    }

    /// Takes charge of `raw` without owning it: the handle never releases it, the caller does
    /// (.NET's `ownsHandle: false`). Uses, dispose and the refusal of uses after it work as for an
    /// owned handle; such a handle is never leak-tracked, since dropping it leaks nothing.
    ///
    /// # Safety
    ///
    /// `K::is_invalid(raw)` gives the same answer every time it is asked. If `raw` is valid, it
    /// names a live handle of kind `K` that the caller keeps live for as long as this
    /// `SafeHandle` exists.
    ///
    /// ```
    /// use janitor::handle::SafeFd;
    /// use std::os::fd::AsRawFd;
    ///
    /// let (reader, _writer) = rustix::pipe::pipe().unwrap();
    /// // SAFETY: `reader` outlives the handle and keeps ownership of the descriptor.
    /// let borrowed = unsafe { SafeFd::from_raw_borrowed(reader.as_raw_fd()) };
    /// assert!(!borrowed.owns_handle());
    /// ```
    pub unsafe fn from_raw_borrowed(raw: K::Raw) -> Self {
        Self {
            raw,
            owns_handle: false,
            state: StateWord::new(),
            leak: LeakTracker::untracked(),
            kind: PhantomData,
        }
    }

    /// Starts a use: while the returned guard lives, the handle is not released, whatever other
    /// threads do (dispose included). `Err(ObjectDisposed)` if the handle is closed.
    ///
    /// As in .NET, a use may start after dispose as long as other uses keep the handle open: dispose
    /// only gives back creation's count.
    ///
    /// ```
    /// use janitor::Dispose;
    /// use janitor::handle::SafeFd;
    ///
    /// let (reader, _writer) = rustix::pipe::pipe().unwrap();
    /// let handle = SafeFd::from(reader);
    /// {
    ///     let guard = handle.add_ref().unwrap();
    ///     assert!(guard.raw() >= 0);
    /// }
    /// handle.dispose();
    /// assert!(handle.add_ref().is_err());
    /// ```
    #[inline]
    pub fn add_ref(&self) -> Result<HandleGuard<'_, K>, ObjectDisposed> {
        if self.state.try_begin_use() {
            Ok(HandleGuard::new(self))
        } else {
            Err(ObjectDisposed::of::<Self>())
        }
    }

    /// Ends a use started by [`add_ref`](Self::add_ref); called by the guard's `Drop`.
    #[inline]
    pub(super) fn end_use(&self) {
        if let decrement @ Decrement::Final { .. } = self.state.end_use() {
            self.finish(decrement);
        }
    }

    /// Starts a use that the caller must end with [`dangerous_release`](Self::dangerous_release):
    /// .NET's `DangerousAddRef`, kept for parity. Prefer [`add_ref`](Self::add_ref), whose guard
    /// cannot forget to end the use; a forgotten release keeps the handle open for ever.
    ///
    /// ```
    /// use janitor::Dispose;
    /// use janitor::handle::SafeFd;
    ///
    /// let (reader, _writer) = rustix::pipe::pipe().unwrap();
    /// let handle = SafeFd::from(reader);
    /// handle.dangerous_add_ref().unwrap();
    /// handle.dispose();
    /// assert!(!handle.is_closed());
    /// // SAFETY: matches the dangerous_add_ref above.
    /// unsafe { handle.dangerous_release() }.unwrap();
    /// assert!(handle.is_closed());
    /// ```
    pub fn dangerous_add_ref(&self) -> Result<(), ObjectDisposed> {
        if self.state.try_begin_use() {
            Ok(())
        } else {
            Err(ObjectDisposed::of::<Self>())
        }
    }

    /// Ends a use started by [`dangerous_add_ref`](Self::dangerous_add_ref): .NET's
    /// `DangerousRelease`. If it ends the last use of a disposed handle, it releases the handle.
    ///
    /// `Err(ObjectDisposed)` if no count is left at all (more releases than add-refs and dispose
    /// together): the state is left untouched, as .NET throws `ObjectDisposedException`.
    ///
    /// # Safety
    ///
    /// Each call matches one earlier successful `dangerous_add_ref` on this handle that has not been
    /// released yet. An unmatched call that finds a count left takes one that belongs to someone
    /// else (creation's or a guard's), and the handle may then be released under a use in flight.
    ///
    /// ```
    /// use janitor::handle::SafeFd;
    ///
    /// let (reader, _writer) = rustix::pipe::pipe().unwrap();
    /// let handle = SafeFd::from(reader);
    /// handle.dangerous_add_ref().unwrap();
    /// // SAFETY: matches the dangerous_add_ref above.
    /// unsafe { handle.dangerous_release() }.unwrap();
    /// ```
    pub unsafe fn dangerous_release(&self) -> Result<(), ObjectDisposed> {
        let decrement = self
            .state
            .try_end_use()
            .ok_or_else(ObjectDisposed::of::<Self>)?;
        self.finish(decrement);
        Ok(())
    }

    /// The raw handle, with no use started: .NET's `DangerousGetHandle`. Using the value is only
    /// sound while a use is in flight ([`dangerous_add_ref`](Self::dangerous_add_ref)); prefer
    /// [`HandleGuard::raw`], which ties the value to its use.
    ///
    /// ```
    /// use janitor::handle::SafeFd;
    ///
    /// // SAFETY: -1 names no descriptor; the handle is invalid and never released.
    /// let handle = unsafe { SafeFd::from_raw_owned(-1) };
    /// assert_eq!(handle.dangerous_get_handle(), -1);
    /// ```
    pub fn dangerous_get_handle(&self) -> K::Raw {
        self.raw
    }

    /// Disposes the handle: the same operation as [`Dispose::dispose`] (.NET's `Close`).
    ///
    /// ```
    /// use janitor::handle::SafeFd;
    ///
    /// let (reader, _writer) = rustix::pipe::pipe().unwrap();
    /// let handle = SafeFd::from(reader);
    /// handle.close();
    /// assert!(handle.is_closed());
    /// ```
    pub fn close(&self) {
        self.dispose();
    }

    /// Whether no use can start any more: the handle was released (or, if invalid or not owned,
    /// would have been), or [`set_handle_as_invalid`](Self::set_handle_as_invalid) was called.
    /// A snapshot: another thread may close the handle right after it returns `false`.
    ///
    /// ```
    /// use janitor::Dispose;
    /// use janitor::handle::SafeFd;
    ///
    /// let (reader, _writer) = rustix::pipe::pipe().unwrap();
    /// let handle = SafeFd::from(reader);
    /// assert!(!handle.is_closed());
    /// handle.dispose();
    /// assert!(handle.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.state.is_closed()
    }

    /// Whether the dispose that balances creation has happened (the handle may still be open, for
    /// uses in flight).
    ///
    /// ```
    /// use janitor::Dispose;
    /// use janitor::handle::SafeFd;
    ///
    /// let (reader, _writer) = rustix::pipe::pipe().unwrap();
    /// let handle = SafeFd::from(reader);
    /// let guard = handle.add_ref().unwrap();
    /// handle.dispose();
    /// assert!(handle.is_disposed() && !handle.is_closed());
    /// drop(guard);
    /// assert!(handle.is_closed());
    /// ```
    pub fn is_disposed(&self) -> bool {
        self.state.is_disposed()
    }

    /// Whether the raw value names no handle ([`HandleKind::is_invalid`]); such a handle is never
    /// released.
    ///
    /// ```
    /// use janitor::handle::SafeFd;
    /// assert!(SafeFd::invalid().is_invalid());
    /// ```
    pub fn is_invalid(&self) -> bool {
        K::is_invalid(self.raw)
    }

    /// Whether this handle releases its raw value: made by [`from_raw_owned`](Self::from_raw_owned),
    /// not [`from_raw_borrowed`](Self::from_raw_borrowed).
    ///
    /// ```
    /// use janitor::handle::SafeFd;
    /// use std::os::fd::AsRawFd;
    ///
    /// let (reader, _writer) = rustix::pipe::pipe().unwrap();
    /// // SAFETY: `reader` outlives the handle and keeps ownership of the descriptor.
    /// let borrowed = unsafe { SafeFd::from_raw_borrowed(reader.as_raw_fd()) };
    /// assert!(!borrowed.owns_handle());
    /// ```
    pub fn owns_handle(&self) -> bool {
        self.owns_handle
    }

    /// Declares the raw value no longer this handle's to release (it was closed or handed over
    /// by other means): closes the handle at once, so no new use starts, and the release never runs,
    /// even when the last use in flight ends. Finalization is suppressed: dropping it later is not a
    /// forgotten dispose. .NET's `SetHandleAsInvalid`.
    ///
    /// Uses already in flight are not stopped: their guards still lend the raw value (a
    /// `BorrowedFd`, say) until they end. Whoever takes the raw value back (closes it, or wraps it
    /// in an `OwnedFd`) must wait until no use is in flight — for example by calling this only
    /// where no guard can exist, or after the handle's last use.
    ///
    /// ```
    /// use janitor::Dispose;
    /// use janitor::handle::SafeFd;
    /// use std::os::fd::{FromRawFd, OwnedFd};
    ///
    /// let (reader, _writer) = rustix::pipe::pipe().unwrap();
    /// let handle = SafeFd::from(reader);
    /// let raw = handle.dangerous_get_handle();
    /// handle.set_handle_as_invalid();
    /// assert!(handle.is_closed() && handle.add_ref().is_err());
    /// handle.dispose();
    /// // SAFETY: set_handle_as_invalid made the handle give up the descriptor, and no use of it
    /// // was in flight (no guard, no dangerous_add_ref): we own it again.
    /// drop(unsafe { OwnedFd::from_raw_fd(raw) });
    /// ```
    pub fn set_handle_as_invalid(&self) {
        let prevented_release = self.state.close_early();
        self.leak.close();
        tracing::trace!(
            handle = std::any::type_name::<Self>(),
            raw = ?self.raw,
            prevented_release,
            "SafeHandle set as invalid"
        );
    }

    /// The number of uses in flight (guards and unmatched `dangerous_add_ref`s), not counting the
    /// count creation holds until dispose. A snapshot, for diagnostics and tests.
    ///
    /// ```
    /// use janitor::handle::SafeFd;
    ///
    /// let (reader, _writer) = rustix::pipe::pipe().unwrap();
    /// let handle = SafeFd::from(reader);
    /// let _guard = handle.add_ref().unwrap();
    /// assert_eq!(handle.uses_in_flight(), 1);
    /// ```
    pub fn uses_in_flight(&self) -> usize {
        let creation = usize::from(!self.state.is_disposed());
        self.state.count().saturating_sub(creation)
    }

    /// Takes the raw value out, if only creation's count is left: the handle ends disposed and
    /// closed, without releasing. For `into_owned_fd` and the like.
    pub(super) fn try_take(&self) -> Result<K::Raw, HandleError> {
        if !self.owns_handle {
            return Err(HandleError::NotOwned {
                handle: std::any::type_name::<Self>(),
            });
        }
        if self.is_invalid() {
            return Err(HandleError::Invalid {
                handle: std::any::type_name::<Self>(),
            });
        }
        match self.state.try_take() {
            Ok(()) => {
                self.leak.close();
                Ok(self.raw)
            }
            Err(TakeRefused::Closed) => Err(ObjectDisposed::of::<Self>().into()),
            Err(TakeRefused::UsesInFlight(uses)) => Err(HandleError::UsesInFlight { uses }),
        }
    }

    /// Acts on a final transition: the release, unless the handle is invalid, not owned, or
    /// closed early. `is_invalid` is a pure function of the immutable raw value, so reading it here
    /// is the same as reading it before the transition (as .NET does).
    #[cold]
    #[inline(never)]
    fn finish(&self, decrement: Decrement) {
        let Decrement::Final { closed_early } = decrement else {
            return;
        };
        if closed_early || !self.owns_handle || self.is_invalid() {
            return;
        }
        // SAFETY: `from_raw_owned`'s contract gave this handle ownership of `raw` (`owns_handle`), and
        // `raw` is valid (`is_invalid` answers as it did at `from_raw_owned`, by that same contract). The
        // final transition happens once, no use is in flight (the count is zero and stays zero),
        // and every earlier use happened-before it (the state word's acquire fence).
        let released = unsafe { K::release(self.raw) };
        if !released {
            tracing::warn!(
                handle = std::any::type_name::<Self>(),
                raw = ?self.raw,
                "SafeHandle release failed: the operating system reported an error releasing the \
                 handle; it is gone either way (the .NET Framework reported this as the \
                 ReleaseHandleFailed assistant)"
            );
        }
    }

    /// The finalization path: the last owner dropped the handle without disposing it. This is the
    /// one place that learns of a forgotten dispose: the leak tracker reports it (if tracked)
    /// before the dispose that follows closes the tracker.
    fn on_finalized_without_dispose(&self) {
        self.leak.report_leak();
        tracing::debug!(
            handle = std::any::type_name::<Self>(),
            raw = ?self.raw,
            "SafeHandle dropped without dispose: releasing it on the finalization path"
        );
    }
}

impl<K: InvalidHandleValue> SafeHandle<K> {
    /// A handle holding the kind's invalid value: closed only in the sense that no release ever
    /// runs; uses may start (as in .NET) and see the invalid raw value.
    ///
    /// ```
    /// use janitor::Dispose;
    /// use janitor::handle::SafeFd;
    ///
    /// let handle = SafeFd::invalid();
    /// assert!(handle.is_invalid() && !handle.is_closed());
    /// handle.dispose();
    /// assert!(handle.is_closed());
    /// ```
    pub fn invalid() -> Self {
        // SAFETY: `InvalidHandleValue` promises `INVALID` is invalid, so it is never released and
        // names no handle that must stay live.
        unsafe { Self::from_raw_owned(K::INVALID) }
    }
}

impl<K: HandleKind> Dispose for SafeHandle<K> {
    /// Gives back the count creation holds; releases the handle now if no use is in flight, or at
    /// the end of the last one. Later calls do nothing.
    fn dispose(&self) {
        self.leak.close();
        if let Some(decrement) = self.state.dispose() {
            self.finish(decrement);
        }
    }
}

impl<K: HandleKind> Drop for SafeHandle<K> {
    fn drop(&mut self) {
        // No guard can exist (guards borrow the handle), so only `dangerous_add_ref`s that were
        // never released can hold counts now; .NET's finalizer leaves such a handle unreleased too.
        let finalizable =
            self.owns_handle && !self.state.is_disposed() && !self.state.is_closed_early();
        if finalizable {
            self.on_finalized_without_dispose();
        }
        self.dispose();
        if self.state.count() != 0 {
            tracing::warn!(
                handle = std::any::type_name::<Self>(),
                raw = ?self.raw,
                uses = self.uses_in_flight(),
                "SafeHandle dropped with dangerous_add_ref uses never released: the handle is \
                 leaked, never released; match every dangerous_add_ref with dangerous_release"
            );
        }
    }
}

impl<K: HandleKind> fmt::Debug for SafeHandle<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SafeHandle")
            .field("kind", &std::any::type_name::<K>())
            .field("raw", &self.raw)
            .field("owns_handle", &self.owns_handle)
            .field("closed", &self.is_closed())
            .field("disposed", &self.is_disposed())
            .field("uses_in_flight", &self.uses_in_flight())
            .finish()
    }
}

#[cfg(all(test, loom))]
mod loom {
    //! The state word's models (`state.rs`) check the word against a copy of the release decision;
    //! these check `SafeHandle` itself: its guards, `dispose`, `set_handle_as_invalid`, `Drop` and
    //! `finish` calling the kind's release, in every interleaving. The resource is a per-execution
    //! loom static that uses read and the release writes, so loom reports any release not ordered
    //! after every use; the release also asserts it runs at most once.

    use super::SafeHandle;
    use crate::dispose::Dispose;
    use crate::handle::HandleKind;
    use loom::cell::UnsafeCell;
    use loom::sync::Arc;
    use loom::sync::atomic::{AtomicUsize, Ordering};
    use loom::thread;

    struct Resource {
        open: UnsafeCell<bool>,
        releases: AtomicUsize,
    }

    loom::lazy_static! {
        static ref RESOURCE: Resource = Resource {
            open: UnsafeCell::new(true),
            releases: AtomicUsize::new(0),
        };
    }

    /// Raw value 1 names `RESOURCE`.
    struct Tracked;

    impl HandleKind for Tracked {
        type Raw = u8;

        fn is_invalid(raw: u8) -> bool {
            raw != 1
        }

        unsafe fn release(_raw: u8) -> bool {
            // SAFETY: (model) loom checks that this write is ordered after every use's read.
            RESOURCE.open.with_mut(|open| unsafe {
                assert!(*open, "released twice");
                *open = false;
            });
            RESOURCE.releases.fetch_add(1, Ordering::Relaxed);
            true
        }
    }

    fn tracked_handle() -> Arc<SafeHandle<Tracked>> {
        // SAFETY: raw 1 names `RESOURCE`, which nothing but this handle releases.
        Arc::new(unsafe { SafeHandle::from_raw_owned(1) })
    }

    /// One use through a guard, if the handle is still open.
    fn use_once(handle: &SafeHandle<Tracked>) {
        if let Ok(guard) = handle.add_ref() {
            // SAFETY: (model) loom checks that this read is ordered before the release's write.
            RESOURCE
                .open
                .with(|open| unsafe { assert!(*open, "a use saw a released resource") });
            drop(guard);
        }
    }

    fn releases() -> usize {
        RESOURCE.releases.load(Ordering::Relaxed)
    }

    #[test]
    fn loom_safe_handle_releases_once_after_every_guard() {
        loom::model(|| {
            let handle = tracked_handle();
            let users: Vec<_> = (0..2)
                .map(|_| {
                    let handle = Arc::clone(&handle);
                    thread::spawn(move || use_once(&handle))
                })
                .collect();
            handle.dispose();
            for user in users {
                user.join().unwrap();
            }
            assert!(handle.add_ref().is_err());
            assert_eq!(releases(), 1);
        });
    }

    #[test]
    fn loom_safe_handle_set_invalid_during_a_use_prevents_the_release() {
        loom::model(|| {
            let handle = tracked_handle();
            handle.dangerous_add_ref().unwrap();
            // The closer sets the handle invalid while the use above is still in flight, so before
            // any final transition; the dispose and another use race it.
            let closer = {
                let handle = Arc::clone(&handle);
                thread::spawn(move || {
                    handle.set_handle_as_invalid();
                    assert!(handle.add_ref().is_err(), "a use started after set-invalid");
                    // SAFETY: ends the dangerous_add_ref made before this thread started.
                    unsafe { handle.dangerous_release() }.unwrap();
                })
            };
            let disposer = {
                let handle = Arc::clone(&handle);
                thread::spawn(move || handle.dispose())
            };
            use_once(&handle);
            closer.join().unwrap();
            disposer.join().unwrap();
            assert!(handle.is_closed());
            drop(handle);
            assert_eq!(releases(), 0, "released after set_handle_as_invalid");
        });
    }

    #[test]
    fn loom_safe_handle_dropped_undisposed_releases_once_after_the_last_use() {
        loom::model(|| {
            let handle = tracked_handle();
            let user = {
                let handle = Arc::clone(&handle);
                thread::spawn(move || use_once(&handle))
            };
            use_once(&handle);
            drop(handle);
            user.join().unwrap();
            assert_eq!(releases(), 1);
        });
    }
}
