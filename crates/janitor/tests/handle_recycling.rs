//! The handle-recycling attack, for real, with descriptor numbers and `/proc/self/fd`.
//!
//! Thread A blocks reading a pipe through a `SafeFile`; thread B disposes the file; thread C opens
//! descriptors, which would take A's number if it were closed. The descriptor must stay open (so
//! its number cannot be recycled) until A's read returns, close then, and afterwards every
//! operation through the old handle must fail with `ObjectDisposed` instead of reaching whatever
//! descriptor took the number.
//!
//! This binary holds one test, so no other test opens or closes descriptors while it counts on
//! the kernel's lowest-free-number rule.

use janitor::Dispose;
use janitor::handle::{HandleError, SafeFile};
use std::io::SeekFrom;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// What descriptor `number` of this process names (device and inode), or `None` if it is closed.
fn identity(number: RawFd) -> Option<(u64, u64)> {
    let metadata = std::fs::metadata(format!("/proc/self/fd/{number}")).ok()?;
    Some((metadata.dev(), metadata.ino()))
}

/// A fresh descriptor that is not a pipe: an unlinked temporary file.
fn open_scratch_file(index: usize) -> OwnedFd {
    let path =
        std::env::temp_dir().join(format!("janitor-recycling-{}-{index}", std::process::id()));
    let file = std::fs::File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    file.into()
}

/// Spins until `condition` holds; fails the test after 10 s rather than hang.
fn wait_until(condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(Instant::now() < deadline, "condition never became true");
        thread::yield_now();
    }
}

#[test]
fn a_disposed_handle_never_reaches_a_recycled_descriptor_number() {
    let (read_end, write_end) = rustix::pipe::pipe().unwrap();
    let old_number = read_end.as_raw_fd();
    let old_pipe = identity(old_number).expect("the pipe's read end is open");
    let file = Arc::new(SafeFile::from(read_end));

    // Thread A: a read that blocks, holding its use of the descriptor.
    let reader = {
        let file = Arc::clone(&file);
        thread::spawn(move || {
            let mut bytes = [0; 16];
            let read = file.read(&mut bytes)?;
            Ok::<_, HandleError>(bytes[..read].to_vec())
        })
    };
    // A holds its use from before read(2) until it returns, and nothing writes to the pipe until
    // this test does below: the condition becomes true and stays true.
    wait_until(|| file.handle().uses_in_flight() == 1);

    // Thread B: disposes the file under the read.
    thread::spawn({
        let file = Arc::clone(&file);
        move || file.dispose()
    })
    .join()
    .unwrap();
    assert!(file.handle().is_disposed());
    assert!(!file.is_closed(), "A's read keeps the descriptor open");
    assert_eq!(
        identity(old_number),
        Some(old_pipe),
        "the number still names A's pipe"
    );

    // Thread C: new descriptors cannot take the number while A's read is in flight.
    let fresh: Vec<OwnedFd> = thread::spawn(|| (0..8).map(open_scratch_file).collect())
        .join()
        .unwrap();
    assert!(
        fresh.iter().all(|fd| fd.as_raw_fd() != old_number),
        "the number was recycled early"
    );
    assert_eq!(identity(old_number), Some(old_pipe));

    // Unblock A: its read completes on the old pipe, and its guard's drop closes the descriptor.
    assert_eq!(rustix::io::write(&write_end, b"hello"), Ok(5));
    assert_eq!(reader.join().unwrap().unwrap(), b"hello");
    assert!(file.is_closed());
    assert_eq!(identity(old_number), None, "closed once A's use ended");

    // Thread C again: the number is free, and the kernel hands out the lowest free number.
    let recycled: OwnedFd = thread::spawn(move || {
        (8..72)
            .map(open_scratch_file)
            .find(|fd| fd.as_raw_fd() == old_number)
            .expect("the kernel reuses the freed number")
    })
    .join()
    .unwrap();
    let recycled_identity = identity(old_number).expect("the recycled number is open");
    assert_ne!(recycled_identity, old_pipe);

    // The attack: every operation through the old handle is refused and touches nothing.
    assert!(matches!(
        file.write(b"attack"),
        Err(HandleError::Disposed(_))
    ));
    assert!(matches!(
        file.read(&mut [0; 4]),
        Err(HandleError::Disposed(_))
    ));
    assert!(matches!(
        file.seek(SeekFrom::End(0)),
        Err(HandleError::Disposed(_))
    ));
    assert!(matches!(file.sync_all(), Err(HandleError::Disposed(_))));
    assert!(file.handle().add_ref().is_err());
    file.dispose();
    drop(file);
    assert_eq!(
        identity(old_number),
        Some(recycled_identity),
        "the recycled descriptor survives"
    );
    assert_eq!(
        rustix::fs::fstat(&recycled).unwrap().st_size,
        0,
        "nothing was written to it"
    );
    assert_eq!(
        rustix::fs::seek(&recycled, rustix::fs::SeekFrom::Current(0)),
        Ok(0)
    );
    drop(fresh);
}
