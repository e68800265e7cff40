//! Every setting of a run or a seed sweep, with one parser per setting.
//!
//! A setting comes from one of four places: a `SIM_` environment variable (read by
//! [`crate::env`]), a `#[sim::test(..)]` argument (through `Check::attr`), a typed
//! builder method ([`Builder`](crate::Builder), [`Check`](crate::Check)) or a `corosim` flag. The
//! names are one table, [`Key`] (from the `sim-keys` crate, which the attribute macro
//! shares); each value has one parser here, in [`parse`], used by all four, so
//! `SIM_MAX_TIME=10s`, `#[sim::test(max_time = "10s")]` and `corosim run --max-time
//! 10s` accept exactly the same strings and reject the same ones with the same
//! [`ConfigError`], which names where the value came from, the value and the accepted
//! forms. The typed methods run the same checks ([`parse::valid`]).
//!
//! | setting | `SIM_` variable | `#[sim::test]` | accepted values |
//! |---|---|---|---|
//! | `seed` | `SIM_SEED` | | a `u64`, decimal or `0x`-prefixed hexadecimal |
//! | `seeds` | `SIM_SEEDS` | `seeds = 1000` | a whole number `>= 1` |
//! | `start_seed` | `SIM_START_SEED` | `start_seed = 7` | a seed, or `random` |
//! | `strategy` | `SIM_STRATEGY` | `strategy = "pct:3"` | a [`Strategy`] string |
//! | `schedule` | `SIM_SCHEDULE` | | a schedule string (`v2:...`), or `@<path>` of a file holding one |
//! | `max_steps` | `SIM_MAX_STEPS` | `max_steps = 10000` | a whole number `>= 1` |
//! | `max_time` | `SIM_MAX_TIME` | `max_time = "10s"` | a [duration](parse::duration) `> 0` |
//! | `pct_steps` | `SIM_PCT_STEPS` | `pct_steps = 500` | a whole number `>= 1` |
//! | `shrink_budget` | `SIM_SHRINK_BUDGET` | `shrink_budget = 0` | a whole number up to 4294967295 (`0`: no shrinking) |
//! | `check_determinism` | `SIM_CHECK_DETERMINISM` | `check_determinism = true` | `1/true/yes/on`, `0/false/no/off` |
//! | `unhandled_panic` | | `unhandled_panic = "ignore"` | `ignore`, `shutdown_runtime` |
//! | `regressions` | | `regressions = "off"` | `off`, or a file path |
//! | `log` | `SIM_LOG` | | `1/true/yes/on`, `0/false/no/off` |
//! | `fuzz` | `SIM_FUZZ` | `fuzz = 10000` | a whole number `>= 1` of fuzz executions (instead of seeds) |
//! | `explore` | `SIM_EXPLORE` | `explore = true`, or bare `explore` | `1/true/yes/on`, `0/false/no/off` |
//! | `preemption_bound` | `SIM_PREEMPTION_BOUND` | `preemption_bound = 2` | a whole number up to 4294967295 |
//! | `max_schedules` | `SIM_MAX_SCHEDULES` | `max_schedules = 20000` | a whole number `>= 1` |
//! | `net_faults` | `SIM_NET_FAULTS` | `net_faults = "loss=0.1"` | what [`Faults`](crate::net::Faults) parses: `latency=1ms..5ms,loss=0.1,dup=0,reorder=0.2,clock=10ms,drift=50` |
//! | `buggify` | `SIM_BUGGIFY` | `buggify = false` | `1/true/yes/on`, `0/false/no/off` |
//! | `buggify_off` | `SIM_BUGGIFY_OFF` | `buggify_off = "src/net.rs:40:12"` | comma-separated `buggify!` sites, `file:line:column` |
//!
//! **Durations** have one grammar everywhere: a decimal number (`10`, `1.5`, `.25`)
//! followed by a unit, `ns`, `us` (or `µs`), `ms`, `s`, `m` (or `min`) or `h`, with
//! optional spaces around and between: `10s`, `250ms`, `1.5h`. A bare number is
//! rejected (is `10` seconds or milliseconds?), and so is anything past
//! [`Duration::MAX`]; the parse is exact (integer arithmetic, truncated to whole
//! nanoseconds) and never panics.
//!
//! This module is pure: it reads neither the environment nor the runtime (the
//! [`Settings`] it produces are applied by [`Builder::settings`](crate::Builder::settings)
//! and [`Check`](crate::Check)); only `@<path>` schedules read a file.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::sched::{ParseScheduleError, ParseStrategyError, Schedule, Strategy};

pub use sim_keys::{Key, Literal};

/// Where a setting's value came from, for the error that names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// Its `SIM_` environment variable.
    Env,
    /// Its `#[sim::test(..)]` argument.
    Attr,
    /// Its `corosim` flag (`--max-time`).
    Flag,
    /// A typed method, e.g. `"Builder::max_time"`.
    Method(&'static str),
}

/// A configuration value that could not be used: which setting, from where, the value
/// given, and what is accepted.
///
/// ```
/// use sim::config::{parse, Key, Source};
/// let e = parse::max_time(Source::Env, "0s").unwrap_err();
/// assert_eq!((e.key, e.source), (Key::MaxTime, Source::Env));
/// assert!(e.to_string().starts_with("invalid SIM_MAX_TIME=\"0s\": expected a duration > 0"));
/// let e = parse::max_time(Source::Flag, "10").unwrap_err();
/// assert!(e.to_string().starts_with("invalid --max-time=\"10\""));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The setting.
    pub key: Key,
    /// Where the value came from.
    pub source: Source,
    /// The value given (its first 200 characters; lossily converted when it was not
    /// UTF-8).
    pub value: String,
    /// The accepted forms, and why this value is not one when that helps.
    pub expected: String,
}

impl ConfigError {
    fn new(key: Key, source: Source, value: &str, expected: impl Into<String>) -> Self {
        ConfigError {
            key,
            source,
            value: value.chars().take(200).collect(),
            expected: expected.into(),
        }
    }

    /// How the value's origin is spelled: `SIM_MAX_TIME`, `#[sim::test(max_time)]`,
    /// `--max-time` or `Builder::max_time`.
    pub fn origin(&self) -> String {
        match self.source {
            Source::Env => self.key.env().unwrap_or(self.key.name()).to_string(),
            Source::Attr => format!("#[sim::test({})]", self.key.name()),
            Source::Flag => format!("--{}", self.key.name().replace('_', "-")),
            Source::Method(m) => m.to_string(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid {}={:?}: expected {}",
            self.origin(),
            self.value,
            self.expected
        )
    }
}

impl std::error::Error for ConfigError {}

/// What happens when a spawned task panics (mirrors tokio's `UnhandledPanic`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum UnhandledPanic {
    /// The run stops with [`Failure::Panic`](crate::Failure::Panic) (the default: a
    /// panic is a bug found).
    #[default]
    ShutdownRuntime,
    /// The panic is delivered to the task's `JoinHandle` as a
    /// [`JoinError`](crate::task::JoinError) and the run goes on (for tests that panic
    /// on purpose). A panic in the main future always fails the run.
    Ignore,
}

/// The first seed of a sweep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartSeed {
    /// This seed.
    Fixed(u64),
    /// A fresh seed drawn from outside the simulation when the sweep starts (recorded
    /// in a file and printed, so the sweep can be run again).
    Random,
}

/// Where a sweep keeps its regression seeds.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Regressions {
    /// `<manifest dir>/sim-regressions/<target>.<test>.txt` when cargo says where.
    #[default]
    Auto,
    /// Neither read nor written.
    Off,
    /// This file.
    File(PathBuf),
}

/// Settings as given (each `None` when not given), from one source: the environment
/// ([`Settings::from_vars`]), a test's attribute and builder calls ([`Check`](crate::Check)), or
/// the command line. [`Settings::over`] layers two of them.
///
/// ```
/// use sim::config::{Key, Settings, Source};
/// let mut s = Settings::default();
/// s.set(Key::MaxTime, Source::Attr, "1.5s").unwrap();
/// assert_eq!(s.max_time, Some(std::time::Duration::from_millis(1500)));
/// assert!(s.set(Key::Seeds, Source::Attr, "0").is_err());
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Settings {
    /// [`Key::Seed`].
    pub seed: Option<u64>,
    /// [`Key::Seeds`].
    pub seeds: Option<u64>,
    /// [`Key::StartSeed`].
    pub start_seed: Option<StartSeed>,
    /// [`Key::Strategy`].
    pub strategy: Option<Strategy>,
    /// [`Key::Schedule`].
    pub schedule: Option<Schedule>,
    /// [`Key::MaxSteps`].
    pub max_steps: Option<u64>,
    /// [`Key::MaxTime`].
    pub max_time: Option<Duration>,
    /// [`Key::PctSteps`].
    pub pct_steps: Option<u64>,
    /// [`Key::ShrinkBudget`].
    pub shrink_budget: Option<u32>,
    /// [`Key::CheckDeterminism`].
    pub check_determinism: Option<bool>,
    /// [`Key::UnhandledPanic`].
    pub unhandled_panic: Option<UnhandledPanic>,
    /// [`Key::Regressions`].
    pub regressions: Option<Regressions>,
    /// [`Key::Log`].
    pub log: Option<bool>,
    /// [`Key::Fuzz`].
    pub fuzz: Option<u64>,
    /// [`Key::Explore`].
    pub explore: Option<bool>,
    /// [`Key::PreemptionBound`].
    pub preemption_bound: Option<u32>,
    /// [`Key::MaxSchedules`].
    pub max_schedules: Option<u64>,
    /// [`Key::NetFaults`].
    pub net_faults: Option<crate::net::faults::Faults>,
    /// [`Key::Buggify`].
    pub buggify: Option<bool>,
    /// [`Key::BuggifyOff`].
    pub buggify_off: Option<Vec<String>>,
}

impl Settings {
    /// Parses `value` as setting `key` (from `source`) and sets it: the one dispatch
    /// from a key to its parser.
    pub fn set(&mut self, key: Key, source: Source, value: &str) -> Result<(), ConfigError> {
        match key {
            Key::Seed => self.seed = Some(parse::seed(source, value)?),
            Key::Seeds => self.seeds = Some(parse::seeds(source, value)?),
            Key::StartSeed => self.start_seed = Some(parse::start_seed(source, value)?),
            Key::Strategy => self.strategy = Some(parse::strategy(source, value)?),
            Key::Schedule => self.schedule = Some(parse::schedule(source, value)?),
            Key::MaxSteps => self.max_steps = Some(parse::max_steps(source, value)?),
            Key::MaxTime => self.max_time = Some(parse::max_time(source, value)?),
            Key::PctSteps => self.pct_steps = Some(parse::pct_steps(source, value)?),
            Key::ShrinkBudget => self.shrink_budget = Some(parse::shrink_budget(source, value)?),
            Key::CheckDeterminism => {
                self.check_determinism = Some(parse::switch(key, source, value)?)
            }
            Key::UnhandledPanic => {
                self.unhandled_panic = Some(parse::unhandled_panic(source, value)?)
            }
            Key::Regressions => self.regressions = Some(parse::regressions(source, value)?),
            Key::Log => self.log = Some(parse::switch(key, source, value)?),
            Key::Fuzz => self.fuzz = Some(parse::fuzz(source, value)?),
            Key::Explore => self.explore = Some(parse::switch(key, source, value)?),
            Key::PreemptionBound => {
                self.preemption_bound = Some(parse::preemption_bound(source, value)?)
            }
            Key::MaxSchedules => self.max_schedules = Some(parse::max_schedules(source, value)?),
            Key::NetFaults => self.net_faults = Some(parse::net_faults(source, value)?),
            Key::Buggify => self.buggify = Some(parse::switch(key, source, value)?),
            Key::BuggifyOff => self.buggify_off = Some(parse::buggify_off(source, value)?),
        }
        Ok(())
    }

    /// The settings the `SIM_` variables give, read through `var` (the process
    /// environment is `std::env::var_os`; tests and fuzzers pass a map). An unset or
    /// blank variable is not given; a value that is not UTF-8 or does not parse is a
    /// [`ConfigError`] naming the variable. Variables are read in [`Key::ALL`] order
    /// and the first error is returned.
    ///
    /// ```
    /// use sim::config::Settings;
    /// let s = Settings::from_vars(|name| (name == "SIM_SEEDS").then(|| "500".into())).unwrap();
    /// assert_eq!(s.seeds, Some(500));
    /// let e = Settings::from_vars(|name| (name == "SIM_MAX_TIME").then(|| "10".into()))
    ///     .unwrap_err();
    /// assert_eq!(e.origin(), "SIM_MAX_TIME");
    /// ```
    pub fn from_vars(var: impl Fn(&str) -> Option<OsString>) -> Result<Settings, ConfigError> {
        let mut settings = Settings::default();
        for key in Key::ALL {
            let Some(name) = key.env() else { continue };
            let Some(raw) = var(name) else { continue };
            let value = raw.to_str().ok_or_else(|| {
                ConfigError::new(key, Source::Env, &raw.to_string_lossy(), "valid UTF-8")
            })?;
            if value.trim().is_empty() {
                continue;
            }
            settings.set(key, Source::Env, value)?;
        }
        Ok(settings)
    }

    /// `self` where given, else `below`: the environment over a test's own settings.
    pub fn over(&self, below: &Settings) -> Settings {
        fn pick<T: Clone>(a: &Option<T>, b: &Option<T>) -> Option<T> {
            a.as_ref().or(b.as_ref()).cloned()
        }
        Settings {
            seed: pick(&self.seed, &below.seed),
            seeds: pick(&self.seeds, &below.seeds),
            start_seed: pick(&self.start_seed, &below.start_seed),
            strategy: pick(&self.strategy, &below.strategy),
            schedule: pick(&self.schedule, &below.schedule),
            max_steps: pick(&self.max_steps, &below.max_steps),
            max_time: pick(&self.max_time, &below.max_time),
            pct_steps: pick(&self.pct_steps, &below.pct_steps),
            shrink_budget: pick(&self.shrink_budget, &below.shrink_budget),
            check_determinism: pick(&self.check_determinism, &below.check_determinism),
            unhandled_panic: pick(&self.unhandled_panic, &below.unhandled_panic),
            regressions: pick(&self.regressions, &below.regressions),
            log: pick(&self.log, &below.log),
            fuzz: pick(&self.fuzz, &below.fuzz),
            explore: pick(&self.explore, &below.explore),
            preemption_bound: pick(&self.preemption_bound, &below.preemption_bound),
            max_schedules: pick(&self.max_schedules, &below.max_schedules),
            net_faults: pick(&self.net_faults, &below.net_faults),
            buggify: pick(&self.buggify, &below.buggify),
            buggify_off: pick(&self.buggify_off, &below.buggify_off),
        }
    }

    /// The schedule to replay, if any: [`Key::Schedule`], or a `replay:` strategy.
    pub fn replay(&self) -> Option<&Schedule> {
        match (&self.schedule, &self.strategy) {
            (Some(s), _) | (None, Some(Strategy::Replay(s))) => Some(s),
            _ => None,
        }
    }
}

/// One parser per setting, each taking the value's [`Source`] (for the error) and the
/// text; surrounding whitespace is ignored. The `corosim` command's `clap` value
/// parsers are these functions too.
pub mod parse {
    use super::*;

    /// The accepted forms of a seed.
    pub const SEED_FORMS: &str = "a u64 in decimal or 0x-prefixed hexadecimal (e.g. 42 or 0x2a)";
    /// The accepted forms of a duration.
    pub const DURATION_FORMS: &str =
        "a number with a unit (ns, us, ms, s, m, h), e.g. 10s, 250ms, 1.5h";
    /// The accepted forms of an on/off switch.
    pub const SWITCH_FORMS: &str = "1/true/yes/on or 0/false/no/off";
    const WHOLE: &str = "a whole number >= 1";

    /// A whole decimal number of ASCII digits (no sign).
    fn whole<T: std::str::FromStr>(s: &str) -> Option<T> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    }

    /// A seed without its source: decimal, or `0x` and 1 to 16 hexadecimal digits.
    ///
    /// ```
    /// use sim::config::parse::parse_seed;
    /// assert_eq!(parse_seed("42"), Some(42));
    /// assert_eq!(parse_seed("0x2A"), Some(42));
    /// assert_eq!(parse_seed("-1"), None);
    /// ```
    pub fn parse_seed(s: &str) -> Option<u64> {
        let s = s.trim();
        match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            Some(hex)
                if !hex.is_empty()
                    && hex.len() <= 16
                    && hex.bytes().all(|b| b.is_ascii_hexdigit()) =>
            {
                u64::from_str_radix(hex, 16).ok()
            }
            Some(_) => None,
            None => whole(s),
        }
    }

    /// [`Key::Seed`].
    pub fn seed(source: Source, v: &str) -> Result<u64, ConfigError> {
        parse_seed(v).ok_or_else(|| ConfigError::new(Key::Seed, source, v, SEED_FORMS))
    }

    /// [`Key::Seeds`]: `>= 1`.
    pub fn seeds(source: Source, v: &str) -> Result<u64, ConfigError> {
        whole(v.trim())
            .filter(|&n| n >= 1)
            .ok_or_else(|| ConfigError::new(Key::Seeds, source, v, WHOLE))
    }

    /// [`Key::StartSeed`]: a seed, or `random`.
    pub fn start_seed(source: Source, v: &str) -> Result<StartSeed, ConfigError> {
        if v.trim().eq_ignore_ascii_case("random") {
            return Ok(StartSeed::Random);
        }
        parse_seed(v).map(StartSeed::Fixed).ok_or_else(|| {
            ConfigError::new(
                Key::StartSeed,
                source,
                v,
                format!("`random` or {SEED_FORMS}"),
            )
        })
    }

    /// The largest fuzz input file read (`bytes:@<path>`, `corosim replay --bytes`).
    pub const MAX_INPUT_FILE: u64 = 16 << 20;

    /// The bytes of a fuzz input file (at most [`MAX_INPUT_FILE`]), or why it cannot
    /// be read.
    pub fn input_file(path: &std::path::Path) -> Result<Vec<u8>, String> {
        use std::io::Read;
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_INPUT_FILE + 1).read_to_end(&mut bytes))
            .map_err(|e| format!("cannot read input file {}: {e}", path.display()))?;
        if bytes.len() as u64 > MAX_INPUT_FILE {
            return Err(format!(
                "input file {} is larger than {MAX_INPUT_FILE} bytes",
                path.display()
            ));
        }
        Ok(bytes)
    }

    /// [`Key::Strategy`]: any [`Strategy`] string, or `bytes:@<path>`: a fuzz input
    /// read from a file (at most [`MAX_INPUT_FILE`] bytes).
    pub fn strategy(source: Source, v: &str) -> Result<Strategy, ConfigError> {
        if let Some(path) = v.trim().strip_prefix("bytes:@") {
            return input_file(path.as_ref()).map(Strategy::Bytes).map_err(|e| {
                ConfigError::new(
                    Key::Strategy,
                    source,
                    v,
                    format!("`bytes:@<path>` of a readable file ({e})"),
                )
            });
        }
        v.trim().parse().map_err(|e: ParseStrategyError| {
            ConfigError::new(
                Key::Strategy,
                source,
                v,
                format!(
                    "one of the accepted forms {} ({})",
                    ParseStrategyError::ACCEPTED,
                    e.reason
                ),
            )
        })
    }

    /// [`Key::Strategy`] for a sweep over seeds: a strategy that draws from the seed
    /// (not `replay:` or `bytes:`, which ignore it).
    pub fn sweep_strategy(source: Source, v: &str) -> Result<Strategy, ConfigError> {
        match strategy(source, v)? {
            Strategy::Replay(_) | Strategy::Bytes(_) => Err(ConfigError::new(
                Key::Strategy,
                source,
                v,
                "a sweep strategy: portfolio, random, pct, pct:<depth>, pct:<depth>:<steps>, \
                 prob, prob:<keep percent>, pos, round-robin (replay a schedule with its own \
                 setting)",
            )),
            s => Ok(s),
        }
    }

    /// The largest schedule file read (`@<path>`): a schedule string of
    /// [`MAX_DECISIONS`](crate::sched::MAX_DECISIONS) decisions is far shorter, and
    /// `@/dev/zero` must not allocate without end.
    pub const MAX_SCHEDULE_FILE: u64 = 64 << 20;

    /// [`Key::Schedule`]: a schedule string, or `@<path>` of a file holding one (at
    /// most [`MAX_SCHEDULE_FILE`] bytes).
    pub fn schedule(source: Source, v: &str) -> Result<Schedule, ConfigError> {
        let text = match v.trim().strip_prefix('@') {
            Some(path) => read_bounded(path.as_ref(), MAX_SCHEDULE_FILE).map_err(|e| {
                ConfigError::new(
                    Key::Schedule,
                    source,
                    v,
                    format!(
                        "a readable file holding a schedule string (cannot read schedule \
                         file {path:?}: {e})"
                    ),
                )
            })?,
            None => v.to_string(),
        };
        text.trim().parse().map_err(|e: ParseScheduleError| {
            ConfigError::new(
                Key::Schedule,
                source,
                v,
                format!(
                    "a schedule string v2:<seed hex>:<id>[x<count>].<id>... or @<file> \
                     (at byte {}: found {:?}, expected {})",
                    e.position, e.found, e.expected
                ),
            )
        })
    }

    /// Reads a UTF-8 text file of at most `limit` bytes.
    pub(crate) fn read_bounded(path: &std::path::Path, limit: u64) -> std::io::Result<String> {
        use std::io::Read;
        let mut text = String::new();
        std::fs::File::open(path)?
            .take(limit + 1)
            .read_to_string(&mut text)?;
        if text.len() as u64 > limit {
            return Err(std::io::Error::other(format!("longer than {limit} bytes")));
        }
        Ok(text)
    }

    /// [`Key::MaxSteps`]: `>= 1`.
    pub fn max_steps(source: Source, v: &str) -> Result<u64, ConfigError> {
        whole(v.trim())
            .filter(|&n| n >= 1)
            .ok_or_else(|| ConfigError::new(Key::MaxSteps, source, v, WHOLE))
    }

    /// [`Key::MaxTime`]: a [`duration`] greater than zero.
    pub fn max_time(source: Source, v: &str) -> Result<Duration, ConfigError> {
        let expected = || format!("a duration > 0: {DURATION_FORMS}");
        match duration(v) {
            Ok(d) if !d.is_zero() => Ok(d),
            Ok(_) => Err(ConfigError::new(
                Key::MaxTime,
                source,
                v,
                format!("{} (a zero bound fails every run)", expected()),
            )),
            Err(why) => Err(ConfigError::new(
                Key::MaxTime,
                source,
                v,
                format!("{} ({why})", expected()),
            )),
        }
    }

    /// [`Key::PctSteps`]: `>= 1`.
    pub fn pct_steps(source: Source, v: &str) -> Result<u64, ConfigError> {
        whole(v.trim())
            .filter(|&n| n >= 1)
            .ok_or_else(|| ConfigError::new(Key::PctSteps, source, v, WHOLE))
    }

    /// [`Key::ShrinkBudget`]: a whole number of replays (`0`: no shrinking).
    pub fn shrink_budget(source: Source, v: &str) -> Result<u32, ConfigError> {
        whole(v.trim()).ok_or_else(|| {
            ConfigError::new(
                Key::ShrinkBudget,
                source,
                v,
                "a whole number up to 4294967295 (0 turns shrinking off)",
            )
        })
    }

    /// [`Key::Fuzz`]: `>= 1` executions.
    pub fn fuzz(source: Source, v: &str) -> Result<u64, ConfigError> {
        whole(v.trim())
            .filter(|&n| n >= 1)
            .ok_or_else(|| ConfigError::new(Key::Fuzz, source, v, WHOLE))
    }

    /// [`Key::PreemptionBound`]: a whole number of preemptions (`0`: none).
    pub fn preemption_bound(source: Source, v: &str) -> Result<u32, ConfigError> {
        whole(v.trim()).ok_or_else(|| {
            ConfigError::new(
                Key::PreemptionBound,
                source,
                v,
                "a whole number of preemptions up to 4294967295",
            )
        })
    }

    /// [`Key::MaxSchedules`]: `>= 1`.
    pub fn max_schedules(source: Source, v: &str) -> Result<u64, ConfigError> {
        whole(v.trim())
            .filter(|&n| n >= 1)
            .ok_or_else(|| ConfigError::new(Key::MaxSchedules, source, v, WHOLE))
    }

    /// [`Key::NetFaults`]: what [`Faults`](crate::net::Faults) parses, e.g.
    /// `latency=1ms..5ms,loss=0.1`.
    pub fn net_faults(source: Source, v: &str) -> Result<crate::net::faults::Faults, ConfigError> {
        v.trim().parse().map_err(|e: String| {
            let expected = format!(
                "network faults: comma-separated `key=value` pairs, e.g. \
                 latency=1ms..5ms,loss=0.1,dup=0,reorder=0.2,clock=10ms,drift=50 ({e})"
            );
            ConfigError::new(Key::NetFaults, source, v, expected)
        })
    }

    /// [`Key::BuggifyOff`]: `buggify!` sites as reports print them (`file:line:column`),
    /// comma-separated.
    pub fn buggify_off(source: Source, v: &str) -> Result<Vec<String>, ConfigError> {
        const FORM: &str = "comma-separated buggify! sites, each `file:line:column` as a report prints it (e.g. src/net.rs:40:12)";
        let site_ok = |site: &str| {
            let mut parts = site.rsplitn(3, ':');
            let (col, line, file) = (parts.next(), parts.next(), parts.next());
            let number = |p: Option<&str>| p.is_some_and(|p| p.parse::<u32>().is_ok_and(|n| n > 0));
            number(col) && number(line) && file.is_some_and(|f| !f.is_empty())
        };
        let sites: Vec<String> = v
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        if sites.is_empty() || !sites.iter().all(|s| site_ok(s)) {
            return Err(ConfigError::new(Key::BuggifyOff, source, v, FORM));
        }
        Ok(sites)
    }

    /// An on/off setting ([`Key::CheckDeterminism`], [`Key::Log`], [`Key::Explore`],
    /// [`Key::Buggify`]).
    pub fn switch(key: Key, source: Source, v: &str) -> Result<bool, ConfigError> {
        match v.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" => Ok(false),
            _ => Err(ConfigError::new(key, source, v, SWITCH_FORMS)),
        }
    }

    /// [`Key::UnhandledPanic`]: `ignore` or `shutdown_runtime`.
    pub fn unhandled_panic(source: Source, v: &str) -> Result<UnhandledPanic, ConfigError> {
        match v.trim() {
            "ignore" => Ok(UnhandledPanic::Ignore),
            "shutdown_runtime" => Ok(UnhandledPanic::ShutdownRuntime),
            _ => Err(ConfigError::new(
                Key::UnhandledPanic,
                source,
                v,
                "\"ignore\" or \"shutdown_runtime\"",
            )),
        }
    }

    /// [`Key::Regressions`]: `off`, or the path of the file.
    pub fn regressions(source: Source, v: &str) -> Result<Regressions, ConfigError> {
        match v.trim() {
            "" => Err(ConfigError::new(
                Key::Regressions,
                source,
                v,
                "\"off\" or a file path",
            )),
            "off" => Ok(Regressions::Off),
            path => Ok(Regressions::File(path.into())),
        }
    }

    /// The one duration grammar (see the [module docs](super)): a decimal number and a
    /// unit. The error says why the text is not one.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sim::config::parse::duration;
    /// assert_eq!(duration("1.5s"), Ok(Duration::from_millis(1500)));
    /// assert_eq!(duration(" 250 ms "), Ok(Duration::from_millis(250)));
    /// assert_eq!(duration("2m"), Ok(Duration::from_secs(120)));
    /// assert!(duration("10").is_err()); // which unit?
    /// assert!(duration("100000000000000000000h").is_err()); // past Duration::MAX
    /// ```
    pub fn duration(text: &str) -> Result<Duration, String> {
        let s = text.trim();
        let number_end = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        let (number, unit) = s.split_at(number_end);
        let nanos_per_unit: u128 = match unit.trim_start() {
            "ns" => 1,
            "us" | "µs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" | "min" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => return Err("no unit".into()),
            other => {
                return Err(format!(
                    "unknown unit {:?}",
                    other.chars().take(20).collect::<String>()
                ));
            }
        };
        let (int, frac) = number.split_once('.').unwrap_or((number, ""));
        if int.is_empty() && frac.is_empty() {
            return Err("no number before the unit".into());
        }
        if frac.contains('.') {
            return Err("more than one decimal point".into());
        }
        let too_long = || format!("longer than the longest duration, {}s", u64::MAX);
        let mut nanos: u128 = 0;
        for d in int.bytes() {
            nanos = nanos
                .checked_mul(10)
                .and_then(|n| n.checked_add(u128::from(d - b'0') * nanos_per_unit))
                .filter(|&n| n <= Duration::MAX.as_nanos())
                .ok_or_else(too_long)?;
        }
        // The fraction, in whole nanoseconds: digits past the unit's precision are
        // dropped (at most 13 count: an hour has 3.6e12 ns).
        let mut scale = nanos_per_unit;
        for d in frac.bytes() {
            if scale < 10 {
                break;
            }
            scale /= 10;
            nanos += u128::from(d - b'0') * scale;
        }
        if nanos > Duration::MAX.as_nanos() {
            return Err(too_long());
        }
        let secs = u64::try_from(nanos / 1_000_000_000).map_err(|_| too_long())?;
        Ok(Duration::new(secs, (nanos % 1_000_000_000) as u32))
    }

    /// The checks of the typed methods, the same as the parsers'. Each panics with a
    /// [`ConfigError`] naming the method and the value.
    pub mod valid {
        use super::*;

        fn check<T: fmt::Debug>(
            key: Key,
            method: &'static str,
            value: T,
            ok: bool,
            expected: &str,
        ) -> T {
            if !ok {
                panic!(
                    "{}",
                    ConfigError::new(key, Source::Method(method), &format!("{value:?}"), expected)
                );
            }
            value
        }

        /// [`Key::Seeds`]: `>= 1`.
        pub fn seeds(method: &'static str, n: u64) -> u64 {
            check(Key::Seeds, method, n, n >= 1, WHOLE)
        }

        /// [`Key::Fuzz`]: `>= 1`.
        pub fn fuzz(method: &'static str, n: u64) -> u64 {
            check(Key::Fuzz, method, n, n >= 1, WHOLE)
        }

        /// [`Key::MaxSchedules`]: `>= 1`.
        pub fn max_schedules(method: &'static str, n: u64) -> u64 {
            check(Key::MaxSchedules, method, n, n >= 1, WHOLE)
        }

        /// [`Key::MaxSteps`]: `>= 1`.
        pub fn max_steps(method: &'static str, n: u64) -> u64 {
            check(Key::MaxSteps, method, n, n >= 1, WHOLE)
        }

        /// [`Key::PctSteps`]: `>= 1`.
        pub fn pct_steps(method: &'static str, n: u64) -> u64 {
            check(Key::PctSteps, method, n, n >= 1, WHOLE)
        }

        /// [`Key::MaxTime`]: `> 0` (a zero bound fails every run).
        pub fn max_time(method: &'static str, d: Duration) -> Duration {
            check(
                Key::MaxTime,
                method,
                d,
                !d.is_zero(),
                "a duration > 0 (a zero bound fails every run)",
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse::*;
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_vars(move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| OsString::from(v))
        })
    }

    #[test]
    fn the_table_lists_every_setting_with_its_variable_and_argument() {
        let docs = include_str!("config.rs");
        for key in Key::ALL {
            let row = docs
                .lines()
                .find(|l| l.starts_with(&format!("//! | `{}` |", key.name())))
                .unwrap_or_else(|| panic!("no row for {}", key.name()));
            if let Some(var) = key.env() {
                assert!(row.contains(&format!("`{var}`")), "{row}");
            }
            if key.attr().is_some() {
                assert!(row.contains(&format!("`{} = ", key.name())), "{row}");
            }
        }
    }

    #[test]
    fn every_variable_is_read() {
        let s = vars(&[
            ("SIM_SEED", "0x10"),
            ("SIM_SEEDS", "500"),
            ("SIM_START_SEED", "random"),
            ("SIM_STRATEGY", "pct:2"),
            ("SIM_SCHEDULE", "v2:7:0.1"),
            ("SIM_MAX_STEPS", "99"),
            ("SIM_MAX_TIME", "5s"),
            ("SIM_PCT_STEPS", "40"),
            ("SIM_SHRINK_BUDGET", "0"),
            ("SIM_CHECK_DETERMINISM", "on"),
            ("SIM_LOG", "0"),
            ("SIM_FUZZ", "5000"),
            ("SIM_EXPLORE", "yes"),
            ("SIM_PREEMPTION_BOUND", "0"),
            ("SIM_MAX_SCHEDULES", "300"),
            ("SIM_NET_FAULTS", "loss=0.5"),
            ("SIM_BUGGIFY", "off"),
            ("SIM_BUGGIFY_OFF", "src/a.rs:1:2"),
        ])
        .unwrap();
        assert_eq!(
            s,
            Settings {
                seed: Some(16),
                seeds: Some(500),
                start_seed: Some(StartSeed::Random),
                strategy: Some(Strategy::pct(2)),
                schedule: Some("v2:7:0.1".parse().unwrap()),
                max_steps: Some(99),
                max_time: Some(Duration::from_secs(5)),
                pct_steps: Some(40),
                shrink_budget: Some(0),
                check_determinism: Some(true),
                unhandled_panic: None,
                regressions: None,
                log: Some(false),
                fuzz: Some(5000),
                explore: Some(true),
                preemption_bound: Some(0),
                max_schedules: Some(300),
                net_faults: Some("loss=0.5".parse().unwrap()),
                buggify: Some(false),
                buggify_off: Some(vec!["src/a.rs:1:2".into()]),
            }
        );
        assert_eq!(vars(&[("SIM_SEED", "  ")]).unwrap(), Settings::default());
        let replay = vars(&[("SIM_STRATEGY", "replay:v2:3:0")]).unwrap();
        assert_eq!(replay.replay().unwrap().seed(), 3);
    }

    #[test]
    fn malformed_values_name_variable_value_and_forms() {
        for (var, value, hint) in [
            ("SIM_SEED", "abc", "decimal"),
            ("SIM_SEED", "-3", "hexadecimal"),
            ("SIM_SEED", "0x", "hexadecimal"),
            ("SIM_SEED", "0x+1", "hexadecimal"),
            ("SIM_SEED", "18446744073709551616", "u64"),
            ("SIM_STRATEGY", "fastest", "round-robin"),
            ("SIM_STRATEGY", "pct:0", "pct:<depth"),
            ("SIM_SCHEDULE", "v2:2a:0.x", "expected"),
            (
                "SIM_SCHEDULE",
                "@/nonexistent/schedule.txt",
                "readable file",
            ),
            ("SIM_MAX_STEPS", "0", ">= 1"),
            ("SIM_MAX_STEPS", "+5", ">= 1"),
            ("SIM_MAX_TIME", "soon", "250ms"),
            ("SIM_MAX_TIME", "0s", "a zero bound"),
            ("SIM_MAX_TIME", "10", "no unit"),
            ("SIM_PCT_STEPS", "0", ">= 1"),
            ("SIM_SEEDS", "0", ">= 1"),
            ("SIM_START_SEED", "soon", "random"),
            ("SIM_SHRINK_BUDGET", "-1", "0 turns shrinking off"),
            ("SIM_SHRINK_BUDGET", "4294967296", "4294967295"),
            ("SIM_CHECK_DETERMINISM", "perhaps", "0/false"),
            ("SIM_LOG", "maybe", "0/false"),
            (
                "SIM_NET_FAULTS",
                "loss=2",
                "comma-separated `key=value` pairs",
            ),
            ("SIM_NET_FAULTS", "loss=2", "within 0..=1"),
            ("SIM_BUGGIFY_OFF", "a:b", "file:line:column"),
        ] {
            let e = vars(&[(var, value)]).unwrap_err();
            let text = e.to_string();
            assert_eq!((e.origin().as_str(), e.source), (var, Source::Env));
            assert!(
                text.contains(var) && text.contains(value) && text.contains(hint),
                "{text}"
            );
        }
    }

    #[test]
    fn schedule_files_are_read_within_a_bound() {
        let dir = std::env::temp_dir().join(format!("corosim-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("s.schedule");
        std::fs::write(&file, "v2:2a:0.1x3\n").unwrap();
        let s = schedule(Source::Env, &format!("@{}", file.display())).unwrap();
        assert_eq!(s.to_string(), "v2:2a:0.1x3");
        // An endless file is an error, not an endless allocation.
        let e = schedule(Source::Env, "@/dev/zero").unwrap_err();
        assert!(e.to_string().contains("longer than 67108864 bytes"), "{e}");
        let e = schedule(Source::Env, &format!("@{}", dir.display())).unwrap_err();
        assert!(e.to_string().contains("cannot read schedule file"), "{e}");
    }

    #[test]
    fn a_bad_schedule_string_says_what_a_schedule_string_is_and_where_it_broke() {
        let e = schedule(Source::Flag, "v2:").unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with("invalid --schedule=\"v2:\": expected a schedule string v2:"),
            "{text}"
        );
        assert!(text.contains("at byte 3: found \"\""), "{text}");
        assert!(!text.contains("expected invalid"), "{text}");
    }

    #[test]
    fn a_value_that_is_not_utf8_is_an_error_naming_the_variable() {
        use std::os::unix::ffi::OsStringExt;
        let e = Settings::from_vars(|name| {
            (name == "SIM_SEEDS").then(|| OsString::from_vec(vec![b'1', 0xff]))
        })
        .unwrap_err();
        assert_eq!(e.origin(), "SIM_SEEDS");
        assert!(e.to_string().contains("valid UTF-8"), "{e}");
    }

    #[test]
    fn one_parser_for_every_source() {
        // The same text is accepted or rejected from every source alike; only the
        // name of the origin differs.
        for text in [
            "10s",
            "1.5h",
            "10",
            "0s",
            "0",
            "100000000000000000000",
            "5us",
            "1e3s",
        ] {
            let results: Vec<Result<Duration, String>> = [Source::Env, Source::Attr, Source::Flag]
                .into_iter()
                .map(|src| max_time(src, text).map_err(|e| e.expected))
                .collect();
            assert!(
                results.windows(2).all(|w| w[0] == w[1]),
                "{text}: {results:?}"
            );
        }
        let e = max_time(Source::Attr, "0s").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("invalid #[sim::test(max_time)]=\"0s\""),
            "{e}"
        );
        let e = seeds(Source::Flag, "0").unwrap_err();
        assert!(e.to_string().starts_with("invalid --seeds=\"0\""), "{e}");
    }

    #[test]
    fn durations() {
        let ok = |s: &str| duration(s).unwrap();
        assert_eq!(ok("10s"), Duration::from_secs(10));
        assert_eq!(ok("250ms"), Duration::from_millis(250));
        assert_eq!(ok("1.5s"), Duration::from_millis(1500));
        assert_eq!(ok("2m"), Duration::from_secs(120));
        assert_eq!(ok("2min"), Duration::from_secs(120));
        assert_eq!(ok("1h"), Duration::from_secs(3600));
        assert_eq!(ok("5us"), Duration::from_micros(5));
        assert_eq!(ok("5µs"), Duration::from_micros(5));
        assert_eq!(ok("10ns"), Duration::from_nanos(10));
        assert_eq!(ok(".25s"), Duration::from_millis(250));
        assert_eq!(ok("1.s"), Duration::from_secs(1));
        assert_eq!(ok("0.1s"), Duration::from_millis(100));
        assert_eq!(ok("1.0000000009s"), Duration::from_nanos(1_000_000_000));
        assert_eq!(ok("0.5ns"), Duration::ZERO);
        assert_eq!(ok("1.25h"), Duration::from_secs(4500));
        assert_eq!(ok(&format!("{}s", u64::MAX)), Duration::from_secs(u64::MAX));
        assert_eq!(ok(&format!("{}.999999999s", u64::MAX)), Duration::MAX);
        for bad in [
            "",
            "10",
            "s",
            ".s",
            "10 parsecs",
            "-1s",
            "+1s",
            "1..5s",
            "1.5.5s",
            "1e3s",
            "10s10",
            "NaNs",
            "infs",
            "100000000000000000000s",
            "100000000000000000000",
            "18446744073709551616s",
            "5124095576030432h",
            "99999999999999999999999999999999999999999999999999h",
        ] {
            assert!(duration(bad).is_err(), "{bad:?}: {:?}", duration(bad));
        }
    }

    #[test]
    fn typed_methods_run_the_same_checks() {
        let caught =
            std::panic::catch_unwind(|| valid::max_time("Builder::max_time", Duration::ZERO))
                .unwrap_err();
        let msg = caught.downcast_ref::<String>().unwrap();
        assert!(
            msg.starts_with("invalid Builder::max_time=\"0ns\": expected a duration > 0"),
            "{msg}"
        );
        assert_eq!(valid::seeds("Check::seeds", 3), 3);
    }

    #[test]
    fn later_layers_win_where_given() {
        let mut code = Settings::default();
        code.set(Key::Seeds, Source::Attr, "10").unwrap();
        code.set(Key::MaxTime, Source::Attr, "1s").unwrap();
        let env = vars(&[("SIM_SEEDS", "20")]).unwrap();
        let merged = env.over(&code);
        assert_eq!(merged.seeds, Some(20));
        assert_eq!(merged.max_time, Some(Duration::from_secs(1)));
    }
}
