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
//! seed stays meaningful when the code changes, a schedule may not). The kind is
//! [`FailureKind::as_str`]'s spelling; `data-race`, which earlier versions wrote for
//! `race`, is read too.
//!
//! A missing file has no seeds. Any other problem (a directory at the path, a file
//! that cannot be read or is not UTF-8, a malformed line) is an error naming the file:
//! a committed seed that is silently skipped is a test that passes without running it.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::config::parse::parse_seed;
use crate::{Failure, FailureKind, Strategy};

/// One line of a regression file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegressionEntry {
    /// The failing seed.
    pub seed: u64,
    /// The strategy it failed under.
    pub strategy: Strategy,
    /// The kind of failure it was, when the line says.
    pub kind: Option<FailureKind>,
}

/// A regression file that cannot be used, naming the file (when known) and the line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegressionError {
    /// The file.
    pub path: Option<PathBuf>,
    /// The 1-based line number, for a malformed line.
    pub line: Option<usize>,
    /// What is wrong.
    pub reason: String,
}

/// The form of a line, for error messages.
pub const LINE_FORM: &str = "seed=<u64> strategy=<strategy> [kind=<kind>] [schedule=<schedule>]";

impl fmt::Display for RegressionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("regression file ")?;
        match &self.path {
            Some(p) => write!(f, "{}", p.display())?,
            None => f.write_str("<text>")?,
        }
        match self.line {
            Some(l) => write!(
                f,
                ":{l}: {}; expected `{LINE_FORM}` (it is a committed file: fix it)",
                self.reason
            ),
            None => write!(f, ": {}", self.reason),
        }
    }
}

impl std::error::Error for RegressionError {}

/// Reads a regression file: a missing file has no seeds; anything else that prevents
/// reading it, or a malformed line, is an error naming the file.
pub fn load(path: &Path) -> Result<Vec<RegressionEntry>, RegressionError> {
    let at = |reason: String| RegressionError {
        path: Some(path.to_path_buf()),
        line: None,
        reason,
    };
    use std::io::Read;
    let mut bytes = Vec::new();
    let read = std::fs::File::open(path).and_then(|f| f.take(MAX_FILE + 1).read_to_end(&mut bytes));
    match read {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(at(format!("cannot be read ({e})"))),
    }
    if bytes.len() as u64 > MAX_FILE {
        return Err(at(format!("is longer than {MAX_FILE} bytes")));
    }
    parse_bytes(&bytes).map_err(|e| RegressionError {
        path: Some(path.to_path_buf()),
        ..e
    })
}

/// The largest regression file read (a line per failing seed: far more than any
/// test's history).
pub const MAX_FILE: u64 = 16 << 20;

/// [`parse`] of a file's bytes: text that is not UTF-8 is an error, not an empty file.
pub fn parse_bytes(bytes: &[u8]) -> Result<Vec<RegressionEntry>, RegressionError> {
    let text = std::str::from_utf8(bytes).map_err(|e| RegressionError {
        path: None,
        line: None,
        reason: format!("is not UTF-8 (byte {} is invalid)", e.valid_up_to()),
    })?;
    parse(text)
}

/// Parses a regression file's text: one entry per line, blank lines and `#` comments
/// skipped; the first malformed line is an error naming its number.
///
/// ```
/// use sim::check::regression::parse;
/// let entries = parse("# seeds\nseed=42 strategy=pct:2 kind=deadlock\n").unwrap();
/// assert_eq!((entries[0].seed, entries[0].kind), (42, Some(sim::FailureKind::Deadlock)));
/// assert_eq!(parse("seed=1\n").unwrap_err().line, Some(1));
/// ```
pub fn parse(text: &str) -> Result<Vec<RegressionEntry>, RegressionError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|(i, line)| {
            parse_line(line).map_err(|reason| RegressionError {
                path: None,
                line: Some(i + 1),
                reason,
            })
        })
        .collect()
}

fn parse_line(line: &str) -> Result<RegressionEntry, String> {
    let mut seed = None;
    let mut strategy = None;
    let mut kind = None;
    for field in line.split_whitespace() {
        let short = || field.chars().take(100).collect::<String>();
        match field.split_once('=') {
            Some(("seed", v)) => {
                seed = Some(parse_seed(v).ok_or_else(|| format!("bad seed {:?}", short()))?)
            }
            Some(("strategy", v)) => {
                strategy = Some(v.parse::<Strategy>().map_err(|e| e.to_string())?)
            }
            // Written by earlier versions for a race.
            Some(("kind", "data-race")) => kind = Some(FailureKind::Race),
            Some(("kind", v)) => kind = Some(v.parse::<FailureKind>().map_err(|e| e.to_string())?),
            Some(("schedule", _)) => {}
            _ => return Err(format!("unknown field {:?}", short())),
        }
    }
    Ok(RegressionEntry {
        seed: seed.ok_or("missing seed=")?,
        strategy: strategy.ok_or("missing strategy=")?,
        kind,
    })
}

/// Appends a failure's seed unless the file already has it.
pub(crate) fn append(path: &Path, test: &str, failure: &Failure) -> Result<PathBuf, String> {
    let run = failure.run();
    if matches!(run.strategy, Strategy::Replay(_)) {
        return Err("replayed schedules are not recorded".into());
    }
    let known = load(path).map_err(|e| e.to_string())?;
    if known
        .iter()
        .any(|e| e.seed == run.seed && e.strategy == run.strategy)
    {
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
        failure.kind().as_str(),
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
                strategy: Strategy::pct(2),
                kind: Some(FailureKind::Deadlock),
            }
        );
        for (line, kind) in [
            (
                "seed=1 strategy=random kind=step-limit",
                FailureKind::StepLimit,
            ),
            ("seed=1 strategy=random kind=race", FailureKind::Race),
            ("seed=1 strategy=random kind=data-race", FailureKind::Race),
        ] {
            assert_eq!(parse_line(line).unwrap().kind, Some(kind), "{line}");
        }
        assert!(parse_line("seed=x strategy=random").is_err());
        assert!(parse_line("strategy=random").is_err());
        assert!(parse_line("seed=1 strategy=random colour=blue").is_err());
        assert!(parse_line("seed=1 strategy=random kind=step limit").is_err());
        assert!(parse_line("seed=1 strategy=random kind=data race").is_err());
    }

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("corosim-regression-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_missing_file_has_no_seeds() {
        let dir = scratch("missing");
        assert_eq!(load(&dir.join("none.txt")), Ok(Vec::new()));
    }

    #[test]
    fn a_file_that_cannot_be_read_is_an_error_naming_it() {
        let dir = scratch("unreadable");
        // Not UTF-8: the committed seed on the first line must not be skipped.
        let bad = dir.join("bad.txt");
        std::fs::write(&bad, b"seed=7 strategy=random kind=panic \xff\n").unwrap();
        let e = load(&bad).unwrap_err();
        assert_eq!(e.path.as_deref(), Some(bad.as_path()));
        assert!(
            e.to_string().contains("bad.txt") && e.to_string().contains("not UTF-8"),
            "{e}"
        );
        // A directory at the path.
        let e = load(&dir).unwrap_err();
        assert!(e.to_string().contains("cannot be read"), "{e}");
        assert!(e.to_string().contains(&dir.display().to_string()), "{e}");
        // A malformed line names the file and the line.
        let junk = dir.join("junk.txt");
        std::fs::write(
            &junk,
            "# ok\nseed=1 strategy=random\nseed=2 strategy=fastest\n",
        )
        .unwrap();
        let e = load(&junk).unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(e.to_string().contains("junk.txt:3:"), "{e}");
    }

    #[test]
    fn append_refuses_a_file_it_cannot_read() {
        let dir = scratch("append");
        let failure = crate::Builder::new()
            .build()
            .block_on(async { panic!("boom") })
            .unwrap_err();
        let bad = dir.join("bad.txt");
        std::fs::write(&bad, b"\xff").unwrap();
        assert!(
            append(&bad, "t", &failure)
                .unwrap_err()
                .contains("not UTF-8")
        );
        let good = dir.join("good.txt");
        append(&good, "t", &failure).unwrap();
        append(&good, "t", &failure).unwrap();
        let entries = load(&good).unwrap();
        assert_eq!(entries.len(), 1, "appended once");
        assert_eq!(entries[0].kind, Some(FailureKind::Panic));
    }
}
