//! [`Strategy`]: the public choice of decision source, and its string form.

use std::fmt;
use std::str::FromStr;

use super::Schedule;

/// The largest PCT depth accepted: each unit is a change point, and a bug needing more
/// than a handful of ordering constraints is out of PCT's reach anyway.
pub const MAX_PCT_DEPTH: usize = 64;

/// The default [`Strategy::Probabilistic`] chance, in percent, that the task that ran
/// last goes on.
pub const DEFAULT_KEEP_PERCENT: u8 = 80;

/// Default [`crate::Builder::pct_steps`]: without an estimate of its own (a sweep learns one
/// from its earlier runs), PCT draws change points from the first 1,000 decisions.
pub const DEFAULT_PCT_STEPS: u64 = 1_000;

/// How the runtime picks the next task among the runnable ones.
///
/// Decisions are made between polls and at scheduling points (just before an async
/// operation of a `sim` primitive completes at once); see
/// [`Schedule`](crate::Schedule).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Strategy {
    /// A portfolio (the default): each seed gets one of the strategies of
    /// [`Strategy::PORTFOLIO`], chosen by the seed ([`Strategy::PORTFOLIO_CYCLE`]`[seed
    /// % 8]`: `random` on five seeds in eight, `pct:2`, `pct:3` and `prob:80` on one
    /// each), so a sweep mixes strategies that find different bugs fast. A run's report
    /// names the strategy its seed got, so the reproduce command replays it exactly.
    #[default]
    Portfolio,
    /// Uniformly at random among the candidates of every decision: at a scheduling
    /// point, the running task is one of them.
    Random,
    /// Probabilistic concurrency testing (Burckhardt et al., ASPLOS 2010) with `depth`
    /// (at least 1): random task priorities, `depth - 1` priority change points drawn
    /// from the first `steps` decisions, highest priority runs. Finds bugs that need
    /// few ordering constraints far more often than `Random`.
    Pct {
        /// The bug depth targeted (number of ordering constraints); 3 is a good start.
        depth: usize,
        /// The run length (in decisions) change points are drawn from; `None`: the
        /// [`Builder::pct_steps`](crate::Builder::pct_steps) estimate, which a sweep
        /// learns from its earlier runs (it then records the value used here).
        steps: Option<u64>,
    },
    /// At each decision the task that ran last goes on with probability
    /// `keep_percent`%, and otherwise another candidate runs, chosen uniformly
    /// (Coyote's probabilistic strategy): long runs of one task, broken at random
    /// points.
    Probabilistic {
        /// The chance, in percent (0 to 100), that the last task goes on.
        keep_percent: u8,
    },
    /// Partial order sampling (Yuan et al., CAV 2018, the basic variant): every task
    /// has a random priority, the highest-priority candidate runs, and a task draws a
    /// new priority each time it has run. Samples orderings of events more evenly
    /// than `Random`, which favours schedules that switch often.
    Pos,
    /// FIFO: the task runnable longest runs next, like asyncio's event loop, and at
    /// every scheduling point the running task steps aside for it. No randomness:
    /// every seed gives the same schedule.
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
    /// The strategies of [`Strategy::Portfolio`] (and the tail shapes of a
    /// [`Strategy::Bytes`] run): shallow interleavings (`random`), one and two ordering
    /// constraints (`pct:2`, `pct:3`) and long preemption-free stretches (`prob:80`).
    pub const PORTFOLIO: [Strategy; 4] = [
        Strategy::Random,
        Strategy::Pct {
            depth: 2,
            steps: None,
        },
        Strategy::Pct {
            depth: 3,
            steps: None,
        },
        Strategy::Probabilistic {
            keep_percent: DEFAULT_KEEP_PERCENT,
        },
    ];

    /// Which of [`Strategy::PORTFOLIO`] a seed of a portfolio sweep runs:
    /// `PORTFOLIO[PORTFOLIO_CYCLE[seed % 8]]`. Random on five seeds in eight, each other
    /// shape on one. Measured over the classic bug benchmark and the scenario library
    /// (`cargo bench --bench fuzz -- --columns random,pct:2,pct:3,prob,pos`), random
    /// schedules find 39 of the 43 buggy variants fastest or within 2 %, PCT of depth 2
    /// up to 96 times slower (`classic/dining-philosophers`: 347 runs against 3.6), and
    /// PCT or `prob:80` need 16 to 43 % fewer runs on four (`pipeline/bounded-feedback`,
    /// `classic/condvar-if-not-while`, `philosophers/left-then-right`,
    /// `classic/notify-one-bounded-buffer`). The other shapes stay for the bugs a
    /// random schedule is slow on (a task held back for many steps, an order that
    /// must hold for the whole run), on a quarter of the seeds instead of three.
    pub const PORTFOLIO_CYCLE: [usize; 8] = [0, 1, 0, 2, 0, 3, 0, 0];

    /// `Pct { depth, steps: None }`: PCT with the run length estimated.
    pub const fn pct(depth: usize) -> Self {
        Strategy::Pct { depth, steps: None }
    }

    /// The strategy a run of `seed` uses: the portfolio's pick for that seed, or this
    /// strategy itself.
    pub fn for_seed(&self, seed: u64) -> Strategy {
        match self {
            Strategy::Portfolio => {
                let slot = (seed % Self::PORTFOLIO_CYCLE.len() as u64) as usize;
                Self::PORTFOLIO[Self::PORTFOLIO_CYCLE[slot]].clone()
            }
            other => other.clone(),
        }
    }

    /// PCT with its run length fixed to `steps` if it has none; any other strategy
    /// unchanged.
    pub fn with_pct_steps(self, steps: u64) -> Strategy {
        match self {
            Strategy::Pct { depth, steps: None } => Strategy::Pct {
                depth,
                steps: Some(steps),
            },
            other => other,
        }
    }

    /// The `SIM_STRATEGY` value that selects this strategy (`replay` for a replay: the
    /// schedule itself travels in `SIM_SCHEDULE`).
    pub fn env_value(&self) -> String {
        match self {
            Strategy::Portfolio => "portfolio".into(),
            Strategy::Random => "random".into(),
            Strategy::Pct { depth, steps: None } => format!("pct:{depth}"),
            Strategy::Pct {
                depth,
                steps: Some(k),
            } => format!("pct:{depth}:{k}"),
            Strategy::Probabilistic { keep_percent } => format!("prob:{keep_percent}"),
            Strategy::Pos => "pos".into(),
            Strategy::RoundRobin => "round-robin".into(),
            Strategy::Replay(_) => "replay".into(),
            Strategy::Bytes(b) => {
                let mut s = String::with_capacity(6 + 2 * b.len());
                s.push_str("bytes:");
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
    pub const ACCEPTED: &'static str = "portfolio | random | pct | pct:<depth 1..=64> | \
         pct:<depth>:<steps >= 1> | prob | prob:<keep percent 0..=100> | pos | round-robin | \
         rr | bytes:<hex> | replay:<schedule>";
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

    /// Parses `portfolio`, `random`, `pct` (depth 3), `pct:<depth>`,
    /// `pct:<depth>:<steps>`, `prob` (keep 80%), `prob:<keep percent>`, `pos`,
    /// `round-robin` or `rr`, `bytes:<hex>`, `replay:<schedule string>`;
    /// case-insensitive names.
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
            ("portfolio" | "default", None) => Ok(Strategy::Portfolio),
            ("random", None) => Ok(Strategy::Random),
            ("round-robin" | "rr" | "roundrobin", None) => Ok(Strategy::RoundRobin),
            ("pos", None) => Ok(Strategy::Pos),
            ("pct", None) => Ok(Strategy::pct(3)),
            ("pct", Some(arg)) => parse_pct(arg).map_err(err),
            ("prob", None) => Ok(Strategy::Probabilistic {
                keep_percent: DEFAULT_KEEP_PERCENT,
            }),
            ("prob", Some(p)) => match parse_dec::<u8>(p.trim()) {
                Some(keep_percent) if keep_percent <= 100 => {
                    Ok(Strategy::Probabilistic { keep_percent })
                }
                _ => Err(err(format!(
                    "the keep chance {p:?} is not a whole percentage from 0 to 100"
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

/// `<depth>` or `<depth>:<steps>`.
fn parse_pct(arg: &str) -> Result<Strategy, String> {
    let (d, k) = match arg.split_once(':') {
        Some((d, k)) => (d, Some(k)),
        None => (arg, None),
    };
    let depth = parse_dec::<usize>(d.trim())
        .filter(|d| (1..=MAX_PCT_DEPTH).contains(d))
        .ok_or_else(|| {
            format!("the PCT depth {d:?} is not a whole number from 1 to {MAX_PCT_DEPTH}")
        })?;
    let steps = match k {
        None => None,
        Some(k) => Some(
            parse_dec::<u64>(k.trim())
                .filter(|&k| k >= 1)
                .ok_or_else(|| format!("the PCT run length {k:?} is not a whole number >= 1"))?,
        ),
    };
    Ok(Strategy::Pct { depth, steps })
}

/// A decimal number of ASCII digits only (no sign, no spaces).
fn parse_dec<T: FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_hex(hex: &str) -> Result<Vec<u8>, String> {
    if let Some((i, c)) = hex.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
        return Err(format!(
            "{c:?} at offset {i} of the bytes is not a hexadecimal digit"
        ));
    }
    if hex.len() % 2 != 0 {
        return Err(format!(
            "bytes need an even number of hex digits, got {}",
            hex.len()
        ));
    }
    Ok((0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("checked: two hex digits"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_displays() {
        for s in [
            "portfolio",
            "random",
            "pct:3",
            "pct:2:57",
            "prob:80",
            "prob:0",
            "pos",
            "round-robin",
            "bytes:00ff10",
            "replay:v2:2a:0.1x2",
        ] {
            let st: Strategy = s.parse().unwrap();
            assert_eq!(st.to_string(), s);
        }
        assert_eq!("rr".parse::<Strategy>().unwrap(), Strategy::RoundRobin);
        assert_eq!("pct".parse::<Strategy>().unwrap(), Strategy::pct(3));
        assert_eq!(
            "prob".parse::<Strategy>().unwrap(),
            Strategy::Probabilistic { keep_percent: 80 }
        );
        assert_eq!(Strategy::default(), Strategy::Portfolio);
    }

    #[test]
    fn rejects_with_reason() {
        for bad in [
            "rand",
            "pct:0",
            "pct:x",
            "pct:65",
            "pct:1000000000",
            "pct:18446744073709551615",
            "pct:3:0",
            "pct:3:x",
            "pct:+3",
            "prob:101",
            "prob:-1",
            "bytes:abc",
            "bytes:zz",
            "bytes:aé0",
            "bytes:é",
            "replay:v9",
        ] {
            let e = bad.parse::<Strategy>().unwrap_err();
            assert!(e.to_string().contains("accepted forms"), "{e}");
            assert!(e.to_string().contains(&format!("{bad:?}")), "{e}");
        }
    }

    #[test]
    fn the_portfolio_picks_by_seed() {
        let picks: Vec<String> = (0..10)
            .map(|s| Strategy::Portfolio.for_seed(s).to_string())
            .collect();
        assert_eq!(
            picks,
            [
                "random", "pct:2", "random", "pct:3", "random", "prob:80", "random", "random",
                "random", "pct:2"
            ]
        );
        // Any eight consecutive seeds: five random, one of each other shape.
        for start in [0, 5, u64::MAX - 7] {
            let mut count = std::collections::BTreeMap::new();
            for s in start..=start + 7 {
                *count
                    .entry(Strategy::Portfolio.for_seed(s).to_string())
                    .or_insert(0) += 1;
            }
            let count: Vec<(String, i32)> = count.into_iter().collect();
            assert_eq!(
                count,
                [
                    ("pct:2".to_string(), 1),
                    ("pct:3".to_string(), 1),
                    ("prob:80".to_string(), 1),
                    ("random".to_string(), 5)
                ]
            );
        }
        assert_eq!(Strategy::Pos.for_seed(3), Strategy::Pos);
    }

    #[test]
    fn pct_steps_fill_in_once() {
        assert_eq!(Strategy::pct(3).with_pct_steps(40).to_string(), "pct:3:40");
        let fixed = Strategy::Pct {
            depth: 3,
            steps: Some(9),
        };
        assert_eq!(fixed.clone().with_pct_steps(40), fixed);
        assert_eq!(Strategy::Random.with_pct_steps(40), Strategy::Random);
    }
}
