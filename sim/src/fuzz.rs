//! Coverage-guided fuzzing of runs: inputs are bytes that drive every decision of a run
//! ([`Strategy::Bytes`]: scheduling choices, scheduling points, same-instant wake-ups,
//! `sim::rand` draws), and the guide is the run's *interleaving* coverage
//! ([`Coverage`]), not code coverage, which barely changes
//! between two interleavings of the same code.
//!
//! Three ways in:
//!
//! - [`run`]: one run of a body on one input: what a `cargo fuzz` target calls
//!   (`fuzz_target!(|data: &[u8]| { let _ = sim::fuzz::run(data, || async { .. }); })`,
//!   with [`run_counting`] to feed libFuzzer the interleaving coverage).
//! - [`Fuzzer`]: a deterministic (for its seed) coverage-guided loop on stable Rust:
//!   fresh inputs first, whose first decisions take the options runs took least often
//!   (stratified: a run's first decisions are not repeated while others are untried,
//!   see [`Observed::choices`]); then mutate an input of the corpus (bit flips, byte
//!   insertion and erasure, splices, small decision values), run it, keep it if it
//!   covered something new; stop at the first failure and [`minimize`] it.
//! - `Check::fuzz` and `#[sim::test(fuzz = N)]` run that loop in `cargo test`, and
//!   `corosim fuzz SPEC` over the scenario library.
//!
//! A failing input replays exactly with `SIM_STRATEGY=bytes:<hex>` (the report says so).
//!
//! ```
//! use sim::fuzz::{Fuzzer, Verdict};
//! use std::{cell::Cell, rc::Rc};
//!
//! // A check-then-act across a scheduling point: some interleaving loses an update.
//! let body = || async {
//!     let n = Rc::new(Cell::new(0));
//!     let tasks: Vec<_> = (0..2)
//!         .map(|_| {
//!             let n = n.clone();
//!             sim::spawn(async move {
//!                 let seen = n.get();
//!                 sim::task::scheduling_point().await;
//!                 n.set(seen + 1);
//!             })
//!         })
//!         .collect();
//!     for t in tasks {
//!         t.await.unwrap();
//!     }
//!     assert_eq!(n.get(), 2, "an update was lost");
//! };
//! let mut fuzzer = Fuzzer::new(7);
//! let found = (0..10_000).find_map(|_| {
//!     let input = fuzzer.next_input();
//!     let (verdict, failure) = fuzzer.try_input(&input, |data| sim::fuzz::run(data, body));
//!     (verdict == Verdict::Failed).then(|| (input, failure.unwrap()))
//! });
//! let (input, failure) = found.expect("the lost update is found");
//! assert_eq!(failure.kind(), sim::FailureKind::Panic);
//! // The input replays to the same failure.
//! assert!(sim::fuzz::run(&input, body).0.is_err());
//! ```

use std::collections::BTreeSet;
use std::future::Future;

use crate::coverage::Coverage;
use crate::rng::{DetRng, Stream, tail_seed_of};
use crate::{Builder, Failure, Strategy};

pub use crate::rng::Choice;

/// What one run on an input gave: its result, and its coverage and bytes taken.
pub type RunOutcome<T> = (Result<T, Failure>, Observed);

/// What the fuzzer learns from a run besides its result.
#[derive(Clone, Debug, Default)]
pub struct Observed {
    /// The run's interleaving coverage.
    pub coverage: Coverage,
    /// The input that replays the run decision for decision (see
    /// [`Runtime::replay_input`](crate::Runtime::replay_input)).
    pub replay_input: Vec<u8>,
    /// What the first bytes of the input decided (see
    /// [`Runtime::input_choices`](crate::Runtime::input_choices)), at offsets in the
    /// input the fuzzer made: a harness that gives the runtime only part of it (after
    /// a configuration prefix) adds the length of what it kept back to each `at`. The
    /// [`Fuzzer`] stratifies its fresh inputs with them; left empty, its fresh inputs'
    /// first decisions are uniform draws.
    pub choices: Vec<Choice>,
}

/// Runs `body` once on a fresh runtime driven by `data` ([`Strategy::Bytes`]); returns
/// its result and what the fuzzer needs to know of the run.
pub fn run<F, Fut>(data: &[u8], body: F) -> RunOutcome<Fut::Output>
where
    F: FnOnce() -> Fut,
    Fut: Future,
{
    run_with(Builder::new(), data, body)
}

/// [`run`] on a runtime configured by `builder` (bounds, panic policy); its strategy
/// is replaced by `Strategy::Bytes(data)`.
pub fn run_with<F, Fut>(builder: Builder, data: &[u8], body: F) -> RunOutcome<Fut::Output>
where
    F: FnOnce() -> Fut,
    Fut: Future,
{
    let mut rt = builder.strategy(Strategy::Bytes(data.to_vec())).build();
    let result = rt.block_on(body());
    (result, Observed::of(&rt, data))
}

impl Observed {
    /// What the fuzzer learns from `rt`'s last run, driven by `data`.
    pub fn of(rt: &crate::Runtime, data: &[u8]) -> Self {
        Observed {
            coverage: rt.coverage(),
            replay_input: rt.replay_input().unwrap_or(data).to_vec(),
            choices: rt.input_choices().to_vec(),
        }
    }
}

/// [`run`], adding the run's interleaving coverage to `counters` (libFuzzer's extra
/// counters, see [`Coverage::add_to_counters`]).
pub fn run_counting<F, Fut>(
    data: &[u8],
    counters: &mut [u8],
    body: F,
) -> Result<Fut::Output, Failure>
where
    F: FnOnce() -> Fut,
    Fut: Future,
{
    let (result, observed) = run(data, body);
    observed.coverage.add_to_counters(counters);
    result
}

/// What became of an input the [`Fuzzer`] ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The run covered something new: the input joined the corpus.
    New,
    /// Nothing new.
    Known,
    /// The run failed.
    Failed,
}

/// Runs of fresh inputs only before mutations start.
pub const WARM_UP: u64 = 64;

/// The shortest random head of a fresh input, in bytes. Its tail's seed is a hash of
/// the bytes the run took, so a one-byte head (256 values, a quarter of them picking
/// the random tail) could only ever start 64 distinct schedules: measured on
/// `classic/work-stealing-queue`, fresh inputs with a one-byte head found the bug in
/// 19.9 % of runs against 30–33 % for longer heads and 31.3 % for a random seed sweep.
pub const FRESH_HEAD_MIN: usize = 4;

/// The longest random head of a fresh input, in bytes.
pub const FRESH_HEAD_MAX: usize = 8;

/// The shortest random head of a warm-up input (a fresh input of the first
/// [`WARM_UP`] runs), in bytes: the decisions past the stratified ones are random up
/// to there, and only the rest of a longer run follows the input's priority tail
/// (see [`Fuzzer::next_input`]). Measured over the buggy scenario variants
/// (`benches/fuzz.rs`), shorter heads hand runs of about 20 decisions to the tail too
/// soon: heads of 12 to 16 bytes took `classic/dining-philosophers` 3.76 runs and
/// `philosophers/left-then-right-no-yield` 8.02 (10,000 searches; random seeds 3.60
/// and 7.75), while 20 to 24 bytes are level with random seeds (40,000 searches:
/// 3.62 against 3.63, 7.89 against 7.83); longer heads leave too little of
/// `pipeline/bounded-feedback`'s runs to the tail (28 to 32 bytes: 14.14 runs against
/// 13.65, 10,000 searches).
pub const WARM_UP_HEAD_MIN: usize = 20;

/// The longest random head of a warm-up input, in bytes.
pub const WARM_UP_HEAD_MAX: usize = 24;

/// The longest input the fuzzer makes, in bytes.
pub const MAX_INPUT_LEN: usize = 4096;

/// A coverage-guided fuzzer of byte inputs, deterministic for its seed: the same seed
/// and the same runs give the same inputs in the same order.
pub struct Fuzzer {
    rng: DetRng,
    /// Replay inputs of the runs that covered something new.
    corpus: Vec<Vec<u8>>,
    /// Inputs to run before any mutation (a starting corpus), next last.
    pending: Vec<Vec<u8>>,
    /// Every feature covered so far.
    seen: BTreeSet<u64>,
    execs: u64,
    /// The bytes fresh inputs start with.
    prefix: Vec<u8>,
    /// The options of the first decisions past the prefix, and how often runs took
    /// each: fresh inputs take the least-taken ones.
    strata: Strata,
}

/// How many decisions at the start of a fresh input (past the prefix) are stratified:
/// the fuzzer keeps the tree of the runs' first decisions to this depth, and a fresh
/// input takes, at each decision of it, an option runs took least often.
pub const STRATA_DEPTH: usize = 32;

/// The most decision nodes [`Strata`] keeps (beyond it, no new node is added and
/// fresh inputs reaching there go on at random).
const STRATA_NODES: usize = 1 << 14;

/// The tree of the first [`STRATA_DEPTH`] decisions (and `sim::rand` draws) of the
/// runs of inputs that start with the fuzzer's prefix, each node with its number of
/// options and how many runs took each option. A fresh input walks it taking, at each
/// node, an option taken least often so far (ties at random), then goes on with
/// random bytes where the tree ends.
///
/// Why: per node, that is the same option distribution as a uniform draw (every
/// option equally often), but *stratified*: the first runs through a node take its
/// options in turn instead of independently, so `k` runs through a node of `k`
/// options try each once, and runs repeat a prefix of decisions only once every
/// shorter alternative has been tried as often. If option `i` of a node leads to the
/// bug with probability `p_i`, `k` stratified runs all miss it with probability
/// `prod(1 - p_i) <= (1 - mean p)^k`, what `k` independent uniform runs do (the
/// arithmetic–geometric mean inequality): never worse, and better the more the bug
/// depends on the first decisions (which philosopher reaches for a fork first, which
/// thinking times are drawn).
#[derive(Default)]
struct Strata {
    nodes: Vec<StrataNode>,
}

struct StrataNode {
    /// How many runs took each option.
    taken: Vec<u32>,
    /// The node after each option (0: none yet; the root is node 0, no one's child).
    next: Vec<u32>,
}

impl Strata {
    /// Learns the path of a run whose input starts with a prefix of `prefix_len`
    /// bytes, from what its bytes decided (see [`Observed::choices`]).
    fn learn(&mut self, choices: &[Choice], prefix_len: usize) {
        // The node before this decision and the option taken there.
        let mut from: Option<(usize, usize)> = None;
        for (at, c) in (prefix_len..).zip(
            choices
                .iter()
                .skip_while(|c| c.at < prefix_len)
                .take(STRATA_DEPTH),
        ) {
            // Only one-byte choices among known options are stratified; a raw draw, a
            // wide choice or one straddling the prefix ends the path.
            if c.at != at || c.width != 1 || !(1..=256).contains(&c.arity) {
                break;
            }
            let id = match from {
                None if self.nodes.is_empty() => {
                    self.nodes.push(StrataNode::new(c.arity));
                    0
                }
                None => 0,
                Some((node, option)) => match self.nodes[node].next[option] {
                    0 if self.nodes.len() < STRATA_NODES => {
                        let id = self.nodes.len();
                        self.nodes[node].next[option] = id as u32;
                        self.nodes.push(StrataNode::new(c.arity));
                        id
                    }
                    0 => break,
                    id => id as usize,
                },
            };
            let n = &mut self.nodes[id];
            if n.taken.len() as u64 != c.arity {
                // The body decided differently on the same path (it is not a function
                // of its decisions and draws): learn nothing more from it.
                break;
            }
            let option = c.index as usize;
            n.taken[option] += 1;
            from = Some((id, option));
        }
    }

    /// The first bytes of a fresh input: from the root, while the node is known, an
    /// option taken least often there (ties broken by `rng`), as the byte that takes
    /// it.
    fn walk(&self, rng: &mut DetRng) -> Vec<u8> {
        let mut out = Vec::new();
        let mut node = 0;
        while out.len() < STRATA_DEPTH {
            let Some(n) = self.nodes.get(node) else { break };
            let least = *n.taken.iter().min().expect("a node has options");
            let ties = n.taken.iter().filter(|&&t| t == least).count();
            let nth = if ties > 1 {
                rng.below(ties as u64) as usize
            } else {
                0
            };
            let option = (0..n.taken.len())
                .filter(|&i| n.taken[i] == least)
                .nth(nth)
                .expect("one of the ties");
            out.push(option as u8);
            match n.next[option] {
                0 => break,
                id => node = id as usize,
            }
        }
        out
    }
}

impl StrataNode {
    fn new(arity: u64) -> Self {
        StrataNode {
            taken: vec![0; arity as usize],
            next: vec![0; arity as usize],
        }
    }
}

/// The tail shapes a fresh input can ask for: `Strategy::PORTFOLIO`'s strategies.
const ARMS: usize = Strategy::PORTFOLIO.len();

/// The tail shape of the warm-up's fresh inputs: `Strategy::PORTFOLIO[1]`, PCT of
/// depth 2, after a random head of [`WARM_UP_HEAD_MIN`] to [`WARM_UP_HEAD_MAX`]
/// bytes. A run of such an input schedules its first decisions at random and the rest
/// by priorities (PCT's are random, and its one change point is drawn from 1,000
/// decisions unless the builder sets `pct_steps`, so a run of a few dozen decisions
/// rarely meets it): a random start, then a consistent order of tasks, which a cycle
/// of bounded channels needs to fill up.
///
/// Measured over the buggy scenario variants (`benches/fuzz.rs`): random schedules
/// find the shallow bugs fastest, or within 8 % of the fastest, on almost every
/// variant, while whole PCT schedules are up to a hundred times slower on some
/// (`classic/dining-philosophers`: 3.6 runs against 347), so warm-up tails of either
/// shape, or of both at any fixed rate, lost on one variant or another. Most of those
/// variants' runs end within the random head (all but two classic bugs take fewer
/// than 15 decisions), so they stay random schedules; on `pipeline/bounded-feedback`
/// (runs of about 65 decisions, a deadlock formed late) the priority tail took the
/// fuzzer from 15.51 runs (random tails) to 13.65 (10,000 searches; random seeds
/// 15.45, the default portfolio 14.73), and no variant got slower than the random
/// seeds or the portfolio by more than 1.5 standard errors (the closest,
/// `philosophers/left-then-right-no-yield`: 7.89 against 7.83, 40,000 searches). The
/// other shapes are kept for the fresh inputs mixed into the mutations, where variety
/// matters more.
const WARM_UP_ARM: usize = 1;

impl Fuzzer {
    /// A fuzzer whose inputs and mutations draw from `seed`, with an empty corpus.
    pub fn new(seed: u64) -> Self {
        Fuzzer {
            rng: DetRng::new(seed, Stream::Fuzzer),
            corpus: Vec::new(),
            pending: Vec::new(),
            seen: BTreeSet::new(),
            execs: 0,
            prefix: Vec::new(),
            strata: Strata::default(),
        }
    }

    /// Makes fresh inputs start with `prefix` (e.g. `[0]`: a scenario's default
    /// configuration, see `scenarios::Entry::run_input`); mutations may change it.
    pub fn with_prefix(mut self, prefix: &[u8]) -> Self {
        self.prefix = prefix.to_vec();
        self
    }

    /// Adds inputs to the corpus (a saved corpus, a directory of inputs); each is
    /// also run once, before any mutation, in the order given.
    pub fn add_to_corpus(&mut self, inputs: impl IntoIterator<Item = Vec<u8>>) {
        for mut input in inputs {
            input.truncate(MAX_INPUT_LEN);
            if !self.corpus.contains(&input) {
                self.corpus.push(input.clone());
                self.pending.insert(0, input);
            }
        }
    }

    /// The inputs kept so far (each covered something new when it ran).
    pub fn corpus(&self) -> &[Vec<u8>] {
        &self.corpus
    }

    /// How many distinct interleaving features the runs covered.
    pub fn features(&self) -> usize {
        self.seen.len()
    }

    /// How many inputs were run.
    pub fn execs(&self) -> u64 {
        self.execs
    }

    /// The next input to try: the starting corpus first (once each, in order); then,
    /// for the first [`WARM_UP`] runs, fresh inputs only (the first decisions
    /// stratified: at each decision the runs so far made, an option taken least
    /// often; then [`WARM_UP_HEAD_MIN`] to [`WARM_UP_HEAD_MAX`] random decisions, and
    /// a tail seeded by them that is a PCT schedule of depth 2: a new schedule each,
    /// random at first and by priorities after that, which builds a varied corpus and
    /// finds shallow bugs about as fast as a random seed sweep does, and a bug that
    /// needs one order of tasks late in a long run faster); after that, mostly
    /// mutations of corpus inputs, with one fresh input in four, whose head is
    /// [`FRESH_HEAD_MIN`] to [`FRESH_HEAD_MAX`] random bytes and whose tail is any of
    /// the portfolio's shapes (random, PCT of depth 2 or 3, probabilistic), chosen
    /// uniformly.
    pub fn next_input(&mut self) -> Vec<u8> {
        if let Some(input) = self.pending.pop() {
            return input;
        }
        if self.execs < WARM_UP || self.corpus.is_empty() {
            return self.fresh(WARM_UP_ARM, WARM_UP_HEAD_MIN..=WARM_UP_HEAD_MAX);
        }
        if self.rng.below(4) == 0 {
            let arm = self.rng.below(ARMS as u64) as usize;
            return self.fresh(arm, FRESH_HEAD_MIN..=FRESH_HEAD_MAX);
        }
        let base = self.pick();
        let mut input = self.corpus[base].clone();
        let rounds = 1 + self.rng.below(4);
        for _ in 0..rounds {
            self.mutate(&mut input);
        }
        input.truncate(MAX_INPUT_LEN);
        input
    }

    /// Runs `input` with `run` and learns from it: a run that covers a new feature
    /// puts its replay input (every decision it made, as bytes) in the corpus, and a
    /// run of an input that starts with the prefix tells which options its first
    /// decisions had and took ([`Observed::choices`]), for the next fresh inputs.
    pub fn try_input<T>(
        &mut self,
        input: &[u8],
        run: impl FnOnce(&[u8]) -> RunOutcome<T>,
    ) -> (Verdict, Option<Failure>) {
        let (result, observed) = run(input);
        self.execs += 1;
        // Every run of the prefix (fresh inputs and mutations alike) counts: fresh
        // inputs avoid the decisions any run has already made.
        if input.starts_with(&self.prefix) {
            self.strata.learn(&observed.choices, self.prefix.len());
        }
        let mut new = false;
        for &f in observed.coverage.features() {
            new |= self.seen.insert(f);
        }
        if new {
            let mut kept = observed.replay_input;
            kept.truncate(MAX_INPUT_LEN);
            if !self.corpus.contains(&kept) {
                self.corpus.push(kept);
            }
        }
        match result {
            Err(f) => (Verdict::Failed, Some(f)),
            Ok(_) if new => (Verdict::New, None),
            Ok(_) => (Verdict::Known, None),
        }
    }

    /// Runs inputs from [`next_input`](Self::next_input) through `run` while
    /// `go_on(self)` says so (checked before each run: a budget of executions, or of
    /// time for a command line), and returns the first failing input with its
    /// failure.
    pub fn search<T>(
        &mut self,
        mut go_on: impl FnMut(&Fuzzer) -> bool,
        mut run: impl FnMut(&[u8]) -> RunOutcome<T>,
    ) -> Option<(Vec<u8>, Failure)> {
        while go_on(self) {
            let input = self.next_input();
            if let (Verdict::Failed, Some(failure)) = self.try_input(&input, &mut run) {
                return Some((input, failure));
            }
        }
        None
    }

    /// A fresh input: the prefix, the stratified first decisions ([`Strata`]), then
    /// random bytes (as many as `head` says, at least 4: each fresh input's tail seed
    /// is new even where its first decisions repeat an earlier run's) and a tail that
    /// is a run of `Strategy::PORTFOLIO[arm]`: the random bytes are drawn until the
    /// tail seed of the whole picks that arm (the run takes them all, unless it ends or
    /// asks for a wider draw first).
    fn fresh(&mut self, arm: usize, head: std::ops::RangeInclusive<usize>) -> Vec<u8> {
        let strata = self.strata.walk(&mut self.rng);
        let (min, max) = head.into_inner();
        loop {
            let len = min + self.rng.below((max - min + 1) as u64) as usize;
            let mut head = vec![0; strata.len() + len];
            head[..strata.len()].copy_from_slice(&strata);
            self.rng.fill(&mut head[strata.len()..]);
            if crate::sched::tail_arm(tail_seed_of(&head)) == arm {
                head.splice(0..0, self.prefix.iter().copied());
                return head;
            }
        }
    }

    /// A corpus entry to mutate: half the time one of the last eight added (they
    /// opened new ground), else any.
    fn pick(&mut self) -> usize {
        let n = self.corpus.len() as u64;
        if n > 8 && self.rng.below(2) == 0 {
            (n - 1 - self.rng.below(8)) as usize
        } else {
            self.rng.below(n) as usize
        }
    }

    /// One mutation of `input`.
    fn mutate(&mut self, input: &mut Vec<u8>) {
        // A uniform byte is a uniform choice among any number of candidates up to
        // 256 (`value % n`); small values only would favour the first candidates.
        let decision = |rng: &mut DetRng| rng.below(256) as u8;
        let len = input.len() as u64;
        match self.rng.below(8) {
            // Grow: append decisions (the run goes on deciding where the input ended).
            0 | 1 => {
                let n = 1 + self.rng.below(16);
                for _ in 0..n {
                    let b = decision(&mut self.rng);
                    input.push(b);
                }
            }
            2 if len > 0 => {
                let i = self.rng.below(len) as usize;
                input[i] ^= 1 << self.rng.below(8);
            }
            3 if len > 0 => {
                let i = self.rng.below(len) as usize;
                input[i] = decision(&mut self.rng);
            }
            4 => {
                let i = self.rng.below(len + 1) as usize;
                let b = decision(&mut self.rng);
                input.insert(i, b);
            }
            5 if len > 0 => {
                let i = self.rng.below(len) as usize;
                let n = 1 + self.rng.below((len - i as u64).min(8)) as usize;
                input.drain(i..i + n);
            }
            6 if self.corpus.len() > 1 => {
                // Splice: this input's prefix, another's suffix.
                let other = self.rng.below(self.corpus.len() as u64) as usize;
                let cut = self.rng.below(len + 1) as usize;
                let from = &self.corpus[other];
                let at = self.rng.below(from.len() as u64 + 1) as usize;
                input.truncate(cut);
                input.extend_from_slice(&from[at..]);
            }
            _ if len > 0 => {
                let i = self.rng.below(len) as usize;
                input[i] = input[i].wrapping_add(if self.rng.below(2) == 0 { 1 } else { 255 });
            }
            _ => input.push(decision(&mut self.rng)),
        }
    }
}

/// Shrinks a failing input to fewer bytes that still `fails` (the same way: the
/// caller decides), spending at most `budget` runs: first the bytes its run took, then
/// removing chunks (halves down to single bytes), then lowering bytes to zero (the
/// no-preemption choice). The result is never longer than `input` and always fails.
pub fn minimize(input: &[u8], budget: u32, mut fails: impl FnMut(&[u8]) -> bool) -> Vec<u8> {
    let mut best = input.to_vec();
    let mut runs = 0;
    let mut attempt = |candidate: &[u8], runs: &mut u32| -> bool {
        *runs += 1;
        fails(candidate)
    };
    let mut chunk = (best.len() / 2).max(1);
    while !best.is_empty() && runs < budget {
        let mut removed = false;
        let mut start = 0;
        while start < best.len() && runs < budget {
            let end = (start + chunk).min(best.len());
            let candidate: Vec<u8> = best[..start].iter().chain(&best[end..]).copied().collect();
            if attempt(&candidate, &mut runs) {
                best = candidate;
                removed = true;
            } else {
                start += chunk;
            }
        }
        if chunk == 1 && !removed {
            break;
        }
        if !removed {
            chunk = (chunk / 2).max(1);
        }
    }
    for i in 0..best.len() {
        if runs >= budget {
            break;
        }
        if best[i] != 0 {
            let mut candidate = best.clone();
            candidate[i] = 0;
            if attempt(&candidate, &mut runs) {
                best = candidate;
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_makes_the_same_inputs() {
        let inputs = |seed| {
            let mut f = Fuzzer::new(seed);
            f.add_to_corpus([vec![1, 2, 3], vec![9; 12]]);
            (0..50).map(|_| f.next_input()).collect::<Vec<_>>()
        };
        assert_eq!(inputs(3), inputs(3));
        assert_ne!(inputs(3), inputs(4));
    }

    /// Warm-up inputs are a random head of 20 to 24 bytes (no run has taught the
    /// fuzzer any decision yet) and a PCT tail of depth 2.
    #[test]
    fn warm_up_inputs_are_random_heads_with_priority_tails() {
        assert_eq!(Strategy::PORTFOLIO[WARM_UP_ARM], Strategy::pct(2));
        let mut f = Fuzzer::new(5);
        for _ in 0..WARM_UP {
            let input = f.next_input();
            assert!(
                (WARM_UP_HEAD_MIN..=WARM_UP_HEAD_MAX).contains(&input.len()),
                "{input:?}"
            );
            assert_eq!(crate::sched::tail_arm(tail_seed_of(&input)), WARM_UP_ARM);
            f.execs += 1;
        }
    }

    /// Fresh inputs start distinct random schedules: no two of a thousand (over several
    /// fuzzer seeds) share the tail seed. One-byte heads could give only 64 tail seeds
    /// to the random arm, repeated across searches.
    #[test]
    fn fresh_inputs_start_distinct_schedules() {
        let mut seeds = std::collections::BTreeSet::new();
        for fuzz_seed in 0..16 {
            let mut f = Fuzzer::new(fuzz_seed);
            for _ in 0..WARM_UP {
                let input = f.next_input();
                assert!(
                    seeds.insert(tail_seed_of(&input)),
                    "{input:?} repeats a tail seed"
                );
                f.execs += 1;
            }
        }
        assert_eq!(seeds.len(), 16 * WARM_UP as usize);
    }

    /// What `n` warm-up inputs of fuzzer `seed` make a body that draws `draws` values
    /// below `options` take: the values of each run.
    fn warm_up_draws(seed: u64, n: usize, draws: usize, options: u64) -> Vec<Vec<u64>> {
        let mut f = Fuzzer::new(seed);
        (0..n)
            .map(|_| {
                let input = f.next_input();
                let mut got = Vec::new();
                f.try_input(&input, |data| {
                    let (r, observed) = run(data, || async {
                        (0..draws)
                            .map(|_| crate::rand::gen_range(0..options))
                            .collect::<Vec<u64>>()
                    });
                    got = r.expect("the body does not fail");
                    (Ok(()), observed)
                });
                got
            })
            .collect()
    }

    /// Fresh inputs take the options of a run's first decision in turn: the first `k`
    /// runs through a decision of `k` options take each once (uniform draws would
    /// repeat one with probability `1 - k!/k^k`, 98.5 % for six options).
    #[test]
    fn fresh_inputs_take_the_options_of_a_decision_in_turn() {
        for seed in 0..8 {
            let firsts: BTreeSet<u64> = warm_up_draws(seed, 6, 1, 6).iter().map(|d| d[0]).collect();
            assert_eq!(firsts.len(), 6, "seed {seed}: {firsts:?}");
        }
    }

    /// Fresh inputs do not repeat a run while the tree of its first decisions has a
    /// path not taken: two binary draws make four runs, and four fresh inputs make
    /// them all (uniform draws: all four with probability 4!/4^4, 9.4 %).
    #[test]
    fn fresh_inputs_make_every_run_of_a_small_tree_once() {
        for seed in 0..8 {
            let runs: BTreeSet<Vec<u64>> = warm_up_draws(seed, 4, 2, 2).into_iter().collect();
            assert_eq!(runs.len(), 4, "seed {seed}: {runs:?}");
            // And the next four make them all again, once each.
            let eight = warm_up_draws(seed, 8, 2, 2);
            let again: BTreeSet<&Vec<u64>> = eight[4..].iter().collect();
            assert_eq!(again.len(), 4, "seed {seed}: {eight:?}");
        }
    }

    /// A run reports what its input's first bytes decided, with the number of options
    /// of each decision, past the end of the input too.
    #[test]
    fn a_run_reports_its_choices() {
        let (r, observed) = run(&[7, 1], || async {
            let a = crate::rand::gen_range(0..10u64);
            let b = crate::rand::gen_range(0..3u64);
            let c = crate::rand::gen_range(0..5u64);
            (a, b, c)
        });
        let (a, b, c) = r.unwrap();
        assert_eq!((a, b), (7, 1));
        let choices: Vec<_> = observed
            .choices
            .iter()
            .map(|ch| (ch.at, ch.width, ch.index, ch.arity))
            .collect();
        assert_eq!(choices, [(0, 1, 7, 10), (1, 1, 1, 3), (2, 1, c, 5)]);
        assert_eq!(observed.replay_input, [7, 1, c as u8]);
    }

    #[test]
    fn minimize_keeps_a_failing_input_and_never_grows() {
        // "Fails" when the input holds a 7 somewhere after a 3.
        let fails = |d: &[u8]| {
            d.iter()
                .position(|&b| b == 3)
                .is_some_and(|i| d[i..].contains(&7))
        };
        let input = vec![1, 3, 9, 9, 2, 7, 5, 5];
        let small = minimize(&input, 500, fails);
        assert!(fails(&small));
        assert_eq!(small, vec![3, 7]);
        assert!(minimize(&[4, 4], 10, |_| false).len() <= 2);
    }
}
