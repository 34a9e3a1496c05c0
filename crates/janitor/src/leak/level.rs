//! The leak level: which creations are tracked.
//!
//! Invariant: **deciding whether a creation is tracked costs one relaxed load of a process-global
//! word, plus, at a sampled level, one thread-local counter; the word is only written under a
//! mutex, and the `JANITOR_LEAK` environment variable is read at most once, and only if no
//! [`set_level`](super::set_level) came first.**
//!
//! The word holds the encoded level, or `UNSET` until the first creation (or `level()`) settles it.
//! It carries no data but itself, so every access is `Relaxed`: a thread that still sees `UNSET`
//! takes the mutex, which orders it after whoever settled the word, and reads the settled value.
//! Settling and `set_level` both hold the mutex, so the environment can never overwrite a level
//! set in code: the flag under the mutex says the word was settled, by either.
//!
//! Sampling is deterministic, as a counter and not a coin: each thread counts its own creations and
//! tracks the last of every `one_in` (creations N, 2N, 3N, ... of that thread). No creation on one
//! thread delays sampling on another, and a test can count exactly. The last and not the first: a
//! thread that makes fewer than N resources (a short test, a small tool) tracks nothing, so the
//! default level adds no report and no log line to it.

use crate::sync::IgnorePoison;
use std::cell::Cell;
use std::ffi::OsString;
use std::fmt;
use std::num::{NonZeroU32, ParseIntError};
use std::str::FromStr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// How many resources the leak detector tracks: none, one creation in `one_in`, or every one.
///
/// The level is process-global; it is set in code with [`set_level`](super::set_level) or, before
/// the first tracked type is created, with the `JANITOR_LEAK` environment variable (`off`,
/// `sampled`, `sampled:N`, `full`). The default is [`LeakLevel::DEFAULT`], one creation in 128,
/// as Netty's `SIMPLE` level.
///
/// | level | tracked | creation backtrace | recent uses |
/// |---|---|---|---|
/// | `Off` | nothing: a tracker is a null pointer | — | — |
/// | `Sampled { one_in }` | creation N, 2N, 3N, ... of each thread | if `RUST_BACKTRACE` asks | — |
/// | `Full` | every creation | always (a stack walk per creation) | the last 8 |
///
/// ```
/// use janitor::leak::LeakLevel;
/// use std::num::NonZeroU32;
///
/// let level: LeakLevel = "sampled:16".parse().unwrap();
/// assert_eq!(level, LeakLevel::Sampled { one_in: NonZeroU32::new(16).unwrap() });
/// assert_eq!(level.to_string(), "sampled:16");
/// assert_eq!(LeakLevel::default(), LeakLevel::DEFAULT);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LeakLevel {
    /// Nothing is tracked. A tracker costs one relaxed load to create and a null check to close.
    Off,
    /// One creation in `one_in` on each thread is tracked (counted, not random: the `one_in`-th,
    /// then every `one_in`-th after it), with a creation
    /// backtrace if `RUST_BACKTRACE` (or `RUST_LIB_BACKTRACE`) enables them.
    Sampled {
        /// Tracks one creation in this many; `1` tracks every creation, without recording uses.
        one_in: NonZeroU32,
    },
    /// Every creation is tracked, its backtrace is always captured, and the last few uses
    /// ([`LeakTracker::record`](super::LeakTracker::record)) are kept for the report. For
    /// hunting a leak, not for production: each creation walks the stack (microseconds) and
    /// allocates.
    Full,
}

impl LeakLevel {
    /// The level when nothing else is said: one creation in 128 tracked, as Netty's default.
    ///
    /// ```
    /// use janitor::leak::LeakLevel;
    /// assert_eq!(LeakLevel::DEFAULT.to_string(), "sampled:128");
    /// ```
    pub const DEFAULT: LeakLevel = LeakLevel::Sampled {
        one_in: NonZeroU32::new(128).expect("128 is not zero"),
    };
}

impl Default for LeakLevel {
    /// [`LeakLevel::DEFAULT`].
    ///
    /// ```
    /// use janitor::leak::LeakLevel;
    /// assert_eq!(LeakLevel::default(), LeakLevel::DEFAULT);
    /// ```
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl fmt::Display for LeakLevel {
    /// The level as `JANITOR_LEAK` spells it; parsing the text gives the level back.
    ///
    /// ```
    /// use janitor::leak::LeakLevel;
    /// assert_eq!(LeakLevel::Full.to_string(), "full");
    /// assert_eq!("off".parse::<LeakLevel>().unwrap().to_string(), "off");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LeakLevel::Off => f.write_str("off"),
            LeakLevel::Sampled { one_in } => write!(f, "sampled:{one_in}"),
            LeakLevel::Full => f.write_str("full"),
        }
    }
}

impl FromStr for LeakLevel {
    type Err = ParseLeakLevelError;

    /// Parses `off`, `sampled` (the default rate, 1 in 128), `sampled:N` with `N` at least 1, or
    /// `full`; ASCII case and surrounding spaces are ignored.
    ///
    /// ```
    /// use janitor::leak::{LeakLevel, ParseLeakLevelError};
    ///
    /// assert_eq!(" FULL ".parse::<LeakLevel>().unwrap(), LeakLevel::Full);
    /// assert_eq!("sampled".parse::<LeakLevel>().unwrap(), LeakLevel::DEFAULT);
    /// assert_eq!("sampled:0".parse::<LeakLevel>(), Err(ParseLeakLevelError::ZeroRate));
    /// assert!(matches!("verbose".parse::<LeakLevel>(), Err(ParseLeakLevelError::Unknown { .. })));
    /// ```
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let lowered = text.trim().to_ascii_lowercase();
        match lowered.as_str() {
            "off" => Ok(LeakLevel::Off),
            "full" => Ok(LeakLevel::Full),
            "sampled" => Ok(LeakLevel::DEFAULT),
            other => {
                let Some(rate) = other.strip_prefix("sampled:") else {
                    return Err(ParseLeakLevelError::Unknown {
                        value: text.to_owned(),
                    });
                };
                let one_in: u32 = rate
                    .parse()
                    .map_err(|source| ParseLeakLevelError::BadRate {
                        rate: rate.to_owned(),
                        source,
                    })?;
                let one_in = NonZeroU32::new(one_in).ok_or(ParseLeakLevelError::ZeroRate)?;
                Ok(LeakLevel::Sampled { one_in })
            }
        }
    }
}

/// Why a text (such as the `JANITOR_LEAK` variable) is not a [`LeakLevel`].
///
/// ```
/// use janitor::leak::LeakLevel;
///
/// let error = "sampled:often".parse::<LeakLevel>().unwrap_err();
/// assert!(error.to_string().contains("\"often\""));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseLeakLevelError {
    /// The text names no level.
    #[error("{value:?} is not a leak level: use off, sampled, sampled:N (N at least 1) or full")]
    Unknown {
        /// The text, as given.
        value: String,
    },
    /// `sampled:0`: a rate of zero would track nothing, which is what `off` says.
    #[error(
        "sampled:0 tracks one creation in zero: N must be at least 1 (use off to track nothing)"
    )]
    ZeroRate,
    /// The rate of `sampled:N` is not a whole number that fits in 32 bits.
    #[error("the rate {rate:?} of sampled:N is not a whole number from 1 to 4294967295: {source}")]
    BadRate {
        /// The text after `sampled:`.
        rate: String,
        /// Why it is not a `u32`.
        source: ParseIntError,
    },
}

/// The process's level.
static LEVEL: LevelCell = LevelCell::new();

/// Sets the process-wide leak level, from now on: creations after the call are tracked (or not)
/// by it; trackers made before keep what they are. After this call `JANITOR_LEAK` is never read.
///
/// ```
/// use janitor::leak::{self, LeakLevel, LeakTracker};
///
/// leak::set_level(LeakLevel::Full);
/// assert_eq!(leak::level(), LeakLevel::Full);
/// assert!(LeakTracker::new::<u8>().is_tracked());
/// ```
pub fn set_level(level: LeakLevel) {
    LEVEL.set(level);
}

/// The process-wide leak level: the last [`set_level`], or else what `JANITOR_LEAK` said when
/// it was first needed (read once; a bad value is reported once with a `tracing` warning and the
/// [default](LeakLevel::DEFAULT) kept), or else the default. A bad value is not a
/// [`LeakReport`](super::LeakReport): a typo in the configuration is not a leak, and must not fail
/// [`assert_no_leaks`](super::assert_no_leaks) in tests that have nothing to do with it.
///
/// ```
/// use janitor::leak::{self, LeakLevel};
///
/// if std::env::var_os("JANITOR_LEAK").is_none() {
///     assert_eq!(leak::level(), LeakLevel::DEFAULT);
/// }
/// ```
pub fn level() -> LeakLevel {
    LEVEL.get(read_environment)
}

/// What the process's level says about one more creation on this thread.
#[inline]
pub(super) fn tracking() -> Tracking {
    LEVEL.tracking(read_environment)
}

fn read_environment() -> Option<OsString> {
    std::env::var_os(ENVIRONMENT_VARIABLE)
}

/// The name of the environment variable read once for the level.
const ENVIRONMENT_VARIABLE: &str = "JANITOR_LEAK";

/// What the level says about one creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tracking {
    /// Not tracked: the tracker is null.
    No,
    /// Tracked, reported with its creation site (and backtrace if `RUST_BACKTRACE` asks).
    Sampled,
    /// Tracked with a forced backtrace and a ring of recent uses.
    Full,
}

const UNSET: u64 = 0;
const OFF: u64 = 1;
const FULL: u64 = 2;
/// Tag of a sampled level; the low 32 bits hold `one_in`.
const SAMPLED: u64 = 1 << 32;

fn encode(level: LeakLevel) -> u64 {
    match level {
        LeakLevel::Off => OFF,
        LeakLevel::Full => FULL,
        LeakLevel::Sampled { one_in } => SAMPLED | u64::from(one_in.get()),
    }
}

fn decode(word: u64) -> LeakLevel {
    match word {
        OFF => LeakLevel::Off,
        FULL => LeakLevel::Full,
        _ => LeakLevel::Sampled {
            one_in: NonZeroU32::new(rate(word)).expect("a sampled word holds a non-zero rate"),
        },
    }
}

/// The rate of a sampled word: its low 32 bits (the truncation is the decoding).
fn rate(word: u64) -> u32 {
    word as u32
}

/// The level of one process (or of one unit test): the word readers load, and the mutex writers
/// hold.
pub(super) struct LevelCell {
    word: AtomicU64,
    /// Whether the word was settled (by `set` or by the environment); held by every writer.
    settled: Mutex<bool>,
}

impl LevelCell {
    pub(super) const fn new() -> Self {
        Self {
            word: AtomicU64::new(UNSET),
            settled: Mutex::new(false),
        }
    }

    /// The level, settling it from `environment` first if nothing has yet.
    #[inline]
    pub(super) fn get(&self, environment: impl FnOnce() -> Option<OsString>) -> LeakLevel {
        decode(self.word(environment))
    }

    #[inline]
    fn word(&self, environment: impl FnOnce() -> Option<OsString>) -> u64 {
        let word = self.word.load(Ordering::Relaxed);
        if word != UNSET {
            return word;
        }
        self.settle(environment)
    }

    /// Sets the level; the environment is never consulted afterwards.
    pub(super) fn set(&self, level: LeakLevel) {
        let mut settled = self.settled.lock().ignore_poison();
        self.word.store(encode(level), Ordering::Relaxed);
        *settled = true;
    }

    /// What the level says about one more creation on this thread.
    #[inline]
    pub(super) fn tracking(&self, environment: impl FnOnce() -> Option<OsString>) -> Tracking {
        match self.word(environment) {
            OFF => Tracking::No,
            FULL => Tracking::Full,
            sampled => {
                if take_sample(rate(sampled)) {
                    Tracking::Sampled
                } else {
                    Tracking::No
                }
            }
        }
    }

    /// Settles the word from the environment unless `set` or another thread did first. A bad value
    /// is reported once, here (the only place that reads it), and the default kept. The warning is
    /// emitted after the mutex is released: a subscriber may itself create tracked resources.
    #[cold]
    #[inline(never)]
    fn settle(&self, environment: impl FnOnce() -> Option<OsString>) -> u64 {
        let error = {
            let mut settled = self.settled.lock().ignore_poison();
            if *settled {
                None
            } else {
                let (level, error) = level_from_environment(environment());
                self.word.store(encode(level), Ordering::Relaxed);
                *settled = true;
                error
            }
        };
        if let Some(error) = error {
            tracing::warn!(
                variable = ENVIRONMENT_VARIABLE,
                "{ENVIRONMENT_VARIABLE} ignored, leak level kept at the default ({}): {error}",
                LeakLevel::DEFAULT
            );
        }
        self.word.load(Ordering::Relaxed)
    }
}

/// The level a value of `JANITOR_LEAK` asks for, and why it was refused if it was. Unset or empty
/// means the default, as an unset variable.
fn level_from_environment(value: Option<OsString>) -> (LeakLevel, Option<ParseLeakLevelError>) {
    let Some(value) = value.filter(|value| !value.is_empty()) else {
        return (LeakLevel::DEFAULT, None);
    };
    let parsed = match value.to_str() {
        Some(text) => text.parse(),
        None => Err(ParseLeakLevelError::Unknown {
            value: value.to_string_lossy().into_owned(),
        }),
    };
    match parsed {
        Ok(level) => (level, None),
        Err(error) => (LeakLevel::DEFAULT, Some(error)),
    }
}

thread_local! {
    /// Creations on this thread since its last tracked one.
    static SINCE_LAST_SAMPLE: Cell<u32> = const { Cell::new(0) };
}

/// Counts one creation on this thread; `true` for the last of every `one_in`. A level lowered to
/// a smaller rate takes effect at once (a count already past the new rate tracks the next
/// creation). During thread teardown (the counter already destroyed) nothing is tracked.
#[inline]
fn take_sample(one_in: u32) -> bool {
    SINCE_LAST_SAMPLE
        .try_with(|since| {
            let count = since.get() + 1;
            if count >= one_in {
                since.set(0);
                true
            } else {
                since.set(count);
                false
            }
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sampled(one_in: u32) -> LeakLevel {
        LeakLevel::Sampled {
            one_in: NonZeroU32::new(one_in).unwrap(),
        }
    }

    #[test]
    fn every_level_parses_from_its_display() {
        for level in [
            LeakLevel::Off,
            LeakLevel::Full,
            sampled(1),
            sampled(u32::MAX),
        ] {
            assert_eq!(level.to_string().parse::<LeakLevel>(), Ok(level));
        }
    }

    #[test]
    fn sampled_without_a_rate_is_the_default_rate() {
        assert_eq!("sampled".parse::<LeakLevel>(), Ok(sampled(128)));
    }

    #[test]
    fn case_and_surrounding_spaces_are_ignored() {
        assert_eq!("  Sampled:7\n".parse::<LeakLevel>(), Ok(sampled(7)));
        assert_eq!("OFF".parse::<LeakLevel>(), Ok(LeakLevel::Off));
    }

    #[test]
    fn sampled_zero_is_refused() {
        assert_eq!(
            "sampled:0".parse::<LeakLevel>(),
            Err(ParseLeakLevelError::ZeroRate)
        );
    }

    #[test]
    fn a_rate_that_is_not_a_u32_is_refused_with_the_rate() {
        for rate in ["-1", "often", "4294967296", ""] {
            match format!("sampled:{rate}").parse::<LeakLevel>() {
                Err(ParseLeakLevelError::BadRate { rate: refused, .. }) => {
                    assert_eq!(refused, rate)
                }
                other => panic!("sampled:{rate} parsed as {other:?}"),
            }
        }
    }

    #[test]
    fn an_unknown_word_is_refused_with_the_text() {
        let error = "paranoid".parse::<LeakLevel>().unwrap_err();
        assert_eq!(
            error,
            ParseLeakLevelError::Unknown {
                value: "paranoid".to_owned()
            }
        );
        assert!(error.to_string().contains("use off, sampled, sampled:N"));
    }

    #[test]
    fn the_environment_settles_the_level_once() {
        let cell = LevelCell::new();
        assert_eq!(cell.get(|| Some("full".into())), LeakLevel::Full);
        assert_eq!(
            cell.get(|| panic!("the environment is read once")),
            LeakLevel::Full
        );
    }

    #[test]
    fn an_unset_or_empty_environment_means_the_default() {
        assert_eq!(LevelCell::new().get(|| None), LeakLevel::DEFAULT);
        assert_eq!(LevelCell::new().get(|| Some("".into())), LeakLevel::DEFAULT);
    }

    #[test]
    fn a_bad_environment_keeps_the_default() {
        let cell = LevelCell::new();
        assert_eq!(cell.get(|| Some("sampled:0".into())), LeakLevel::DEFAULT);
        let (level, error) = level_from_environment(Some("sampled:0".into()));
        assert_eq!(
            (level, error),
            (LeakLevel::DEFAULT, Some(ParseLeakLevelError::ZeroRate))
        );
    }

    #[test]
    fn a_level_set_in_code_wins_over_the_environment() {
        let cell = LevelCell::new();
        cell.set(LeakLevel::Off);
        assert_eq!(
            cell.get(|| panic!("the environment is not read after set")),
            LeakLevel::Off
        );
        assert_eq!(cell.tracking(|| None), Tracking::No);
    }

    #[test]
    fn sampling_tracks_the_last_of_every_n_creations_of_a_thread() {
        std::thread::spawn(|| {
            let cell = LevelCell::new();
            cell.set(sampled(4));
            let tracked: Vec<usize> = (0..12)
                .filter(|_| cell.tracking(|| None) == Tracking::Sampled)
                .collect();
            assert_eq!(tracked, [3, 7, 11]);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn a_lowered_rate_takes_effect_at_once() {
        std::thread::spawn(|| {
            let cell = LevelCell::new();
            cell.set(sampled(1000));
            let tracked = (0..10)
                .filter(|_| cell.tracking(|| None) == Tracking::Sampled)
                .count();
            assert_eq!(tracked, 0);
            cell.set(sampled(2));
            let tracked: Vec<usize> = (0..5)
                .filter(|_| cell.tracking(|| None) == Tracking::Sampled)
                .collect();
            assert_eq!(tracked, [0, 2, 4]);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn sampled_one_in_one_tracks_every_creation() {
        let cell = LevelCell::new();
        cell.set(sampled(1));
        assert!((0..10).all(|_| cell.tracking(|| None) == Tracking::Sampled));
    }

    #[test]
    fn full_tracks_every_creation() {
        let cell = LevelCell::new();
        cell.set(LeakLevel::Full);
        assert!((0..10).all(|_| cell.tracking(|| None) == Tracking::Full));
    }
}
