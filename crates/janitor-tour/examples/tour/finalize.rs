//! Finalization (scenes 5 to 8): the Dispose-Finalize pattern on a real lock, resurrection, short
//! and long weak references with a ConditionalWeakTable, and critical finalizers after normal
//! ones.

use crate::timeline::Timeline;
use janitor::dispose::DisposeMode;
use janitor::gc::{
    self, ConditionalWeakTable, Finalize, Gc, GcCell, Trace, reregister_for_finalize,
    suppress_finalize, wait_for_pending_finalizers,
};
use rustix::fs::{FlockOperation, flock};
use std::fs::File;
use std::sync::Mutex;

/// What the finalizers of this file did, in order.
static LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());
/// Where a resurrecting finalizer stores its object.
static RESURRECTED: Mutex<Option<Gc<Phoenix>>> = Mutex::new(None);

fn log(line: String) {
    LOG.lock().unwrap().push(line);
}

fn take_log() -> Vec<String> {
    std::mem::take(&mut *LOG.lock().unwrap())
}

pub fn run(tour: &mut Timeline) {
    clipboard(tour);
    resurrection(tour);
    weak_references_and_attached_data(tour);
    critical_after_normal(tour);
}

/// The ClipboardWrapper2 pattern on an exclusive advisory file lock: registered at allocation,
/// suppressed while nothing is held, re-registered on open, suppressed again by dispose. One
/// cleanup serves both paths, told apart by [`DisposeMode`] (.NET's `Dispose(bool disposing)`).
#[derive(Trace)]
#[trace(finalize)]
struct LockedFile {
    #[trace(skip)]
    file: Mutex<Option<File>>,
    /// Managed state: lines written while the lock was held, flushed by an explicit dispose only.
    #[trace(skip)]
    pending_lines: Mutex<Vec<&'static str>>,
}

impl LockedFile {
    fn new() -> Gc<LockedFile> {
        let wrapper = Gc::new(LockedFile {
            file: Mutex::new(None),
            pending_lines: Mutex::new(Vec::new()),
        });
        suppress_finalize(&wrapper); // nothing to release yet
        wrapper
    }

    fn open(this: &Gc<Self>, file: File) {
        flock(&file, FlockOperation::NonBlockingLockExclusive).expect("take the lock");
        *this.file.lock().unwrap() = Some(file);
        this.pending_lines.lock().unwrap().push("last edit");
        reregister_for_finalize(this); // now the finalizer has work
    }

    /// `Dispose(bool disposing)`: managed state only when disposing explicitly (a finalizer must
    /// not touch other objects, which may be finalized already); the lock on both paths.
    fn cleanup(&self, mode: DisposeMode) {
        if mode.releases_managed_state() {
            let flushed = std::mem::take(&mut *self.pending_lines.lock().unwrap());
            log(format!("{mode:?}: flushed {flushed:?}"));
        }
        if let Some(file) = self.file.lock().unwrap().take() {
            flock(&file, FlockOperation::Unlock).expect("release the lock");
            log(format!("{mode:?}: released the lock"));
        }
    }

    fn dispose(this: &Gc<Self>) {
        this.cleanup(DisposeMode::Explicit);
        suppress_finalize(this);
    }
}

impl Finalize for LockedFile {
    fn finalize(this: &Gc<Self>) {
        this.cleanup(DisposeMode::Finalizer);
    }
}

fn lock_is_free(path: &std::path::Path) -> bool {
    let probe = File::open(path).expect("open the lock file");
    flock(&probe, FlockOperation::NonBlockingLockExclusive).is_ok()
}

fn clipboard(tour: &mut Timeline) {
    tour.scene("The Dispose-Finalize pattern: suppress, re-register, Dispose(bool disposing)");
    tour.dotnet(
        "ClipboardWrapper2: the constructor calls GC.SuppressFinalize (nothing held yet); Open \
         calls GC.ReRegisterForFinalize; Dispose() calls Dispose(true) then GC.SuppressFinalize; \
         a forgotten one is released by ~T() calling Dispose(false), which touches no managed \
         state.",
    );
    let path = std::env::temp_dir().join(format!("janitor-tour-{}.lock", std::process::id()));
    let open = || File::create(&path).expect("create the lock file");
    let unopened = LockedFile::new();
    tour.event(format!(
        "created, not opened: registered for finalization? {}",
        gc::is_registered_for_finalize(&unopened)
    ));
    drop(unopened);
    let disposed = LockedFile::new();
    LockedFile::open(&disposed, open());
    tour.event(format!(
        "opened: registered? {}; is the lock free? {}",
        gc::is_registered_for_finalize(&disposed),
        lock_is_free(&path)
    ));
    LockedFile::dispose(&disposed);
    tour.event(format!(
        "dispose(): {:?}; registered? {}; lock free: {}",
        take_log(),
        gc::is_registered_for_finalize(&disposed),
        lock_is_free(&path)
    ));
    drop(disposed);
    wait_for_pending_finalizers();
    tour.event(format!(
        "dropped after dispose: finalizers run {:?}",
        take_log()
    ));
    let forgotten = LockedFile::new();
    LockedFile::open(&forgotten, open());
    drop(forgotten);
    wait_for_pending_finalizers();
    tour.event(format!(
        "another opened and forgotten (never disposed): the finalizer ran {:?}; lock free: {}",
        take_log(),
        lock_is_free(&path)
    ));
    let _ = std::fs::remove_file(&path);
}

#[derive(Trace)]
#[trace(finalize)]
struct Phoenix {
    #[trace(skip)]
    lives: Mutex<u32>,
}

impl Finalize for Phoenix {
    fn finalize(this: &Gc<Self>) {
        *this.lives.lock().unwrap() += 1;
        log("Phoenix's finalizer stores itself".into());
        *RESURRECTED.lock().unwrap() = Some(this.clone());
    }
}

fn resurrection(tour: &mut Timeline) {
    tour.scene("Resurrection: a finalizer stores its object");
    tour.dotnet(
        "The object lives on, unregistered: its finalizer runs again only after \
         GC.ReRegisterForFinalize.",
    );
    drop(Gc::new(Phoenix {
        lives: Mutex::new(0),
    }));
    wait_for_pending_finalizers();
    let phoenix = RESURRECTED.lock().unwrap().take().expect("resurrected");
    tour.event(format!(
        "{:?}; it is usable: lives = {}",
        take_log(),
        phoenix.lives.lock().unwrap()
    ));
    drop(phoenix);
    wait_for_pending_finalizers();
    tour.event(format!(
        "dropped again without re-registering: finalizers run {:?}; the memory is freed",
        take_log()
    ));
}

/// A key for the ConditionalWeakTable: someone else's object, with no room for our notes. It can
/// point to another document, so the collector tracks it; an untracked key (say a `Gc<String>`)
/// behaves the same, its cycles freed by full collections (see `ConditionalWeakTable`).
#[derive(Trace)]
struct Document {
    #[trace(skip)]
    title: &'static str,
    previous_version: GcCell<Option<Gc<Document>>>,
}

fn weak_references_and_attached_data(tour: &mut Timeline) {
    tour.scene("Short versus long weak references; an ephemeron table");
    tour.dotnet(
        "A short WeakReference is cleared before the finalizer runs and stays cleared after a \
         resurrection; a long one (trackResurrection) follows the object until it is freed.",
    );
    let phoenix = Gc::new(Phoenix {
        lives: Mutex::new(0),
    });
    let (short, long) = (Gc::downgrade(&phoenix), Gc::downgrade_long(&phoenix));
    drop(phoenix);
    wait_for_pending_finalizers();
    take_log();
    tour.event(format!(
        "after the resurrecting finalizer: short upgrades? {}; long upgrades? {}",
        short.upgrade().is_some(),
        long.upgrade().is_some()
    ));
    drop(RESURRECTED.lock().unwrap().take());
    tour.event(format!(
        "after the last reference went: long upgrades? {}",
        long.upgrade().is_some()
    ));

    tour.step("A ConditionalWeakTable attaches data to objects it does not own");
    tour.dotnet(
        "An entry lives while its key lives; a value that points back to its key does not keep \
         it alive.",
    );
    let notes: ConditionalWeakTable<Document, Note> = ConditionalWeakTable::new();
    let report = Gc::new(Document {
        title: "quarterly report",
        previous_version: GcCell::new(None),
    });
    notes
        .add(
            &report,
            Gc::new(Note {
                text: "reviewed",
                about: report.clone(),
            }),
        )
        .expect("a new key");
    tour.event(format!(
        "note on the {}: {:?} (the note points back to its document); entries: {}",
        report.title,
        notes.get(&report).map(|note| note.text),
        notes.iter().count()
    ));
    drop(report);
    gc::collect();
    tour.event(format!(
        "the document dropped, gc::collect(): entries left {}",
        notes.iter().count()
    ));
}

/// Data attached to a [`Document`], pointing back to it.
#[derive(Trace)]
struct Note {
    #[trace(skip)]
    text: &'static str,
    about: Gc<Document>,
}

#[derive(Trace)]
struct Bundle {
    members: GcCell<Vec<Member>>,
}

#[derive(Trace)]
enum Member {
    Normal(Gc<NormalResource>),
    Critical(Gc<CriticalHandle>),
}

#[derive(Trace)]
#[trace(finalize)]
struct NormalResource {
    bundle: Gc<Bundle>,
}

impl Finalize for NormalResource {
    fn finalize(_: &Gc<Self>) {
        log("normal".into());
    }
}

#[derive(Trace)]
#[trace(finalize)]
struct CriticalHandle {
    bundle: Gc<Bundle>,
}

impl Finalize for CriticalHandle {
    const CRITICAL: bool = true;
    fn finalize(_: &Gc<Self>) {
        log("critical".into());
    }
}

fn critical_after_normal(tour: &mut Timeline) {
    tour.scene("Critical finalizers run after the normal ones of the same collection");
    tour.dotnet(
        "Among objects one GC finds dead, every normal finalizer runs before any \
         CriticalFinalizerObject's (SafeHandle's).",
    );
    let bundle = Gc::new(Bundle {
        members: GcCell::new(Vec::new()),
    });
    for _ in 0..2 {
        let critical = Gc::new(CriticalHandle {
            bundle: bundle.clone(),
        });
        let normal = Gc::new(NormalResource {
            bundle: bundle.clone(),
        });
        let mut members = bundle.members.borrow_mut();
        members.push(Member::Critical(critical));
        members.push(Member::Normal(normal));
    }
    drop(bundle);
    gc::collect();
    wait_for_pending_finalizers();
    tour.event(format!(
        "allocated critical, normal, critical, normal; finalized in the order {:?}",
        take_log()
    ));
    gc::collect();
}
