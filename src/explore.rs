//! `corosim explore [SPEC...]`: a systematic exploration of each selected variant's
//! schedules (`sim::Explore`: partial-order reduction, a preemption bound, a schedule
//! budget), with a progress bar on stderr and a summary per variant; the first failing
//! schedule of each is reported with the command that replays it (`corosim replay
//! SPEC --schedule ...`). The exploration is deterministic: the same flags give the
//! same output.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use scenarios::Entry;
use sim::config::parse;
use sim::{Explore, ExploreReport, FailureKind};

use crate::{
    emit, expectation, flag, flag_named, for_each_entry, jobs, point_at_corosim, select, verdict,
};

#[derive(clap::Args, Debug)]
pub(crate) struct ExploreArgs {
    /// `SCENARIO` (all its variants) or `SCENARIO/VARIANT`; none: everything.
    specs: Vec<String>,
    /// The preemption bound: explore only schedules with at most K preemptions.
    #[arg(long, value_name = "K", default_value = "2", value_parser = flag_named("--bound", None, parse::preemption_bound))]
    bound: u32,
    /// Also bound the schedules' delays (deviations from the default policy).
    #[arg(
        long,
        value_name = "D",
        value_parser = flag_named(
            "--delay-bound",
            Some("a whole number of delays up to 4294967295"),
            parse::preemption_bound
        )
    )]
    delay_bound: Option<u32>,
    /// The most schedules per variant.
    #[arg(long, default_value = "20000", value_parser = flag(parse::max_schedules))]
    max_schedules: u64,
    /// Turn partial-order reduction off (plain depth-first search within the bound).
    #[arg(long)]
    no_reduction: bool,
    /// The virtual-time bound of each run: a number with a unit (`10s`, `500ms`).
    #[arg(long, default_value = "10s", value_parser = flag(parse::max_time))]
    max_time: Duration,
    /// Worker threads, one variant each (default: the available parallelism).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    jobs: Option<u64>,
}

/// One variant's exploration.
struct Explored {
    entry: &'static Entry,
    report: ExploreReport,
}

impl Explored {
    fn found(&self) -> Option<FailureKind> {
        self.report.failure.as_ref().map(sim::Failure::kind)
    }

    fn problem(&self) -> Option<String> {
        let replay = self
            .report
            .failure
            .as_ref()
            .map_or(String::new(), |f| f.run().reproduce.to_string());
        expectation(
            self.entry,
            self.found(),
            &format!("{} schedules", self.report.schedules),
            &replay,
        )
    }
}

pub(crate) fn explore(args: &ExploreArgs) -> Result<ExitCode, String> {
    let entries = select(&args.specs)?;
    let bars = if std::io::stderr().is_terminal() {
        MultiProgress::new()
    } else {
        MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::hidden())
    };
    let explored = for_each_entry(&entries, jobs(args.jobs), |entry| {
        // Built per worker: a runtime builder stays on its thread.
        let mut explore = Explore::new()
            .preemption_bound(args.bound)
            .max_schedules(args.max_schedules)
            .reduction(!args.no_reduction)
            .builder(scenarios::builder(0, &sim::Strategy::Random, args.max_time));
        if let Some(d) = args.delay_bound {
            explore = explore.delay_bound(d);
        }
        let bar = bars.add(ProgressBar::new(args.max_schedules));
        bar.set_style(
            ProgressStyle::with_template("{elapsed_precise} {bar:20} {pos}/{len} {per_sec} {msg}")
                .expect("a valid template"),
        );
        bar.set_message(entry.id());
        let mut report = explore.run_observed(
            || entry.main(),
            |n| {
                if n % 16 == 0 {
                    bar.set_position(n);
                }
            },
        );
        bar.finish_and_clear();
        if let Some(failure) = &mut report.failure {
            point_at_corosim(failure, entry);
        }
        Explored { entry, report }
    });
    let _ = bars.clear();
    emit(&table(args, &explored));
    for e in &explored {
        if let Some(failure) = &e.report.failure {
            emit(&format!("\n{failure}\n"));
        }
    }
    let problems: Vec<String> = explored.iter().filter_map(Explored::problem).collect();
    if problems.is_empty() {
        emit("\nok: every correct variant passed and every bug was caught\n");
    }
    Ok(verdict(&problems))
}

fn table(args: &ExploreArgs, explored: &[Explored]) -> String {
    let w = crate::variant_width(explored.iter().map(|e| e.entry));
    let mut out = format!(
        "explore: at most {} preemption(s){}, at most {} schedules per variant, {} partial-order reduction\n\
         {:<18} {:<w$} {:<16} {:>9} {:<10} {:<13} {}\n",
        args.bound,
        args.delay_bound
            .map_or(String::new(), |d| format!(" and {d} delay(s)")),
        args.max_schedules,
        if args.no_reduction { "without" } else { "with" },
        "SCENARIO",
        "VARIANT",
        "EXPECTED",
        "SCHEDULES",
        "FOUND",
        "SEARCH",
        "RESULT"
    );
    for e in explored {
        let search = match (&e.report.failure, e.report.exhausted) {
            (Some(_), _) => "stopped",
            (None, true) => "exhausted",
            (None, false) => "budget",
        };
        let _ = writeln!(
            out,
            "{:<18} {:<w$} {:<16} {:>9} {:<10} {:<13} {}",
            e.entry.scenario,
            e.entry.variant,
            e.entry.expect.label(),
            e.report.schedules,
            e.found().map_or("-", FailureKind::as_str),
            search,
            if e.problem().is_none() { "ok" } else { "FAIL" }
        );
    }
    out
}
