//! Every `SIM_` environment variable, read here and nowhere else, and what the process
//! says about itself (cargo's variables, the test binary, the target directory).
//!
//! | variable | accepted values | effect |
//! |---|---|---|
//! | `SIM_SEED` | a `u64`, decimal or `0x`-prefixed hexadecimal | the run's seed |
//! | `SIM_STRATEGY` | `portfolio`, `random`, `pct`, `pct:<depth>`, `pct:<depth>:<steps>`, `prob:<percent>`, `pos`, `round-robin` (`rr`), `bytes:<hex>`, `replay:<schedule>` | the [`Strategy`](crate::Strategy) |
//! | `SIM_SCHEDULE` | a schedule string (`v2:...`) or `@<path>` of a file holding one | replay that schedule (implies `Strategy::Replay`) |
//! | `SIM_MAX_STEPS` | a whole number `>= 1` | [`Builder::max_steps`](crate::Builder::max_steps) |
//! | `SIM_MAX_TIME` | a duration `> 0`: a number with `ns`, `us`, `ms`, `s`, `m` or `h` (`10s`, `250ms`, `1.5h`) | [`Builder::max_time`](crate::Builder::max_time) |
//! | `SIM_PCT_STEPS` | a whole number `>= 1` | [`Builder::pct_steps`](crate::Builder::pct_steps) |
//! | `SIM_CHECK_DETERMINISM` | `1`/`true`, `0`/`false` | [`Builder::check_determinism`](crate::Builder::check_determinism): run every seed twice, compare traces |
//! | `SIM_SEEDS` | a whole number `>= 1` | how many seeds [`Check`](crate::Check) sweeps |
//! | `SIM_START_SEED` | a seed, or `random` (a fresh start seed, written to `target/corosim/` before the sweep) | the first seed of a sweep |
//! | `SIM_SHRINK_BUDGET` | a whole number (`0` turns shrinking off) | most replays spent shrinking a failure |
//! | `SIM_LOG` | `1`/`true`, `0`/`false` | show user `tracing` logs in sweeps too (see [`log`](crate::log)) |
//! | `SIM_FUZZ` | a whole number `>= 1` | [`Check`](crate::Check) fuzzes for that many executions instead of sweeping seeds ([`Check::fuzz`](crate::Check::fuzz)) |
//! | `SIM_EXPLORE` | `1`/`true`, `0`/`false` | [`Check`](crate::Check) explores schedules systematically instead of sweeping seeds ([`Check::explore`](crate::Check::explore)) |
//! | `SIM_PREEMPTION_BOUND` | a whole number | the preemption bound of an exploration |
//! | `SIM_MAX_SCHEDULES` | a whole number `>= 1` | the most schedules an exploration runs |
//! | `SIM_NET_FAULTS` | what [`Faults`](crate::net::Faults) parses (`latency=1ms..5ms,loss=0.1`) | [`Builder::net_faults`](crate::Builder::net_faults): the network's faults, fixed instead of drawn from the seed |
//! | `SIM_BUGGIFY` | `1`/`true`, `0`/`false` | [`Builder::buggify`](crate::Builder::buggify): whether `buggify!` sites may fire |
//! | `SIM_BUGGIFY_OFF` | comma-separated `buggify!` sites, `file:line:column` | [`Builder::buggify_off`](crate::Builder::buggify_off): sites kept off (a shrunk report's command sets it) |
//!
//! With `SIM_SEED` or `SIM_SCHEDULE` set (or `SIM_STRATEGY=bytes:<hex>`, a fuzz input),
//! a [`Check`](crate::Check) runs only that one seed, schedule or input instead of
//! sweeping, fuzzing or exploring.
//!
//! [`Builder::from_env`](crate::Builder::from_env) and [`Check`](crate::Check) apply them;
//! each value is parsed by its setting's parser in [`crate::config`] (the same one
//! `#[sim::test]` and `corosim` use), so a malformed value is a
//! [`ConfigError`] naming the variable, the value and the accepted forms. An unset or
//! blank variable leaves the setting alone.

use crate::config::{ConfigError, Settings};
use crate::reproduce::{Place, TestTarget};

/// The settings the process environment's `SIM_` variables give.
pub fn settings() -> Result<Settings, ConfigError> {
    Settings::from_vars(|name| std::env::var_os(name))
}

/// A fresh start seed from outside the simulation, for `SIM_START_SEED=random`.
pub fn fresh_seed() -> u64 {
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

/// Where the current process reproduces a run: under the test harness (a thread named
/// after the test), the current test by `cargo test`, its target read from the test
/// binary's name; otherwise this program's command line (it must use
/// `Builder::from_env`).
pub(crate) fn place() -> Place {
    let Some(test) = std::thread::current()
        .name()
        .filter(|n| *n != "main")
        .map(str::to_string)
    else {
        return Place::Program(std::env::args().collect());
    };
    let package = std::env::var("CARGO_PKG_NAME").ok();
    // The test binary is `<target>-<hash>`: the lib's unit tests, or an integration test.
    let binary = std::env::current_exe().ok().and_then(|exe| {
        let stem = exe.file_stem()?.to_str()?.to_string();
        Some(
            stem.rsplit_once('-')
                .map_or(stem.clone(), |(t, _)| t.to_string()),
        )
    });
    let target = match (binary, &package) {
        (Some(t), Some(p)) if t == p.replace('-', "_") => Some(TestTarget::Lib),
        (Some(t), _) => Some(TestTarget::Test(t)),
        _ => None,
    };
    Place::CargoTest {
        package,
        target,
        test,
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Key;

    #[test]
    fn the_table_lists_every_variable() {
        let docs = include_str!("env.rs");
        for key in Key::ALL {
            if let Some(var) = key.env() {
                assert!(docs.contains(&format!("//! | `{var}` |")), "{var}");
            }
        }
    }
}
