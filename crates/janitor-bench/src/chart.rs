//! Draws measured workloads as one SVG bar chart (`--svg FILE`): a panel per workload, a row per
//! implementation, each bar running from the baseline (1.0) to the row's ratio.
//!
//! Invariant: the chart shows the same rows as the tables ([`crate::report`]), in the same order,
//! with the same ratios and notes, and every panel shares one x scale, so that a bar's length
//! means the same factor in every workload.
//!
//! Why bars start at 1.0 rather than at the axis: the scale is logarithmic whenever the ratios span
//! more than [`LOG_SCALE_SPAN`], and on a log scale the axis has no zero: a bar from its left edge
//! would have an arbitrary length. From 1.0, a bar's length is the factor by which the row is faster
//! (to the left) or slower (to the right) than the baseline, and 2x faster looks as long as 2x slower.
//!
//! Why panels rather than one group of bars per workload: workloads do not share their
//! implementations (`janitor-2t`, `more-di`, `janitor-gen0` appear in one workload each), so grouped
//! bars would need a legend of a dozen colours to be read; a panel names each row beside its bar.

use std::fs::{File, OpenOptions};
use std::io::{Seek, Write as _};
use std::ops::Range;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::harness::Measured;
use crate::report::format_ratio;

/// Ratios spanning more than this factor (largest / smallest, 1.0 included) are drawn on a log scale.
pub const LOG_SCALE_SPAN: f64 = 10.0;

const WIDTH: u32 = 1060;
const HEADER_HEIGHT: u32 = 78;
const ROW_HEIGHT: u32 = 22;
const PANEL_TITLE_HEIGHT: u32 = 26;
const PANEL_AXIS_HEIGHT: u32 = 22;
const PANEL_GAP: u32 = 10;
// Wide enough for the longest row name (`janitor-untracked-collecting`) at 15 pixels.
const NAME_WIDTH: u32 = 220;
const NOTE_WIDTH: u32 = 380;
const FONT: &str = "sans-serif";

const FASTER: RGBColor = RGBColor(0x3a, 0x78, 0xc9);
const SLOWER: RGBColor = RGBColor(0xe0, 0x7b, 0x39);
const INK: RGBColor = RGBColor(0x22, 0x22, 0x22);
const NAME: RGBColor = RGBColor(0x44, 0x44, 0x44);
const MUTED: RGBColor = RGBColor(0x80, 0x80, 0x80);
const GRID: RGBColor = RGBColor(0xe2, 0xe2, 0xe2);

/// The chart could not be drawn or written.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// The chart's file could not be opened for writing.
    #[error(
        "cannot write the chart to {path}: {source}; check that its directory exists and is writable"
    )]
    Open {
        /// The path given to `--svg`.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The chart's file was opened but writing to it failed.
    #[error("writing the chart to {path} failed: {source}")]
    Write {
        /// The path given to `--svg`.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// plotters refused to draw an element (a bug in this module, not in the input).
    #[error("drawing the chart failed: {0}")]
    Draw(String),
}

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for ChartError {
    fn from(error: DrawingAreaErrorKind<E>) -> ChartError {
        ChartError::Draw(error.to_string())
    }
}

/// The file `--svg` names, opened before the workloads run so that a bad path fails at once rather
/// than after a half-hour run.
///
/// Opening does not truncate: a run that fails (a checksum mismatch) leaves an earlier chart intact.
///
/// ```
/// use janitor_bench::chart::SvgFile;
/// use janitor_bench::harness::{Measured, Row};
/// use std::time::Duration;
/// let path = std::env::temp_dir().join(format!("janitor-bench-doc-{}.svg", std::process::id()));
/// let file = SvgFile::open(&path).unwrap();
/// let measured = Measured {
///     name: "w",
///     baseline: "janitor",
///     rows: vec![Row {
///         implementation: "janitor",
///         median: Duration::from_millis(1),
///         ratio: Some(1.0),
///         peak_bytes: None,
///         note: None,
///         metrics: vec![],
///     }],
///     absent: vec![],
/// };
/// file.write(&[measured]).unwrap();
/// assert!(std::fs::read_to_string(&path).unwrap().contains("janitor"));
/// std::fs::remove_file(&path).unwrap();
/// ```
#[derive(Debug)]
pub struct SvgFile {
    path: PathBuf,
    file: File,
}

impl SvgFile {
    /// Opens (or creates) `path` for writing, without truncating it yet.
    ///
    /// ```
    /// use janitor_bench::chart::{ChartError, SvgFile};
    /// let error = SvgFile::open("/nonexistent-directory/bench.svg").unwrap_err();
    /// assert!(matches!(error, ChartError::Open { .. }));
    /// assert!(error.to_string().contains("/nonexistent-directory/bench.svg"));
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<SvgFile, ChartError> {
        let path = path.as_ref().to_path_buf();
        match OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
        {
            Ok(file) => Ok(SvgFile { path, file }),
            Err(source) => Err(ChartError::Open { path, source }),
        }
    }

    /// Replaces the file's contents with the chart of `workloads` (see [`to_svg`]).
    ///
    /// ```
    /// use janitor_bench::chart::SvgFile;
    /// let path = std::env::temp_dir().join(format!("janitor-bench-empty-{}.svg", std::process::id()));
    /// SvgFile::open(&path).unwrap().write(&[]).unwrap();
    /// assert!(std::fs::read_to_string(&path).unwrap().starts_with("<svg"));
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn write(mut self, workloads: &[Measured]) -> Result<(), ChartError> {
        let svg = to_svg(workloads)?;
        let written = self
            .file
            .set_len(0)
            .and_then(|()| self.file.rewind())
            .and_then(|()| self.file.write_all(svg.as_bytes()))
            .and_then(|()| self.file.flush());
        written.map_err(|source| ChartError::Write {
            path: self.path,
            source,
        })
    }
}

/// The chart of `workloads` as an SVG document: a key, then one panel per workload.
///
/// Each panel is titled with the workload and its baseline; each row names the implementation, draws
/// its bar (blue: faster than the baseline, orange: slower) and prints the ratio and the row's note.
/// Rows with a note (leaked cycles, an arena that frees nothing) are hatched; implementations that
/// cannot express the workload are listed in grey without a bar.
///
/// ```
/// use janitor_bench::harness::{Measured, Row};
/// use std::time::Duration;
/// let row = |implementation, ratio| Row {
///     implementation,
///     median: Duration::from_millis(1),
///     ratio: Some(ratio),
///     peak_bytes: None,
///     note: None,
///     metrics: vec![],
/// };
/// let measured = Measured {
///     name: "binary-trees",
///     baseline: "janitor",
///     rows: vec![row("janitor", 1.0), row("gc", 13.7)],
///     absent: vec![],
/// };
/// let svg = janitor_bench::chart::to_svg(&[measured]).unwrap();
/// assert!(svg.contains("binary-trees") && svg.contains("13.70"));
/// ```
pub fn to_svg(workloads: &[Measured]) -> Result<String, ChartError> {
    let panel_heights: Vec<u32> = workloads.iter().map(panel_height).collect();
    let height = HEADER_HEIGHT + panel_heights.iter().sum::<u32>();
    let (range, log) = ratio_axis(workloads);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let (header, mut rest) = root.split_vertically(HEADER_HEIGHT);
        draw_key(&header, log)?;
        for (workload, &panel) in workloads.iter().zip(&panel_heights) {
            let (area, below) = rest.split_vertically(panel);
            if log {
                let ticks = log_ticks(&range);
                draw_panel(
                    &area,
                    workload,
                    range.clone().log_scale().with_key_points(ticks),
                )?;
            } else {
                draw_panel(&area, workload, range.clone())?;
            }
            rest = below;
        }
        root.present()?;
    }
    Ok(svg)
}

/// The x range every panel shares (the smallest and largest ratio and 1.0, with room for the bars'
/// ends; from zero on a linear scale), and whether it is logarithmic.
fn ratio_axis(workloads: &[Measured]) -> (Range<f64>, bool) {
    let ratios = workloads
        .iter()
        .flat_map(|workload| &workload.rows)
        .filter_map(|row| row.ratio)
        .filter(|ratio| ratio.is_finite() && *ratio > 0.0);
    let (low, high) = ratios.fold((1.0f64, 1.0f64), |(low, high), ratio| {
        (low.min(ratio), high.max(ratio))
    });
    if high / low > LOG_SCALE_SPAN {
        (low / 1.4..high * 1.4, true)
    } else {
        (0.0..(high * 1.15).max(1.25), false)
    }
}

/// Where a log axis is labelled: 1, 2 and 5 times each power of ten within the range when it spans
/// up to four decades, powers of ten alone beyond that. (plotters' own log ticks skip most decades'
/// inner values, which leaves a short axis with two labels.)
fn log_ticks(range: &Range<f64>) -> Vec<f64> {
    let decades = (range.end / range.start).log10();
    let multiples: &[f64] = if decades <= 4.0 {
        &[1.0, 2.0, 5.0]
    } else {
        &[1.0]
    };
    let first = range.start.log10().floor() as i32;
    let last = range.end.log10().ceil() as i32;
    (first..=last)
        .flat_map(|exponent| multiples.iter().map(move |m| m * 10f64.powi(exponent)))
        .filter(|tick| range.contains(tick))
        .collect()
}

/// The height of a workload's panel: its title, a row per implementation, its axis and a gap.
fn panel_height(workload: &Measured) -> u32 {
    let rows = (workload.rows.len() + workload.absent.len()) as u32;
    PANEL_TITLE_HEIGHT + rows * ROW_HEIGHT + PANEL_AXIS_HEIGHT + PANEL_GAP
}

/// Text of `size` pixels in `color`, anchored at its vertical middle and on `anchor` horizontally.
fn text(size: u32, color: &'static RGBColor, anchor: HPos) -> TextStyle<'static> {
    TextStyle::from((FONT, size).into_font())
        .color(color)
        .pos(Pos::new(anchor, VPos::Center))
}

/// The same in bold, for titles.
fn bold(size: u32, anchor: HPos) -> TextStyle<'static> {
    TextStyle::from((FONT, size, FontStyle::Bold).into_font())
        .color(&INK)
        .pos(Pos::new(anchor, VPos::Center))
}

/// The title and the key: the baseline line, the two bar colours, the hatching.
fn draw_key(area: &DrawingArea<SVGBackend, Shift>, log: bool) -> Result<(), ChartError> {
    let scale = if log { "log scale" } else { "linear scale" };
    area.draw(&Text::new(
        format!("janitor-bench: median time relative to each workload's baseline ({scale})"),
        (16, 20),
        bold(19, HPos::Left),
    ))?;
    let y = 52;
    let mut x = 16;
    area.draw(&PathElement::new(
        [(x + 10, y - 9), (x + 10, y + 9)],
        INK.stroke_width(2),
    ))?;
    area.draw(&Text::new(
        "baseline = 1.0",
        (x + 22, y),
        text(15, &INK, HPos::Left),
    ))?;
    x += 140;
    for (color, label) in [
        (FASTER, "faster than the baseline"),
        (SLOWER, "slower than the baseline"),
    ] {
        area.draw(&Rectangle::new(
            [(x, y - 7), (x + 24, y + 7)],
            color.filled(),
        ))?;
        area.draw(&Text::new(label, (x + 32, y), text(15, &INK, HPos::Left)))?;
        x += 205;
    }
    draw_hatched(area, (x, y - 7), (x + 24, y + 7), SLOWER)?;
    area.draw(&Text::new(
        "hatched: the row has a note (leaks cycles, frees nothing)",
        (x + 32, y),
        text(15, &INK, HPos::Left),
    ))?;
    Ok(())
}

/// One workload: title, grid and x axis, then a bar, a name and a ratio per row.
fn draw_panel<X>(
    area: &DrawingArea<SVGBackend, Shift>,
    workload: &Measured,
    x: X,
) -> Result<(), ChartError>
where
    X: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
{
    let (area, _gap) = area.split_vertically(area.dim_in_pixel().1 - PANEL_GAP);
    let rows = workload.rows.len() + workload.absent.len();
    let mut chart = ChartBuilder::on(&area)
        .caption(
            format!("{} (ratio to {})", workload.name, workload.baseline),
            bold(17, HPos::Left),
        )
        .margin_right(NOTE_WIDTH)
        .y_label_area_size(NAME_WIDTH)
        .x_label_area_size(PANEL_AXIS_HEIGHT)
        .build_cartesian_2d(x, 0.0..rows as f64)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .disable_y_axis()
        .x_labels(12)
        .x_label_formatter(&|value| axis_label(*value))
        .x_label_style(text(13, &MUTED, HPos::Center))
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .axis_style(MUTED)
        .draw()?;
    let (columns, _) = chart.plotting_area().get_pixel_range();
    // `backend_coord` and the pixel range are absolute; `area` draws relative to its own corner.
    let (origin_x, origin_y) = area.get_base_pixel();
    let local = |(x, y): (i32, i32)| (x - origin_x, y - origin_y);
    let at = |ratio: f64, y: f64| local(chart.backend_coord(&(ratio, y)));
    let (left, right) = (columns.start - origin_x, columns.end - origin_x);
    // Row `index` is drawn top-down: its band is `rows - index - 1 .. rows - index` on the y axis.
    let band = |index: usize| (rows - index) as f64 - 0.5;
    for (index, row) in workload.rows.iter().enumerate() {
        let middle = at(1.0, band(index)).1;
        let name_color = if row.implementation == workload.baseline {
            &INK
        } else {
            &NAME
        };
        area.draw(&Text::new(
            row.implementation,
            (left - 8, middle),
            text(15, name_color, HPos::Right),
        ))?;
        let label = match (row.ratio, &row.note) {
            (Some(ratio), Some(note)) => format!("{}  {note}", format_ratio(ratio)),
            (Some(ratio), None) => format_ratio(ratio),
            (None, Some(note)) => format!("—  {note}"),
            (None, None) => "—".to_owned(),
        };
        area.draw(&Text::new(
            label,
            (right + 10, middle),
            text(14, &INK, HPos::Left),
        ))?;
        let Some(ratio) = row.ratio.filter(|ratio| ratio.is_finite() && *ratio > 0.0) else {
            continue;
        };
        let color = if ratio < 1.0 { FASTER } else { SLOWER };
        let top_left = at(ratio.min(1.0), band(index) + 0.36);
        let bottom_right = at(ratio.max(1.0), band(index) - 0.36);
        if row.note.is_some() {
            draw_hatched(&area, top_left, bottom_right, color)?;
        } else {
            area.draw(&Rectangle::new([top_left, bottom_right], color.filled()))?;
        }
    }
    for (offset, implementation) in workload.absent.iter().enumerate() {
        let middle = at(1.0, band(workload.rows.len() + offset)).1;
        area.draw(&Text::new(
            *implementation,
            (left - 8, middle),
            text(15, &MUTED, HPos::Right),
        ))?;
        area.draw(&Text::new(
            "cannot express the workload",
            (right + 10, middle),
            text(14, &MUTED, HPos::Left),
        ))?;
    }
    area.draw(&PathElement::new(
        [at(1.0, rows as f64), at(1.0, 0.0)],
        INK.stroke_width(2),
    ))?;
    Ok(())
}

/// A rectangle (in `area`'s pixels) outlined in `color` and filled with diagonal lines of it.
fn draw_hatched<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (left, top): (i32, i32),
    (right, bottom): (i32, i32),
    color: RGBColor,
) -> Result<(), ChartError>
where
    DB::ErrorType: Send + Sync,
{
    area.draw(&Rectangle::new(
        [(left, top), (right, bottom)],
        color.mix(0.18).filled(),
    ))?;
    // Lines `x - y = c`, 6 px apart, each clipped to the rectangle.
    let mut c = left - bottom;
    while c < right - top {
        let start_x = left.max(top + c);
        let end_x = right.min(bottom + c);
        if start_x < end_x {
            area.draw(&PathElement::new(
                [(start_x, start_x - c), (end_x, end_x - c)],
                color.stroke_width(1),
            ))?;
        }
        c += 6;
    }
    area.draw(&Rectangle::new(
        [(left, top), (right, bottom)],
        color.stroke_width(1),
    ))?;
    Ok(())
}

/// A tick label: as many decimals as the value needs, none from 10 up.
fn axis_label(value: f64) -> String {
    if value >= 10.0 {
        format!("{value:.0}")
    } else {
        let label = format!("{value:.3}");
        label.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::harness::Row;

    fn row(implementation: &'static str, ratio: f64, note: Option<&str>) -> Row {
        Row {
            implementation,
            median: Duration::from_micros((ratio * 1000.0) as u64),
            ratio: Some(ratio),
            peak_bytes: None,
            note: note.map(str::to_owned),
            metrics: vec![],
        }
    }

    fn results() -> Vec<Measured> {
        vec![
            Measured {
                name: "binary-trees",
                baseline: "janitor",
                rows: vec![
                    row("janitor", 1.0, None),
                    row("arena", 0.07, None),
                    row("gc", 13.0, None),
                ],
                absent: vec![],
            },
            Measured {
                name: "cycle-churn",
                baseline: "janitor",
                rows: vec![
                    row("janitor", 1.0, None),
                    row("rc", 0.3, Some("leaks cycles: 5 of 9 nodes never dropped")),
                ],
                absent: vec!["box"],
            },
            Measured {
                name: "gen0-pause",
                baseline: "janitor-full",
                rows: vec![
                    row("janitor-gen0", 0.009, None),
                    row("janitor-full", 1.0, None),
                ],
                absent: vec![],
            },
        ]
    }

    #[test]
    fn chart_file_is_svg_naming_every_workload_and_implementation() {
        let path = std::env::temp_dir().join(format!(
            "janitor-bench-chart-test-{}.svg",
            std::process::id()
        ));
        SvgFile::open(&path).unwrap().write(&results()).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        let document = roxmltree::Document::parse(&svg).expect("the chart is well-formed XML");
        assert_eq!(document.root_element().tag_name().name(), "svg");
        let texts: Vec<&str> = document
            .descendants()
            .filter(|node| node.has_tag_name("text"))
            .filter_map(|node| node.text().map(str::trim))
            .collect();
        for workload in results() {
            let names = workload.rows.iter().map(|row| row.implementation);
            for name in names.chain(workload.absent.iter().copied()) {
                assert!(texts.contains(&name), "no label {name:?} in the chart");
            }
            assert!(
                texts.iter().any(|text| text.starts_with(workload.name)),
                "no panel titled {:?}",
                workload.name
            );
        }
        assert!(texts.iter().any(|text| text.contains("leaks cycles")));
    }

    #[test]
    fn overwriting_a_longer_chart_leaves_no_tail() {
        let path = std::env::temp_dir().join(format!(
            "janitor-bench-chart-shrink-{}.svg",
            std::process::id()
        ));
        std::fs::write(&path, "x".repeat(1 << 20)).unwrap();
        SvgFile::open(&path)
            .unwrap()
            .write(&results()[..1])
            .unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert!(svg.trim_end().ends_with("</svg>"));
    }

    #[test]
    fn ratios_spanning_more_than_tenfold_get_a_log_range_around_them() {
        let (range, log) = ratio_axis(&results());
        assert!(log);
        assert!(range.start < 0.009 && range.end > 13.0);
        assert!(range.start > 0.0, "a log range cannot start at zero");
    }

    #[test]
    fn close_ratios_get_a_linear_range_from_zero() {
        let close = vec![Measured {
            name: "w",
            baseline: "janitor",
            rows: vec![row("janitor", 1.0, None), row("arc", 0.7, None)],
            absent: vec![],
        }];
        let (range, log) = ratio_axis(&close);
        assert!(!log);
        assert_eq!(range.start, 0.0);
        assert!(range.end > 1.0);
    }

    #[test]
    fn log_ticks_are_one_two_five_per_decade_within_the_range() {
        assert_eq!(log_ticks(&(0.04..3.0)), [0.05, 0.1, 0.2, 0.5, 1.0, 2.0]);
    }

    #[test]
    fn axis_labels_drop_needless_decimals() {
        assert_eq!(axis_label(0.01), "0.01");
        assert_eq!(axis_label(1.0), "1");
        assert_eq!(axis_label(20.0), "20");
    }
}
