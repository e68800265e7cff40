//! [`Schedule`]: the recorded decisions of a run, and its string form.

use std::fmt;
use std::str::FromStr;

use crate::ids::TaskId;

/// The recorded sequence of scheduling decisions of a run, plus the seed whose
/// user-randomness stream ([`sim::rand`](crate::rand)) the run drew from. Replaying it
/// with [`Strategy::Replay`](crate::Strategy::Replay) reproduces the run exactly.
///
/// A decision is made before each poll (which task runs next) and at each scheduling
/// point where another task could run instead of the one being polled (just before an
/// async operation takes effect): each records the task chosen, so a run of equal ids
/// is a task that went on through its points. Points where no other task was ready
/// record nothing.
///
/// # String form
///
/// `Display` writes, and `FromStr` reads, `v2:<seed>:<decisions>`: the seed in
/// lowercase hexadecimal, then the chosen task ids in decimal separated by `.`, where a
/// run of `n > 1` equal ids is written `<id>x<n>`. Example: `v2:2a:0.1x3.2.0` is seed
/// 42, decisions `0 1 1 1 2 0`. The alphabet needs no quoting in a shell. Strings of
/// format `v1` (recorded before scheduling points existed) are rejected with an error
/// saying so: their runs cannot be replayed by this version.
///
/// ```
/// use sim::Schedule;
/// let s: Schedule = "v2:2a:0.1x3.2.0".parse().unwrap();
/// assert_eq!(s.seed(), 42);
/// assert_eq!(s.len(), 6);
/// assert_eq!(s.to_string(), "v2:2a:0.1x3.2.0");
/// assert!("v2:2a:0.1y3".parse::<Schedule>().is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Schedule {
    seed: u64,
    steps: Vec<TaskId>,
}

impl Schedule {
    /// A schedule from its parts.
    pub fn new(seed: u64, steps: Vec<TaskId>) -> Self {
        Schedule { seed, steps }
    }

    /// The seed of the run that recorded it (drives `sim::rand` on replay).
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The task chosen at each decision.
    pub fn steps(&self) -> &[TaskId] {
        &self.steps
    }

    /// The number of decisions.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// Whether no decision was recorded.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// How many decisions choose a different task than the decision before.
    pub fn context_switches(&self) -> usize {
        self.steps.windows(2).filter(|w| w[0] != w[1]).count()
    }

    pub(crate) fn push(&mut self, t: TaskId) {
        self.steps.push(t);
    }
}

/// The version prefix of the string form.
const VERSION: &str = "v2";

/// The most decisions a schedule string may expand to (about 64 MiB of task ids),
/// so a short string cannot ask for an unbounded allocation.
pub const MAX_DECISIONS: usize = 1 << 24;

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{VERSION}:{:x}:", self.seed)?;
        let mut first = true;
        for run in self.steps.chunk_by(|a, b| a == b) {
            if !first {
                f.write_str(".")?;
            }
            first = false;
            match run.len() {
                1 => write!(f, "{}", run[0])?,
                n => write!(f, "{}x{n}", run[0])?,
            }
        }
        Ok(())
    }
}

/// A schedule string that does not parse; says where and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseScheduleError {
    /// Byte offset in the input where the problem starts.
    pub position: usize,
    /// The offending piece of input.
    pub found: String,
    /// What was expected there.
    pub expected: &'static str,
}

impl fmt::Display for ParseScheduleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid schedule string at byte {}: found {:?}, expected {} (format: v2:<seed hex>:<id>[x<count>].<id>...)",
            self.position, self.found, self.expected
        )
    }
}

impl std::error::Error for ParseScheduleError {}

impl FromStr for Schedule {
    type Err = ParseScheduleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |position: usize, found: &str, expected| ParseScheduleError {
            position,
            found: found.chars().take(40).collect(),
            expected,
        };
        let s_trim = s.trim_end();
        if s_trim.starts_with("v1:") {
            return Err(err(
                0,
                "v1:",
                "the version prefix `v2:` (a v1 string was recorded before scheduling \
                 points existed and cannot be replayed by this version: rerun its seed \
                 to record a new schedule)",
            ));
        }
        let Some(rest) = s_trim.strip_prefix("v2:") else {
            return Err(err(0, s_trim, "the version prefix `v2:`"));
        };
        let Some((seed_str, body)) = rest.split_once(':') else {
            return Err(err(3, rest, "`<seed hex>:` after the version"));
        };
        let seed = Some(seed_str)
            .filter(|h| !h.is_empty() && h.len() <= 16 && h.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|h| u64::from_str_radix(h, 16).ok())
            .ok_or_else(|| err(3, seed_str, "the seed as 1 to 16 hexadecimal digits"))?;
        let mut steps = Vec::new();
        let mut offset = 3 + seed_str.len() + 1;
        if !body.is_empty() {
            for token in body.split('.') {
                let (id_str, count_str) = match token.split_once('x') {
                    Some((id, count)) => (id, Some(count)),
                    None => (token, None),
                };
                let id: u32 = parse_dec(id_str).ok_or_else(|| {
                    err(
                        offset,
                        token,
                        "a task id (decimal, up to 4294967295), optionally followed by x<count>",
                    )
                })?;
                let count = match count_str {
                    None => 1,
                    Some(c) => parse_dec(c).filter(|&n: &u32| n >= 2).ok_or_else(|| {
                        err(
                            offset + id_str.len() + 1,
                            c,
                            "a repeat count from 2 to 4294967295 after `x`",
                        )
                    })?,
                };
                if count as usize > MAX_DECISIONS - steps.len() {
                    return Err(err(
                        offset,
                        token,
                        "at most 16777216 decisions in all (MAX_DECISIONS)",
                    ));
                }
                steps.extend(std::iter::repeat_n(TaskId(id), count as usize));
                offset += token.len() + 1;
            }
        }
        Ok(Schedule { seed, steps })
    }
}

fn parse_dec<T: FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sched(seed: u64, ids: &[u32]) -> Schedule {
        Schedule::new(seed, ids.iter().map(|&i| TaskId(i)).collect())
    }

    #[test]
    fn round_trips() {
        for s in [
            sched(0, &[]),
            sched(42, &[0]),
            sched(u64::MAX, &[0, 1, 1, 1, 2, 0, 0, 70000, 70000]),
            sched(7, &[5; 1000]),
        ] {
            let text = s.to_string();
            assert_eq!(text.parse::<Schedule>().unwrap(), s, "{text}");
        }
        assert_eq!(
            sched(42, &[0, 1, 1, 1, 2, 0]).to_string(),
            "v2:2a:0.1x3.2.0"
        );
    }

    #[test]
    fn errors_say_where() {
        let e = "v3:1:0".parse::<Schedule>().unwrap_err();
        assert_eq!(e.position, 0);
        let e = "v2:zz:0".parse::<Schedule>().unwrap_err();
        assert_eq!(e.position, 3);
        let e = "v2:+1:0".parse::<Schedule>().unwrap_err();
        assert_eq!(e.position, 3);
        let e = "v2:2a:0.1.q.2".parse::<Schedule>().unwrap_err();
        assert_eq!((e.position, e.found.as_str()), (10, "q"));
        let e = "v2:2a:0.1x1".parse::<Schedule>().unwrap_err();
        assert_eq!(e.position, 10);
        let e = "v2:2a:0x99999999999".parse::<Schedule>().unwrap_err();
        assert!(e.to_string().contains("from 2 to 4294967295"), "{e}");
        let e = "v2:2a:99999999999".parse::<Schedule>().unwrap_err();
        assert!(e.to_string().contains("up to 4294967295"), "{e}");
        let e = "v2:2a:0..1".parse::<Schedule>().unwrap_err();
        assert_eq!(e.position, 8);
        assert!(e.to_string().contains("byte 8"), "{e}");
    }

    #[test]
    fn old_versions_say_why() {
        let e = "v1:2a:0.1x3".parse::<Schedule>().unwrap_err();
        assert!(e.to_string().contains("before scheduling points"), "{e}");
    }

    #[test]
    fn expansion_is_bounded() {
        let e = "v2:0:0x4294967295".parse::<Schedule>().unwrap_err();
        assert!(e.to_string().contains("MAX_DECISIONS"), "{e}");
        let e = "v2:0:0x16777215.1x2".parse::<Schedule>().unwrap_err();
        assert_eq!(e.found, "1x2");
        assert_eq!(
            "v2:0:0x16777216".parse::<Schedule>().unwrap().len(),
            MAX_DECISIONS
        );
    }

    #[test]
    fn counts_context_switches() {
        assert_eq!(sched(0, &[0, 0, 1, 1, 0, 2]).context_switches(), 3);
    }
}
