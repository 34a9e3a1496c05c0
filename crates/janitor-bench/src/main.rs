//! Runs janitor's benchmark workloads on janitor and its peers and prints one table (or JSON), and
//! with `--svg FILE` also writes the ratios as a bar chart.
//!
//! ```text
//! cargo run --release -p janitor-bench -- [--smoke | --quick] [--json | --markdown] [--svg FILE] [--rounds N] [--workload NAME]...
//! ```

use std::process::ExitCode;

use janitor_bench::chart::SvgFile;
use janitor_bench::harness::{self, Scale};
use janitor_bench::memory::CountingAllocator;
use janitor_bench::{report, workloads};

/// Every allocation goes through the counter, so that each row's peak memory can be reported.
#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

const USAGE: &str = "\
usage: janitor-bench [--smoke | --quick] [--json | --markdown] [--svg FILE] [--rounds N] [--workload NAME]...

  --smoke          tiny sizes, one round: every case runs and the checksums agree (CI)
  --quick          reduced sizes, three rounds: one to one and a half minutes on a 2-core machine
  --json           print one JSON object instead of the table
  --markdown       print Markdown tables (the README's Performance section)
  --svg FILE       also write the ratios as an SVG bar chart to FILE (opened before the run starts)
  --rounds N       rounds per workload (default: 1 smoke, 3 quick, 3 full)
  --workload NAME  run only this workload (repeatable); one of:";

/// How the results are printed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Output {
    Table,
    Json,
    Markdown,
}

/// What the command line asked for.
struct Options {
    scale: Scale,
    output: Output,
    rounds: Option<usize>,
    only: Vec<String>,
    svg: Option<String>,
}

/// Reads the command line; `Err` carries the message to print.
fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        scale: Scale::Full,
        output: Output::Table,
        rounds: None,
        only: Vec::new(),
        svg: None,
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--smoke" => options.scale = Scale::Smoke,
            "--quick" => options.scale = Scale::Quick,
            "--json" => options.output = Output::Json,
            "--markdown" => options.output = Output::Markdown,
            "--rounds" => {
                let value = args.next().ok_or("--rounds needs a number")?;
                let rounds = value
                    .parse::<usize>()
                    .ok()
                    .filter(|&rounds| rounds > 0)
                    .ok_or_else(|| format!("--rounds needs a positive number, not {value:?}"))?;
                options.rounds = Some(rounds);
            }
            "--svg" => options.svg = Some(args.next().ok_or("--svg needs a file name")?),
            "--workload" => options
                .only
                .push(args.next().ok_or("--workload needs a name")?),
            "--help" | "-h" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(options)
}

fn usage() -> String {
    format!("{USAGE} {}", workloads::names().join(", "))
}

fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("janitor-bench: {message}");
            }
            eprintln!("{}", usage());
            return ExitCode::from(2);
        }
    };
    if let Some(unknown) = options
        .only
        .iter()
        .find(|name| !workloads::names().contains(&name.as_str()))
    {
        eprintln!("janitor-bench: no workload named {unknown:?}\n{}", usage());
        return ExitCode::from(2);
    }
    // Opened now so that a bad path fails before the run rather than after it.
    let svg = match options.svg.as_deref().map(SvgFile::open).transpose() {
        Ok(svg) => svg,
        Err(error) => {
            eprintln!("janitor-bench: {error}");
            return ExitCode::from(2);
        }
    };
    let rounds = options.rounds.unwrap_or(options.scale.default_rounds());
    let mut measured = Vec::new();
    for workload in workloads::all(options.scale) {
        if !options.only.is_empty() && !options.only.iter().any(|name| name == workload.name) {
            continue;
        }
        let result = harness::measure(&workload, rounds, |case, sample| {
            eprintln!(
                "{:<14} {:<16} {:>10.3} ms",
                workload.name,
                case.implementation,
                sample.elapsed.as_secs_f64() * 1e3
            );
        });
        match result {
            Ok(rows) => measured.push(rows),
            Err(mismatch) => {
                eprintln!("janitor-bench: {mismatch}");
                return ExitCode::FAILURE;
            }
        }
    }
    match options.output {
        Output::Table => print!("{}", report::to_table(&measured)),
        Output::Json => println!("{}", report::to_json(&measured)),
        Output::Markdown => print!("{}", report::to_markdown(&measured)),
    }
    if let Some(svg) = svg
        && let Err(error) = svg.write(&measured)
    {
        eprintln!("janitor-bench: {error}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
