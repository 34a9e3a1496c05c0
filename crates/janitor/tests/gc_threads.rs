//! `Gc` across threads: sent, cloned, dropped and moved through `GcMutex` fields while other
//! threads collect.

use janitor::gc::{Gc, GcMutex, Trace, collect, collect_generation};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

#[derive(Trace)]
struct Cycle {
    #[trace(skip)]
    alive: Arc<AtomicUsize>,
    other: GcMutex<Option<Gc<Cycle>>>,
}

impl Drop for Cycle {
    fn drop(&mut self) {
        self.alive.fetch_sub(1, Ordering::SeqCst);
    }
}

fn cycle(alive: &Arc<AtomicUsize>) -> Gc<Cycle> {
    alive.fetch_add(2, Ordering::SeqCst);
    let a = Gc::new(Cycle {
        alive: alive.clone(),
        other: GcMutex::new(None),
    });
    let b = Gc::new(Cycle {
        alive: alive.clone(),
        other: GcMutex::new(Some(a.clone())),
    });
    *a.other.lock() = Some(b);
    a
}

#[test]
fn gcs_sent_cloned_and_moved_through_mutexes_survive_concurrent_collections() {
    let alive = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let collector = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut round = 0_u8;
            while !stop.load(Ordering::SeqCst) {
                collect_generation(round % 3);
                round = round.wrapping_add(1);
            }
        })
    };
    let (sender, receiver) = mpsc::channel::<Gc<Cycle>>();
    let producer = {
        let alive = alive.clone();
        std::thread::spawn(move || {
            for _ in 0..20_000 {
                let head = cycle(&alive);
                let copy = head.clone();
                sender.send(copy).unwrap();
                drop(head);
            }
        })
    };
    let consumer = std::thread::spawn(move || {
        let mut kept = Vec::new();
        for received in receiver {
            // Move the partner out of its mutex and back in, then walk the cycle.
            let partner = received.other.lock().take().expect("every cycle is whole");
            let back = partner
                .other
                .lock()
                .clone()
                .expect("the partner points back");
            assert!(Gc::ptr_eq(&back, &received));
            *received.other.lock() = Some(partner);
            if kept.len() < 100 {
                kept.push(received);
            }
        }
        kept
    });
    producer.join().unwrap();
    let kept = consumer.join().unwrap();
    stop.store(true, Ordering::SeqCst);
    collector.join().unwrap();
    collect();
    assert_eq!(alive.load(Ordering::SeqCst), 200);
    for head in &kept {
        assert!(head.other.lock().is_some());
    }
    drop(kept);
    collect();
    assert_eq!(alive.load(Ordering::SeqCst), 0);
}
