//! The command that reproduces a run: [`Reproduce`], one value saying which run and
//! where to run it again, rendered by one `Display`.
//!
//! The runtime builds one for every failure (the run's seed and strategy, or the
//! schedule it replayed; the current test or program, as the process describes
//! itself); [`Check`](crate::Check) points it at the test it knows better (and at the
//! shrunk schedule's file); `corosim` points it at `corosim replay`. Each changes
//! fields; none writes the string.
//!
//! This module only renders: it reads neither the environment nor the runtime.

use std::fmt;
use std::path::PathBuf;

use crate::config::Key;
use crate::sched::{Schedule, Strategy};

/// How a run is selected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selection {
    /// By its seed and the strategy it ran under (a portfolio's pick, PCT with its
    /// run length).
    Seed {
        /// The seed.
        seed: u64,
        /// The strategy.
        strategy: Strategy,
    },
    /// By the schedule it replayed, written out.
    Schedule(Schedule),
    /// By a file holding its schedule.
    ScheduleFile(PathBuf),
    /// A fuzz input kept in a file: `corosim replay ID --bytes FILE` (the whole input,
    /// its configuration byte included), or `SIM_STRATEGY=bytes:@FILE` elsewhere.
    InputFile(PathBuf),
}

impl Selection {
    /// The selection of a run of `strategy` from `seed`: a replay is selected by its
    /// schedule, anything else by seed and strategy.
    pub fn of(seed: u64, strategy: &Strategy) -> Self {
        match strategy {
            Strategy::Replay(s) => Selection::Schedule(s.clone()),
            other => Selection::Seed {
                seed,
                strategy: other.clone(),
            },
        }
    }
}

/// Which `cargo test` target holds a test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TestTarget {
    /// The package's library unit tests (`--lib`).
    Lib,
    /// An integration test (`--test <name>`).
    Test(String),
}

/// Where a run is reproduced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// A test, run by `cargo test` with the `SIM_` variables that select the run.
    CargoTest {
        /// `-p <package>`, when known.
        package: Option<String>,
        /// `--lib` or `--test <name>`, when known.
        target: Option<TestTarget>,
        /// The test's path, run with `--exact`.
        test: String,
    },
    /// A scenario of the `corosim` command, by `corosim replay`.
    Corosim {
        /// `scenario/variant`.
        scenario: String,
    },
    /// A program that reads the `SIM_` variables (`Builder::from_env`): its command
    /// line.
    Program(Vec<String>),
}

/// The command that reproduces a run. `Display` renders it as a shell command:
///
/// ```
/// use sim::reproduce::{Place, Reproduce, Selection, TestTarget};
/// let r = Reproduce {
///     selection: Selection::of(7, &sim::Strategy::Random),
///     check_determinism: false,
///     settings: Vec::new(),
///     place: Place::CargoTest {
///         package: Some("bank".into()),
///         target: Some(TestTarget::Test("transfers".into())),
///         test: "conserves_money".into(),
///     },
/// };
/// assert_eq!(
///     r.to_string(),
///     "SIM_SEED=7 SIM_STRATEGY=random cargo test -p bank --test transfers -- conserves_money --exact"
/// );
/// let r = Reproduce { place: Place::Corosim { scenario: "bank/unlocked".into() }, ..r };
/// assert_eq!(r.to_string(), "corosim replay bank/unlocked --seed 7 --strategy random");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reproduce {
    /// Which run.
    pub selection: Selection,
    /// Whether the failure needs the run twice (a determinism check): then the
    /// command sets `SIM_CHECK_DETERMINISM=1`.
    pub check_determinism: bool,
    /// The run's settings beyond its selection that it needs again (fixed network
    /// faults, BUGGIFY off, BUGGIFY sites kept off), each rendered as its `SIM_`
    /// variable before the command, in this order.
    pub settings: Vec<(Key, String)>,
    /// Where it runs again.
    pub place: Place,
}

/// `value` as one shell word: as is when it holds only characters the shell leaves
/// alone, else in single quotes.
fn shell_word(value: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_.,:=/@+%".contains(c);
    if !value.is_empty() && value.chars().all(plain) {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

impl fmt::Display for Reproduce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (key, value) in &self.settings {
            // Every key a run records has a variable; `corosim replay` reads them too.
            if let Some(var) = key.env() {
                write!(f, "{var}={} ", shell_word(value))?;
            }
        }
        if let Place::Corosim { scenario } = &self.place {
            // `corosim replay` runs each seed once: the determinism check has no flag.
            write!(f, "corosim replay {scenario} ")?;
            return match &self.selection {
                Selection::Seed { seed, strategy } => {
                    write!(f, "--seed {seed} --strategy {}", strategy.env_value())
                }
                Selection::Schedule(s) => write!(f, "--schedule {s}"),
                Selection::ScheduleFile(p) => write!(f, "--schedule @{}", p.display()),
                Selection::InputFile(p) => write!(f, "--bytes {}", p.display()),
            };
        }
        if self.check_determinism {
            f.write_str("SIM_CHECK_DETERMINISM=1 ")?;
        }
        match &self.selection {
            Selection::Seed { seed, strategy } => {
                write!(f, "SIM_SEED={seed} SIM_STRATEGY={}", strategy.env_value())?
            }
            Selection::Schedule(s) => write!(f, "SIM_SCHEDULE={s}")?,
            Selection::ScheduleFile(p) => write!(f, "SIM_SCHEDULE=@{}", p.display())?,
            Selection::InputFile(p) => write!(f, "SIM_STRATEGY=bytes:@{}", p.display())?,
        }
        match &self.place {
            Place::CargoTest {
                package,
                target,
                test,
            } => {
                f.write_str(" cargo test")?;
                if let Some(p) = package {
                    write!(f, " -p {p}")?;
                }
                match target {
                    Some(TestTarget::Lib) => f.write_str(" --lib")?,
                    Some(TestTarget::Test(t)) => write!(f, " --test {t}")?,
                    None => {}
                }
                write!(f, " -- {test} --exact")
            }
            Place::Program(args) => write!(f, " {}", args.join(" ")),
            Place::Corosim { .. } => unreachable!("rendered above"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_place() {
        let schedule: Schedule = "v2:7:0.1x2.0".parse().unwrap();
        let mut r = Reproduce {
            selection: Selection::of(7, &Strategy::Replay(schedule.clone())),
            check_determinism: true,
            settings: Vec::new(),
            place: Place::Program(vec!["target/debug/app".into(), "--fast".into()]),
        };
        assert_eq!(
            r.to_string(),
            "SIM_CHECK_DETERMINISM=1 SIM_SCHEDULE=v2:7:0.1x2.0 target/debug/app --fast"
        );
        r.place = Place::CargoTest {
            package: None,
            target: Some(TestTarget::Lib),
            test: "tests::it".into(),
        };
        r.selection = Selection::ScheduleFile("target/corosim/x.schedule".into());
        r.check_determinism = false;
        assert_eq!(
            r.to_string(),
            "SIM_SCHEDULE=@target/corosim/x.schedule cargo test --lib -- tests::it --exact"
        );
        r.place = Place::Corosim {
            scenario: "bank/unlocked".into(),
        };
        assert_eq!(
            r.to_string(),
            "corosim replay bank/unlocked --schedule @target/corosim/x.schedule"
        );
        r.selection = Selection::Schedule(schedule);
        assert_eq!(
            r.to_string(),
            "corosim replay bank/unlocked --schedule v2:7:0.1x2.0"
        );
        r.selection = Selection::of(
            3,
            &Strategy::Pct {
                depth: 3,
                steps: Some(57),
            },
        );
        assert_eq!(
            r.to_string(),
            "corosim replay bank/unlocked --seed 3 --strategy pct:3:57"
        );
        r.settings = vec![
            (Key::NetFaults, "latency=1ms..5ms,loss=0.1".into()),
            (Key::BuggifyOff, "src/my file.rs:4:9".into()),
        ];
        assert_eq!(
            r.to_string(),
            "SIM_NET_FAULTS=latency=1ms..5ms,loss=0.1 SIM_BUGGIFY_OFF='src/my file.rs:4:9' \
             corosim replay bank/unlocked --seed 3 --strategy pct:3:57"
        );
        assert_eq!(shell_word("it's"), r"'it'\''s'");
    }
}
