//! The two sweeps that are not over seeds: a coverage-guided fuzz campaign
//! ([`Check::fuzz`](super::Check::fuzz), `#[sim::test(fuzz = N)]`) and a systematic
//! exploration of schedules ([`Check::explore`](super::Check::explore),
//! `#[sim::test(explore)]`). Both end a failure the way a seed sweep does
//! ([`Failing::fail`]: shrink the schedule, write the files, one reproduce command);
//! a fuzz failure first has its input minimized, and replays from its bytes.

use std::future::Future;

use super::{CheckFailure, CheckReport, Failing, TestResult};
use crate::Strategy;
use crate::explore::Explore;
use crate::fuzz::{Fuzzer, Observed, RunOutcome, minimize};

impl<F, Fut> Failing<'_, F>
where
    F: Fn() -> Fut,
    Fut: Future,
    Fut::Output: TestResult,
{
    /// One run driven by `input` ([`Strategy::Bytes`]), with what the fuzzer learns.
    fn run_bytes(&self, input: &[u8]) -> RunOutcome<()> {
        let runner = self.runner;
        let mut rt = runner
            .base
            .clone()
            .strategy(Strategy::Bytes(input.to_vec()))
            .build();
        let result = rt.run_at(|| runner.main(), runner.location);
        (result, Observed::of(&rt, input))
    }

    /// `execs` executions of a fuzzer seeded with `seed`; the first failure's input
    /// is minimized (the same failure, at most the shrink budget of runs) and the
    /// failure on the minimized input is reported, replaying from its bytes.
    pub(super) fn fuzz(&self, execs: u64, seed: u64) -> Result<CheckReport, Box<CheckFailure>> {
        let mut fuzzer = Fuzzer::new(seed);
        let found = fuzzer.search(|f| f.execs() < execs, |input| self.run_bytes(input));
        let Some((input, failure)) = found else {
            return Ok(CheckReport {
                regressions: 0,
                runs: fuzzer.execs(),
                start_seed: seed,
            });
        };
        let wanted = failure.signature();
        let small = minimize(
            &input,
            self.shrink_budget,
            |candidate| matches!(self.run_bytes(candidate).0, Err(f) if f.signature() == wanted),
        );
        // The minimized input fails the same way (`minimize` keeps only such inputs);
        // run it once more for its report.
        let failure = self.run_bytes(&small).0.err().unwrap_or(failure);
        let search = format!(
            "fuzz: execution {} of at most {execs} (fuzzer seed {seed}, {} features, corpus \
             of {}) failed; its input of {} bytes minimized to {} bytes",
            fuzzer.execs(),
            fuzzer.features(),
            fuzzer.corpus().len(),
            input.len(),
            small.len()
        );
        Err(self.fail(failure, true, None, Some(search)))
    }

    /// A systematic exploration ([`Explore`]) configured by `explore`; the first
    /// failing schedule is shrunk and reported.
    pub(super) fn explore(&self, explore: &Explore) -> Result<CheckReport, Box<CheckFailure>> {
        let runner = self.runner;
        let report = explore.run_on(&runner.base, runner.location, || runner.main(), &mut |_| {});
        let summary = report.summary();
        match report.failure {
            None => Ok(CheckReport {
                regressions: 0,
                runs: report.schedules,
                start_seed: 0,
            }),
            Some(failure) => {
                // A schedule, not a seed: the exploration finds it again, so it is
                // not appended to the regression file.
                Err(self.fail(failure, false, None, Some(format!("explore: {summary}"))))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::rc::Rc;

    use super::super::{Check, Settings};
    use crate::Strategy;
    use crate::reproduce::Selection;

    /// Two tasks increment a counter with a scheduling point between the read and
    /// the write; `fixed` holds a lock across it.
    async fn counter(fixed: bool) {
        let n = Rc::new(Cell::new(0));
        let lock = Rc::new(crate::sync::Mutex::new(()));
        let tasks: Vec<_> = (0..2)
            .map(|_| {
                let (n, lock) = (n.clone(), lock.clone());
                crate::spawn(async move {
                    let _guard = if fixed { Some(lock.lock().await) } else { None };
                    let seen = n.get();
                    crate::task::scheduling_point().await;
                    n.set(seen + 1);
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(n.get(), 2, "an update was lost");
    }

    fn check(name: &str) -> Check {
        Check::new().name(name).no_regressions()
    }

    #[test]
    fn a_fuzz_campaign_finds_the_bug_and_its_minimized_input_replays_it() {
        let env = Settings::default();
        let run = || {
            check("modes::fuzz_bug")
                .fuzz(5_000)
                .run_with_env(&env, &|| counter(false))
                .unwrap_err()
        };
        let caught = run();
        let report = caught.to_string();
        assert!(report.contains("fuzz: execution "), "{report}");
        assert!(report.contains("an update was lost"), "{report}");
        // Deterministic: the same campaign finds the same input.
        assert_eq!(run().to_string(), report);
        let Selection::Seed {
            strategy: Strategy::Bytes(input),
            ..
        } = &caught.command.selection
        else {
            panic!("a fuzz failure replays from its bytes: {}", caught.command);
        };
        assert!(
            report.contains(&format!(
                "SIM_STRATEGY={}",
                Strategy::Bytes(input.clone()).env_value()
            )),
            "{report}"
        );
        // The reproduce command's environment runs that one input, which fails the same
        // way.
        let env = Settings {
            strategy: Some(Strategy::Bytes(input.clone())),
            ..Settings::default()
        };
        let replayed = check("modes::fuzz_bug")
            .fuzz(5_000)
            .shrink_budget(0)
            .run_with_env(&env, &|| counter(false))
            .unwrap_err();
        assert_eq!(replayed.failure.kind(), caught.failure.kind());
        assert_eq!(replayed.failure.schedule(), caught.failure.schedule());
    }

    #[test]
    fn a_fuzz_campaign_stays_silent_on_the_fixed_program() {
        let report = check("modes::fuzz_fixed")
            .fuzz(3_000)
            .run_with_env(&Settings::default(), &|| counter(true))
            .unwrap();
        assert_eq!(report.runs, 3_000);
    }

    #[test]
    fn an_exploration_finds_the_bug_within_one_preemption_and_exhausts_the_fix() {
        let env = Settings::default();
        let caught = check("modes::explore_bug")
            .explore()
            .preemption_bound(1)
            .run_with_env(&env, &|| counter(false))
            .unwrap_err();
        let report = caught.to_string();
        assert!(report.contains("explore: explored "), "{report}");
        assert!(report.contains("at most 1 preemption(s)"), "{report}");
        assert!(report.contains("reproduce: SIM_SCHEDULE="), "{report}");
        // The schedule in the command replays the failure.
        let Selection::Schedule(schedule) = &caught.command.selection else {
            panic!(
                "an explored failure replays its schedule: {}",
                caught.command
            );
        };
        let env = Settings {
            schedule: Some(schedule.clone()),
            ..Settings::default()
        };
        let replayed = check("modes::explore_bug")
            .shrink_budget(0)
            .run_with_env(&env, &|| counter(false))
            .unwrap_err();
        assert_eq!(replayed.failure.kind(), caught.failure.kind());

        let passed = check("modes::explore_fixed")
            .explore()
            .preemption_bound(2)
            .run_with_env(&Settings::default(), &|| counter(true))
            .unwrap();
        assert!(passed.runs >= 2, "{passed:?}");
    }

    #[test]
    fn the_environment_switches_a_sweep_to_fuzzing_or_exploring() {
        let fuzz = Settings {
            fuzz: Some(40),
            ..Settings::default()
        };
        let report = check("modes::env_fuzz")
            .run_with_env(&fuzz, &|| counter(true))
            .unwrap();
        assert_eq!(report.runs, 40);
        let explore = Settings {
            explore: Some(true),
            max_schedules: Some(3),
            ..Settings::default()
        };
        let report = check("modes::env_explore")
            .run_with_env(&explore, &|| counter(true))
            .unwrap();
        assert!(report.runs <= 3, "{report:?}");
    }
}
