//! `Strategy::Bytes(data)`: every decision drawn from the given bytes, for fuzzers.
//!
//! A forced choice (one candidate) consumes nothing. Otherwise the next `w` bytes,
//! little-endian, pick candidate `value % n`, where `n` is the number of candidates
//! (the ready tasks, plus the running task at a scheduling point, which is candidate
//! `n - 1`) and `w` is 1 when `n <= 256`, 2 when `n <= 65536`, else 4. When fewer than
//! `w` bytes remain, every later decision is the deterministic
//! [`fallback`](super::fallback): the running or last task again if it can run, else
//! the oldest.

use super::{Decision, Divergence, ReadySet, Scheduler, fallback};
use crate::ids::TaskId;

pub(crate) struct BytesScheduler {
    data: Vec<u8>,
    pos: usize,
}

impl BytesScheduler {
    pub(crate) fn new(data: Vec<u8>) -> Self {
        BytesScheduler { data, pos: 0 }
    }
}

impl Scheduler for BytesScheduler {
    fn choose(&mut self, ready: &mut ReadySet, at: Decision) -> Result<TaskId, Divergence> {
        let n = at.candidates(ready);
        if n == 1 {
            return Ok(at.candidate(ready, 0));
        }
        let width = match n {
            0..=256 => 1,
            257..=65_536 => 2,
            _ => 4,
        };
        let Some(chunk) = self.data.get(self.pos..self.pos + width) else {
            self.pos = self.data.len();
            return Ok(fallback(ready, at));
        };
        self.pos += width;
        let value = chunk
            .iter()
            .rev()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        Ok(at.candidate(ready, value % n))
    }
}
