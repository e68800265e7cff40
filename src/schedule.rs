//! `corosim schedule SCHEDULE`: decodes a schedule string (as printed in a failure
//! report, or `@file`) and summarises it: seed, steps, context switches, steps per task.

use std::collections::BTreeMap;

use sim::Schedule;

/// The summary `corosim schedule` prints.
pub(crate) fn summarise(s: &Schedule) -> String {
    let mut per_task: BTreeMap<u32, usize> = BTreeMap::new();
    for t in s.steps() {
        *per_task.entry(t.as_u32()).or_default() += 1;
    }
    let mut out = format!(
        "seed             {} (SIM_SEED={})\nsteps            {}\ncontext switches {}\ntasks            {}\n",
        s.seed(),
        s.seed(),
        s.len(),
        s.context_switches(),
        per_task.len()
    );
    for (task, steps) in per_task {
        out.push_str(&format!("  task {task:<6} {steps} steps\n"));
    }
    out
}
