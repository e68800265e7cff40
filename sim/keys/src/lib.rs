//! The one table of corosim's settings: each setting's name, its `SIM_` environment
//! variable and the literal its `#[sim::test(..)]` argument takes.
//!
//! `sim` parses every value (`sim::config`, one parser per setting, for the
//! environment, the attribute, `sim::Check` and the `corosim` command); `sim-macros`
//! checks the attribute's argument names and literal types against this table at
//! compile time. It is a crate of its own because a procedural macro crate cannot
//! depend on the crate it generates code for: both depend on this one instead, so the
//! list of keys exists once.
//!
//! This crate holds names only: no parsing, no values, no dependencies.

/// A setting of a run or of a seed sweep.
///
/// ```
/// use sim_keys::{Key, Literal};
/// assert_eq!(Key::MaxTime.name(), "max_time");
/// assert_eq!(Key::MaxTime.env(), Some("SIM_MAX_TIME"));
/// assert_eq!(Key::MaxTime.attr(), Some(Literal::Str));
/// assert_eq!(Key::from_attr("seeds"), Some(Key::Seeds));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Key {
    /// The seed of a run (a sweep runs only that one).
    Seed,
    /// How many seeds a sweep runs.
    Seeds,
    /// The first seed of a sweep (or `random`).
    StartSeed,
    /// The scheduling strategy.
    Strategy,
    /// A recorded schedule to replay.
    Schedule,
    /// The most polls a run may take.
    MaxSteps,
    /// The furthest the virtual clock may go.
    MaxTime,
    /// PCT's run-length estimate, in decisions.
    PctSteps,
    /// The most replays spent shrinking a failure.
    ShrinkBudget,
    /// Run every seed twice and compare the traces.
    CheckDeterminism,
    /// What a panic in a spawned task does.
    UnhandledPanic,
    /// Where regression seeds are kept (`off`, or a file).
    Regressions,
    /// Show user `tracing` logs during sweeps.
    Log,
    /// Fuzz instead of sweeping seeds: this many coverage-guided executions.
    Fuzz,
    /// Explore schedules systematically instead of sweeping seeds.
    Explore,
    /// Exploration: the most preemptions a schedule may have.
    PreemptionBound,
    /// Exploration: the most schedules it runs.
    MaxSchedules,
    /// The simulated network's faults, fixed instead of drawn from the seed.
    NetFaults,
    /// Whether `buggify!` sites may fire.
    Buggify,
    /// `buggify!` sites kept off (`file:line:column`, comma-separated).
    BuggifyOff,
}

/// The literal a `#[sim::test(..)]` argument takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Literal {
    /// An integer literal: `seeds = 1000`.
    Int,
    /// A string literal: `max_time = "10s"`.
    Str,
    /// A boolean literal: `check_determinism = true`, or the bare name for `true`
    /// (`#[sim::test(explore)]`).
    Bool,
}

impl Key {
    /// Every setting, in the order the documentation lists them.
    pub const ALL: [Key; 20] = [
        Key::Seed,
        Key::Seeds,
        Key::StartSeed,
        Key::Strategy,
        Key::Schedule,
        Key::MaxSteps,
        Key::MaxTime,
        Key::PctSteps,
        Key::ShrinkBudget,
        Key::CheckDeterminism,
        Key::UnhandledPanic,
        Key::Regressions,
        Key::Log,
        Key::Fuzz,
        Key::Explore,
        Key::PreemptionBound,
        Key::MaxSchedules,
        Key::NetFaults,
        Key::Buggify,
        Key::BuggifyOff,
    ];

    /// The setting's name (`max_time`): the `#[sim::test]` argument, and, with `-` for
    /// `_`, the `corosim` flag (`--max-time`) where there is one.
    pub const fn name(self) -> &'static str {
        match self {
            Key::Seed => "seed",
            Key::Seeds => "seeds",
            Key::StartSeed => "start_seed",
            Key::Strategy => "strategy",
            Key::Schedule => "schedule",
            Key::MaxSteps => "max_steps",
            Key::MaxTime => "max_time",
            Key::PctSteps => "pct_steps",
            Key::ShrinkBudget => "shrink_budget",
            Key::CheckDeterminism => "check_determinism",
            Key::UnhandledPanic => "unhandled_panic",
            Key::Regressions => "regressions",
            Key::Log => "log",
            Key::Fuzz => "fuzz",
            Key::Explore => "explore",
            Key::PreemptionBound => "preemption_bound",
            Key::MaxSchedules => "max_schedules",
            Key::NetFaults => "net_faults",
            Key::Buggify => "buggify",
            Key::BuggifyOff => "buggify_off",
        }
    }

    /// The environment variable that sets it, if any (`SIM_MAX_TIME`).
    pub const fn env(self) -> Option<&'static str> {
        Some(match self {
            Key::Seed => "SIM_SEED",
            Key::Seeds => "SIM_SEEDS",
            Key::StartSeed => "SIM_START_SEED",
            Key::Strategy => "SIM_STRATEGY",
            Key::Schedule => "SIM_SCHEDULE",
            Key::MaxSteps => "SIM_MAX_STEPS",
            Key::MaxTime => "SIM_MAX_TIME",
            Key::PctSteps => "SIM_PCT_STEPS",
            Key::ShrinkBudget => "SIM_SHRINK_BUDGET",
            Key::CheckDeterminism => "SIM_CHECK_DETERMINISM",
            Key::Log => "SIM_LOG",
            Key::Fuzz => "SIM_FUZZ",
            Key::Explore => "SIM_EXPLORE",
            Key::PreemptionBound => "SIM_PREEMPTION_BOUND",
            Key::MaxSchedules => "SIM_MAX_SCHEDULES",
            Key::NetFaults => "SIM_NET_FAULTS",
            Key::Buggify => "SIM_BUGGIFY",
            Key::BuggifyOff => "SIM_BUGGIFY_OFF",
            Key::UnhandledPanic | Key::Regressions => return None,
        })
    }

    /// The literal its `#[sim::test(..)]` argument takes, if it is one (a test pinned
    /// to one seed or schedule is a reproduce command, not an attribute).
    pub const fn attr(self) -> Option<Literal> {
        Some(match self {
            Key::Seeds
            | Key::StartSeed
            | Key::MaxSteps
            | Key::PctSteps
            | Key::ShrinkBudget
            | Key::Fuzz
            | Key::PreemptionBound
            | Key::MaxSchedules => Literal::Int,
            Key::Strategy
            | Key::MaxTime
            | Key::UnhandledPanic
            | Key::Regressions
            | Key::NetFaults
            | Key::BuggifyOff => Literal::Str,
            Key::CheckDeterminism | Key::Explore | Key::Buggify => Literal::Bool,
            Key::Seed | Key::Schedule | Key::Log => return None,
        })
    }

    /// The setting a `#[sim::test(..)]` argument name names.
    pub fn from_attr(name: &str) -> Option<Key> {
        Key::ALL
            .into_iter()
            .find(|k| k.attr().is_some() && k.name() == name)
    }

    /// The setting an environment variable name names.
    pub fn from_env(variable: &str) -> Option<Key> {
        Key::ALL.into_iter().find(|k| k.env() == Some(variable))
    }

    /// The `#[sim::test(..)]` argument names, comma-separated (for error messages).
    pub fn attr_names() -> String {
        Key::ALL
            .into_iter()
            .filter(|k| k.attr().is_some())
            .map(Key::name)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_variables_are_unique_and_agree() {
        for (i, a) in Key::ALL.iter().enumerate() {
            for b in &Key::ALL[i + 1..] {
                assert_ne!(a.name(), b.name());
                assert!(a.env().is_none() || a.env() != b.env());
            }
            if let Some(var) = a.env() {
                assert_eq!(var, format!("SIM_{}", a.name().to_ascii_uppercase()));
                assert_eq!(Key::from_env(var), Some(*a));
            }
            assert_eq!(Key::from_attr(a.name()).is_some(), a.attr().is_some());
        }
        assert_eq!(Key::from_attr("seed"), None);
        assert_eq!(Key::from_env("SIM_NOPE"), None);
        assert!(Key::attr_names().starts_with("seeds, start_seed, strategy"));
    }
}
