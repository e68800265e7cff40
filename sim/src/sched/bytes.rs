//! `Strategy::Bytes(data)`: every decision drawn from the given bytes, for fuzzers.
//!
//! The bytes are a [`ByteSource`](crate::rng::ByteSource) the run's scheduler shares
//! with its user generator (`sim::rand`): decisions and draws take the next bytes in
//! the order the run asks. A forced choice (one candidate) consumes nothing. Otherwise
//! the next `w` bytes, little-endian, pick candidate `value % n`, where `n` is the
//! number of candidates (the ready tasks, plus the running task at a scheduling point,
//! which is candidate `n - 1`) and `w` is 1 when `n <= 256`, 2 when `n <= 65536`, else
//! 4.
//!
//! A yield is a real yield: at the decision after a task's `yield_now`, while another
//! task is ready, the yielder is no candidate (the candidates are the others, in the
//! same order). tokio's current-thread runtime always runs the other ready tasks before
//! a task that yielded, and polling it again at once changes nothing but the order
//! of one poll, so that option spent input on a schedule that rarely matters. It is a
//! search heuristic of this decoder, like PCT's demotion of a yielder: `Random` keeps
//! the option (it stays uniform over every interleaving the model allows, including
//! ones a multi-threaded runtime can make). Measured, it made the fuzzer find
//! `philosophers/left-then-right`'s deadlock in 3.28 runs instead of 3.99 (random
//! seeds: 4.07). Past the end of the input the same holds: a tail that picks the
//! yielder is overruled by a candidate drawn from its seed and the decision's index.
//!
//! When fewer than `w` bytes remain, the source is spent and the run goes on with one
//! of the portfolio's strategies: its *tail seed* `s` is a hash of the bytes taken
//! ([`tail_seed_of`](crate::rng::tail_seed_of)), and every later decision is made by
//! [`tail_strategy`]`(s)` (one of `Strategy::PORTFOLIO`, each with equal chance:
//! random, PCT of depth 2 or 3, or probabilistic) seeded by `s`, which learns the tasks
//! spawned and ready so far.
//! Each of those decisions is written down as the byte that makes it, so the run's
//! replay input decides it from bytes too: every input is a complete run, a function
//! of the bytes it took, and the tail of a short input is a schedule of the shape the
//! portfolio's strategies draw (a fuzzer picks the shape by the bytes it starts with).

use super::{Decision, Divergence, ReadySet, Scheduler, Strategy};
use crate::ids::TaskId;
use crate::rng::{SharedBytes, byte_width};

/// Which of `Strategy::PORTFOLIO` makes the decisions of a bytes run past the end of
/// its input, whose bytes taken hash to `tail_seed`: from the high bits of the seed,
/// mixed (FNV's low bits depend only on the low bits of the bytes, so they would tie
/// the pick to the parity of the last decisions).
pub(crate) fn tail_arm(tail_seed: u64) -> usize {
    ((splitmix(tail_seed) >> 32) % Strategy::PORTFOLIO.len() as u64) as usize
}

/// SplitMix64's finalizer: every bit of `x` moves every bit of the result.
fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The strategy of [`tail_arm`], PCT with the run length `pct_steps`.
pub(crate) fn tail_strategy(tail_seed: u64, pct_steps: u64) -> Strategy {
    Strategy::PORTFOLIO[tail_arm(tail_seed)]
        .clone()
        .with_pct_steps(pct_steps)
}

pub(crate) struct BytesScheduler {
    bytes: SharedBytes,
    /// PCT's run length, for a tail of that strategy.
    pct_steps: u64,
    /// How many tasks were spawned (ids are dense), for a tail scheduler built later.
    spawned: u32,
    /// Makes the decisions once the bytes are spent (and they are written down).
    tail: Option<Box<dyn Scheduler>>,
    /// The task that yielded since the last decision, if any.
    yielder: Option<TaskId>,
}

impl BytesScheduler {
    pub(crate) fn new(bytes: SharedBytes, pct_steps: u64) -> Self {
        BytesScheduler {
            bytes,
            pct_steps,
            spawned: 0,
            tail: None,
            yielder: None,
        }
    }

    /// The tail scheduler for the spent source's seed, told of every task spawned so
    /// far and of the ready ones (the running one, if any, has no ready entry, as in
    /// any scheduler).
    fn tail(&mut self, ready: &ReadySet) -> &mut Box<dyn Scheduler> {
        if self.tail.is_none() {
            let (seed, pct_steps) = (self.tail_seed(), self.pct_steps);
            let mut s =
                super::build(&tail_strategy(seed, pct_steps), seed, pct_steps, None).scheduler;
            for i in 0..self.spawned {
                s.spawned(TaskId(i));
            }
            for i in 0..ready.len() {
                s.readied(ready.get(i));
            }
            self.tail = Some(s);
        }
        self.tail.as_mut().expect("built above")
    }

    /// The seed of the spent source's tail.
    fn tail_seed(&self) -> u64 {
        crate::rng::source(&self.bytes)
            .tail_seed()
            .expect("a spent source has a tail seed")
    }
}

/// Candidate index `i` of a decision that leaves out the candidate at `skip` (the
/// yielder), as an index among all of the decision's candidates.
fn unskip(i: usize, skip: Option<usize>) -> usize {
    skip.map_or(i, |s| i + usize::from(i >= s))
}

impl Scheduler for BytesScheduler {
    fn spawned(&mut self, task: TaskId) {
        self.spawned = self.spawned.max(task.0 + 1);
        if let Some(t) = &mut self.tail {
            t.spawned(task);
        }
    }

    fn readied(&mut self, task: TaskId) {
        if let Some(t) = &mut self.tail {
            t.readied(task);
        }
    }

    fn yielded(&mut self, task: TaskId) {
        self.yielder = Some(task);
        if let Some(t) = &mut self.tail {
            t.yielded(task);
        }
    }

    fn spinning(&mut self, task: TaskId) {
        // Only a tail has priorities to starve a task with; the bytes choose freely.
        if let Some(t) = &mut self.tail {
            t.spinning(task);
        }
    }

    fn choose(&mut self, ready: &mut ReadySet, at: Decision) -> Result<TaskId, Divergence> {
        // A task that yielded is no candidate for the decision after its yield while
        // another task is ready (see the module docs).
        let skip = self
            .yielder
            .take()
            .filter(|_| at.running.is_none() && ready.len() >= 2)
            .and_then(|y| ready.position(y));
        let n = at.candidates(ready) - usize::from(skip.is_some());
        // Candidate `i` of this decision: `at`'s, with the yielder left out.
        if n == 1 {
            return Ok(at.candidate(ready, unskip(0, skip)));
        }
        let width = byte_width(n as u64);
        let taken = crate::rng::source(&self.bytes).take(width, n as u64);
        if let Some(value) = taken {
            return Ok(at.candidate(ready, unskip((value % n as u64) as usize, skip)));
        }
        let mut t = self.tail(ready).choose(ready, at)?;
        if let Some(s) = skip.filter(|&s| ready.get(s) == t) {
            // The tail chose the yielder: take another candidate, drawn from the tail's
            // seed and the decision's index, and give the yielder back its turn.
            let i = (splitmix(self.tail_seed() ^ at.index) % n as u64) as usize;
            t = at.candidate(ready, unskip(i, skip));
            if let Some(tail) = &mut self.tail {
                tail.readied(ready.get(s));
            }
        }
        let i = match ready.position(t) {
            Some(p) => p - usize::from(skip.is_some_and(|s| p > s)),
            None => {
                assert_eq!(
                    at.running,
                    Some(t),
                    "the tail chose a task that is no candidate"
                );
                n - 1
            }
        };
        crate::rng::source(&self.bytes).write(i as u64, width, n as u64);
        Ok(t)
    }
}
