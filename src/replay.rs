//! `corosim replay SCENARIO/VARIANT`: runs one seed, schedule or fuzz input of one
//! variant again and prints its trace, then its report (which ends with the command
//! that reproduces it).
//!
//! `--seed N [--strategy S]`, `--schedule STR|@file` or `--bytes FILE` (a fuzz input,
//! as `corosim fuzz` writes it) choose the run. Exit code 1 when the run fails, 0 when
//! it passes. `--trace-out FILE` (the trace text), `--perfetto FILE` (the run as Chrome
//! trace-event JSON, for ui.perfetto.dev) and `--html FILE` (the self-contained report
//! page, [`sim::report::HtmlReport`]) are opened before the run, so a path that cannot
//! be written exits with code 2 at once; they are written for a passing run too.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use scenarios::Entry;
use sim::config::parse;
use sim::report::HtmlReport;
use sim::reproduce::Selection;
use sim::{Schedule, Strategy};

use crate::{OutFile, emit, flag, point_at_corosim};

#[derive(clap::Args, Debug)]
pub(crate) struct ReplayArgs {
    /// `SCENARIO/VARIANT`.
    spec: String,
    /// The seed to run (decimal or `0x` hexadecimal).
    #[arg(
        long,
        conflicts_with_all = ["schedule", "bytes"],
        required_unless_present_any = ["schedule", "bytes"],
        value_parser = flag(parse::seed)
    )]
    seed: Option<u64>,
    /// The scheduler: portfolio (the seed's pick), random, pct, `pct:<depth>`,
    /// `pct:<depth>:<steps>`, prob, `prob:<keep percent>`, pos, round-robin. A failure
    /// report names the exact strategy to pass here.
    #[arg(long, default_value = "portfolio", value_parser = flag(parse::sweep_strategy), conflicts_with_all = ["schedule", "bytes"])]
    strategy: Strategy,
    /// A recorded schedule (from a failure report), or `@path` of a file holding one.
    #[arg(long, value_parser = flag(parse::schedule), conflicts_with = "bytes")]
    schedule: Option<Schedule>,
    /// A fuzz input (from `corosim fuzz`): the file's bytes choose the variant's
    /// configuration and every decision of the run.
    #[arg(long, value_name = "FILE")]
    bytes: Option<PathBuf>,
    /// The virtual-time bound of the run: a number with a unit (`10s`, `500ms`).
    #[arg(long, default_value = "10s", value_parser = flag(parse::max_time))]
    max_time: Duration,
    /// Write the trace to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    trace_out: Option<PathBuf>,
    /// Also write the run as Chrome trace-event JSON to this file (open it at
    /// ui.perfetto.dev or chrome://tracing).
    #[arg(long, value_name = "FILE")]
    perfetto: Option<PathBuf>,
    /// Also write a self-contained HTML report (timeline, wait-for graph, report) to
    /// this file.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
}

/// The one variant `spec` names.
pub(crate) fn one_entry(spec: &str, command: &str) -> Result<&'static Entry, String> {
    let entries = scenarios::select(spec)?;
    match entries.as_slice() {
        [entry] => Ok(entry),
        _ => Err(format!(
            "{command} needs one SCENARIO/VARIANT, {spec:?} names {} variants: {}",
            entries.len(),
            entries
                .iter()
                .map(|e| e.id())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// The run settings a reproduce command puts before `corosim replay` (fixed network
/// faults, BUGGIFY off, sites kept off), read from their `SIM_` variables; the other
/// variables are the flags' business and are ignored here.
fn network_settings() -> Result<sim::config::Settings, String> {
    let env = sim::env::settings().map_err(|e| e.to_string())?;
    Ok(sim::config::Settings {
        net_faults: env.net_faults,
        buggify: env.buggify,
        buggify_off: env.buggify_off,
        ..Default::default()
    })
}

pub(crate) fn replay(args: &ReplayArgs) -> Result<ExitCode, String> {
    let entry = one_entry(&args.spec, "replay")?;
    // Read before the run: an input that cannot be read is bad input (exit 2).
    let input = match &args.bytes {
        Some(path) => Some(parse::input_file(path)?),
        None => None,
    };
    // Opened before the run: a path that cannot be written is bad input (exit 2), not
    // something found after the run that would hide its result.
    let trace_out = OutFile::create(args.trace_out.as_ref(), "the trace")?;
    let perfetto = OutFile::create(args.perfetto.as_ref(), "the Perfetto trace")?;
    let html = OutFile::create(args.html.as_ref(), "the HTML report")?;
    let (mut result, trace, what) = match (&input, &args.bytes) {
        (Some(input), Some(path)) => {
            let (mut result, _, rt) = entry.run_input_on(input, args.max_time);
            if let Err(failure) = &mut result {
                failure.run_mut().reproduce.selection = Selection::InputFile(path.clone());
            }
            let what = format!("input {} ({} bytes)", path.display(), input.len());
            (result, rt.trace().clone(), what)
        }
        _ => {
            let (seed, strategy) = match &args.schedule {
                Some(schedule) => (schedule.seed(), Strategy::Replay(schedule.clone())),
                None => (
                    args.seed
                        .expect("clap requires --seed without --schedule or --bytes"),
                    args.strategy.clone(),
                ),
            };
            let mut rt = scenarios::builder(seed, &strategy, args.max_time)
                .settings(&network_settings()?)
                .build();
            let result = entry.run_on(&mut rt);
            let what = format!("seed {seed}, strategy {}", rt.strategy().env_value());
            (result, rt.trace().clone(), what)
        }
    };
    if let Err(failure) = &mut result {
        point_at_corosim(failure, entry);
    }
    let report = match &result {
        Ok(()) => format!("{}: passed ({what})\n", entry.id()),
        Err(failure) => format!("{failure}\n"),
    };
    // The trace first, the report last: the output ends with the command that
    // reproduces the run, as every report does.
    if trace_out.is_none() {
        emit("--- trace ---\n");
        emit(&trace.to_string());
        emit("---\n");
    }
    emit(&report);
    if let Some(file) = perfetto {
        file.write(&match &result {
            Ok(()) => trace.to_chrome_trace(),
            Err(failure) => failure.to_chrome_trace(),
        })?;
    }
    if let Some(file) = html {
        let title = format!("corosim replay {}: {what}", entry.id());
        let page = match &result {
            Ok(()) => HtmlReport::run(&trace),
            Err(failure) => HtmlReport::failure(failure),
        };
        file.write(&page.title(title).text(report.trim_end()).render())?;
    }
    if let Some(file) = trace_out {
        file.write(&trace.to_string())?;
    }
    Ok(if result.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
