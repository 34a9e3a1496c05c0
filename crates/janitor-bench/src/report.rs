//! Turns measured workloads into the human table, the Markdown tables and the JSON object.
//!
//! Invariant: every form shows the same rows with the same numbers; the JSON keeps raw numbers
//! (nanoseconds, bytes), the tables round them for reading.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::harness::{Measured, Metric, Unit};
use crate::memory::Peak;

/// The JSON object `{"workloads": {name: {implementation: {median_ns, ratio_to_janitor, ...}}}}`.
///
/// `ratio_to_janitor` is relative to the workload's baseline, which is `janitor` except where a
/// workload compares janitor with itself (`gen0-pause`: gen-0 collection against a full one).
/// Where peak memory is meaningful, `peak_bytes` is the requested measure and `peak_reserved_bytes`
/// the reserved one (see [`crate::memory`]).
/// A row's further measures are in `metrics`, by key, raw (nanoseconds, ratios, shares from 0 to 1).
/// Implementations that cannot express a workload are left out.
///
/// ```
/// use janitor_bench::harness::{Measured, Row};
/// use std::time::Duration;
/// let measured = Measured {
///     name: "w",
///     baseline: "janitor",
///     rows: vec![Row {
///         implementation: "janitor",
///         median: Duration::from_nanos(5),
///         ratio: Some(1.0),
///         peak_bytes: None,
///         note: None,
///         metrics: vec![],
///     }],
///     absent: vec!["box"],
/// };
/// let json = janitor_bench::report::to_json(&[measured]);
/// assert_eq!(json["workloads"]["w"]["janitor"]["median_ns"], 5);
/// ```
pub fn to_json(workloads: &[Measured]) -> Value {
    let mut by_name = Map::new();
    for workload in workloads {
        let mut rows = Map::new();
        for row in &workload.rows {
            let mut fields = Map::new();
            fields.insert("median_ns".into(), json!(row.median.as_nanos() as u64));
            if let Some(ratio) = row.ratio {
                fields.insert("ratio_to_janitor".into(), json!(ratio));
            }
            if let Some(peak) = row.peak_bytes {
                fields.insert("peak_bytes".into(), json!(peak.requested));
                fields.insert("peak_reserved_bytes".into(), json!(peak.reserved));
            }
            if let Some(note) = &row.note {
                fields.insert("note".into(), json!(note));
            }
            if !row.metrics.is_empty() {
                let metrics: Map<String, Value> = row
                    .metrics
                    .iter()
                    .map(|metric| (metric.key.clone(), json!(metric.value)))
                    .collect();
                fields.insert("metrics".into(), Value::Object(metrics));
            }
            rows.insert(row.implementation.into(), Value::Object(fields));
        }
        by_name.insert(workload.name.into(), Value::Object(rows));
    }
    json!({ "workloads": by_name })
}

/// A plain-text table, one block per workload, one line per implementation; peak memory in both
/// measures (requested, then reserved), then one column per further measure the workload's rows
/// report ("—" in a row without it).
///
/// ```
/// use janitor_bench::harness::{Measured, Row};
/// use janitor_bench::memory::Peak;
/// use std::time::Duration;
/// let measured = Measured {
///     name: "w",
///     baseline: "janitor",
///     rows: vec![Row {
///         implementation: "janitor",
///         median: Duration::from_millis(12),
///         ratio: Some(1.0),
///         peak_bytes: Some(Peak { requested: 2 << 20, reserved: 3 << 20 }),
///         note: None,
///         metrics: vec![],
///     }],
///     absent: vec!["box"],
/// };
/// let table = janitor_bench::report::to_table(&[measured]);
/// assert!(table.contains("12.0 ms"));
/// assert!(table.contains("2.0 MiB") && table.contains("3.0 MiB"));
/// assert!(table.contains("box"));
/// ```
pub fn to_table(workloads: &[Measured]) -> String {
    let mut out = String::new();
    for workload in workloads {
        let _ = writeln!(
            out,
            "\n{} (ratio: median / median of {})",
            workload.name, workload.baseline
        );
        let keys = metric_keys(workload);
        let header: String = keys.iter().map(|key| format!(" {key:>11}")).collect();
        let _ = writeln!(
            out,
            "  {:<16} {:>12} {:>8} {:>14} {:>14}{header}  note",
            "implementation", "median", "ratio", "peak requested", "peak reserved"
        );
        for row in &workload.rows {
            let ratio = row.ratio.map_or_else(|| "—".to_owned(), format_ratio);
            let (requested, reserved) = format_peak(row.peak_bytes);
            let metrics: String = keys
                .iter()
                .map(|key| format!(" {:>11}", format_metric(&row.metrics, key)))
                .collect();
            let _ = writeln!(
                out,
                "  {:<16} {:>12} {:>8} {:>14} {:>14}{metrics}  {}",
                row.implementation,
                format_duration(row.median),
                ratio,
                requested,
                reserved,
                row.note.as_deref().unwrap_or("")
            );
        }
        for implementation in &workload.absent {
            let metrics: String = keys.iter().map(|_| format!(" {:>11}", "—")).collect();
            let _ = writeln!(
                out,
                "  {implementation:<16} {:>12} {:>8} {:>14} {:>14}{metrics}",
                "—", "—", "—", "—"
            );
        }
    }
    out
}

/// The same rows as [`to_table`], as one Markdown table per workload (for the README).
///
/// ```
/// use janitor_bench::harness::{Measured, Row};
/// use std::time::Duration;
/// let measured = Measured {
///     name: "w",
///     baseline: "janitor",
///     rows: vec![Row {
///         implementation: "rc",
///         median: Duration::from_millis(3),
///         ratio: Some(0.5),
///         peak_bytes: None,
///         note: Some("leaks cycles".into()),
///         metrics: vec![],
///     }],
///     absent: vec![],
/// };
/// let markdown = janitor_bench::report::to_markdown(&[measured]);
/// assert!(markdown.contains("| rc | 3.0 ms | 0.50 | — | — | leaks cycles |"));
/// ```
pub fn to_markdown(workloads: &[Measured]) -> String {
    let mut out = String::new();
    for workload in workloads {
        let _ = writeln!(
            out,
            "\n**{}** (ratio to `{}`)\n",
            workload.name, workload.baseline
        );
        let keys = metric_keys(workload);
        let header: String = keys.iter().map(|key| format!(" {key} |")).collect();
        let align = "---:|".repeat(keys.len());
        let _ = writeln!(
            out,
            "| implementation | median | ratio | peak requested | peak reserved |{header} note |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|{align}---|");
        for row in &workload.rows {
            let ratio = row.ratio.map_or_else(|| "—".to_owned(), format_ratio);
            let (requested, reserved) = format_peak(row.peak_bytes);
            let metrics: String = keys
                .iter()
                .map(|key| format!(" {} |", format_metric(&row.metrics, key)))
                .collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |{metrics} {} |",
                row.implementation,
                format_duration(row.median),
                ratio,
                requested,
                reserved,
                row.note.as_deref().unwrap_or("")
            );
        }
        for implementation in &workload.absent {
            let metrics = " — |".repeat(keys.len());
            let _ = writeln!(
                out,
                "| {implementation} | — | — | — | — |{metrics} cannot express the workload |"
            );
        }
    }
    out
}

/// The keys of the further measures of `workload`'s rows, each once, in the order of first appearance.
fn metric_keys(workload: &Measured) -> Vec<&str> {
    let mut keys: Vec<&str> = Vec::new();
    for metric in workload.rows.iter().flat_map(|row| &row.metrics) {
        if !keys.contains(&metric.key.as_str()) {
            keys.push(&metric.key);
        }
    }
    keys
}

/// The measure `key` of a row, formatted by its unit, or a dash where the row has none.
fn format_metric(metrics: &[Metric], key: &str) -> String {
    match metrics.iter().find(|metric| metric.key == key) {
        None => "—".to_owned(),
        Some(metric) => match metric.unit {
            Unit::Nanos => format_duration(Duration::from_secs_f64(metric.value.max(0.0) / 1e9)),
            Unit::Ratio => format!("{}x", format_ratio(metric.value)),
            Unit::Share => format!("{:.1}%", metric.value * 100.0),
        },
    }
}

/// A ratio with two decimals, or three below 0.1 (a gen-0 pause is a few thousandths of a full one).
pub(crate) fn format_ratio(ratio: f64) -> String {
    if ratio < 0.1 {
        format!("{ratio:.3}")
    } else {
        format!("{ratio:.2}")
    }
}

/// A duration with a unit that keeps three or four significant digits.
fn format_duration(duration: Duration) -> String {
    let nanos = duration.as_nanos() as f64;
    if nanos >= 1e9 {
        format!("{:.2} s", nanos / 1e9)
    } else if nanos >= 1e6 {
        format!("{:.1} ms", nanos / 1e6)
    } else if nanos >= 1e3 {
        format!("{:.1} µs", nanos / 1e3)
    } else {
        format!("{nanos} ns")
    }
}

/// Both measures of a peak, or dashes where peak memory says nothing.
fn format_peak(peak: Option<Peak>) -> (String, String) {
    peak.map_or_else(
        || ("—".to_owned(), "—".to_owned()),
        |peak| (format_bytes(peak.requested), format_bytes(peak.reserved)),
    )
}

/// Bytes in MiB (or KiB below one MiB).
fn format_bytes(bytes: usize) -> String {
    let bytes = bytes as f64;
    if bytes >= 1024.0 * 1024.0 {
        format!("{:.1} MiB", bytes / (1024.0 * 1024.0))
    } else {
        format!("{:.1} KiB", bytes / 1024.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::Row;

    #[test]
    fn durations_pick_a_readable_unit() {
        assert_eq!(format_duration(Duration::from_nanos(1_500)), "1.5 µs");
        assert_eq!(format_duration(Duration::from_millis(2_500)), "2.50 s");
    }

    #[test]
    fn small_ratios_keep_a_third_decimal() {
        assert_eq!(format_ratio(0.0049), "0.005");
        assert_eq!(format_ratio(1.234), "1.23");
    }

    #[test]
    fn metrics_print_by_their_unit_and_missing_ones_as_a_dash() {
        let metrics = [
            Metric::new("p99", 1_500.0, Unit::Nanos),
            Metric::new("2t/1t", 1.5, Unit::Ratio),
            Metric::new("pauses", 0.125, Unit::Share),
        ];
        assert_eq!(format_metric(&metrics, "p99"), "1.5 µs");
        assert_eq!(format_metric(&metrics, "2t/1t"), "1.50x");
        assert_eq!(format_metric(&metrics, "pauses"), "12.5%");
        assert_eq!(format_metric(&metrics, "max"), "—");
    }

    #[test]
    fn a_workloads_metric_columns_are_the_union_of_its_rows_keys() {
        let row = |implementation, keys: &[&str]| Row {
            implementation,
            median: Duration::from_millis(1),
            ratio: None,
            peak_bytes: None,
            note: None,
            metrics: keys
                .iter()
                .map(|key| Metric::new(*key, 1.0, Unit::Ratio))
                .collect(),
        };
        let measured = Measured {
            name: "w",
            baseline: "a",
            rows: vec![row("a", &["x"]), row("b", &["x", "y"])],
            absent: vec![],
        };
        let markdown = to_markdown(std::slice::from_ref(&measured));
        assert!(markdown.contains("| peak reserved | x | y | note |"));
        assert!(markdown.contains("| a | 1.0 ms | — | — | — | 1.00x | — |  |"));
        assert_eq!(
            to_json(&[measured])["workloads"]["w"]["b"]["metrics"]["y"],
            1.0
        );
    }

    #[test]
    fn bytes_below_a_mebibyte_are_shown_in_kibibytes() {
        assert_eq!(format_bytes(2048), "2.0 KiB");
        assert_eq!(format_bytes(3 << 20), "3.0 MiB");
    }
}
