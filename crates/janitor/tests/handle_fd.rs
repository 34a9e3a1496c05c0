//! Descriptors as SafeHandles: SafeFd, SafeFile, WaitHandle, and bad input.
//!
//! Tests here share one process with other tests running in parallel, so they never assume which
//! descriptor numbers are free; the tests that do live in their own binaries (`handle_recycling`,
//! `handle_churn`).

use janitor::Dispose;
use janitor::handle::{EventResetMode, HandleError, SafeFd, SafeFile, WaitHandle};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::{AsRawFd, IntoRawFd};
use std::sync::Arc;
use std::time::Duration;

fn temp_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("janitor-handle-fd-{}-{name}", std::process::id()))
}

fn read_write_file(name: &str) -> (SafeFile, std::path::PathBuf) {
    let path = temp_path(name);
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(true);
    (SafeFile::open(&path, &options).unwrap(), path)
}

#[test]
fn a_minus_one_descriptor_is_invalid_and_dispose_closes_nothing() {
    // SAFETY: -1 names no descriptor; it is never released.
    let handle = unsafe { SafeFd::from_raw_owned(-1) };
    assert!(handle.is_invalid());
    handle.dispose();
    handle.dispose();
    assert!(handle.is_closed());
}

#[test]
#[should_panic(expected = "invalid descriptor -1")]
fn as_fd_on_an_invalid_descriptor_panics_instead_of_lending_minus_one() {
    let handle = SafeFd::invalid();
    let guard = handle.add_ref().unwrap();
    let _ = guard.as_fd();
}

#[test]
fn every_safe_file_operation_over_an_invalid_descriptor_is_an_error_not_a_panic() {
    let file = SafeFile::from(SafeFd::invalid());
    assert!(matches!(
        file.read(&mut [0; 1]),
        Err(HandleError::Invalid { .. })
    ));
    assert!(matches!(file.write(b"x"), Err(HandleError::Invalid { .. })));
    assert!(matches!(
        file.seek(SeekFrom::Start(0)),
        Err(HandleError::Invalid { .. })
    ));
    assert!(matches!(file.sync_all(), Err(HandleError::Invalid { .. })));
    assert!(matches!(file.sync_data(), Err(HandleError::Invalid { .. })));
    file.dispose();
    assert!(matches!(
        file.read(&mut [0; 1]),
        Err(HandleError::Disposed(_))
    ));
}

#[test]
fn into_owned_fd_gives_the_descriptor_back_open() {
    let (reader, writer) = rustix::pipe::pipe().unwrap();
    let raw = reader.as_raw_fd();
    let owned = SafeFd::from(reader).into_owned_fd().unwrap();
    assert_eq!(owned.as_raw_fd(), raw);
    rustix::io::write(&writer, b"x").unwrap();
    let mut byte = [0];
    assert_eq!(rustix::io::read(&owned, &mut byte).unwrap(), 1);
}

#[test]
fn into_owned_fd_is_refused_while_a_use_is_in_flight() {
    let (reader, _writer) = rustix::pipe::pipe().unwrap();
    let handle = SafeFd::from(reader);
    handle.dangerous_add_ref().unwrap();
    assert!(matches!(
        handle.into_owned_fd(),
        Err(HandleError::UsesInFlight { uses: 1 })
    ));
}

#[test]
fn into_owned_fd_is_refused_after_dispose() {
    let (reader, _writer) = rustix::pipe::pipe().unwrap();
    let handle = SafeFd::from(reader);
    handle.dispose();
    assert!(matches!(
        handle.into_owned_fd(),
        Err(HandleError::Disposed(_))
    ));
}

#[test]
fn into_owned_fd_is_refused_for_an_invalid_or_borrowed_descriptor() {
    assert!(matches!(
        SafeFd::invalid().into_owned_fd(),
        Err(HandleError::Invalid { .. })
    ));
    let (reader, _writer) = rustix::pipe::pipe().unwrap();
    // SAFETY: `reader` outlives the handle and keeps ownership.
    let borrowed = unsafe { SafeFd::from_raw_borrowed(reader.as_raw_fd()) };
    assert!(matches!(
        borrowed.into_owned_fd(),
        Err(HandleError::NotOwned { .. })
    ));
    rustix::fs::fstat(&reader).expect("the owner's descriptor is still open");
}

#[test]
fn a_borrowed_descriptor_is_not_closed_by_dispose() {
    let (reader, _writer) = rustix::pipe::pipe().unwrap();
    // SAFETY: `reader` outlives the handle and keeps ownership.
    let borrowed = unsafe { SafeFd::from_raw_borrowed(reader.as_raw_fd()) };
    borrowed.dispose();
    drop(borrowed);
    rustix::fs::fstat(&reader).expect("the owner's descriptor is still open");
}

#[test]
fn safe_file_reads_writes_seeks_and_syncs() {
    let (file, path) = read_write_file("rw");
    assert_eq!(file.write(b"hello, world").unwrap(), 12);
    file.sync_all().unwrap();
    file.sync_data().unwrap();
    assert_eq!(file.seek(SeekFrom::Start(7)).unwrap(), 7);
    let mut word = [0; 5];
    assert_eq!(file.read(&mut word).unwrap(), 5);
    assert_eq!(&word, b"world");
    assert_eq!(file.read(&mut word).unwrap(), 0, "end of file");
    file.dispose();
    std::fs::remove_file(path).unwrap();
}

#[test]
fn safe_file_serves_std_io_through_a_shared_reference() {
    let (file, path) = read_write_file("shared");
    let file = Arc::new(file);
    let writers: Vec<_> = (0..4u8)
        .map(|index| {
            let file = Arc::clone(&file);
            std::thread::spawn(move || (&*file).write_all(&[b'a' + index; 64]))
        })
        .collect();
    for writer in writers {
        writer.join().unwrap().unwrap();
    }
    (&*file).rewind().unwrap();
    let mut text = Vec::new();
    (&*file).read_to_end(&mut text).unwrap();
    assert_eq!(text.len(), 4 * 64);
    std::fs::remove_file(path).unwrap();
}

#[test]
fn safe_file_from_std_file_takes_over_the_descriptor() {
    let path = temp_path("from-file");
    let std_file = std::fs::File::create(&path).unwrap();
    let raw = std_file.as_raw_fd();
    let mut file = SafeFile::from(std_file);
    assert_eq!(file.handle().dangerous_get_handle(), raw);
    file.write_all(b"owned").unwrap();
    file.flush().unwrap();
    drop(file);
    assert_eq!(std::fs::read(&path).unwrap(), b"owned");
    std::fs::remove_file(path).unwrap();
}

#[test]
fn every_safe_file_operation_after_dispose_is_object_disposed() {
    let (file, path) = read_write_file("disposed");
    file.close();
    assert!(file.is_closed());
    assert!(matches!(
        file.read(&mut [0; 1]),
        Err(HandleError::Disposed(_))
    ));
    assert!(matches!(file.write(b"x"), Err(HandleError::Disposed(_))));
    assert!(matches!(
        file.seek(SeekFrom::Start(0)),
        Err(HandleError::Disposed(_))
    ));
    assert!(matches!(file.sync_all(), Err(HandleError::Disposed(_))));
    assert!(matches!(file.sync_data(), Err(HandleError::Disposed(_))));
    let io_error = Write::write(&mut &file, b"x").unwrap_err();
    assert!(io_error.get_ref().unwrap().is::<HandleError>());
    std::fs::remove_file(path).unwrap();
}

#[test]
fn opening_a_missing_file_is_an_error_naming_the_path() {
    let path = temp_path("missing/nowhere");
    let error = SafeFile::open(&path, std::fs::OpenOptions::new().read(true)).unwrap_err();
    assert!(
        matches!(&error, HandleError::Open { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    );
    assert!(
        error.to_string().contains(&path.display().to_string()),
        "{error}"
    );
}

#[test]
fn a_failed_system_call_names_the_operation() {
    let (_reader, writer) = rustix::pipe::pipe().unwrap();
    let file = SafeFile::from(writer);
    let error = file.read(&mut [0; 1]).unwrap_err();
    assert!(
        matches!(
            &error,
            HandleError::Io {
                operation: "read",
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn a_descriptor_released_by_dispose_is_closed_in_the_kernel() {
    let (reader, writer) = rustix::pipe::pipe().unwrap();
    let handle = SafeFd::from(reader);
    handle.dispose();
    // With the read end closed, the kernel refuses writes to the pipe.
    assert_eq!(
        rustix::io::write(&writer, b"x"),
        Err(rustix::io::Errno::PIPE)
    );
}

#[test]
fn a_descriptor_dropped_without_dispose_is_closed_on_the_finalization_path() {
    let (reader, writer) = rustix::pipe::pipe().unwrap();
    drop(SafeFile::from(reader));
    assert_eq!(
        rustix::io::write(&writer, b"x"),
        Err(rustix::io::Errno::PIPE)
    );
}

#[test]
fn set_handle_as_invalid_leaves_the_descriptor_to_its_new_owner() {
    let (reader, writer) = rustix::pipe::pipe().unwrap();
    let raw = reader.into_raw_fd();
    // SAFETY: the descriptor was taken out of its owner; the handle owns it until set invalid.
    let handle = unsafe { SafeFd::from_raw_owned(raw) };
    handle.set_handle_as_invalid();
    handle.dispose();
    drop(handle);
    assert_eq!(
        rustix::io::write(&writer, b"x"),
        Ok(1),
        "the read end is still open"
    );
    // SAFETY: the handle gave the descriptor up; it is ours to close.
    unsafe { rustix::io::close(raw) };
}

#[test]
fn wait_handle_manual_reset_stays_signaled_until_reset() {
    let event = WaitHandle::new(EventResetMode::ManualReset).unwrap();
    assert!(!event.wait_timeout(Duration::ZERO).unwrap());
    event.set().unwrap();
    event.set().unwrap();
    assert!(event.wait_timeout(Duration::ZERO).unwrap());
    assert!(event.wait_timeout(Duration::ZERO).unwrap());
    event.reset().unwrap();
    assert!(!event.wait_timeout(Duration::ZERO).unwrap());
    event.reset().unwrap();
}

#[test]
fn wait_handle_auto_reset_releases_one_wait_per_signal() {
    let event = WaitHandle::new_signaled(EventResetMode::AutoReset).unwrap();
    assert!(event.wait_timeout(Duration::ZERO).unwrap());
    assert!(!event.wait_timeout(Duration::ZERO).unwrap());
    event.set().unwrap();
    event.set().unwrap();
    assert!(
        event.wait_timeout(Duration::ZERO).unwrap(),
        "two sets are one signal"
    );
    assert!(!event.wait_timeout(Duration::ZERO).unwrap());
}

#[test]
fn wait_handle_wakes_a_waiter_on_another_thread() {
    let event = Arc::new(WaitHandle::new(EventResetMode::AutoReset).unwrap());
    let waiter = {
        let event = Arc::clone(&event);
        std::thread::spawn(move || event.wait())
    };
    event.set().unwrap();
    waiter.join().unwrap().unwrap();
    assert!(
        !event.wait_timeout(Duration::ZERO).unwrap(),
        "the waiter took the signal"
    );
}

#[test]
fn wait_handle_disposed_during_a_wait_stays_open_until_the_wait_returns() {
    let event = Arc::new(WaitHandle::new(EventResetMode::ManualReset).unwrap());
    let waiter = {
        let event = Arc::clone(&event);
        std::thread::spawn(move || event.wait())
    };
    // The waiter holds its use from before `poll` until it returns, and nothing signals the event
    // meanwhile, so this condition becomes true and stays true.
    wait_until(|| event.handle().uses_in_flight() == 1);
    event.dispose();
    assert!(
        !event.is_closed(),
        "the wait in flight keeps the eventfd open"
    );
    event
        .set()
        .expect("a use may start while the wait keeps the handle open");
    waiter.join().unwrap().unwrap();
    assert!(event.is_closed());
    assert!(matches!(
        event.wait_timeout(Duration::ZERO),
        Err(HandleError::Disposed(_))
    ));
    assert!(matches!(event.set(), Err(HandleError::Disposed(_))));
    assert!(matches!(event.reset(), Err(HandleError::Disposed(_))));
}

/// Spins until `condition` holds; fails the test after 10 s rather than hang.
fn wait_until(condition: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(
            std::time::Instant::now() < deadline,
            "condition never became true"
        );
        std::thread::yield_now();
    }
}
