//! Every `SIM_` environment variable, read here and nowhere else.
//!
//! | variable | accepted values | effect |
//! |---|---|---|
//! | `SIM_SEED` | a `u64`, decimal or `0x`-prefixed hexadecimal | the run's seed |
//! | `SIM_STRATEGY` | `random`, `pct`, `pct:<depth>`, `round-robin` (`rr`), `bytes:<hex>`, `replay:<schedule>` | the [`Strategy`] |
//! | `SIM_SCHEDULE` | a schedule string (`v1:...`) or `@<path>` of a file holding one | replay that schedule (implies `Strategy::Replay`) |
//! | `SIM_MAX_STEPS` | a whole number `>= 1` | [`Builder::max_steps`] |
//! | `SIM_MAX_TIME` | a duration: a number with `ns`, `us`, `ms`, `s`, `m` or `h` (`10s`, `250ms`) | [`Builder::max_time`] |
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
    cmd.push_str(" cargo test");
    if let Ok(pkg) = std::env::var("CARGO_PKG_NAME") {
        cmd.push_str(&format!(" -p {pkg}"));
    }
    if let Some(name) = std::thread::current().name().filter(|n| *n != "main") {
        cmd.push_str(&format!(" -- {name} --exact"));
    }
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
        assert_eq!(rt.strategy(), &Strategy::Pct { depth: 2 });
        let b = from(&[("SIM_SCHEDULE", "v1:7:0.1")]).unwrap();
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
            ("SIM_SCHEDULE", "v1:2a:0.x", "expected"),
            (
                "SIM_SCHEDULE",
                "@/nonexistent/schedule.txt",
                "readable file",
            ),
            ("SIM_MAX_STEPS", "0", ">= 1"),
            ("SIM_MAX_TIME", "soon", "250ms"),
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
