//! Ports of .NET's GCTests scenarios on the GC API itself: `GetTotalMemoryTest_ForceCollection`
//! and `GetGeneration_WeakReference`, plus what a forced `total_memory` owes to finalizers.
//! Nothing here sleeps: finalization is waited for, never timed.

use janitor::gc::{
    Finalize, Gc, GcCell, Trace, WeakTargetCollected, collect, generation, total_memory,
    total_memory_after_collection, weak_generation,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
// Tests of this file run one at a time (`serial`): they compare the process-wide byte count before
// and after a collection, which a parallel test's allocations (its 512 KiB array) would raise.
use support::serial;

mod support;

/// Larger than the 256 KiB a thread may keep unflushed in the heap's byte count, so that a free on
/// the finalizer thread shows in `total_memory` called from the test's thread.
const LARGE: usize = 512 << 10;

#[test]
fn forced_total_memory_is_no_more_than_before_the_garbage_was_dropped() {
    let _serial = serial();
    // GCTests.GetTotalMemoryTest_ForceCollection: an array dropped, then a forced count.
    let array = Gc::new(vec![0_i32; 20_000].into_boxed_slice());
    let before = total_memory();
    drop(array);
    assert!(total_memory_after_collection() <= before);
}

#[derive(Trace)]
#[trace(finalize)]
struct HoldsLarge {
    itself: GcCell<Option<Gc<HoldsLarge>>>,
    large: GcCell<Option<Gc<[u8; LARGE]>>>,
    #[trace(skip)]
    finalized: Arc<AtomicUsize>,
}

impl Finalize for HoldsLarge {
    fn finalize(this: &Gc<Self>) {
        this.finalized.fetch_add(1, Ordering::SeqCst);
        // What the finalizer releases is freed on the finalizer thread.
        this.large.borrow_mut().take();
    }
}

#[test]
fn forced_total_memory_waits_for_the_finalizers_of_what_it_collects() {
    let _serial = serial();
    let finalized = Arc::new(AtomicUsize::new(0));
    let large = Gc::new([7_u8; LARGE]);
    let owner = Gc::new(HoldsLarge {
        itself: GcCell::new(None),
        large: GcCell::new(Some(large)),
        finalized: Arc::clone(&finalized),
    });
    // A self-loop: only a collection finds it dead, and only its finalizer frees the array.
    *owner.itself.borrow_mut() = Some(owner.clone());
    let with_array = total_memory();
    drop(owner);
    let after = total_memory_after_collection();
    assert_eq!(finalized.load(Ordering::SeqCst), 1);
    assert!(
        after + LARGE <= with_array,
        "total_memory_after_collection() = {after}, before = {with_array}: the finalizer's release is not counted"
    );
}

#[test]
fn weak_generation_follows_the_object_and_fails_once_it_is_collected() {
    let _serial = serial();
    // GCTests.GetGeneration_WeakReference.
    let object = Gc::new(GcCell::new(None::<Gc<u8>>));
    let weak = Gc::downgrade(&object);
    assert_eq!(weak_generation(&weak), Ok(generation(&object)));
    collect();
    assert_eq!(weak_generation(&weak), Ok(generation(&object)));
    assert!(generation(&object) >= 1, "survivors are promoted");
    drop(object);
    collect();
    assert_eq!(weak_generation(&weak), Err(WeakTargetCollected));
}
