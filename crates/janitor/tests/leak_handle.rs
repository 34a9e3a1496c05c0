//! SafeHandle and the leak detector, at `Full` level: an owned handle dropped without dispose is
//! reported where it was created; every way of giving the handle up closes its tracker; handles
//! that own nothing never report.

use janitor::Dispose;
use janitor::handle::{NativeMemory, SafeFd, SafeFile};
use janitor::leak::{self, LeakCheck, LeakLevel};
use std::os::fd::{AsRawFd, OwnedFd};

fn full_check() -> LeakCheck {
    leak::set_level(LeakLevel::Full);
    LeakCheck::start()
}

fn pipe_reader() -> OwnedFd {
    rustix::pipe::pipe().expect("pipe").0
}

#[test]
fn a_handle_dropped_without_dispose_is_reported_where_it_was_created() {
    let check = full_check();
    let handle = SafeFd::from(pipe_reader());
    let line = line!() - 1;
    drop(handle);
    let reports = check.finish();
    assert_eq!(reports.len(), 1);
    assert_eq!(
        reports[0].type_name(),
        "janitor::handle::safe_handle::SafeHandle<janitor::handle::fd::FdKind>"
    );
    assert_eq!(
        (
            reports[0].created_at().file(),
            reports[0].created_at().line()
        ),
        (file!(), line)
    );
}

#[test]
fn the_creation_site_passes_through_the_handle_constructors() {
    let check = full_check();
    let file = SafeFile::from(pipe_reader());
    let file_line = line!() - 1;
    let memory = NativeMemory::alloc(16).unwrap();
    let memory_line = line!() - 1;
    drop(file);
    drop(memory);
    let reports = check.finish();
    let lines: Vec<u32> = reports
        .iter()
        .map(|report| report.created_at().line())
        .collect();
    assert_eq!(lines, [file_line, memory_line]);
    assert!(
        reports
            .iter()
            .all(|report| report.created_at().file() == file!())
    );
    assert!(reports[1].type_name().contains("NativeMemory"));
}

#[test]
fn a_disposed_handle_is_not_reported() {
    let check = full_check();
    let handle = SafeFd::from(pipe_reader());
    handle.dispose();
    drop(handle);
    let file = SafeFile::from(pipe_reader());
    file.close();
    drop(file);
    assert!(check.finish().is_empty());
}

#[test]
fn a_handle_disposed_during_a_use_is_not_reported() {
    let check = full_check();
    let handle = SafeFd::from(pipe_reader());
    let guard = handle.add_ref().unwrap();
    handle.dispose();
    drop(guard);
    drop(handle);
    assert!(check.finish().is_empty());
}

#[test]
fn a_handle_set_as_invalid_is_not_reported() {
    let check = full_check();
    let reader = pipe_reader();
    // SAFETY: `reader` outlives the handle; the handle gives the descriptor up (set as invalid)
    // before anything could release it, so `reader` stays its only owner.
    let handle = unsafe { SafeFd::from_raw_owned(reader.as_raw_fd()) };
    handle.set_handle_as_invalid();
    drop(handle);
    drop(reader);
    assert!(check.finish().is_empty());
}

#[test]
fn a_handle_taken_apart_with_into_owned_fd_is_not_reported() {
    let check = full_check();
    let descriptor = SafeFd::from(pipe_reader()).into_owned_fd().unwrap();
    drop(descriptor);
    assert!(check.finish().is_empty());
}

#[test]
fn a_handle_that_does_not_own_its_value_is_not_tracked() {
    let check = full_check();
    let reader = pipe_reader();
    // SAFETY: `reader` outlives the handle and keeps ownership of the descriptor.
    let handle = unsafe { SafeFd::from_raw_borrowed(reader.as_raw_fd()) };
    drop(handle);
    assert!(check.finish().is_empty());
}

#[test]
fn an_invalid_handle_is_not_tracked() {
    let check = full_check();
    drop(SafeFd::invalid());
    // SAFETY: -1 names no descriptor; the handle is invalid and never released.
    drop(unsafe { SafeFd::from_raw_owned(-1) });
    assert!(check.finish().is_empty());
}

#[test]
fn a_reported_handle_is_still_released_on_the_finalization_path() {
    let check = full_check();
    let (reader, writer) = rustix::pipe::pipe().expect("pipe");
    drop(SafeFd::from(reader));
    assert_eq!(check.finish().len(), 1);
    assert_eq!(
        rustix::io::write(&writer, b"?"),
        Err(rustix::io::Errno::PIPE)
    );
}
