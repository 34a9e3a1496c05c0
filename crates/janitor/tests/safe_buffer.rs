//! SafeBuffer over native memory and mapped files: bounds, dispose, and bad input.

use janitor::Dispose;
use janitor::handle::{HandleError, MapAccess, MappedView, NativeMemory};
use std::sync::Arc;

fn temp_file(name: &str, contents: &[u8]) -> std::path::PathBuf {
    let path =
        std::env::temp_dir().join(format!("janitor-safe-buffer-{}-{name}", std::process::id()));
    std::fs::write(&path, contents).unwrap();
    path
}

#[test]
fn values_written_are_read_back_at_any_alignment() {
    let buffer = NativeMemory::alloc_zeroed(64).unwrap();
    buffer.write::<u64>(3, 0x0102_0304_0506_0708).unwrap();
    assert_eq!(buffer.read::<u64>(3).unwrap(), 0x0102_0304_0506_0708);
    buffer.write::<f32>(17, -2.5).unwrap();
    assert_eq!(buffer.read::<f32>(17).unwrap(), -2.5);
    buffer.write::<[i16; 3]>(40, [-1, 0, 1]).unwrap();
    assert_eq!(buffer.read::<[i16; 3]>(40).unwrap(), [-1, 0, 1]);
}

#[test]
fn alloc_zeroed_memory_reads_as_zero() {
    let buffer = NativeMemory::alloc_zeroed(4096).unwrap();
    let mut bytes = vec![1u8; 4096];
    buffer.read_slice(0, &mut bytes).unwrap();
    assert!(bytes.iter().all(|&byte| byte == 0));
}

#[test]
fn slices_round_trip() {
    let buffer = NativeMemory::alloc(32).unwrap();
    let values: Vec<u32> = (0..8).collect();
    buffer.write_slice(0, &values).unwrap();
    let mut back = [0u32; 6];
    buffer.read_slice(8, &mut back).unwrap();
    assert_eq!(back, [2, 3, 4, 5, 6, 7]);
}

#[test]
fn an_access_past_the_end_is_out_of_bounds_with_its_numbers() {
    let buffer = NativeMemory::alloc(16).unwrap();
    match buffer.read::<u32>(13) {
        Err(HandleError::OutOfBounds {
            offset: 13,
            len: 4,
            capacity: 16,
        }) => {}
        other => panic!("expected OutOfBounds, got {other:?}"),
    }
    assert!(matches!(
        buffer.write::<u8>(16, 1),
        Err(HandleError::OutOfBounds { .. })
    ));
    assert!(matches!(
        buffer.write_slice(10, &[0u8; 7]),
        Err(HandleError::OutOfBounds {
            offset: 10,
            len: 7,
            capacity: 16
        })
    ));
    assert!(matches!(
        buffer.read_slice(0, &mut [0u64; 3]),
        Err(HandleError::OutOfBounds { .. })
    ));
    let message = buffer.read::<u32>(13).unwrap_err().to_string();
    assert!(
        message.contains("offset 13") && message.contains("16-byte"),
        "{message}"
    );
}

#[test]
fn an_offset_that_overflows_is_out_of_bounds_not_a_wrap() {
    let buffer = NativeMemory::alloc(16).unwrap();
    assert!(matches!(
        buffer.read::<u16>(usize::MAX),
        Err(HandleError::OutOfBounds {
            offset: usize::MAX,
            len: 2,
            ..
        })
    ));
    assert!(matches!(
        buffer.write::<u64>(usize::MAX - 3, 0),
        Err(HandleError::OutOfBounds { .. })
    ));
}

#[test]
fn a_zero_length_buffer_refuses_every_byte_but_accepts_empty_slices() {
    let buffer = NativeMemory::alloc(0).unwrap();
    assert_eq!(buffer.byte_length(), 0);
    assert!(matches!(
        buffer.read::<u8>(0),
        Err(HandleError::OutOfBounds {
            offset: 0,
            len: 1,
            capacity: 0
        })
    ));
    assert!(matches!(
        buffer.write::<u8>(0, 1),
        Err(HandleError::OutOfBounds { .. })
    ));
    buffer.read_slice::<u8>(0, &mut []).unwrap();
    buffer.write_slice::<u8>(0, &[]).unwrap();
    buffer.dispose();
}

#[test]
fn an_empty_slice_at_the_end_is_in_bounds_and_one_past_it_is_not() {
    let buffer = NativeMemory::alloc(8).unwrap();
    buffer.write_slice::<u8>(8, &[]).unwrap();
    assert!(matches!(
        buffer.write_slice::<u8>(9, &[]),
        Err(HandleError::OutOfBounds { .. })
    ));
}

#[test]
fn an_impossible_allocation_is_an_error() {
    assert!(matches!(
        NativeMemory::alloc(usize::MAX),
        Err(HandleError::AllocationFailed { len: usize::MAX })
    ));
    assert!(matches!(
        NativeMemory::alloc_zeroed(isize::MAX as usize),
        Err(HandleError::AllocationFailed { .. })
    ));
}

#[test]
fn every_access_after_dispose_is_object_disposed() {
    let buffer = NativeMemory::alloc(8).unwrap();
    buffer.close();
    assert!(buffer.is_closed());
    assert!(matches!(
        buffer.read::<u8>(0),
        Err(HandleError::Disposed(_))
    ));
    assert!(matches!(
        buffer.write::<u8>(0, 0),
        Err(HandleError::Disposed(_))
    ));
    assert!(matches!(
        buffer.read_slice::<u8>(0, &mut [0]),
        Err(HandleError::Disposed(_))
    ));
    assert!(matches!(
        buffer.write_slice::<u8>(0, &[0]),
        Err(HandleError::Disposed(_))
    ));
    assert!(matches!(
        buffer.acquire_pointer(),
        Err(HandleError::Disposed(_))
    ));
}

#[test]
fn an_acquired_pointer_keeps_the_memory_alive_across_dispose() {
    let buffer = Arc::new(NativeMemory::alloc_zeroed(8).unwrap());
    let pointer = buffer.acquire_pointer().unwrap();
    let disposer = {
        let buffer = Arc::clone(&buffer);
        std::thread::spawn(move || buffer.dispose())
    };
    disposer.join().unwrap();
    assert!(!buffer.is_closed());
    // SAFETY: in bounds; the use held by `pointer` keeps the memory allocated; no other access.
    unsafe { pointer.as_ptr().add(7).write(0x5a) };
    // SAFETY: as above.
    assert_eq!(unsafe { pointer.as_ptr().add(7).read() }, 0x5a);
    drop(pointer);
    assert!(buffer.is_closed());
}

#[test]
fn concurrent_accesses_from_many_threads_keep_each_threads_bytes() {
    let buffer = Arc::new(NativeMemory::alloc_zeroed(64).unwrap());
    let threads: Vec<_> = (0..4u8)
        .map(|index| {
            let buffer = Arc::clone(&buffer);
            std::thread::spawn(move || {
                for round in 0..1000usize {
                    buffer
                        .write::<[u8; 8]>(8 * usize::from(index), [index; 8])
                        .unwrap();
                    let mine = buffer.read::<[u8; 8]>(8 * usize::from(index)).unwrap();
                    assert_eq!(mine, [index; 8], "round {round}");
                    buffer.read::<[u8; 64]>(0).unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
}

#[test]
fn a_read_only_view_reads_the_file_and_refuses_writes() {
    let path = temp_file("read-only", &[1, 0, 0, 0, 2, 0, 0, 0]);
    let view = MappedView::open(&path, MapAccess::ReadOnly).unwrap();
    assert!(!view.is_writable());
    assert_eq!(view.byte_length(), 8);
    assert_eq!(view.read::<[u32; 2]>(0).unwrap().map(u32::from_le), [1, 2]);
    assert!(matches!(view.write::<u8>(0, 9), Err(HandleError::ReadOnly)));
    assert!(matches!(
        view.write_slice::<u8>(0, &[9]),
        Err(HandleError::ReadOnly)
    ));
    view.dispose();
    std::fs::remove_file(path).unwrap();
}

#[test]
fn a_read_write_view_writes_through_to_the_file() {
    let path = temp_file("read-write", b"abcdef");
    let view = MappedView::open(&path, MapAccess::ReadWrite).unwrap();
    view.write_slice(2, b"XY").unwrap();
    assert!(matches!(
        view.read::<u8>(6),
        Err(HandleError::OutOfBounds { capacity: 6, .. })
    ));
    view.dispose();
    assert_eq!(std::fs::read(&path).unwrap(), b"abXYef");
    std::fs::remove_file(path).unwrap();
}

/// Whether this process has a mapping of `path`, as `/proc/self/maps` lists file-backed mappings.
fn is_mapped(path: &std::path::Path) -> bool {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let path = path.to_str().unwrap();
    maps.lines().any(|line| line.ends_with(path))
}

#[test]
fn a_view_dropped_without_dispose_is_unmapped_and_its_writes_kept() {
    let path = temp_file("dropped", b"0000");
    let view = MappedView::open(&path, MapAccess::ReadWrite).unwrap();
    assert!(is_mapped(&path));
    view.write::<u8>(3, b'1').unwrap();
    drop(view);
    assert!(!is_mapped(&path), "the drop unmaps the view");
    assert_eq!(std::fs::read(&path).unwrap(), b"0001");
    std::fs::remove_file(path).unwrap();
}

#[test]
fn a_view_is_unmapped_when_the_last_use_ends_after_dispose() {
    let path = temp_file("last-use", b"abcd");
    let view = MappedView::open(&path, MapAccess::ReadOnly).unwrap();
    let pointer = view.acquire_pointer().unwrap();
    view.dispose();
    assert!(is_mapped(&path), "a use in flight keeps the view mapped");
    // SAFETY: in bounds of the 4-byte view, which the use held by `pointer` keeps mapped.
    assert_eq!(unsafe { pointer.as_ptr().add(2).read() }, b'c');
    drop(pointer);
    assert!(!is_mapped(&path), "unmapped at the end of the last use");
    std::fs::remove_file(path).unwrap();
}

#[test]
fn mapping_a_missing_file_is_an_error_naming_the_path() {
    let path = std::env::temp_dir().join("janitor-safe-buffer-no-such-dir/missing.bin");
    let error = MappedView::open(&path, MapAccess::ReadOnly).unwrap_err();
    assert!(
        matches!(&error, HandleError::Map { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    );
    assert!(
        error.to_string().contains(&path.display().to_string()),
        "{error}"
    );
}

#[test]
fn mapping_an_empty_file_is_an_error_naming_the_path() {
    let path = temp_file("empty", b"");
    let error = MappedView::open(&path, MapAccess::ReadOnly).unwrap_err();
    assert!(matches!(error, HandleError::EmptyFile { .. }));
    assert!(
        error.to_string().contains(&path.display().to_string()),
        "{error}"
    );
    std::fs::remove_file(path).unwrap();
}

#[test]
fn mapping_a_directory_is_an_error_naming_the_path() {
    let path = std::env::temp_dir();
    let error = MappedView::open(&path, MapAccess::ReadOnly).unwrap_err();
    assert!(matches!(error, HandleError::Map { .. }), "{error:?}");
    assert!(
        error.to_string().contains(&path.display().to_string()),
        "{error}"
    );
}

/// Set in the child process of the truncation test: that process does the fatal access.
const TRUNCATION_CHILD: &str = "JANITOR_SAFE_BUFFER_TRUNCATION_CHILD";

/// The hazard `MappedView` documents, pinned: safe code of this very process can truncate a
/// mapped file, and the next access to the lost pages kills the process with `SIGBUS` (std's
/// handler falls back to the default action). It is a crash, never a read of stale or made-up
/// bytes; the test runs the access in a child process (this binary, this test alone).
#[test]
fn touching_a_view_of_a_file_truncated_under_it_kills_the_process_with_sigbus() {
    if std::env::var_os(TRUNCATION_CHILD).is_some() {
        let path = temp_file("truncated", &[7; 8192]);
        let view = MappedView::open(&path, MapAccess::ReadOnly).unwrap();
        assert_eq!(view.read::<u8>(4096).unwrap(), 7);
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(0)
            .unwrap();
        std::fs::remove_file(&path).unwrap();
        let survived = view.read::<u8>(4096);
        panic!("the access to a truncated page returned {survived:?} instead of raising SIGBUS");
    }
    use std::os::unix::process::ExitStatusExt;
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "touching_a_view_of_a_file_truncated_under_it_kills_the_process_with_sigbus",
            "--test-threads=1",
            "--nocapture",
        ])
        .env(TRUNCATION_CHILD, "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert_eq!(
        status.signal(),
        Some(rustix::process::Signal::BUS.as_raw()),
        "{status:?}"
    );
}
