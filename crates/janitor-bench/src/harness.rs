//! Runs the cases of a workload interleaved for several rounds and reduces them to one row each.
//!
//! Invariant: every case of a workload did the same work, or the workload has no rows. Each run
//! returns a checksum computed from the work it did (nodes checked, operations applied); the harness
//! compares all of them, across implementations and across rounds, before it reports a time.
//!
//! Fairness: round `r` runs the cases in the workload's order rotated by `r`, so a drift in machine
//! speed (another process, thermal limits) is spread over all implementations instead of landing on
//! whichever runs last. The reported time is the median over rounds; the peak memory is the highest
//! seen in any round.

use std::time::{Duration, Instant};

use crate::memory::{self, Peak};

/// How big the workloads are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// Tiny sizes, one round: checks that every case runs and agrees (CI).
    Smoke,
    /// Reduced sizes, a few rounds: one to one and a half minutes on a 2-core machine.
    Quick,
    /// The published sizes.
    Full,
}

impl Scale {
    /// Rounds run at this scale unless the command line says otherwise.
    ///
    /// ```
    /// assert_eq!(janitor_bench::harness::Scale::Smoke.default_rounds(), 1);
    /// ```
    pub fn default_rounds(self) -> usize {
        match self {
            Scale::Smoke => 1,
            Scale::Quick => 3,
            Scale::Full => 3,
        }
    }
}

/// What one run of a case reports.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The time the measured part of the run took.
    pub elapsed: Duration,
    /// A number derived from the work done; equal across implementations when they did the same work.
    pub checksum: u64,
    /// Something the reader must know about this implementation's result (such as leaked cycles).
    pub note: Option<String>,
    /// Measures beyond the elapsed time (time per operation, latency percentiles, shares), each
    /// reduced to its median over rounds in the row.
    pub metrics: Vec<Metric>,
}

impl Sample {
    /// Times the whole of `work`, whose result is the checksum.
    ///
    /// ```
    /// let sample = janitor_bench::harness::Sample::timing(|| (1..=10u64).sum());
    /// assert_eq!(sample.checksum, 55);
    /// ```
    pub fn timing(work: impl FnOnce() -> u64) -> Sample {
        let start = Instant::now();
        let checksum = std::hint::black_box(work());
        Sample {
            elapsed: start.elapsed(),
            checksum,
            note: None,
            metrics: Vec::new(),
        }
    }

    /// A sample whose time the workload measured itself (a part of the run, or a time read by
    /// its threads).
    ///
    /// ```
    /// use std::time::Duration;
    /// let sample = janitor_bench::harness::Sample::measured(Duration::from_millis(2), 9);
    /// assert_eq!((sample.elapsed, sample.checksum), (Duration::from_millis(2), 9));
    /// ```
    pub fn measured(elapsed: Duration, checksum: u64) -> Sample {
        Sample {
            elapsed,
            checksum,
            note: None,
            metrics: Vec::new(),
        }
    }

    /// The same sample with a note attached.
    ///
    /// ```
    /// let sample = janitor_bench::harness::Sample::timing(|| 1).noted("leaks cycles");
    /// assert_eq!(sample.note.as_deref(), Some("leaks cycles"));
    /// ```
    pub fn noted(mut self, note: impl Into<String>) -> Sample {
        self.note = Some(note.into());
        self
    }

    /// The same sample with one more measure.
    ///
    /// ```
    /// use janitor_bench::harness::{Metric, Sample, Unit};
    /// let sample = Sample::timing(|| 1).with(Metric::new("ns/op", 12.5, Unit::Nanos));
    /// assert_eq!(sample.metrics[0].value, 12.5);
    /// ```
    pub fn with(mut self, metric: Metric) -> Sample {
        self.metrics.push(metric);
        self
    }
}

/// What a [`Metric`]'s number is, which decides how the report prints it.
///
/// ```
/// use janitor_bench::harness::{Metric, Unit};
/// let share = Metric::new("gc pauses", 0.2, Unit::Share);
/// assert_eq!(share.unit, Unit::Share);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// A duration in nanoseconds (printed with a unit that keeps it readable).
    Nanos,
    /// A ratio of two measures of the same run (printed with two decimals and an `x`).
    Ratio,
    /// A share of a whole, from 0 to 1 (printed as a percentage).
    Share,
}

/// A measure of a run beside its elapsed time: its key names it in the tables' header and in the
/// JSON, and is the same in every round and every row that has it.
///
/// ```
/// use janitor_bench::harness::{Metric, Sample, Unit};
/// let sample = Sample::timing(|| 1).with(Metric::new("p99.9", 480.0, Unit::Nanos));
/// assert_eq!(sample.metrics, [Metric::new("p99.9", 480.0, Unit::Nanos)]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    /// The column header and JSON key (`ns/op 2t`, `p99.9`, ...).
    pub key: String,
    /// The number, in `unit`.
    pub value: f64,
    /// What the number is.
    pub unit: Unit,
}

impl Metric {
    /// A measure named `key`.
    ///
    /// ```
    /// use janitor_bench::harness::{Metric, Unit};
    /// assert_eq!(Metric::new("p99", 80.0, Unit::Nanos).key, "p99");
    /// ```
    pub fn new(key: impl Into<String>, value: f64, unit: Unit) -> Metric {
        Metric {
            key: key.into(),
            value,
            unit,
        }
    }
}

/// One implementation of a workload.
pub struct Case {
    /// The implementation's key in the table and the JSON (`janitor`, `rc`, `gc-arena`, ...).
    pub implementation: &'static str,
    /// Whether the peak memory of a run says something about this implementation.
    pub measures_memory: bool,
    run: Box<dyn Fn() -> Sample>,
}

impl Case {
    /// A case whose peak memory is reported.
    ///
    /// ```
    /// use janitor_bench::harness::{Case, Sample};
    /// let case = Case::new("box", || Sample::timing(|| 7));
    /// assert_eq!(case.run().checksum, 7);
    /// ```
    pub fn new(implementation: &'static str, run: impl Fn() -> Sample + 'static) -> Case {
        Case {
            implementation,
            measures_memory: true,
            run: Box::new(run),
        }
    }

    /// The same case, with its peak memory left out of the report (when the run's allocations are
    /// mostly set-up that the timed part does not include).
    ///
    /// ```
    /// use janitor_bench::harness::{Case, Sample};
    /// assert!(!Case::new("janitor", || Sample::timing(|| 1)).without_memory().measures_memory);
    /// ```
    pub fn without_memory(mut self) -> Case {
        self.measures_memory = false;
        self
    }

    /// Runs the case once.
    ///
    /// ```
    /// use janitor_bench::harness::{Case, Sample};
    /// assert_eq!(Case::new("rc", || Sample::timing(|| 3)).run().checksum, 3);
    /// ```
    pub fn run(&self) -> Sample {
        (self.run)()
    }
}

/// A workload: the same program written once per implementation.
pub struct Workload {
    /// The workload's key (`binary-trees`, ...).
    pub name: &'static str,
    /// The implementation every ratio is relative to (`janitor`, unless the workload says otherwise).
    pub baseline: &'static str,
    /// One case per implementation that can express the workload, in table order.
    pub cases: Vec<Case>,
    /// Implementations that cannot express the workload, shown as "—".
    pub absent: Vec<&'static str>,
}

/// The reduced result of one implementation on one workload.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The implementation's key.
    pub implementation: &'static str,
    /// The median time over rounds.
    pub median: Duration,
    /// `median / baseline median`, or `None` when the baseline was not run.
    pub ratio: Option<f64>,
    /// The highest peak memory of any round (each measure on its own), when meaningful.
    pub peak_bytes: Option<Peak>,
    /// The note of the last round, if any.
    pub note: Option<String>,
    /// Each measure of the runs beyond the time, the median over the rounds that reported it, in
    /// the order the first round reported them.
    pub metrics: Vec<Metric>,
}

/// The rows of one workload.
#[derive(Clone, Debug, PartialEq)]
pub struct Measured {
    /// The workload's key.
    pub name: &'static str,
    /// The implementation the ratios are relative to.
    pub baseline: &'static str,
    /// One row per case, in the workload's order.
    pub rows: Vec<Row>,
    /// Implementations that cannot express the workload.
    pub absent: Vec<&'static str>,
}

/// Two runs of a workload did different work.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "workload {workload}: {first} computed checksum {first_checksum} but {second} computed \
     {second_checksum}; the implementations did different work, fix the one that differs from the others"
)]
pub struct ChecksumMismatch {
    /// The workload.
    pub workload: &'static str,
    /// The implementation whose checksum is the reference.
    pub first: &'static str,
    /// Its checksum.
    pub first_checksum: u64,
    /// The implementation that disagreed.
    pub second: &'static str,
    /// Its checksum.
    pub second_checksum: u64,
}

/// Runs `workload` for `rounds` rounds, interleaved, and reduces each case to a [`Row`].
///
/// `progress` is called after every run (the binary prints it to stderr).
///
/// ```
/// use janitor_bench::harness::{measure, Case, Sample, Workload};
/// let workload = Workload {
///     name: "sum",
///     baseline: "janitor",
///     cases: vec![
///         Case::new("janitor", || Sample::timing(|| (1..=100u64).sum())),
///         Case::new("box", || Sample::timing(|| 5050)),
///     ],
///     absent: vec![],
/// };
/// let measured = measure(&workload, 3, |_, _| {}).unwrap();
/// assert_eq!(measured.rows.len(), 2);
/// assert_eq!(measured.rows[0].ratio, Some(1.0));
/// ```
pub fn measure(
    workload: &Workload,
    rounds: usize,
    mut progress: impl FnMut(&Case, &Sample),
) -> Result<Measured, ChecksumMismatch> {
    let cases = &workload.cases;
    let mut samples: Vec<Vec<Sample>> = cases.iter().map(|_| Vec::new()).collect();
    let mut peaks = vec![Peak::default(); cases.len()];
    let mut reference: Option<(&'static str, u64)> = None;
    for round in 0..rounds {
        for offset in 0..cases.len() {
            let index = (round + offset) % cases.len();
            let case = &cases[index];
            memory::start_peak_window();
            let sample = case.run();
            peaks[index] = peaks[index].max(memory::peak_since_window());
            match reference {
                None => reference = Some((case.implementation, sample.checksum)),
                Some((first, first_checksum)) if first_checksum != sample.checksum => {
                    return Err(ChecksumMismatch {
                        workload: workload.name,
                        first,
                        first_checksum,
                        second: case.implementation,
                        second_checksum: sample.checksum,
                    });
                }
                Some(_) => {}
            }
            progress(case, &sample);
            samples[index].push(sample);
        }
    }
    let medians: Vec<Duration> = samples.iter().map(|runs| median(runs)).collect();
    let baseline = cases
        .iter()
        .position(|case| case.implementation == workload.baseline)
        .map(|index| medians[index]);
    let rows = cases
        .iter()
        .enumerate()
        .map(|(index, case)| Row {
            implementation: case.implementation,
            median: medians[index],
            ratio: baseline.map(|base| medians[index].as_secs_f64() / base.as_secs_f64()),
            peak_bytes: case.measures_memory.then_some(peaks[index]),
            note: samples[index].last().and_then(|sample| sample.note.clone()),
            metrics: median_metrics(&samples[index]),
        })
        .collect();
    Ok(Measured {
        name: workload.name,
        baseline: workload.baseline,
        rows,
        absent: workload.absent.clone(),
    })
}

/// The median elapsed time of `runs` (the lower middle one for an even count); zero for no runs.
fn median(runs: &[Sample]) -> Duration {
    let mut times: Vec<Duration> = runs.iter().map(|sample| sample.elapsed).collect();
    times.sort();
    times
        .get(times.len().saturating_sub(1) / 2)
        .copied()
        .unwrap_or_default()
}

/// Each metric of `runs` reduced to its median (the lower middle one for an even count), keyed and
/// ordered as the first run that reported it.
fn median_metrics(runs: &[Sample]) -> Vec<Metric> {
    let mut reduced: Vec<Metric> = Vec::new();
    for metric in runs.iter().flat_map(|sample| &sample.metrics) {
        if reduced.iter().any(|seen| seen.key == metric.key) {
            continue;
        }
        let mut values: Vec<f64> = runs
            .iter()
            .flat_map(|sample| &sample.metrics)
            .filter(|other| other.key == metric.key)
            .map(|other| other.value)
            .collect();
        values.sort_by(f64::total_cmp);
        reduced.push(Metric {
            value: values[(values.len() - 1) / 2],
            ..metric.clone()
        });
    }
    reduced
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(elapsed_ms: u64, checksum: u64) -> Sample {
        Sample {
            elapsed: Duration::from_millis(elapsed_ms),
            checksum,
            note: None,
            metrics: Vec::new(),
        }
    }

    #[test]
    fn differing_checksums_are_refused() {
        let workload = Workload {
            name: "w",
            baseline: "a",
            cases: vec![
                Case::new("a", || fixed(1, 1)),
                Case::new("b", || fixed(1, 2)),
            ],
            absent: vec![],
        };
        let error = measure(&workload, 1, |_, _| {}).unwrap_err();
        assert_eq!((error.first, error.second), ("a", "b"));
    }

    #[test]
    fn ratio_is_median_over_baseline_median() {
        let workload = Workload {
            name: "w",
            baseline: "a",
            cases: vec![
                Case::new("a", || fixed(10, 0)),
                Case::new("b", || fixed(30, 0)),
            ],
            absent: vec![],
        };
        let measured = measure(&workload, 3, |_, _| {}).unwrap();
        assert_eq!(measured.rows[1].ratio, Some(3.0));
        assert_eq!(measured.rows[1].median, Duration::from_millis(30));
    }

    #[test]
    fn rounds_rotate_the_order_of_cases() {
        let order = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let case = |name: &'static str| {
            let order = order.clone();
            Case::new(name, move || {
                order.borrow_mut().push(name);
                fixed(1, 0)
            })
        };
        let workload = Workload {
            name: "w",
            baseline: "a",
            cases: vec![case("a"), case("b")],
            absent: vec![],
        };
        measure(&workload, 2, |_, _| {}).unwrap();
        assert_eq!(*order.borrow(), ["a", "b", "b", "a"]);
    }

    #[test]
    fn each_metric_is_reduced_to_its_median_over_rounds() {
        let run = |p99: f64, share: f64| {
            fixed(1, 0)
                .with(Metric::new("p99", p99, Unit::Nanos))
                .with(Metric::new("share", share, Unit::Share))
        };
        let reduced = median_metrics(&[run(30.0, 0.2), run(10.0, 0.1), run(20.0, 0.3)]);
        assert_eq!(
            reduced,
            [
                Metric::new("p99", 20.0, Unit::Nanos),
                Metric::new("share", 0.2, Unit::Share)
            ]
        );
    }

    #[test]
    fn median_of_an_even_count_is_the_lower_middle() {
        let runs = [fixed(4, 0), fixed(1, 0), fixed(3, 0), fixed(2, 0)];
        assert_eq!(median(&runs), Duration::from_millis(2));
    }
}
