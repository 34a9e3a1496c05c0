//! 10,000 descriptors opened and dropped across 4 threads: none leaks, none is closed twice.
//!
//! This binary holds one test, so the count of `/proc/self/fd` entries is this test's alone. A
//! descriptor closed twice would close another thread's live descriptor, whose next operation
//! would then fail: every operation below asserts success.

use janitor::Dispose;
use janitor::handle::{EventResetMode, SafeFd, SafeFile, WaitHandle};
use std::sync::{Arc, Barrier};
use std::time::Duration;

const THREADS: usize = 4;
const HANDLES_PER_THREAD: usize = 2_500;

fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// One round: a handle of some kind, used, then disposed or dropped, with or without a use in
/// flight across the dispose.
fn churn_once(round: usize) {
    match round % 4 {
        0 => {
            let (reader, writer) = rustix::pipe::pipe().unwrap();
            let (reader, writer) = (SafeFile::from(reader), SafeFile::from(writer));
            assert_eq!(
                writer.write(&round.to_ne_bytes()).unwrap(),
                size_of::<usize>()
            );
            let mut bytes = [0; size_of::<usize>()];
            assert_eq!(reader.read(&mut bytes).unwrap(), bytes.len());
            assert_eq!(usize::from_ne_bytes(bytes), round);
            reader.dispose();
            // `writer` is dropped without dispose: the finalization path closes it.
        }
        1 => {
            let (reader, writer) = rustix::pipe::pipe().unwrap();
            let reader = SafeFd::from(reader);
            let guard = reader.add_ref().unwrap();
            reader.dispose();
            rustix::io::write(&writer, b"x").unwrap();
            let mut byte = [0];
            assert_eq!(rustix::io::read(guard.as_fd(), &mut byte).unwrap(), 1);
            drop(guard);
            assert!(reader.is_closed());
        }
        2 => {
            let event = WaitHandle::new(EventResetMode::AutoReset).unwrap();
            event.set().unwrap();
            assert!(event.wait_timeout(Duration::ZERO).unwrap());
            if round % 8 == 2 {
                event.dispose();
            }
        }
        _ => {
            let (reader, _writer) = rustix::pipe::pipe().unwrap();
            let fd = SafeFd::from(reader).into_owned_fd().unwrap();
            rustix::fs::fstat(&fd).unwrap();
        }
    }
}

#[test]
fn ten_thousand_handles_across_four_threads_leave_no_descriptor_open() {
    let before = open_descriptors();
    let start = Arc::new(Barrier::new(THREADS));
    let threads: Vec<_> = (0..THREADS)
        .map(|thread| {
            let start = Arc::clone(&start);
            std::thread::spawn(move || {
                start.wait();
                for round in 0..HANDLES_PER_THREAD {
                    churn_once(thread * HANDLES_PER_THREAD + round);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(open_descriptors(), before);
}
