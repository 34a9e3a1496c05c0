//! The entry list both dispose stacks are built on.
//!
//! Invariant owned here: **a list is open until it is closed, and never reopens.** While open it
//! accepts entries; the first `close` hands every entry to its caller (who runs or moves them) and
//! every later `close` gets nothing, so each entry is handed out exactly once. A registration that
//! finds the list closed gets its entry back, so the caller can release it at once: nothing is
//! lost. The list's leak tracker is closed with it; a list dropped while still holding entries is
//! the one case reported as a leak.
//!
//! No user code runs under the lock (entries are run by the caller, after `close` returned them),
//! so a panicking entry cannot poison it; a poisoned lock (an allocation failure mid-push) still
//! holds a valid vector and is used as it is.

use crate::sync::IgnorePoison;
use std::sync::{Mutex, MutexGuard};

use crate::leak::LeakTracker;

/// Entries of type `E` and the open/closed state, behind one lock.
pub(super) struct EntryList<E> {
    entries: Mutex<Option<Vec<E>>>,
    leak: LeakTracker,
}

impl<E> EntryList<E> {
    /// An open list holding `entries`, tracked for leaks under the name of `Owner`.
    #[track_caller]
    pub(super) fn open<Owner>(entries: Vec<E>) -> Self {
        Self {
            entries: Mutex::new(Some(entries)),
            leak: LeakTracker::new::<Owner>(),
        }
    }

    /// Appends `entry` if the list is open; hands it back if it is closed.
    pub(super) fn push(&self, entry: E) -> Result<(), E> {
        match self.lock().as_mut() {
            Some(entries) => {
                entries.push(entry);
                Ok(())
            }
            None => Err(entry),
        }
    }

    /// Closes the list: the entries on the first call, `None` on every later one.
    pub(super) fn close(&self) -> Option<Vec<E>> {
        let entries = self.lock().take();
        self.leak.close();
        entries
    }

    /// Whether the list has been closed.
    pub(super) fn is_closed(&self) -> bool {
        self.lock().is_none()
    }

    /// How many entries an open list holds; `None` once closed.
    pub(super) fn len(&self) -> Option<usize> {
        self.lock().as_ref().map(Vec::len)
    }

    /// Closes the list as its owner is dropped: a list that still held entries had something to
    /// dispose and is reported as leaked; an empty one leaked nothing.
    pub(super) fn close_on_drop(&mut self) -> Option<Vec<E>> {
        let entries = self.entries.get_mut().ignore_poison().take();
        match &entries {
            Some(entries) if !entries.is_empty() => self.leak.report_leak(),
            _ => self.leak.close(),
        }
        entries
    }

    fn lock(&self) -> MutexGuard<'_, Option<Vec<E>>> {
        self.entries.lock().ignore_poison()
    }
}
