//! `Strategy::Bytes(data)`: every decision drawn from the given bytes, for fuzzers.
//!
//! The bytes are a [`ByteSource`] the run's scheduler shares with its user generator
//! (`sim::rand`): decisions and draws take the next bytes in the order the run asks.
//! A forced choice (one candidate) consumes nothing. Otherwise the next `w` bytes,
//! little-endian, pick candidate `value % n`, where `n` is the number of candidates
//! (the ready tasks, plus the running task at a scheduling point, which is candidate
//! `n - 1`) and `w` is 1 when `n <= 256`, 2 when `n <= 65536`, else 4. When fewer than
//! `w` bytes remain, the source is spent and every later decision is a `Random`
//! decision drawn from a generator seeded by the bytes taken (and written down, so
//! the run's replay input decides it from bytes too): every input is a complete run,
//! a function of the bytes it took.

use super::{Decision, Divergence, ReadySet, Scheduler};
use crate::ids::TaskId;
use crate::rng::{DetRng, SharedBytes, Stream, byte_width};

pub(crate) struct BytesScheduler {
    bytes: SharedBytes,
    /// Draws the decisions once the bytes are spent (and they are written down).
    tail: Option<DetRng>,
}

impl BytesScheduler {
    pub(crate) fn new(bytes: SharedBytes) -> Self {
        BytesScheduler { bytes, tail: None }
    }
}

impl Scheduler for BytesScheduler {
    fn choose(&mut self, ready: &mut ReadySet, at: Decision) -> Result<TaskId, Divergence> {
        let n = at.candidates(ready);
        if n == 1 {
            return Ok(at.candidate(ready, 0));
        }
        let width = byte_width(n as u64);
        let mut bytes = crate::rng::source(&self.bytes);
        let i = match bytes.take(width) {
            Some(value) => value % n as u64,
            None => {
                let seed = bytes.tail_seed().expect("a spent source has a tail seed");
                let tail = self
                    .tail
                    .get_or_insert_with(|| DetRng::new(seed, Stream::Scheduler));
                let i = tail.below(n as u64);
                bytes.write(i, width);
                i
            }
        };
        Ok(at.candidate(ready, i as usize))
    }
}
