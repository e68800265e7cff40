//! Identifiers of a run's tasks and resources: plain numbers, a leaf of the crate (it
//! imports nothing of it), so every module can name them without reaching into the
//! engine. The public paths are `sim::task::TaskId` and `sim::trace::ResourceId`.

use std::fmt;

/// Identifies a task within one run. The main future is always task `0`; spawned tasks
/// are numbered from `1` in spawn order and ids are never reused within a run, so the
/// same seed gives the same ids.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct TaskId(pub(crate) u32);

impl TaskId {
    /// The id of the future passed to [`Runtime::block_on`](crate::Runtime::block_on).
    pub const MAIN: TaskId = TaskId(0);

    /// The id as a number (main is `0`).
    pub fn as_u32(self) -> u32 {
        self.0
    }

    pub(crate) fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Identifies a synchronisation resource within one run, numbered from 0 in order of
/// first use.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct ResourceId(pub(crate) u32);

impl ResourceId {
    /// The id as a number.
    pub fn as_u32(self) -> u32 {
        self.0
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "r{}", self.0)
    }
}
