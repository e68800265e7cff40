//! Shrinking a failing schedule: fewer context switches, then fewer steps, keeping the
//! same failure at the same place.
//!
//! Two delta-debugging passes (Zeller's ddmin: at each granularity, from halves down
//! to single items, try each chunk alone, then the list without each chunk), each
//! candidate run through the real runtime:
//!
//! 1. over the schedule's *context-switch points* ("after task A's n-th poll, run B"):
//!    a candidate keeps only some switches and takes the no-preemption fallback (the
//!    last task again, else the oldest runnable) everywhere else, so removing points
//!    removes switches;
//! 2. over the decisions themselves, replayed leniently (a decision naming a task that
//!    is not runnable, or past the end, takes the fallback), to drop steps.
//!
//! A candidate is kept when it fails the same way and its *executed* schedule is smaller
//! by (context switches, steps); the executed schedule, not the candidate, becomes the
//! new best, so the result always replays strictly with `Strategy::Replay`. The effort is
//! bounded by a number of replays; the result is deterministic.
//!
//! Before both passes, each [`buggify!`](crate::buggify!) site that fired in the failing
//! run is tried kept off ([`Builder::buggify_off`](crate::Builder::buggify_off)), one at a
//! time: a site the failure does not need is dropped from it (whatever the size of the
//! schedule it then takes), and stays off in every later candidate, so the report names
//! only the faults the failure needs and its reproduce command keeps the others off.

use crate::sched::{SwitchPoint, switch_points};
use crate::{Failure, Schedule};

/// A shrunk failure.
#[derive(Debug, Clone)]
pub struct Shrunk {
    /// The failure on the shrunk schedule (`failure.schedule()` is that schedule).
    pub failure: Failure,
    /// Replays spent.
    pub replays: u32,
}

fn size(s: &Schedule) -> (usize, usize) {
    (s.context_switches(), s.len())
}

/// A candidate run for the shrinker.
pub(crate) struct Candidate {
    /// Which decisions it takes.
    pub(crate) run: CandidateRun,
    /// `buggify!` sites (`file:line:column`) kept off in it, beyond the run's own.
    pub(crate) buggify_off: Vec<String>,
}

/// The decisions of a [`Candidate`].
pub(crate) enum CandidateRun {
    /// Only these context switches of seed `.0`.
    Switches(u64, Vec<SwitchPoint>),
    /// This schedule, replayed leniently.
    Lenient(Schedule),
}

struct Search<'a, R> {
    wanted: String,
    best: Failure,
    /// The sites kept off in `best`'s run.
    off: Vec<String>,
    /// Whether a site was dropped (the result differs even at the same size).
    dropped_fault: bool,
    replays: u32,
    budget: u32,
    replay: &'a R,
}

impl<R: Fn(Candidate) -> Result<(), Failure>> Search<'_, R> {
    /// Runs `candidate`; keeps it as the new best if it fails the same way and its
    /// executed schedule is smaller.
    fn try_candidate(&mut self, run: CandidateRun) -> bool {
        self.replays += 1;
        let candidate = Candidate {
            run,
            buggify_off: self.off.clone(),
        };
        match (self.replay)(candidate) {
            Err(f)
                if f.signature().as_ref() == Some(&self.wanted)
                    && size(f.schedule()) < size(self.best.schedule()) =>
            {
                self.best = f;
                true
            }
            _ => false,
        }
    }

    /// Tries each `buggify!` site that fired in `best`'s run kept off, in the order
    /// they first fired; keeps off each one the failure does not need.
    fn drop_faults(&mut self) {
        let fired = crate::buggify::fired(&self.best.run().trace);
        for (site, _) in fired {
            if self.replays >= self.budget {
                return;
            }
            self.replays += 1;
            let mut off = self.off.clone();
            off.push(site);
            let candidate = Candidate {
                run: CandidateRun::Lenient(self.best.schedule().clone()),
                buggify_off: off.clone(),
            };
            if let Err(f) = (self.replay)(candidate)
                && f.signature().as_ref() == Some(&self.wanted)
            {
                self.best = f;
                self.off = off;
                self.dropped_fault = true;
            }
        }
    }

    /// One delta-debugging pass (Zeller's ddmin) over the list `items(best)`, trying
    /// `make(best, kept)`: at each granularity, each chunk alone (when there are more
    /// than two), then the list without each chunk.
    fn pass<T: Clone>(
        &mut self,
        items: impl Fn(&Failure) -> Vec<T>,
        make: impl Fn(&Failure, Vec<T>) -> CandidateRun,
    ) {
        let mut chunk = (items(&self.best).len() / 2).max(1);
        loop {
            let mut improved = false;
            let mut start = 0;
            while start < items(&self.best).len() && self.replays < self.budget {
                let list = items(&self.best);
                let end = (start + chunk).min(list.len());
                if list.len() > 2 * chunk {
                    let alone = list[start..end].to_vec();
                    if self.try_candidate(make(&self.best, alone)) {
                        improved = true;
                        chunk = (items(&self.best).len() / 2).max(1);
                        start = 0;
                        continue;
                    }
                }
                let kept: Vec<T> = list[..start].iter().chain(&list[end..]).cloned().collect();
                if self.try_candidate(make(&self.best, kept)) {
                    improved = true;
                } else {
                    start += chunk;
                }
            }
            if self.replays >= self.budget || (chunk == 1 && !improved) {
                return;
            }
            if !improved {
                chunk = (chunk / 2).max(1);
            }
        }
    }
}

/// Shrinks `original`, spending at most `budget` candidate runs of `replay`.
pub(crate) fn shrink(
    original: &Failure,
    budget: u32,
    replay: impl Fn(Candidate) -> Result<(), Failure>,
) -> Option<Shrunk> {
    let wanted = original.signature()?;
    let seed = original.schedule().seed();
    let mut search = Search {
        wanted,
        best: original.clone(),
        off: Vec::new(),
        dropped_fault: false,
        replays: 0,
        budget,
        replay: &replay,
    };
    search.drop_faults();
    search.pass(
        |f| switch_points(f.schedule().steps()),
        |_, kept| CandidateRun::Switches(seed, kept),
    );
    search.pass(
        |f| f.schedule().steps().to_vec(),
        |_, kept| CandidateRun::Lenient(Schedule::new(seed, kept)),
    );
    let Search {
        best,
        replays,
        dropped_fault,
        ..
    } = search;
    (dropped_fault || size(best.schedule()) < size(original.schedule())).then_some(Shrunk {
        failure: best,
        replays,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Builder, Strategy};
    use std::cell::Cell;
    use std::rc::Rc;

    /// Two tasks bump a counter with a yield in between; fails when an update is lost.
    async fn lost_update() {
        let c = Rc::new(Cell::new(0));
        let hs: Vec<_> = (0..2)
            .map(|_| {
                let c = c.clone();
                crate::spawn(async move {
                    for _ in 0..5 {
                        crate::task::yield_now().await;
                    }
                    let v = c.get();
                    crate::task::yield_now().await;
                    c.set(v + 1);
                    for _ in 0..5 {
                        crate::task::yield_now().await;
                    }
                })
            })
            .collect();
        for h in hs {
            h.await.unwrap();
        }
        assert_eq!(c.get(), 2, "lost update");
    }

    #[test]
    fn shrinks_to_fewer_switches_and_still_replays() {
        let failure = (0..200)
            .find_map(|seed| {
                Builder::new()
                    .seed(seed)
                    .build()
                    .block_on(lost_update())
                    .err()
            })
            .expect("some seed loses the update");
        let replay = |c: Candidate| {
            assert!(c.buggify_off.is_empty(), "no site fired");
            let b = match c.run {
                CandidateRun::Switches(seed, points) => Builder::new().switch_replay(seed, points),
                CandidateRun::Lenient(s) => Builder::new().lenient_replay(s),
            };
            b.build().block_on(lost_update())
        };
        let shrunk = shrink(&failure, 500, replay).expect("the random schedule has spare switches");
        let (s0, s1) = (failure.schedule(), shrunk.failure.schedule());
        assert!(
            s1.context_switches() < s0.context_switches(),
            "{} -> {}",
            s0.context_switches(),
            s1.context_switches()
        );
        // The minimal lost update: main, A to its read, B to the end, A, main.
        assert_eq!(s1.context_switches(), 4, "{s1}");
        // The shrunk schedule replays strictly to the same failure.
        let again = Builder::new()
            .strategy(Strategy::Replay(s1.clone()))
            .build()
            .block_on(lost_update())
            .unwrap_err();
        assert_eq!(again.signature(), failure.signature());
    }

    #[test]
    fn non_determinism_is_not_shrunk() {
        let f = Builder::new()
            .strategy(Strategy::Replay(Schedule::new(0, vec![])))
            .build()
            .block_on(async {})
            .unwrap_err();
        assert!(shrink(&f, 10, |_| Ok(())).is_none());
    }
}
