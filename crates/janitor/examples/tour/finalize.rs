//! Finalization scenes: when a finalizer runs (and how janitor differs from .NET), making it
//! certain, the ClipboardWrapper pattern on a real lock, resurrection, short and long weak
//! references, a ConditionalWeakTable, and critical finalizers after normal ones.

use crate::timeline::Timeline;
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

#[derive(Trace)]
#[trace(finalize)]
struct Person {
    #[trace(skip)]
    name: &'static str,
    spouse: GcCell<Option<Gc<Person>>>,
}

impl Finalize for Person {
    fn finalize(this: &Gc<Self>) {
        log(format!("~Person() for {}", this.name));
    }
}

pub fn run(tour: &mut Timeline) {
    person_finalizer(tour);
    clipboard(tour);
    resurrection(tour);
    weak_references(tour);
    attached_data(tour);
    critical_after_normal(tour);
}

fn person_finalizer(tour: &mut Timeline) {
    tour.scene("A Person's finalizer: when it runs");
    tour.dotnet(
        "A finalizer runs on the finalizer thread at some later collection that finds the \
         object dead; GC.Collect() + GC.WaitForPendingFinalizers() makes it certain.",
    );
    let single = Gc::new(Person {
        name: "Dee",
        spouse: GcCell::new(None),
    });
    drop(single);
    wait_for_pending_finalizers();
    tour.event(format!(
        "acyclic Dee dropped, no collection: the finalizer thread already ran {:?}",
        take_log()
    ));
    let (eve, fay) = (
        Gc::new(Person {
            name: "Eve",
            spouse: GcCell::new(None),
        }),
        Gc::new(Person {
            name: "Fay",
            spouse: GcCell::new(None),
        }),
    );
    *eve.spouse.borrow_mut() = Some(fay.clone());
    *fay.spouse.borrow_mut() = Some(eve.clone());
    drop((eve, fay));
    wait_for_pending_finalizers();
    tour.event(format!(
        "the Eve-Fay cycle dropped: finalized so far {:?} (a cycle waits for a collection)",
        take_log()
    ));
    gc::collect();
    wait_for_pending_finalizers();
    let mut ran = take_log();
    ran.sort();
    tour.event(format!(
        "gc::collect() + wait_for_pending_finalizers(): {ran:?}"
    ));
    gc::collect();
}

/// The ClipboardWrapper2 pattern on an exclusive advisory file lock: registered at allocation,
/// suppressed while nothing is held, re-registered on open, suppressed again by dispose.
#[derive(Trace)]
#[trace(finalize)]
struct LockedFile {
    #[trace(skip)]
    file: Mutex<Option<File>>,
}

impl LockedFile {
    fn new() -> Gc<LockedFile> {
        let wrapper = Gc::new(LockedFile {
            file: Mutex::new(None),
        });
        suppress_finalize(&wrapper); // nothing to release yet
        wrapper
    }

    fn open(this: &Gc<Self>, file: File) {
        flock(&file, FlockOperation::NonBlockingLockExclusive).expect("take the lock");
        *this.file.lock().unwrap() = Some(file);
        reregister_for_finalize(this); // now the finalizer has work
    }

    fn dispose(this: &Gc<Self>) {
        if let Some(file) = this.file.lock().unwrap().take() {
            flock(&file, FlockOperation::Unlock).expect("release the lock");
            log("dispose released the lock".into());
        }
        suppress_finalize(this);
    }
}

impl Finalize for LockedFile {
    fn finalize(this: &Gc<Self>) {
        if let Some(file) = this.file.lock().unwrap().take() {
            flock(&file, FlockOperation::Unlock).expect("release the lock");
            log("the finalizer released the forgotten lock".into());
        }
    }
}

fn lock_is_free(path: &std::path::Path) -> bool {
    let probe = File::open(path).expect("open the lock file");
    flock(&probe, FlockOperation::NonBlockingLockExclusive).is_ok()
}

fn clipboard(tour: &mut Timeline) {
    tour.scene("ClipboardWrapper: suppress until opened, re-register on open, dispose suppresses");
    tour.dotnet(
        "The constructor path calls GC.SuppressFinalize; Open calls GC.ReRegisterForFinalize; \
         Dispose releases and calls GC.SuppressFinalize; a forgotten one is released by ~T().",
    );
    let path = std::env::temp_dir().join(format!("janitor-tour-{}.lock", std::process::id()));
    let open = || File::create(&path).expect("create the lock file");
    let disposed = LockedFile::new();
    LockedFile::open(&disposed, open());
    tour.event(format!("opened: is the lock free? {}", lock_is_free(&path)));
    LockedFile::dispose(&disposed);
    drop(disposed);
    wait_for_pending_finalizers();
    tour.event(format!(
        "disposed and dropped: {:?}; lock free: {}",
        take_log(),
        lock_is_free(&path)
    ));
    let forgotten = LockedFile::new();
    LockedFile::open(&forgotten, open());
    drop(forgotten);
    wait_for_pending_finalizers();
    tour.event(format!(
        "forgotten (never disposed): {:?}; lock free: {}",
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

fn weak_references(tour: &mut Timeline) {
    tour.scene("Short versus long weak references to an object with a finalizer");
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
}

fn attached_data(tour: &mut Timeline) {
    tour.scene("A ConditionalWeakTable attaches data to objects it does not own");
    tour.dotnet(
        "An entry lives while its key lives; a value that points back to its key does not keep \
         it alive.",
    );
    let notes: ConditionalWeakTable<Person, String> = ConditionalWeakTable::new();
    let gus = Gc::new(Person {
        name: "Gus",
        spouse: GcCell::new(None),
    });
    notes
        .add(&gus, Gc::new(String::from("met at the library")))
        .expect("a new key");
    tour.event(format!(
        "note on Gus: {:?}; entries: {}",
        notes.get(&gus).as_deref(),
        notes.iter().count()
    ));
    drop(gus);
    wait_for_pending_finalizers();
    take_log();
    tour.event(format!(
        "Gus is gone: entries left {}",
        notes.iter().count()
    ));
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
