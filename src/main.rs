//! The `corosim` command.
//!
//! `corosim schedule SCHEDULE` decodes a schedule string (as printed in a failure
//! report, or `@file`) and summarises it: seed, steps, context switches, steps per
//! task. Bad input exits with code 2 and a message naming what was expected.

use std::collections::BTreeMap;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sim::Schedule;

/// Deterministic simulation testing for async Rust.
#[derive(Parser, Debug)]
#[command(name = "corosim", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Decode and summarise a schedule string (`v1:<seed>:<steps>`, or `@path` of a file).
    Schedule {
        /// The schedule string, or `@path` of a file holding one.
        schedule: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Schedule { schedule } => match load_schedule(&schedule) {
            Ok(s) => {
                print!("{}", summarise(&s));
                ExitCode::SUCCESS
            }
            Err(message) => {
                eprintln!("corosim: {message}");
                ExitCode::from(2)
            }
        },
    }
}

fn load_schedule(arg: &str) -> Result<Schedule, String> {
    let text = match arg.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read schedule file {path:?}: {e}"))?,
        None => arg.to_string(),
    };
    text.trim()
        .parse()
        .map_err(|e: sim::sched::ParseScheduleError| e.to_string())
}

fn summarise(s: &Schedule) -> String {
    let mut per_task: BTreeMap<u32, usize> = BTreeMap::new();
    for t in s.steps() {
        *per_task.entry(t.as_u32()).or_default() += 1;
    }
    let mut out = format!(
        "seed             {} (SIM_SEED={})\nsteps            {}\ncontext switches {}\ntasks            {}\n",
        s.seed(),
        s.seed(),
        s.len(),
        s.context_switches(),
        per_task.len()
    );
    for (task, steps) in per_task {
        out.push_str(&format!("  task {task:<6} {steps} steps\n"));
    }
    out
}
