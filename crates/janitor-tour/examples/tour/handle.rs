//! SafeHandle (scene 9): a forgotten handle released, a dispose during a read in flight, the
//! handle-recycling attack defeated, set-invalid, and bounds-checked native memory.

use crate::timeline::Timeline;
use janitor::Dispose;
use janitor::handle::{NativeMemory, SafeFd, SafeFile};
use std::fs::File;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::thread;

/// Whether descriptor `number` is open in this process, as `/proc/self/fd` lists it.
fn is_open(number: RawFd) -> bool {
    std::path::Path::new(&format!("/proc/self/fd/{number}")).exists()
}

/// Whether the pipe's read end is closed: the kernel then refuses writes with `EPIPE`.
fn read_end_closed(writer: &OwnedFd) -> bool {
    rustix::io::write(writer, b"?") == Err(rustix::io::Errno::PIPE)
}

pub fn run(tour: &mut Timeline) {
    tour.scene("SafeHandle: released when forgotten, disposed during a read, recycling defeated");
    tour.dotnet(
        "SafeHandle counts the P/Invoke calls using a handle; Dispose releases it after the last \
         one; a forgotten handle is released by its critical finalizer, at some later GC.",
    );
    forgotten_handle(tour);
    dispose_during_a_read(tour);
    set_handle_as_invalid(tour);
    bounds_checked_memory(tour);
}

fn forgotten_handle(tour: &mut Timeline) {
    tour.step("A SafeHandle dropped without dispose is released on the finalization path");
    tour.dotnet(
        "A SafeFileHandle nobody disposed is released by its critical finalizer, at some later GC.",
    );
    let (reader, writer) = rustix::pipe::pipe().expect("pipe");
    let number = reader.as_raw_fd();
    let file = SafeFile::from(reader);
    tour.event(format!(
        "SafeFile over a pipe's read end, descriptor {number}; open: {}",
        is_open(number)
    ));
    drop(file);
    tour.event(format!(
        "dropped without dispose: descriptor {number} open: {}; writes to the pipe fail with EPIPE: {} \
         (released at the drop, no collection needed; scene 11 names who forgot)",
        is_open(number),
        read_end_closed(&writer)
    ));
}

fn dispose_during_a_read(tour: &mut Timeline) {
    tour.step("Dispose during a read in flight; then the recycling attack, defeated");
    tour.dotnet(
        "Dispose during a P/Invoke call only marks the handle disposed; the marshaller's AddRef keeps \
         it open, and ReleaseHandle runs at the call's DangerousRelease.",
    );
    let (reader, writer) = rustix::pipe::pipe().expect("pipe");
    let number = reader.as_raw_fd();
    let file = Arc::new(SafeFile::from(reader));
    let read = {
        let file = Arc::clone(&file);
        thread::spawn(move || {
            let mut bytes = [0; 16];
            file.read(&mut bytes)
                .map(|read| String::from_utf8_lossy(&bytes[..read]).into_owned())
        })
    };
    // The reader holds its use until its read returns, and nothing is written yet.
    while file.handle().uses_in_flight() == 0 {
        thread::yield_now();
    }
    tour.event(format!(
        "thread A is blocked reading descriptor {number} (one use in flight)"
    ));
    file.dispose();
    tour.event(format!(
        "main thread disposes: disposed {}, closed {}, descriptor {number} open: {}",
        file.handle().is_disposed(),
        file.is_closed(),
        is_open(number)
    ));
    let meanwhile = File::open("/dev/null").expect("open /dev/null");
    tour.event(format!(
        "a file opened meanwhile takes descriptor {}: {number} cannot be recycled while A uses it",
        meanwhile.as_raw_fd()
    ));
    rustix::io::write(&writer, b"late data").expect("write");
    let text = read
        .join()
        .expect("reader thread")
        .expect("the read in flight completes");
    tour.event(format!("wrote to the pipe: A's read returned {text:?}"));
    tour.event(format!(
        "A's use ended: closed {}, descriptor {number} open: {}",
        file.is_closed(),
        is_open(number)
    ));
    recycling_defeated(tour, &file, number);
    drop(meanwhile);
}

/// After the close, the kernel hands the number to the next file opened. A raw descriptor kept
/// by a stale owner would now read that file; the disposed handle refuses instead.
fn recycling_defeated(tour: &mut Timeline, stale: &SafeFile, number: RawFd) {
    let path = std::env::temp_dir().join(format!("janitor-tour-{}.payroll", std::process::id()));
    std::fs::write(&path, "payroll: secret").expect("write the scratch file");
    let payroll = File::open(&path).expect("open the scratch file");
    let _ = std::fs::remove_file(&path);
    let taken = payroll.as_raw_fd();
    if taken == number {
        let mut bytes = [0; 16];
        // SAFETY: `payroll` owns descriptor `number` and outlives this borrow; the raw read is
        // the attack being shown, through the number a stale raw handle would still hold.
        let raw = unsafe { BorrowedFd::borrow_raw(number) };
        let read = rustix::io::pread(raw, &mut bytes, 0).expect("read the scratch file");
        tour.event(format!(
            "a new file opened takes descriptor {taken}, A's old number: a raw copy of the number \
             (.NET's IntPtr handles) would now read {:?} from the wrong file",
            String::from_utf8_lossy(&bytes[..read])
        ));
    } else {
        tour.event(format!(
            "a new file opened takes descriptor {taken} (the kernel did not reuse {number} this time)"
        ));
    }
    match stale.read(&mut [0; 16]) {
        Ok(read) => tour.event(format!(
            "the disposed SafeFile unexpectedly read {read} bytes"
        )),
        Err(error) => tour.event(format!(
            "the disposed SafeFile reads -> Err: {error} (it never reaches the recycled number)"
        )),
    }
}

fn set_handle_as_invalid(tour: &mut Timeline) {
    tour.step("set_handle_as_invalid: closed at once, never released");
    tour.dotnet(
        "SetHandleAsInvalid sets Closed and suppresses finalization; ReleaseHandle never runs.",
    );
    let (reader, writer) = rustix::pipe::pipe().expect("pipe");
    let number = reader.as_raw_fd();
    let handle = SafeFd::from(reader);
    let guard = handle.add_ref().expect("a fresh handle is open");
    handle.set_handle_as_invalid();
    tour.event(format!(
        "set as invalid with a use in flight: closed {}, add_ref -> {}",
        handle.is_closed(),
        match handle.add_ref() {
            Ok(_) => "Ok (unexpected)".to_owned(),
            Err(error) => format!("Err: {error}"),
        }
    ));
    handle.dispose();
    drop(guard);
    drop(handle);
    tour.event(format!(
        "disposed, last use ended, dropped: descriptor {number} still open: {} (it is someone else's now)",
        is_open(number) && !read_end_closed(&writer)
    ));
    // SAFETY: the handle gave the descriptor up without closing it; this scene owns it again.
    unsafe { rustix::io::close(number) };
}

fn bounds_checked_memory(tour: &mut Timeline) {
    tour.step("SafeBuffer: native memory with bounds-checked reads and writes");
    tour.dotnet(
        "SafeBuffer.Read/Write check bounds and AddRef/Release around each access; \
         out of range -> ArgumentOutOfRangeException.",
    );
    let buffer = NativeMemory::alloc_zeroed(16).expect("16 bytes");
    buffer
        .write::<u64>(8, 0x1122_3344_5566_7788)
        .expect("in bounds");
    tour.event(format!(
        "read::<u64>(8) -> {:#x}",
        buffer.read::<u64>(8).expect("in bounds")
    ));
    match buffer.read::<u64>(12) {
        Ok(value) => tour.event(format!("read::<u64>(12) unexpectedly returned {value:#x}")),
        Err(error) => tour.event(format!("read::<u64>(12) -> Err: {error}")),
    }
    buffer.dispose();
    match buffer.read::<u8>(0) {
        Ok(value) => tour.event(format!("read after dispose unexpectedly returned {value}")),
        Err(error) => tour.event(format!("read after dispose -> Err: {error}")),
    }
}
