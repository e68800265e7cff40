//! Every `SIM_` environment variable, read here and nowhere else.
//!
//! | variable | accepted values | effect |
//! |---|---|---|
//! | `SIM_SEED` | a `u64`, decimal or `0x`-prefixed hexadecimal | the run's seed |
//! | `SIM_STRATEGY` | `random`, `pct`, `pct:<depth>`, `round-robin` (`rr`), `bytes:<hex>`, `replay:<schedule>` | the [`Strategy`] |
//! | `SIM_SCHEDULE` | a schedule string (`v2:...`) or `@<path>` of a file holding one | replay that schedule (implies `Strategy::Replay`) |
//! | `SIM_MAX_STEPS` | a whole number `>= 1` | [`Builder::max_steps`] |
//! | `SIM_MAX_TIME` | a duration: a number with `ns`, `us`, `ms`, `s`, `m` or `h` (`10s`, `250ms`) | [`Builder::max_time`] |
//! | `SIM_CHECK_DETERMINISM` | `1`/`true`, `0`/`false` | [`Builder::check_determinism`]: run every seed twice, compare traces |
//! | `SIM_SEEDS` | a whole number `>= 1` | how many seeds [`Check`](crate::Check) sweeps |
//! | `SIM_START_SEED` | a seed, or `random` (a fresh start seed, printed first) | the first seed of a sweep |
//! | `SIM_SHRINK_BUDGET` | a whole number (`0` turns shrinking off) | most replays spent shrinking a failure |
//! | `SIM_LOG` | `1`/`true`, `0`/`false` | show user `tracing` logs in sweeps too (see [`log`](crate::log)) |
//!
//! With `SIM_SEED` or `SIM_SCHEDULE` set, a [`Check`](crate::Check) runs only that one
//! seed or schedule instead of sweeping.
//!
//! [`Builder::from_env`] applies them; a malformed value is a [`ConfigError`] naming
//! the variable, the value and the accepted forms. An unset or empty variable leaves
//! the builder's setting alone.

use std::fmt;
use std::time::Duration;

use crate::runtime::Config;
use crate::{Builder, Schedule, Strategy};

/// A configuration value that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Where the value came from (an environment variable, an attribute argument...).
    pub variable: String,
    /// The value given.
    pub value: String,
    /// The accepted forms, or why this one is rejected.
    pub expected: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid {}={:?}: expected {}",
            self.variable, self.value, self.expected
        )
    }
}

impl std::error::Error for ConfigError {}

/// Reads a variable from the process environment.
fn process_var(name: &str) -> Result<Option<String>, ConfigError> {
    match std::env::var(name) {
        Ok(v) if v.trim().is_empty() => Ok(None),
        Ok(v) => Ok(Some(v.trim().to_string())),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(v)) => Err(ConfigError {
            variable: name.into(),
            value: v.to_string_lossy().into_owned(),
            expected: "valid UTF-8".into(),
        }),
    }
}

fn invalid(variable: &str, value: &str, expected: impl Into<String>) -> ConfigError {
    ConfigError {
        variable: variable.into(),
        value: value.into(),
        expected: expected.into(),
    }
}

/// Parses a seed: decimal or `0x`-prefixed hexadecimal `u64`.
pub fn parse_seed(s: &str) -> Option<u64> {
    let s = s.trim();
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

/// Parses a duration such as `10s`, `250ms`, `1.5s`, `2m`, `1h`, `500us`, `10ns`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s.find(|c: char| c.is_ascii_alphabetic())?;
    let (num, unit) = s.split_at(split);
    let value: f64 = num
        .trim()
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite() && *v >= 0.0)?;
    let secs = match unit {
        "ns" => value / 1e9,
        "us" | "µs" => value / 1e6,
        "ms" => value / 1e3,
        "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(secs).ok()
}

const BOOL_FORMS: &str = "1/true/yes/on or 0/false/no/off";

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

pub(crate) const SEED_FORMS: &str = "a u64 in decimal or 0x-prefixed hexadecimal (e.g. 42 or 0x2a)";
pub(crate) const DURATION_FORMS: &str = "a duration such as 10s, 250ms, 1.5s, 2m, 1h, 500us";

pub(crate) fn apply(b: Builder) -> Result<Builder, ConfigError> {
    apply_from(b, process_var)
}

/// [`apply`] over any source of variables (tests pass a map).
pub(crate) fn apply_from(
    mut b: Builder,
    var: impl Fn(&str) -> Result<Option<String>, ConfigError>,
) -> Result<Builder, ConfigError> {
    let var = &var;
    if let Some(v) = var("SIM_SEED")? {
        b = b.seed(parse_seed(&v).ok_or_else(|| invalid("SIM_SEED", &v, SEED_FORMS))?);
    }
    if let Some(v) = var("SIM_STRATEGY")? {
        let s: Strategy = v.parse().map_err(|e: crate::sched::ParseStrategyError| {
            invalid(
                "SIM_STRATEGY",
                &v,
                format!(
                    "{} ({})",
                    crate::sched::ParseStrategyError::ACCEPTED,
                    e.reason
                ),
            )
        })?;
        b = b.strategy(s);
    }
    if let Some(v) = var("SIM_SCHEDULE")? {
        let text = match v.strip_prefix('@') {
            Some(path) => std::fs::read_to_string(path).map_err(|e| {
                invalid(
                    "SIM_SCHEDULE",
                    &v,
                    format!("a readable file holding a schedule string ({e})"),
                )
            })?,
            None => v.clone(),
        };
        let s: Schedule = text
            .trim()
            .parse()
            .map_err(|e: crate::sched::ParseScheduleError| {
                invalid("SIM_SCHEDULE", &v, e.to_string())
            })?;
        b = b.strategy(Strategy::Replay(s));
    }
    if let Some(v) = var("SIM_CHECK_DETERMINISM")? {
        b = b.check_determinism(
            parse_bool(&v).ok_or_else(|| invalid("SIM_CHECK_DETERMINISM", &v, BOOL_FORMS))?,
        );
    }
    if let Some(v) = var("SIM_MAX_STEPS")? {
        let n = v.parse::<u64>().ok().filter(|&n| n >= 1);
        b = b.max_steps(n.ok_or_else(|| invalid("SIM_MAX_STEPS", &v, "a whole number >= 1"))?);
    }
    if let Some(v) = var("SIM_MAX_TIME")? {
        let d = parse_duration(&v).filter(|d| !d.is_zero());
        b = b.max_time(d.ok_or_else(|| invalid("SIM_MAX_TIME", &v, DURATION_FORMS))?);
    }
    Ok(b)
}

/// What the environment says about a seed sweep.
#[derive(Debug, Default, Clone)]
pub(crate) struct SweepEnv {
    /// `SIM_SEED`: run only this seed.
    pub(crate) seed: Option<u64>,
    /// `SIM_SCHEDULE` (or `SIM_STRATEGY=replay:..`): replay only this.
    pub(crate) schedule: Option<Schedule>,
    pub(crate) strategy: Option<Strategy>,
    pub(crate) seeds: Option<u64>,
    pub(crate) start_seed: Option<StartSeed>,
    pub(crate) shrink_budget: Option<u32>,
    pub(crate) max_steps: Option<u64>,
    pub(crate) max_time: Option<Duration>,
    pub(crate) log: Option<bool>,
    pub(crate) check_determinism: Option<bool>,
}

/// `SIM_START_SEED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StartSeed {
    Fixed(u64),
    Random,
}

pub(crate) fn sweep() -> Result<SweepEnv, ConfigError> {
    sweep_from(process_var)
}

pub(crate) fn sweep_from(
    var: impl Fn(&str) -> Result<Option<String>, ConfigError>,
) -> Result<SweepEnv, ConfigError> {
    let b = apply_from(Builder::new(), &var)?;
    let config = b.config();
    let mut env = SweepEnv::default();
    if var("SIM_SEED")?.is_some() {
        env.seed = Some(config.seed);
    }
    match &config.strategy {
        Strategy::Replay(s) => env.schedule = Some(s.clone()),
        other if var("SIM_STRATEGY")?.is_some() => env.strategy = Some(other.clone()),
        _ => {}
    }
    if var("SIM_CHECK_DETERMINISM")?.is_some() {
        env.check_determinism = Some(config.check_determinism);
    }
    if var("SIM_MAX_STEPS")?.is_some() {
        env.max_steps = Some(config.max_steps);
    }
    if var("SIM_MAX_TIME")?.is_some() {
        env.max_time = Some(config.max_time);
    }
    if let Some(v) = var("SIM_SEEDS")? {
        let n = v.parse::<u64>().ok().filter(|&n| n >= 1);
        env.seeds = Some(n.ok_or_else(|| invalid("SIM_SEEDS", &v, "a whole number >= 1"))?);
    }
    if let Some(v) = var("SIM_START_SEED")? {
        env.start_seed = Some(if v.eq_ignore_ascii_case("random") {
            StartSeed::Random
        } else {
            StartSeed::Fixed(parse_seed(&v).ok_or_else(|| {
                invalid("SIM_START_SEED", &v, format!("`random` or {SEED_FORMS}"))
            })?)
        });
    }
    if let Some(v) = var("SIM_SHRINK_BUDGET")? {
        let n = v.parse::<u32>().ok();
        env.shrink_budget = Some(n.ok_or_else(|| {
            invalid(
                "SIM_SHRINK_BUDGET",
                &v,
                "a whole number (0 turns shrinking off)",
            )
        })?);
    }
    if let Some(v) = var("SIM_LOG")? {
        env.log = Some(parse_bool(&v).ok_or_else(|| invalid("SIM_LOG", &v, BOOL_FORMS))?);
    }
    Ok(env)
}

/// A fresh start seed from outside the simulation, for `SIM_START_SEED=random`.
pub(crate) fn fresh_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

/// Cargo's variables about the package under test (not `SIM_`, but read here too so
/// the environment is read in one place): `(CARGO_PKG_NAME, CARGO_MANIFEST_DIR)`.
pub(crate) fn cargo_package() -> (Option<String>, Option<String>) {
    (
        std::env::var("CARGO_PKG_NAME").ok(),
        std::env::var("CARGO_MANIFEST_DIR").ok(),
    )
}

/// Where build artifacts go: `CARGO_TARGET_DIR`, else the `target` directory the test
/// binary runs from, else `./target`.
pub(crate) fn target_dir() -> std::path::PathBuf {
    if let Ok(dir) = std::env::var("CARGO_TARGET_DIR") {
        return dir.into();
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            exe.ancestors()
                .find(|a| a.file_name().is_some_and(|n| n == "deps"))
                .and_then(|deps| deps.parent()?.parent().map(std::path::Path::to_path_buf))
        })
        .unwrap_or_else(|| "target".into())
}

/// The shell command that reproduces a run of `config`: the `SIM_` variables that
/// select it, then `cargo test` filtered to the current test when running under the
/// test harness.
pub(crate) fn reproduce_command(config: &Config) -> String {
    let mut cmd = match &config.strategy {
        Strategy::Replay(s) => format!("SIM_SCHEDULE={s}"),
        other => format!(
            "SIM_SEED={} SIM_STRATEGY={}",
            config.seed,
            other.env_value()
        ),
    };
    if config.check_determinism {
        cmd.insert_str(0, "SIM_CHECK_DETERMINISM=1 ");
    }
    let Some(test) = std::thread::current()
        .name()
        .filter(|n| *n != "main")
        .map(str::to_string)
    else {
        // Not under the test harness: rerun the program (it must use Builder::from_env).
        let program: Vec<String> = std::env::args().collect();
        return format!("{cmd} {}", program.join(" "));
    };
    cmd.push_str(" cargo test");
    let package = std::env::var("CARGO_PKG_NAME").ok();
    if let Some(pkg) = &package {
        cmd.push_str(&format!(" -p {pkg}"));
    }
    // The test binary is `<target>-<hash>`: the lib's unit tests, or an integration test.
    let target = std::env::current_exe().ok().and_then(|exe| {
        let stem = exe.file_stem()?.to_str()?.to_string();
        Some(
            stem.rsplit_once('-')
                .map_or(stem.clone(), |(t, _)| t.to_string()),
        )
    });
    match (target, &package) {
        (Some(t), Some(p)) if t == p.replace('-', "_") => cmd.push_str(" --lib"),
        (Some(t), _) => cmd.push_str(&format!(" --test {t}")),
        _ => {}
    }
    cmd.push_str(&format!(" -- {test} --exact"));
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(vars: &[(&str, &str)]) -> Result<Builder, ConfigError> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        apply_from(Builder::new(), move |name| {
            Ok(vars
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .filter(|v| !v.trim().is_empty()))
        })
    }

    #[test]
    fn applies_every_variable() {
        let b = from(&[
            ("SIM_SEED", "0x10"),
            ("SIM_STRATEGY", "pct:2"),
            ("SIM_MAX_STEPS", "99"),
            ("SIM_MAX_TIME", "5s"),
        ])
        .unwrap();
        let rt = b.build();
        assert_eq!(rt.seed(), 16);
        // The runtime names the run length PCT uses (the default here).
        assert_eq!(rt.strategy(), &Strategy::pct(2).with_pct_steps(1000));
        let b = from(&[("SIM_SCHEDULE", "v2:7:0.1")]).unwrap();
        assert_eq!(b.build().seed(), 7);
        assert_eq!(from(&[]).unwrap().build().seed(), 0);
    }

    #[test]
    fn malformed_values_name_variable_value_and_forms() {
        for (var, value, hint) in [
            ("SIM_SEED", "abc", "decimal"),
            ("SIM_SEED", "-3", "hexadecimal"),
            ("SIM_STRATEGY", "fastest", "round-robin"),
            ("SIM_STRATEGY", "pct:0", "pct:<depth"),
            ("SIM_SCHEDULE", "v2:2a:0.x", "expected"),
            (
                "SIM_SCHEDULE",
                "@/nonexistent/schedule.txt",
                "readable file",
            ),
            ("SIM_MAX_STEPS", "0", ">= 1"),
            ("SIM_MAX_TIME", "soon", "250ms"),
            ("SIM_CHECK_DETERMINISM", "perhaps", "0/false"),
        ] {
            let e = from(&[(var, value)]).unwrap_err();
            let text = e.to_string();
            assert_eq!(e.variable, var);
            assert!(
                text.contains(var) && text.contains(value) && text.contains(hint),
                "{text}"
            );
        }
    }

    #[test]
    fn sweep_variables() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                Ok(pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string()))
            }
        };
        let env = sweep_from(vars(&[
            ("SIM_SEEDS", "500"),
            ("SIM_START_SEED", "random"),
            ("SIM_SHRINK_BUDGET", "0"),
        ]))
        .unwrap();
        assert_eq!(
            (env.seeds, env.start_seed, env.shrink_budget, env.seed),
            (Some(500), Some(StartSeed::Random), Some(0), None)
        );
        let env = sweep_from(vars(&[("SIM_SEED", "9"), ("SIM_STRATEGY", "rr")])).unwrap();
        assert_eq!(
            (env.seed, env.strategy),
            (Some(9), Some(Strategy::RoundRobin))
        );
        let env = sweep_from(vars(&[("SIM_SCHEDULE", "v2:3:0")])).unwrap();
        assert_eq!(env.schedule.unwrap().seed(), 3);
        for (var, value) in [
            ("SIM_SEEDS", "0"),
            ("SIM_START_SEED", "soon"),
            ("SIM_SHRINK_BUDGET", "-1"),
            ("SIM_LOG", "maybe"),
        ] {
            let pairs: &'static [(&'static str, &'static str)] =
                Box::leak(Box::new([(var, value)]));
            let e = sweep_from(vars(pairs)).unwrap_err();
            assert_eq!(e.variable, var);
            assert!(e.to_string().contains(value));
        }
    }

    #[test]
    fn seeds() {
        assert_eq!(parse_seed("42"), Some(42));
        assert_eq!(parse_seed("0x2A"), Some(42));
        assert_eq!(parse_seed("-1"), None);
        assert_eq!(parse_seed("forty"), None);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("10"), None);
        assert_eq!(parse_duration("10 parsecs"), None);
        assert_eq!(parse_duration("-1s"), None);
    }
}
