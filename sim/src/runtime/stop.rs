//! [`Stop`]: why the executor stopped short of main's output, before the runtime
//! turns it into a [`Failure`](crate::Failure) with the run's context.

use std::time::Duration;

use crate::detect::race::Access;
use crate::detect::waits::BlockedWaits;
use crate::ids::{ResourceId, TaskId};

/// Why the executor stopped short of main's output (a failure without context).
pub(crate) enum Stop {
    Panic {
        task: TaskId,
        message: String,
        location: Option<String>,
    },
    /// Global (`partial == false`: nothing can run) or partial (a cycle of tasks blocked
    /// on each other while others run). `blocked` lists each task with what it waits on
    /// and who holds that; `cycles` are the wait-for cycles among them.
    Deadlock {
        blocked: BlockedWaits,
        cycles: Vec<Vec<TaskId>>,
        partial: bool,
        /// What the run's extensions say about the resources waited on (a socket's
        /// peer and link state), by resource.
        notes: Vec<(ResourceId, String)>,
    },
    /// Main returned with tasks still alive and `fail_on_leak` is on.
    Leak,
    /// Two unordered accesses to a race-checked cell, at least one a write.
    Race {
        resource: ResourceId,
        first: Access,
        second: Access,
    },
    StepLimit,
    TimeLimit {
        next_timer: Duration,
    },
    /// A replay diverged, or a task was woken from another thread (the runtime tells
    /// them apart by the run's foreign-wake flag).
    NonDeterminism {
        reason: String,
    },
    /// The determinism check: the same seed's two traces differ.
    RerunDiffers {
        reason: String,
    },
    /// A primitive another live run owns was used (a `static` shared by tests run in
    /// parallel).
    SharedAcrossRuns {
        reason: String,
    },
}
