//! The task table: slots indexed by task id, stored in fixed-size chunks so that
//! growing to 100,000 tasks never copies the table or doubles its footprint.

use std::ops::{Index, IndexMut};

use super::core::TaskSlot;

/// Slots per chunk.
const CHUNK: usize = 1024;

#[derive(Default)]
pub(crate) struct TaskTable {
    // Invariant: every chunk but the last holds exactly CHUNK slots; no chunk ever
    // reallocates (each is created with capacity CHUNK).
    chunks: Vec<Vec<TaskSlot>>,
    len: usize,
}

impl TaskTable {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn push(&mut self, slot: TaskSlot) {
        if self.len % CHUNK == 0 {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        self.chunks
            .last_mut()
            .expect("a chunk with room")
            .push(slot);
        self.len += 1;
    }

    pub(crate) fn get(&self, i: usize) -> Option<&TaskSlot> {
        (i < self.len).then(|| &self.chunks[i / CHUNK][i % CHUNK])
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &TaskSlot> {
        self.chunks.iter().flatten()
    }
}

impl Index<usize> for TaskTable {
    type Output = TaskSlot;

    fn index(&self, i: usize) -> &TaskSlot {
        &self.chunks[i / CHUNK][i % CHUNK]
    }
}

impl IndexMut<usize> for TaskTable {
    fn index_mut(&mut self, i: usize) -> &mut TaskSlot {
        &mut self.chunks[i / CHUNK][i % CHUNK]
    }
}
