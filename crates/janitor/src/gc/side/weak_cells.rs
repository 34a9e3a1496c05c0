//! Weak cells: the record of an object's weak references that outlives the object's memory,
//! and the release of an object's memory, which detaches it.
//!
//! Invariant owned here: an object's memory block is freed when its value has been dropped (and,
//! for a tracked object, once it is unlinked), weak references or not, and never while a weak
//! upgrade may still read its count word. What outlives the block is the object's *weak cell*, a
//! separately allocated record of two words that every `WeakGc` to the object points to:
//!
//! ```text
//! WeakGc { value: *T, cell: *WeakCell, track_resurrection }
//! WeakCell { state: DETACHED (bit 0) | in-flight upgraders (bits 1..),
//!            refs: one per WeakGc, plus one for the object while it is attached }
//! cells: 16 shards of header address -> WeakCell, each behind a mutex
//! ```
//!
//! An object's cell is made by its first downgrade and entered in the side table (the count word's
//! `W` bit, set after, says so); whoever releases the object's memory ([`release_memory`], once per
//! object) detaches it; the cell is freed by whoever gives back the last unit of `refs`. An upgrade
//! announces itself in the cell's `state` before it reads the block and withdraws after; the
//! detacher or the last upgrader to leave frees the block. The protocol and its proof (freed
//! exactly once, after every upgrade that read it left), why the detacher never waits, and address
//! reuse: `docs/gc-soundness.md#upgrade-versus-free` and `#weak-references`.

use crate::gc::core::object::{self, Header};
use crate::sync::IgnorePoison;
use crate::sync::{AtomicUsize, Mutex, MutexGuard, Ordering, fence};
use std::collections::HashMap;
use std::ptr::NonNull;

/// `state`: the object's memory has been released (or is being released by the last upgrader).
const DETACHED: usize = 1;
/// `state`: one upgrade in flight.
const UPGRADER: usize = 2;
/// The most units `refs` may reach before the process aborts (a count that wrapped would free a
/// cell in use), as `Arc`'s limit.
const MAX_REFS: usize = isize::MAX as usize;

/// The record of an object's weak references that outlives the object's memory.
pub(crate) struct WeakCell {
    /// [`DETACHED`] | in-flight upgraders × [`UPGRADER`]: the protocol in the module comment.
    state: AtomicUsize,
    /// One unit per `WeakGc`, plus one for the object until it is detached.
    refs: AtomicUsize,
}

impl WeakCell {
    /// A cell for an attached object, with the object's unit and `weak_refs` more.
    pub(crate) fn new(weak_refs: usize) -> Self {
        Self {
            state: AtomicUsize::new(0),
            refs: AtomicUsize::new(1 + weak_refs),
        }
    }

    /// Announces an upgrade; false if the object's memory is released (then the block must not
    /// be touched). A true return must be followed by one [`WeakCell::leave`].
    #[inline]
    pub(crate) fn enter(&self) -> bool {
        // `Relaxed` throughout: the exclusion rests on `state`'s modification order alone (see
        // the module comment); the block was published by the `WeakGc` the caller holds.
        let mut current = self.state.load(Ordering::Relaxed);
        loop {
            if current & DETACHED != 0 {
                return false;
            }
            match self.state.compare_exchange_weak(
                current,
                current + UPGRADER,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(actual) => current = actual,
            }
        }
    }

    /// Withdraws an upgrade; true when the object's memory was released meanwhile and this was
    /// the last upgrade in flight: the block is then the caller's to free, and every other
    /// access to it happened before this returns.
    #[inline]
    pub(crate) fn leave(&self) -> bool {
        if self.state.fetch_sub(UPGRADER, Ordering::Release) != DETACHED | UPGRADER {
            return false;
        }
        fence(Ordering::Acquire);
        true
    }

    /// Marks the object's memory released; true when no upgrade is in flight: the block is then
    /// the caller's to free. Otherwise the last upgrade to leave frees it.
    pub(crate) fn detach(&self) -> bool {
        self.state.fetch_or(DETACHED, Ordering::AcqRel) & !DETACHED == 0
    }

    /// Adds one unit, for a new `WeakGc`; the caller holds a unit or the object is attached.
    pub(crate) fn retain(&self) {
        if self.refs.fetch_add(1, Ordering::Relaxed) > MAX_REFS {
            std::process::abort();
        }
    }

    /// Gives back one unit; true when it was the last: the cell is then the caller's to free,
    /// and every use of it by other holders happened before this returns.
    pub(crate) fn release(&self) -> bool {
        if self.refs.fetch_sub(1, Ordering::Release) != 1 {
            return false;
        }
        fence(Ordering::Acquire);
        true
    }
}

/// A cell in the side table. The cell is shared between threads through its atomics only.
#[derive(Clone, Copy)]
struct CellRef(NonNull<WeakCell>);

// SAFETY: a `WeakCell` is two atomics; the table only stores and hands out the pointer.
unsafe impl Send for CellRef {}
// SAFETY: as above; the dangling cell is shared by reference.
unsafe impl Sync for CellRef {}

/// Frees a cell whose last unit the caller gave back.
///
/// # Safety
/// `cell` came from [`cell_of`] and no unit of it is left.
pub(crate) unsafe fn free_cell(cell: NonNull<WeakCell>) {
    // SAFETY: made by `Box::leak` in `cell_of`; nothing refers to it any more.
    drop(unsafe { Box::from_raw(cell.as_ptr()) });
}

/// Shards of the cell table.
const SHARDS: usize = 16;

type Cells = Mutex<Option<HashMap<usize, CellRef>>>;

#[cfg(not(loom))]
static CELLS: [Cells; SHARDS] = [const { Mutex::new(None) }; SHARDS];

#[cfg(loom)]
::loom::lazy_static! {
    static ref CELLS: [Cells; SHARDS] = std::array::from_fn(|_| Mutex::new(None));
}

fn shard(header: NonNull<Header>) -> MutexGuard<'static, Option<HashMap<usize, CellRef>>> {
    let address = header.as_ptr() as usize;
    // Objects are at least 16-byte aligned and blocks of one size class are adjacent.
    CELLS[(address >> 4) % SHARDS].lock().ignore_poison()
}

/// The object's cell with one more unit for a new `WeakGc`, made and entered in the table if the
/// object has none. The caller holds a strong reference: the object is attached, so its entry,
/// if any, is its own (entries leave the table before their object's memory is freed) and cannot
/// leave while the caller holds the reference.
pub(crate) fn cell_of(header: NonNull<Header>) -> NonNull<WeakCell> {
    let mut shard = shard(header);
    let cells = shard.get_or_insert_with(HashMap::new);
    let address = header.as_ptr() as usize;
    if let Some(&CellRef(cell)) = cells.get(&address) {
        drop(shard);
        // SAFETY: the object's unit keeps an attached object's cell allocated.
        unsafe { cell.as_ref() }.retain();
        return cell;
    }
    let cell = NonNull::from(Box::leak(Box::new(WeakCell::new(1))));
    cells.insert(address, CellRef(cell));
    cell
}

/// The number of `WeakGc`s to the object (a moment's view). The caller holds a strong reference,
/// so the object is attached and its entry, if any, is its own.
pub(crate) fn weak_count(header: NonNull<Header>) -> usize {
    // SAFETY: the caller's reference keeps the object live.
    if !unsafe { header.as_ref() }.count().is_weakened() {
        return 0;
    }
    let shard = shard(header);
    let entry = shard
        .as_ref()
        .and_then(|cells| cells.get(&(header.as_ptr() as usize)).copied());
    entry.map_or(0, |CellRef(cell)| {
        // SAFETY: the object's unit keeps an attached object's cell allocated, and the shard's
        // lock, still held, keeps the entry (and that unit) from leaving.
        unsafe { cell.as_ref() }.refs.load(Ordering::Relaxed) - 1
    })
}

/// The cell of weak references made by `WeakGc::new`, which point to no object: detached from the
/// start, so they never upgrade, and never freed (it keeps one unit of its own).
pub(crate) fn dangling_cell() -> NonNull<WeakCell> {
    #[cfg(not(loom))]
    static DANGLING: std::sync::OnceLock<CellRef> = std::sync::OnceLock::new();
    #[cfg(not(loom))]
    let CellRef(cell) = *DANGLING.get_or_init(new_dangling_cell);
    #[cfg(loom)]
    ::loom::lazy_static! {
        static ref DANGLING: CellRef = new_dangling_cell();
    }
    #[cfg(loom)]
    let CellRef(cell) = *DANGLING;
    cell
}

fn new_dangling_cell() -> CellRef {
    let cell = WeakCell {
        state: AtomicUsize::new(DETACHED),
        refs: AtomicUsize::new(1),
    };
    CellRef(NonNull::from(Box::leak(Box::new(cell))))
}

/// Detaches the weak cell of a weakened object whose memory is being released: its entry leaves
/// the table, its weak references can no longer reach the block, and the object's unit of the
/// cell is given back. Returns whether the caller frees the block now; if not, the last upgrade in
/// flight frees it.
///
/// # Safety
/// The object's value is dropped, it is unlinked from the heap, no strong reference to it will be
/// used again, and this is called once per object.
#[cold]
#[inline(never)]
pub(crate) unsafe fn detach(header: NonNull<Header>) -> bool {
    let entry = shard(header)
        .as_mut()
        .and_then(|cells| cells.remove(&(header.as_ptr() as usize)));
    // W is set only after the entry is made, so a weakened object has one.
    let Some(CellRef(cell)) = entry else {
        return true;
    };
    // SAFETY: the object's unit, given back below, keeps the cell allocated.
    let cell_ref = unsafe { cell.as_ref() };
    let free_block = cell_ref.detach();
    if cell_ref.release() {
        // SAFETY: that was the last unit.
        unsafe { free_cell(cell) };
    }
    free_block
}

/// Frees the block of an object whose memory was released while weak upgrades were in flight;
/// called by the last of them as it leaves.
///
/// # Safety
/// The object's value is dropped, it is unlinked (its releaser's contract, see `detach`), and no
/// other thread reads the block any more.
#[cold]
#[inline(never)]
pub(crate) unsafe fn free_block(header: NonNull<Header>) {
    // SAFETY: the caller's contract.
    unsafe { object::deallocate(header) };
}

/// Frees the memory of an object whose value is dropped. A weakened object's weak cell is
/// detached first: its weak references stop reaching the block, and if an upgrade is reading the
/// block at that moment, the last such upgrade frees it instead, as it leaves.
///
/// # Safety
/// The value has been dropped, the object is unlinked from the heap, no strong reference will be
/// used again, and this is called once per object.
#[inline]
pub(crate) unsafe fn release_memory(header: NonNull<Header>) {
    // SAFETY: the memory is allocated until freed below, or by the last upgrade in flight.
    let weakened = unsafe { header.as_ref() }.count().is_weakened();
    // SAFETY: the caller's contract.
    if !weakened || unsafe { detach(header) } {
        // SAFETY: the caller's contract, and no weak upgrade is reading the block.
        unsafe { object::deallocate(header) };
    }
}

/// Loom model of the upgrade-versus-free protocol: an object whose only `Gc` drops on one thread
/// while two weak references upgrade it on two others, with the real cell and count word. The
/// block (a count word and the value) is freed exactly once, never while an upgrade reads it
/// (loom's `UnsafeCell` reports a free that does not happen after a read), and the cell is freed
/// exactly once, after the object and both weak references are done with it. A detach that freed
/// the block without counting upgraders in flight, or an upgrade that read the block without
/// entering, fails it.
#[cfg(all(test, loom))]
mod loom {
    use super::WeakCell;
    use crate::gc::core::count::{CountWord, Strength};
    use crate::sync::{AtomicUsize, Ordering};
    use ::loom::cell::UnsafeCell;
    use ::loom::sync::Arc;
    use std::ptr::NonNull;

    /// A model object: its count word and its value, freed together. `memory` stands for the
    /// block itself: an upgrade in flight reads it (as the real one reads the count word), the
    /// free writes it.
    struct Block {
        count: CountWord,
        value: UnsafeCell<u64>,
        memory: UnsafeCell<()>,
    }

    /// A model cell, with the frees counted outside of it.
    struct Shared {
        block: NonNull<Block>,
        cell: NonNull<WeakCell>,
        block_frees: AtomicUsize,
        cell_frees: AtomicUsize,
    }

    // SAFETY: the block and the cell are shared between the model's threads through atomics (and
    // the `UnsafeCell` that loom checks); each is freed once, by the protocol under test.
    unsafe impl Send for Shared {}
    // SAFETY: as above.
    unsafe impl Sync for Shared {}

    impl Shared {
        fn cell(&self) -> &WeakCell {
            // SAFETY: each caller holds a unit of the cell.
            unsafe { self.cell.as_ref() }
        }

        /// The block, while the caller holds a count or is an upgrade in flight.
        fn block(&self) -> &Block {
            // SAFETY: the protocol under test keeps it allocated.
            unsafe { self.block.as_ref() }
        }

        fn free_block(&self) {
            let earlier = self.block_frees.fetch_add(1, Ordering::Relaxed);
            assert_eq!(earlier, 0, "the block was freed twice");
            // SAFETY: the protocol made this thread the block's last user.
            let block = unsafe { Box::from_raw(self.block.as_ptr()) };
            // The free is a write: loom reports any read of the block not ordered before it.
            block.memory.with_mut(|_| ());
            // The free also ends the value's life: the destroyer's drop must happen before it.
            block.value.with_mut(|_| ());
        }

        /// A drop of a `Gc`: the last one drops the value and releases the memory.
        fn drop_strong(&self) {
            if self.block().count.decrement() {
                self.block().value.with_mut(|value| {
                    // SAFETY: the last count: nobody else uses the value.
                    unsafe { *value = 0 };
                });
                if self.cell().detach() {
                    self.free_block();
                }
                self.release_cell();
            }
        }

        /// `WeakGc::upgrade` followed by the drop of the `Gc` it gave.
        fn upgrade_and_drop(&self) {
            if !self.cell().enter() {
                return;
            }
            self.block().memory.with(|_| ());
            let upgraded = self.block().count.upgrade(Strength::Long);
            if self.cell().leave() {
                assert!(!upgraded, "a counted object is never detached");
                self.free_block();
            }
            if upgraded {
                self.block().value.with(|value| {
                    // SAFETY: the upgrade's count keeps the value alive.
                    assert_eq!(unsafe { *value }, 7, "the value was dropped under a Gc");
                });
                self.drop_strong();
            }
        }

        fn release_cell(&self) {
            if self.cell().release() {
                let earlier = self.cell_frees.fetch_add(1, Ordering::Relaxed);
                assert_eq!(earlier, 0, "the cell was freed twice");
                // SAFETY: that was the last unit.
                drop(unsafe { Box::from_raw(self.cell.as_ptr()) });
            }
        }
    }

    /// The whole path, table included: the only `Gc` drops while another thread upgrades a
    /// clone of a weak reference and drops it; the weak reference left behind sees the object
    /// dead, and a new object (perhaps in the freed block) gets a live weak reference of its own.
    /// (Frees are counted, and reads of a freed block caught, by the model below.)
    #[test]
    fn loom_a_weak_clone_dropped_while_the_object_dies_leaves_the_other_dead() {
        use crate::gc::Gc;
        ::loom::model(|| {
            let only = Gc::new(String::from("value"));
            let weak = Gc::downgrade(&only);
            let clone = weak.clone();
            let upgrader = ::loom::thread::spawn(move || {
                if let Some(strong) = clone.upgrade() {
                    assert_eq!(*strong, "value");
                }
            });
            drop(only);
            upgrader.join().unwrap();
            assert!(weak.upgrade().is_none());
            assert!(Gc::downgrade(&Gc::new(String::new())).upgrade().is_some());
        });
    }

    #[test]
    fn loom_the_block_is_freed_once_after_every_upgrade_left() {
        let mut builder = ::loom::model::Builder::new();
        builder.preemption_bound = Some(3);
        builder.check(|| {
            let block = Box::new(Block {
                count: CountWord::new(),
                value: UnsafeCell::new(7),
                memory: UnsafeCell::new(()),
            });
            let shared = Arc::new(Shared {
                block: NonNull::from(Box::leak(block)),
                // The object's unit and two weak references'.
                cell: NonNull::from(Box::leak(Box::new(WeakCell::new(2)))),
                block_frees: AtomicUsize::new(0),
                cell_frees: AtomicUsize::new(0),
            });
            let upgraders: Vec<_> = (0..2)
                .map(|_| {
                    let shared = shared.clone();
                    ::loom::thread::spawn(move || {
                        shared.upgrade_and_drop();
                        shared.release_cell();
                    })
                })
                .collect();
            shared.drop_strong();
            for upgrader in upgraders {
                upgrader.join().unwrap();
            }
            assert_eq!(
                shared.block_frees.load(Ordering::Relaxed),
                1,
                "the block was not freed"
            );
            assert_eq!(
                shared.cell_frees.load(Ordering::Relaxed),
                1,
                "the cell was not freed"
            );
        });
    }
}
