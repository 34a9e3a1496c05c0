//! The operations that take a value out of the heap, or a `&mut` into it, against the threads
//! that can reach an object at the worst moment: weak upgrades in a loop, and collections in a
//! loop, which pin (count) every tracked object they examine. Values carry canaries: a value read
//! after its drop, or dropped twice, or dropped while taken, fails an assertion.

use janitor::gc::{Gc, GcCell, Trace, WeakGc, collect};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;

const ALIVE: u64 = 0xA11C_E5A1_1CE5_A11C;
const DEAD: u64 = 0xDEAD_DEAD_DEAD_DEAD;

/// A tracked value (its edge is in a cell, so collections examine it) with a canary.
#[derive(Trace)]
struct Probe {
    child: GcCell<Option<Gc<u64>>>,
    #[trace(skip)]
    canary: u64,
    #[trace(skip)]
    drops: Arc<AtomicUsize>,
}

impl Probe {
    fn check(&self) {
        assert_eq!(self.canary, ALIVE, "a value was read after its drop");
        assert_eq!(**self.child.borrow().as_ref().unwrap(), 7);
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        assert_eq!(self.canary, ALIVE, "a value was dropped twice");
        self.canary = DEAD;
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn try_unwrap_racing_weak_upgrades_and_collections_takes_each_value_once() {
    const ROUNDS: usize = 300;
    let drops = Arc::new(AtomicUsize::new(0));
    let current: Arc<Mutex<Option<WeakGc<Probe>>>> = Arc::new(Mutex::new(None));
    let done = Arc::new(AtomicBool::new(false));
    let upgrades = Arc::new(AtomicUsize::new(0));
    let upgraders: Vec<_> = (0..2)
        .map(|_| {
            let (current, done, upgrades) = (current.clone(), done.clone(), upgrades.clone());
            thread::spawn(move || {
                while !done.load(Ordering::Relaxed) {
                    let weak = current.lock().unwrap().clone();
                    if let Some(strong) = weak.and_then(|weak| weak.upgrade()) {
                        strong.check();
                        upgrades.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    let collector = {
        let done = done.clone();
        thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                collect();
            }
        })
    };
    for round in 0..ROUNDS {
        let mut object = Gc::new(Probe {
            child: GcCell::new(Some(Gc::new(7))),
            canary: ALIVE,
            drops: drops.clone(),
        });
        *current.lock().unwrap() = Some(Gc::downgrade(&object));
        let value = loop {
            match Gc::try_unwrap(object) {
                Ok(value) => break value,
                Err(back) => object = back,
            }
            thread::yield_now();
        };
        value.check();
        let weak = current.lock().unwrap().take().unwrap();
        assert!(
            weak.upgrade().is_none(),
            "round {round}: upgraded after the value was taken"
        );
        assert_eq!(
            drops.load(Ordering::SeqCst),
            round,
            "a value was dropped while taken"
        );
        drop(value);
    }
    done.store(true, Ordering::Relaxed);
    for upgrader in upgraders {
        upgrader.join().unwrap();
    }
    collector.join().unwrap();
    collect();
    assert_eq!(drops.load(Ordering::SeqCst), ROUNDS);
}

#[test]
fn racing_into_inner_calls_give_each_value_to_exactly_one_thread() {
    const ROUNDS: usize = 300;
    const THREADS: usize = 4;
    let winners = Arc::new(AtomicUsize::new(0));
    let start = Arc::new(Barrier::new(THREADS));
    for round in 0..ROUNDS {
        let object = Gc::new(vec![round; 4]);
        let mut holders = vec![object.clone(); THREADS - 1];
        holders.push(object); // every `Gc` goes to a racing thread
        let threads: Vec<_> = holders
            .into_iter()
            .map(|object| {
                let (winners, start) = (winners.clone(), start.clone());
                thread::spawn(move || {
                    start.wait();
                    if let Some(value) = Gc::into_inner(object) {
                        assert_eq!(value, vec![round; 4]);
                        winners.fetch_add(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(winners.swap(0, Ordering::SeqCst), 1, "round {round}");
    }
}

/// A tracked object on a cycle of its own that holds another object's `Gc`.
#[derive(Trace)]
struct Keeper {
    next: GcCell<Option<Gc<Keeper>>>,
    payload: Gc<String>,
    #[trace(skip)]
    drops: Arc<AtomicUsize>,
}

impl Drop for Keeper {
    fn drop(&mut self) {
        assert_eq!(*self.payload, "payload", "the payload changed under a Gc");
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn get_mut_waits_out_a_collection_that_frees_the_other_holder_on_another_thread() {
    const ROUNDS: usize = 200;
    let drops = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let collector = {
        let done = done.clone();
        thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                collect();
            }
        })
    };
    for round in 0..ROUNDS {
        let mut payload = Gc::new(String::from("payload"));
        let keeper = Gc::new(Keeper {
            next: GcCell::new(None),
            payload: payload.clone(),
            drops: drops.clone(),
        });
        *keeper.next.borrow_mut() = Some(keeper.clone());
        drop(keeper); // garbage now: only a collection, on the other thread, frees it
        let text = loop {
            if let Some(text) = Gc::get_mut(&mut payload) {
                break text;
            }
            thread::yield_now();
        };
        assert_eq!(
            drops.load(Ordering::SeqCst),
            round + 1,
            "the keeper is gone"
        );
        text.push('!');
        assert_eq!(&*payload, "payload!");
    }
    done.store(true, Ordering::Relaxed);
    collector.join().unwrap();
}
