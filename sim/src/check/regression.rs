//! Regression seeds: a committed text file per test, replayed before the sweep.
//!
//! Format (one failure per line, `#` starts a comment):
//!
//! ```text
//! # corosim regression seeds for `tests::bank`. Commit this file: these seeds run first.
//! seed=42 strategy=random kind=panic schedule=v2:2a:0.1x3.2.0
//! ```
//!
//! A line is replayed by its seed and strategy (the schedule is kept for reference: the
//! seed stays meaningful when the code changes, a schedule may not).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{Failure, Strategy};

/// One line of a regression file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegressionEntry {
    /// The failing seed.
    pub seed: u64,
    /// The strategy it failed under.
    pub strategy: Strategy,
}

/// Reads a regression file; a missing file is empty. A malformed line panics naming
/// the file, the line and the expected form (it is a committed file: fix it).
pub(crate) fn load(path: &Path) -> Vec<RegressionEntry> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|(i, line)| {
            parse_line(line).unwrap_or_else(|why| {
                panic!(
                    "corosim: {}:{}: {why}; expected `seed=<u64> strategy=<strategy> [kind=<kind>] [schedule=<schedule>]`",
                    path.display(),
                    i + 1
                )
            })
        })
        .collect()
}

fn parse_line(line: &str) -> Result<RegressionEntry, String> {
    let mut seed = None;
    let mut strategy = None;
    for field in line.split_whitespace() {
        match field.split_once('=') {
            Some(("seed", v)) => {
                seed = Some(crate::env::parse_seed(v).ok_or_else(|| format!("bad seed {v:?}"))?)
            }
            Some(("strategy", v)) => {
                strategy = Some(v.parse::<Strategy>().map_err(|e| e.to_string())?)
            }
            Some(("kind" | "schedule", _)) => {}
            _ => return Err(format!("unknown field {field:?}")),
        }
    }
    Ok(RegressionEntry {
        seed: seed.ok_or("missing seed=")?,
        strategy: strategy.ok_or("missing strategy=")?,
    })
}

/// Appends a failure's seed unless the file already has it.
pub(crate) fn append(path: &Path, test: &str, failure: &Failure) -> Result<PathBuf, String> {
    let run = failure.run();
    if matches!(run.strategy, Strategy::Replay(_)) {
        return Err("replayed schedules are not recorded".into());
    }
    let entry = RegressionEntry {
        seed: run.seed,
        strategy: run.strategy.clone(),
    };
    if load(path).contains(&entry) {
        return Ok(path.to_path_buf());
    }
    let fresh = !path.exists();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let mut text = String::new();
    if fresh {
        text.push_str(&format!(
            "# corosim regression seeds for `{test}`. Commit this file: these seeds run first.\n"
        ));
    }
    text.push_str(&format!(
        "seed={} strategy={} kind={} schedule={}\n",
        run.seed,
        run.strategy,
        failure.kind().to_string().replace(' ', "-"),
        failure.schedule()
    ));
    file.write_all(text.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines_and_rejects_junk() {
        assert_eq!(
            parse_line("seed=42 strategy=pct:2 kind=deadlock schedule=v2:2a:0").unwrap(),
            RegressionEntry {
                seed: 42,
                strategy: Strategy::pct(2)
            }
        );
        assert!(parse_line("seed=x strategy=random").is_err());
        assert!(parse_line("strategy=random").is_err());
        assert!(parse_line("seed=1 strategy=random colour=blue").is_err());
    }
}
