//! The reports kept for [`take_reports`](super::take_reports) and [`LeakCheck`](super::LeakCheck).
//!
//! Invariant: **one entry per distinct leak (type, creation site, scope); a later identical leak
//! only raises the entry's count.** The scope is the `LeakCheck` that was innermost on the
//! creating thread when the resource was created, if that check is still running when the leak is
//! found; otherwise the leak is unscoped, for `take_reports`.
//!
//! A plain `Mutex`: leaks are rare, reports are few (bounded by distinct creation sites), and
//! nothing here is on a fast path. The `tracing` event for a new report is emitted after the lock
//! is released, since a subscriber may itself drop tracked resources.

use super::report::LeakReport;
use crate::sync::IgnorePoison;
use std::panic::Location;
use std::sync::{Mutex, MutexGuard};

/// Names one running [`LeakCheck`](super::LeakCheck).
pub(super) type ScopeId = u64;

struct Entry {
    scope: Option<ScopeId>,
    report: LeakReport,
}

struct Registry {
    entries: Vec<Entry>,
    running_scopes: Vec<ScopeId>,
    next_scope: ScopeId,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    entries: Vec::new(),
    running_scopes: Vec::new(),
    next_scope: 0,
});

/// The registry. A panic while it was held cannot leave it half-updated (every update is one
/// push, one increment or one swap of the list), so a poisoned lock is simply taken.
fn registry() -> MutexGuard<'static, Registry> {
    REGISTRY.lock().ignore_poison()
}

/// Files one leak of `type_name` created at `created_at`: counts it if an identical one is kept,
/// otherwise keeps the report `build` makes (count 1) and sends it to `tracing`.
pub(super) fn file(
    type_name: &'static str,
    created_at: &'static Location<'static>,
    scope: Option<ScopeId>,
    build: impl FnOnce() -> LeakReport,
) {
    let first = {
        let mut registry = registry();
        let scope = scope.filter(|scope| registry.running_scopes.contains(scope));
        let same = registry
            .entries
            .iter_mut()
            .find(|entry| entry.scope == scope && entry.report.is_same_leak(type_name, created_at));
        if let Some(entry) = same {
            entry.report.count += 1;
            None
        } else {
            let report = build();
            registry.entries.push(Entry {
                scope,
                report: report.clone(),
            });
            Some(report)
        }
    };
    if let Some(report) = first {
        tracing::warn!(
            leaked_type = report.type_name(),
            created_at = %report.created_at(),
            "{report}"
        );
    }
}

/// Starts a scope: leaks of resources created under it are kept for it alone.
pub(super) fn open_scope() -> ScopeId {
    let mut registry = registry();
    let scope = registry.next_scope;
    registry.next_scope += 1;
    registry.running_scopes.push(scope);
    scope
}

/// Ends a scope and takes its reports; later leaks of its resources are unscoped.
pub(super) fn close_scope(scope: ScopeId) -> Vec<LeakReport> {
    let mut registry = registry();
    registry.running_scopes.retain(|running| *running != scope);
    take_where(&mut registry, |entry| entry.scope == Some(scope))
}

/// Takes every report not kept for a running scope.
pub(super) fn take_unscoped() -> Vec<LeakReport> {
    take_where(&mut registry(), |entry| entry.scope.is_none())
}

fn take_where(registry: &mut Registry, taken: impl Fn(&Entry) -> bool) -> Vec<LeakReport> {
    let (taken, kept): (Vec<Entry>, Vec<Entry>) = std::mem::take(&mut registry.entries)
        .into_iter()
        .partition(taken);
    registry.entries = kept;
    taken.into_iter().map(|entry| entry.report).collect()
}
