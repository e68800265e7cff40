//! [`Coverage`]: what a run covered of the *interleaving* space, as a set of features
//! computed from its trace, for coverage-guided fuzzers.
//!
//! Code coverage barely changes between two interleavings of the same code; these
//! features do. Each is a 64-bit hash of something a schedule decides:
//!
//! - **hand-offs**: two consecutive operations on one resource by different tasks, as
//!   (role of the first, its operation, role of the second, its operation, resource);
//! - **waits**: a task of a role starting to wait on a resource, and which operation
//!   of which role served it;
//! - **depths**: the length a channel or queue reached, in power-of-two buckets;
//! - **preemptions**: a role preempted at a scheduling point, by the role that ran;
//! - **time**: how many tasks were waiting (bucketed) when the clock advanced.
//!
//! A task's *role* is its name, or else its spawn location; a resource is named by its
//! kind and creation location: both are the same in every run of a program, whatever
//! the ids (which depend on the order of spawns and first uses) are.
//!
//! This module only reads a finished trace; it never influences a run.

use std::collections::BTreeMap;

use crate::ids::{ResourceId, TaskId};
use crate::trace::{EventKind, ResourceOp, Trace};

/// The interleaving features of one run (sorted, without duplicates).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    features: Vec<u64>,
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0100_0000_01b3;

fn fnv(h: u64, bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(h, |h, &b| (h ^ u64::from(b)).wrapping_mul(FNV_PRIME))
}

/// FNV-1a over a few words.
fn hash(words: &[u64]) -> u64 {
    words
        .iter()
        .fold(FNV_OFFSET, |h, w| fnv(h, &w.to_le_bytes()))
}

/// FNV-1a over a string.
fn hash_str(s: &str) -> u64 {
    fnv(FNV_OFFSET, s.as_bytes())
}

/// Power-of-two bucket of a count (0, 1, 2-3, 4-7, ...).
fn bucket(n: u64) -> u64 {
    u64::from(u64::BITS - n.leading_zeros())
}

/// Feature kinds, so that equal words in different kinds never collide on purpose.
const HANDOFF: u64 = 1;
const WAIT: u64 = 2;
const SERVED: u64 = 3;
const DEPTH: u64 = 4;
const PREEMPT: u64 = 5;
const TIME: u64 = 6;

impl Coverage {
    /// The features of the run that recorded `trace`.
    pub fn of(trace: &Trace) -> Coverage {
        let role: Vec<u64> = trace
            .tasks()
            .iter()
            .map(|t| match &t.name {
                Some(n) => hash_str(n),
                None => hash_str(&t.spawned_at.to_string()),
            })
            .collect();
        let resource: Vec<u64> = trace
            .resources()
            .iter()
            .map(|r| hash(&[hash_str(r.kind), hash_str(&r.created_at.to_string())]))
            .collect();
        let role_of =
            |t: Option<TaskId>| t.map_or(0, |t| role.get(t.index()).copied().unwrap_or(0));
        let res_of = |r: ResourceId| resource.get(r.as_u32() as usize).copied().unwrap_or(0);

        let mut features = Vec::new();
        // Per resource: the last (task, op) on it.
        let mut last_op: BTreeMap<ResourceId, (Option<TaskId>, ResourceOp)> = BTreeMap::new();
        // Tasks waiting now, with the resource they wait on.
        let mut waiting: BTreeMap<TaskId, ResourceId> = BTreeMap::new();
        let mut preempted: Option<TaskId> = None;
        for e in trace.events() {
            match e.kind {
                EventKind::Resource {
                    resource,
                    op,
                    value,
                } => {
                    let r = res_of(resource);
                    if let Some(&(t, prev)) = last_op.get(&resource) {
                        if t != e.task {
                            features.push(hash(&[
                                HANDOFF,
                                role_of(t),
                                prev.code().into(),
                                role_of(e.task),
                                op.code().into(),
                                r,
                            ]));
                        }
                    }
                    last_op.insert(resource, (e.task, op));
                    match op {
                        ResourceOp::Wait => {
                            if let Some(t) = e.task {
                                waiting.insert(t, resource);
                            }
                            features.push(hash(&[WAIT, role_of(e.task), r]));
                        }
                        ResourceOp::Send
                        | ResourceOp::Recv
                        | ResourceOp::Put
                        | ResourceOp::Get
                        | ResourceOp::TaskDone => {
                            features.push(hash(&[DEPTH, r, op.code().into(), bucket(value)]));
                        }
                        _ => {}
                    }
                    if let Some(t) = e.task {
                        if waiting.get(&t) == Some(&resource) && op != ResourceOp::Wait {
                            waiting.remove(&t);
                            features.push(hash(&[SERVED, role_of(e.task), op.code().into(), r]));
                        }
                    }
                }
                EventKind::Preempt => preempted = e.task,
                EventKind::Poll => {
                    if let Some(p) = preempted.take() {
                        features.push(hash(&[PREEMPT, role_of(Some(p)), role_of(e.task)]));
                    }
                }
                EventKind::TimerFired => {
                    features.push(hash(&[TIME, role_of(e.task), bucket(waiting.len() as u64)]));
                }
                EventKind::Exit
                | EventKind::Cancelled
                | EventKind::Panicked
                | EventKind::Dropped => {
                    if let Some(t) = e.task {
                        waiting.remove(&t);
                    }
                }
                _ => {}
            }
        }
        features.sort_unstable();
        features.dedup();
        Coverage { features }
    }

    /// The features, sorted, without duplicates.
    pub fn features(&self) -> &[u64] {
        &self.features
    }

    /// How many distinct features the run covered.
    pub fn len(&self) -> usize {
        self.features.len()
    }

    /// Whether the run covered no feature (a run without shared resources).
    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }

    /// Counts each feature into a slot of `counters` (its hash modulo the length),
    /// saturating: the shape of libFuzzer's extra counters.
    pub fn add_to_counters(&self, counters: &mut [u8]) {
        if counters.is_empty() {
            return;
        }
        for &f in &self.features {
            let c = &mut counters[(f % counters.len() as u64) as usize];
            *c = c.saturating_add(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_powers_of_two() {
        assert_eq!([0, 1, 2, 3, 4, 7, 8].map(bucket), [0, 1, 2, 2, 3, 3, 4]);
    }
}
