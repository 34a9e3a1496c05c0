//! Services that write what happens to them into a shared journal, so tests can assert order.

#![allow(dead_code)] // each test file uses the part of the toolkit its scenarios need

use janitor::{Dispose, DisposeFlag};
use janitor_di::AsyncDispose;
use std::sync::{Arc, Mutex};

/// The events of one test, in the order they happened.
#[derive(Default)]
pub struct Journal(Mutex<Vec<String>>);

impl Journal {
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    pub fn record(&self, event: impl Into<String>) {
        self.0.lock().unwrap().push(event.into());
    }

    pub fn events(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

/// Disposes synchronously, recording "disposed <name>".
pub struct Recorded {
    pub name: &'static str,
    journal: Arc<Journal>,
    pub disposed: DisposeFlag,
}

impl Recorded {
    pub fn new(name: &'static str, journal: &Arc<Journal>) -> Arc<Self> {
        Arc::new(Self {
            name,
            journal: Arc::clone(journal),
            disposed: DisposeFlag::new(),
        })
    }
}

impl Dispose for Recorded {
    fn dispose(&self) {
        if self.disposed.try_begin() {
            self.journal.record(format!("disposed {}", self.name));
        }
    }
}

/// Disposes only asynchronously, recording "disposed async <name>".
pub struct AsyncRecorded {
    pub name: &'static str,
    journal: Arc<Journal>,
    pub disposed: DisposeFlag,
}

impl AsyncRecorded {
    pub fn new(name: &'static str, journal: &Arc<Journal>) -> Arc<Self> {
        Arc::new(Self {
            name,
            journal: Arc::clone(journal),
            disposed: DisposeFlag::new(),
        })
    }
}

impl AsyncDispose for AsyncRecorded {
    async fn dispose_async(&self) {
        if self.disposed.try_begin() {
            self.journal.record(format!("disposed async {}", self.name));
        }
    }
}

/// Implements both; records which one ran.
pub struct DualRecorded {
    pub name: &'static str,
    journal: Arc<Journal>,
    pub disposed: DisposeFlag,
}

impl DualRecorded {
    pub fn new(name: &'static str, journal: &Arc<Journal>) -> Arc<Self> {
        Arc::new(Self {
            name,
            journal: Arc::clone(journal),
            disposed: DisposeFlag::new(),
        })
    }
}

impl Dispose for DualRecorded {
    fn dispose(&self) {
        if self.disposed.try_begin() {
            self.journal.record(format!("disposed {}", self.name));
        }
    }
}

impl AsyncDispose for DualRecorded {
    async fn dispose_async(&self) {
        if self.disposed.try_begin() {
            self.journal.record(format!("disposed async {}", self.name));
        }
    }
}

/// Panics in dispose.
pub struct Exploding;

impl Dispose for Exploding {
    fn dispose(&self) {
        panic!("dispose exploded");
    }
}
