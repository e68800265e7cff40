//! [`Strategy`]: the public choice of decision source, and its string form.

use std::fmt;
use std::str::FromStr;

use super::Schedule;

/// How the runtime picks the next task among the runnable ones.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Strategy {
    /// Uniformly at random among runnable tasks, at every step (the default).
    #[default]
    Random,
    /// Probabilistic concurrency testing with `depth` (at least 1): random task
    /// priorities, `depth - 1` priority change points, highest priority runs. Finds
    /// bugs that need few ordering constraints far more often than `Random`.
    Pct {
        /// The bug depth targeted (number of ordering constraints); 3 is a good start.
        depth: usize,
    },
    /// FIFO: the task runnable longest runs next, like asyncio's event loop. No
    /// randomness: every seed gives the same schedule.
    RoundRobin,
    /// Follow a recorded schedule exactly; a divergence fails the run with
    /// [`Failure::NonDeterminism`](crate::Failure::NonDeterminism). `sim::rand` draws
    /// from the schedule's seed.
    Replay(Schedule),
    /// Draw every decision from these bytes (for fuzzers); see the [module
    /// docs](crate::sched) for the encoding and the fallback when they run out.
    Bytes(Vec<u8>),
}

impl Strategy {
    /// The `SIM_STRATEGY` value that selects this strategy (`replay` for a replay: the
    /// schedule itself travels in `SIM_SCHEDULE`).
    pub fn env_value(&self) -> String {
        match self {
            Strategy::Random => "random".into(),
            Strategy::Pct { depth } => format!("pct:{depth}"),
            Strategy::RoundRobin => "round-robin".into(),
            Strategy::Replay(_) => "replay".into(),
            Strategy::Bytes(b) => {
                let mut s = String::from("bytes:");
                for byte in b {
                    s.push_str(&format!("{byte:02x}"));
                }
                s
            }
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Strategy::Replay(s) => write!(f, "replay:{s}"),
            other => f.write_str(&other.env_value()),
        }
    }
}

/// A strategy string that does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseStrategyError {
    /// The input.
    pub value: String,
    /// Why it was rejected.
    pub reason: String,
}

impl ParseStrategyError {
    /// The forms `FromStr` accepts.
    pub const ACCEPTED: &'static str =
        "random | pct | pct:<depth >= 1> | round-robin | rr | bytes:<hex> | replay:<schedule>";
}

impl fmt::Display for ParseStrategyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid strategy {:?}: {}; accepted forms: {}",
            self.value,
            self.reason,
            Self::ACCEPTED
        )
    }
}

impl std::error::Error for ParseStrategyError {}

impl FromStr for Strategy {
    type Err = ParseStrategyError;

    /// Parses `random`, `pct` (depth 3), `pct:<depth>`, `round-robin` or `rr`,
    /// `bytes:<hex>`, `replay:<schedule string>`; case-insensitive names.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason: String| ParseStrategyError {
            value: s.to_string(),
            reason,
        };
        let (name, arg) = match s.split_once(':') {
            Some((n, a)) => (n, Some(a)),
            None => (s, None),
        };
        match (name.trim().to_ascii_lowercase().as_str(), arg) {
            ("random", None) => Ok(Strategy::Random),
            ("round-robin" | "rr" | "roundrobin", None) => Ok(Strategy::RoundRobin),
            ("pct", None) => Ok(Strategy::Pct { depth: 3 }),
            ("pct", Some(d)) => match d.trim().parse::<usize>() {
                Ok(depth) if depth >= 1 => Ok(Strategy::Pct { depth }),
                _ => Err(err(format!(
                    "the PCT depth {d:?} is not a whole number >= 1"
                ))),
            },
            ("bytes", Some(hex)) => parse_hex(hex).map(Strategy::Bytes).map_err(err),
            ("replay", Some(sched)) => sched
                .parse()
                .map(Strategy::Replay)
                .map_err(|e: super::ParseScheduleError| err(e.to_string())),
            _ => Err(err("unknown strategy".into())),
        }
    }
}

fn parse_hex(hex: &str) -> Result<Vec<u8>, String> {
    if hex.len() % 2 != 0 {
        return Err(format!(
            "bytes need an even number of hex digits, got {}",
            hex.len()
        ));
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&hex[i..i + 2], 16)
                .map_err(|_| format!("{:?} at offset {i} is not a hex byte", &hex[i..i + 2]))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_displays() {
        for s in [
            "random",
            "pct:3",
            "round-robin",
            "bytes:00ff10",
            "replay:v2:2a:0.1x2",
        ] {
            let st: Strategy = s.parse().unwrap();
            assert_eq!(st.to_string(), s);
        }
        assert_eq!("rr".parse::<Strategy>().unwrap(), Strategy::RoundRobin);
        assert_eq!(
            "pct".parse::<Strategy>().unwrap(),
            Strategy::Pct { depth: 3 }
        );
    }

    #[test]
    fn rejects_with_reason() {
        for bad in [
            "rand",
            "pct:0",
            "pct:x",
            "bytes:abc",
            "bytes:zz",
            "replay:v9",
        ] {
            let e = bad.parse::<Strategy>().unwrap_err();
            assert!(e.to_string().contains("accepted forms"), "{e}");
        }
    }
}
