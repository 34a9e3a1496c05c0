//! `WaitHandle`: .NET's `EventWaitHandle` (over `SafeWaitHandle`) on an eventfd (Linux, Android,
//! FreeBSD, illumos: the systems that have one; the module is absent elsewhere).
//!
//! The eventfd's counter is the event: non-zero is signaled. `set` adds one, `reset` drains it.
//! Waiting is `poll` for readability; an auto-reset wait then drains the counter, and a waiter that
//! finds it already drained by a rival goes back to waiting. Every call holds a use of the
//! descriptor, so a dispose never closes it under a waiter.

use super::error::HandleError;
use super::fd::SafeFd;
use crate::dispose::Dispose;
use rustix::event::{EventfdFlags, PollFd, PollFlags, Timespec};
use rustix::io::Errno;
use std::os::fd::BorrowedFd;
use std::time::{Duration, Instant};

/// What a successful wait does to the event (.NET's `EventResetMode`).
///
/// ```
/// use janitor::handle::{EventResetMode, WaitHandle};
///
/// let event = WaitHandle::new_signaled(EventResetMode::AutoReset).unwrap();
/// event.wait().unwrap();              // consumes the signal
/// assert!(!event.wait_timeout(std::time::Duration::ZERO).unwrap());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventResetMode {
    /// A wait that succeeds resets the event: one signal releases one waiter (`AutoResetEvent`).
    AutoReset,
    /// The event stays signaled until [`WaitHandle::reset`]: one signal releases every waiter
    /// (`ManualResetEvent`).
    ManualReset,
}

/// An event threads wait on, signaled by [`set`](Self::set): .NET's `EventWaitHandle`, on an
/// eventfd owned by a [`SafeFd`].
///
/// ```
/// use janitor::handle::{EventResetMode, WaitHandle};
/// use std::sync::Arc;
///
/// let event = Arc::new(WaitHandle::new(EventResetMode::ManualReset).unwrap());
/// let waiter = {
///     let event = Arc::clone(&event);
///     std::thread::spawn(move || event.wait())
/// };
/// event.set().unwrap();
/// waiter.join().unwrap().unwrap();
/// ```
#[derive(Debug)]
pub struct WaitHandle {
    handle: SafeFd,
    mode: EventResetMode,
}

impl WaitHandle {
    /// A new event, not signaled, with the given reset mode (.NET's
    /// `new EventWaitHandle(false, mode)`).
    ///
    /// ```
    /// use janitor::handle::{EventResetMode, WaitHandle};
    ///
    /// let event = WaitHandle::new(EventResetMode::ManualReset).unwrap();
    /// assert!(!event.wait_timeout(std::time::Duration::ZERO).unwrap());
    /// ```
    #[track_caller]
    pub fn new(mode: EventResetMode) -> Result<Self, HandleError> {
        Self::with_count(0, mode)
    }

    /// A new event, already signaled, with the given reset mode (.NET's
    /// `new EventWaitHandle(true, mode)`).
    ///
    /// ```
    /// use janitor::handle::{EventResetMode, WaitHandle};
    ///
    /// let event = WaitHandle::new_signaled(EventResetMode::ManualReset).unwrap();
    /// assert!(event.wait_timeout(std::time::Duration::ZERO).unwrap());
    /// ```
    #[track_caller]
    pub fn new_signaled(mode: EventResetMode) -> Result<Self, HandleError> {
        Self::with_count(1, mode)
    }

    /// An event over an eventfd whose counter starts at `count` (non-zero: signaled).
    #[track_caller]
    fn with_count(count: u32, mode: EventResetMode) -> Result<Self, HandleError> {
        let fd = rustix::event::eventfd(count, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)
            .map_err(|errno| HandleError::io("eventfd", errno))?;
        Ok(Self {
            handle: SafeFd::from(fd),
            mode,
        })
    }

    /// The reset mode.
    ///
    /// ```
    /// use janitor::handle::{EventResetMode, WaitHandle};
    ///
    /// let event = WaitHandle::new(EventResetMode::AutoReset).unwrap();
    /// assert_eq!(event.mode(), EventResetMode::AutoReset);
    /// ```
    pub fn mode(&self) -> EventResetMode {
        self.mode
    }

    /// The eventfd's handle, for its state or a use of its own.
    ///
    /// ```
    /// use janitor::handle::{EventResetMode, WaitHandle};
    ///
    /// let event = WaitHandle::new(EventResetMode::AutoReset).unwrap();
    /// assert!(!event.handle().is_closed());
    /// ```
    pub fn handle(&self) -> &SafeFd {
        &self.handle
    }

    /// Signals the event. Setting a signaled event changes nothing.
    ///
    /// ```
    /// use janitor::handle::{EventResetMode, WaitHandle};
    ///
    /// let event = WaitHandle::new(EventResetMode::ManualReset).unwrap();
    /// event.set().unwrap();
    /// event.set().unwrap();
    /// assert!(event.wait_timeout(std::time::Duration::ZERO).unwrap());
    /// ```
    pub fn set(&self) -> Result<(), HandleError> {
        let guard = self.handle.add_ref()?;
        match rustix::io::write(guard.as_fd(), &1u64.to_ne_bytes()) {
            // A full counter (2^64 - 2 sets) is as signaled as an event gets.
            Ok(_) | Err(Errno::AGAIN) => Ok(()),
            Err(errno) => Err(HandleError::io("write (eventfd set)", errno)),
        }
    }

    /// Un-signals the event. Resetting an unsignaled event changes nothing.
    ///
    /// ```
    /// use janitor::handle::{EventResetMode, WaitHandle};
    ///
    /// let event = WaitHandle::new_signaled(EventResetMode::ManualReset).unwrap();
    /// event.reset().unwrap();
    /// assert!(!event.wait_timeout(std::time::Duration::ZERO).unwrap());
    /// ```
    pub fn reset(&self) -> Result<(), HandleError> {
        let guard = self.handle.add_ref()?;
        drain(guard.as_fd()).map(drop)
    }

    /// Waits until the event is signaled (and, for auto-reset, takes the signal).
    ///
    /// ```
    /// use janitor::handle::{EventResetMode, WaitHandle};
    ///
    /// let event = WaitHandle::new_signaled(EventResetMode::ManualReset).unwrap();
    /// event.wait().unwrap();
    /// event.wait().unwrap(); // manual reset: still signaled
    /// ```
    pub fn wait(&self) -> Result<(), HandleError> {
        // Without a deadline the wait returns only once signaled.
        self.wait_until(None).map(drop)
    }

    /// Waits until the event is signaled or `timeout` passes: `true` if signaled (and, for
    /// auto-reset, the signal was taken), `false` on timeout. A zero timeout tests and returns.
    ///
    /// ```
    /// use janitor::handle::{EventResetMode, WaitHandle};
    /// use std::time::Duration;
    ///
    /// let event = WaitHandle::new(EventResetMode::AutoReset).unwrap();
    /// assert!(!event.wait_timeout(Duration::from_millis(1)).unwrap());
    /// event.set().unwrap();
    /// assert!(event.wait_timeout(Duration::from_millis(1)).unwrap());
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> Result<bool, HandleError> {
        // A timeout too long to express as an instant is as good as none.
        self.wait_until(Instant::now().checked_add(timeout))
    }

    /// Disposes the event: the same operation as [`Dispose::dispose`]. Waits in flight keep the
    /// eventfd open until they return (a dispose does not wake them).
    ///
    /// ```
    /// use janitor::handle::{EventResetMode, WaitHandle};
    ///
    /// let event = WaitHandle::new(EventResetMode::AutoReset).unwrap();
    /// event.close();
    /// assert!(event.set().is_err());
    /// ```
    pub fn close(&self) {
        self.dispose();
    }

    /// Whether the eventfd is closed (no call can start any more).
    ///
    /// ```
    /// use janitor::handle::{EventResetMode, WaitHandle};
    ///
    /// let event = WaitHandle::new(EventResetMode::AutoReset).unwrap();
    /// assert!(!event.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.handle.is_closed()
    }

    /// Waits until signaled or `deadline` (none: for ever); `false` once the deadline passed.
    fn wait_until(&self, deadline: Option<Instant>) -> Result<bool, HandleError> {
        let guard = self.handle.add_ref()?;
        loop {
            let remaining = deadline
                .map(|deadline| timespec(deadline.saturating_duration_since(Instant::now())));
            let mut fds = [PollFd::from_borrowed_fd(guard.as_fd(), PollFlags::IN)];
            match rustix::event::poll(&mut fds, remaining.as_ref()) {
                Ok(0) => return Ok(false),
                Ok(_) => {}
                Err(Errno::INTR) => continue,
                Err(errno) => return Err(HandleError::io("poll (eventfd wait)", errno)),
            }
            let taken = match self.mode {
                EventResetMode::ManualReset => true,
                EventResetMode::AutoReset => drain(guard.as_fd())?,
            };
            if taken {
                return Ok(true);
            }
        }
    }
}

/// Drains the eventfd's counter: `true` if it was signaled.
fn drain(eventfd: BorrowedFd<'_>) -> Result<bool, HandleError> {
    let mut counter = [0; 8];
    match rustix::io::read(eventfd, &mut counter) {
        Ok(_) => Ok(true),
        Err(Errno::AGAIN) => Ok(false),
        Err(errno) => Err(HandleError::io("read (eventfd reset)", errno)),
    }
}

impl Dispose for WaitHandle {
    /// Disposes the eventfd's handle: closed now, or when the last call in flight returns.
    fn dispose(&self) {
        self.handle.dispose();
    }
}

/// `duration` as poll's timeout, capped at what a `Timespec` holds.
fn timespec(duration: Duration) -> Timespec {
    Timespec::try_from(duration).unwrap_or(Timespec {
        tv_sec: i64::MAX,
        tv_nsec: 999_999_999,
    })
}
