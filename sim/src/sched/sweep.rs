//! [`SweepState`]: what a seed sweep carries from one run to the next.
//!
//! Each run's decisions are a pure function of its seed and strategy; what a sweep
//! learns across runs goes into the strategy a later run gets (and so into its report
//! and reproduce command), never into a hidden input. Today that is PCT's run length:
//! change points are drawn from the first `k` decisions, and a good `k` is the length
//! of the program's runs, which the sweep measures.

use super::Strategy;

/// The state a seed sweep keeps across runs: PCT's run length, learned as the longest
/// run (in decisions) so far.
///
/// ```
/// use sim::Strategy;
/// use sim::sched::SweepState;
///
/// let mut sweep = SweepState::new(None);
/// for seed in 0..8 {
///     // The strategy this seed runs under: the portfolio's pick, PCT with a run length.
///     let strategy = sweep.strategy_for(&Strategy::Portfolio, seed);
///     let mut rt = sim::Builder::new().seed(seed).strategy(strategy).build();
///     rt.block_on(async { sim::spawn(async {}).await.unwrap() }).unwrap();
///     sweep.observe(rt.schedule().len() as u64);
/// }
/// assert!(sweep.pct_steps() >= 1);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SweepState {
    /// A run length fixed by the user (`Builder::pct_steps`, `Check::pct_steps`).
    fixed: Option<u64>,
    // Invariant: the most decisions any observed run made (at least 1), if one was.
    longest: Option<u64>,
}

impl SweepState {
    /// A sweep that has run nothing yet; `pct_steps` fixes PCT's run length instead of
    /// learning it.
    pub fn new(pct_steps: Option<u64>) -> Self {
        SweepState {
            fixed: pct_steps,
            longest: None,
        }
    }

    /// The run length the next PCT run gets: the fixed one, else the longest run so
    /// far, else [`DEFAULT_PCT_STEPS`](super::DEFAULT_PCT_STEPS).
    pub fn pct_steps(&self) -> u64 {
        self.fixed
            .or(self.longest)
            .unwrap_or(super::DEFAULT_PCT_STEPS)
    }

    /// The strategy the run of `seed` gets under `strategy`: the portfolio's pick for
    /// the seed, and PCT with its run length filled in (unless it has its own).
    pub fn strategy_for(&self, strategy: &Strategy, seed: u64) -> Strategy {
        strategy.for_seed(seed).with_pct_steps(self.pct_steps())
    }

    /// A run made `decisions` decisions ([`Schedule::len`](crate::Schedule::len)).
    pub fn observe(&mut self, decisions: u64) {
        let d = decisions.max(1);
        self.longest = Some(self.longest.map_or(d, |l| l.max(d)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_the_longest_run_unless_fixed() {
        let mut s = SweepState::new(None);
        assert_eq!(s.pct_steps(), crate::sched::DEFAULT_PCT_STEPS);
        s.observe(40);
        s.observe(12);
        assert_eq!(s.pct_steps(), 40);
        assert_eq!(
            s.strategy_for(&Strategy::Portfolio, 3).to_string(),
            "pct:3:40"
        );
        assert_eq!(s.strategy_for(&Strategy::Portfolio, 0), Strategy::Random);
        let mut fixed = SweepState::new(Some(7));
        fixed.observe(40);
        assert_eq!(
            fixed.strategy_for(&Strategy::pct(2), 9).to_string(),
            "pct:2:7"
        );
    }
}
