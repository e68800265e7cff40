//! The virtual clock: the current instant, and the timers armed on it in deadline
//! buckets over a slab of timer slots, with lazy deletion of cancelled entries (and a
//! compaction once they outnumber the live ones). Buckets are found by hashing the
//! deadline and ordered by a heap of the distinct deadlines; only the compaction
//! iterates the hash map, and its result does not depend on the order.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::task::Waker;
use std::time::Duration;

use crate::ids::TaskId;

/// Names one registration; stale once the timer fired or was cancelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimerKey {
    slot: u32,
    seq: u64,
}

struct Slot {
    // Invariant: `seq` of the live registration, or of the last one if free.
    seq: u64,
    live: bool,
    waker: Option<Waker>,
    owner: Option<TaskId>,
}

/// A deadline as nanoseconds since the start (saturating: 584 years is "never").
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Hashes a `u64` deadline: a multiply, then the high bits folded into the low ones
/// (deadlines in whole milliseconds share their low bits).
#[derive(Default)]
struct DeadlineHasher(u64);

impl Hasher for DeadlineHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(self.0 ^ u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        let h = (self.0 ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = h ^ (h >> 32);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[derive(Default)]
pub(crate) struct Timers {
    /// Virtual time since the start. Invariant: never decreases; every live timer is
    /// due after it.
    now: Duration,
    // Deadline (ns) -> registrations (seq, slot) in registration order; an entry is
    // live iff its slot is live with that seq (cancellation is lazy). Timers sharing a
    // deadline fire together, in registration order; which woken task runs first is
    // the scheduler's choice. Buckets beat a heap of timers here: deadlines cluster.
    buckets: HashMap<u64, Vec<(u64, u32)>, BuildHasherDefault<DeadlineHasher>>,
    // Invariant: holds each key of `buckets` exactly once.
    order: BinaryHeap<Reverse<u64>>,
    // Emptied bucket vectors, reused to avoid an allocation per distinct deadline.
    spare: Vec<Vec<(u64, u32)>>,
    slots: Vec<Slot>,
    free: Vec<u32>,
    next_seq: u64,
    live: usize,
    // Cancelled registrations still in `buckets`. Invariant: the number of entries of
    // `buckets` that are not live; kept at most about twice `live` by `compact`.
    stale: usize,
}

/// Cancelled registrations the buckets may hold before [`Timers::compact`] may run:
/// below it, lazy deletion costs less than a pass over the buckets.
const COMPACT_MIN: usize = 1024;

impl Timers {
    pub(crate) fn register(
        &mut self,
        deadline: Duration,
        waker: Waker,
        owner: Option<TaskId>,
    ) -> TimerKey {
        self.next_seq += 1;
        let seq = self.next_seq;
        let slot = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Slot {
                    seq: 0,
                    live: false,
                    waker: None,
                    owner: None,
                });
                (self.slots.len() - 1) as u32
            }
        };
        self.slots[slot as usize] = Slot {
            seq,
            live: true,
            waker: Some(waker),
            owner,
        };
        let (spare, order) = (&mut self.spare, &mut self.order);
        let deadline = nanos(deadline);
        self.buckets
            .entry(deadline)
            .or_insert_with(|| {
                order.push(Reverse(deadline));
                spare.pop().unwrap_or_default()
            })
            .push((seq, slot));
        self.live += 1;
        TimerKey { slot, seq }
    }

    fn slot_mut(&mut self, key: TimerKey) -> Option<&mut Slot> {
        self.slots
            .get_mut(key.slot as usize)
            .filter(|s| s.live && s.seq == key.seq)
    }

    /// Updates the waker of a live registration; false if the key is stale.
    pub(crate) fn set_waker(&mut self, key: TimerKey, waker: &Waker) -> bool {
        match self.slot_mut(key) {
            Some(slot) => {
                if !slot.waker.as_ref().is_some_and(|w| w.will_wake(waker)) {
                    slot.waker = Some(waker.clone());
                }
                true
            }
            None => false,
        }
    }

    /// Cancels a registration; returns its waker (for the caller to drop). A stale key
    /// is a no-op.
    pub(crate) fn cancel(&mut self, key: TimerKey) -> Option<Waker> {
        let slot = self.slot_mut(key)?;
        slot.live = false;
        let waker = slot.waker.take();
        self.free.push(key.slot);
        self.live -= 1;
        self.stale += 1;
        if self.stale > COMPACT_MIN && self.stale > 2 * self.live {
            self.compact();
        }
        waker
    }

    /// Drops every cancelled registration from the buckets, and the buckets left
    /// empty. Lazy deletion alone would keep a cancelled timer until its deadline
    /// passed: a loop of `timeout(1h, op)` whose operations finish at once would grow
    /// the buckets (and the deadline scan) by one entry per round for an hour of
    /// virtual time. Firing order is unchanged: live entries keep their order, and
    /// `order` pops distinct deadlines the same way whatever order it is built in.
    fn compact(&mut self) {
        let (slots, spare) = (&self.slots, &mut self.spare);
        self.buckets.retain(|_, bucket| {
            bucket.retain(|&(seq, slot)| {
                let s = &slots[slot as usize];
                s.live && s.seq == seq
            });
            if bucket.is_empty() {
                spare.push(std::mem::take(bucket));
            }
            !bucket.is_empty()
        });
        self.order = self.buckets.keys().map(|&d| Reverse(d)).collect();
        self.stale = 0;
    }

    /// The tasks with a pending timer (for the deadlock detector: a timed wait is not
    /// stuck). A scan of every slot: called only when a deadlock is suspected.
    pub(crate) fn owners(&self) -> std::collections::BTreeSet<TaskId> {
        self.slots
            .iter()
            .filter(|s| s.live)
            .filter_map(|s| s.owner)
            .collect()
    }

    fn is_live(&self, (seq, slot): (u64, u32)) -> bool {
        let s = &self.slots[slot as usize];
        s.live && s.seq == seq
    }

    /// The earliest pending deadline (drops buckets holding only cancelled timers).
    pub(crate) fn next_deadline(&mut self) -> Option<Duration> {
        loop {
            let &Reverse(deadline) = self.order.peek()?;
            if self.buckets[&deadline].iter().any(|&e| self.is_live(e)) {
                return Some(Duration::from_nanos(deadline));
            }
            let mut stale = self.pop_bucket();
            self.stale -= stale.len();
            stale.clear();
            self.recycle(stale);
        }
    }

    /// The virtual time since the start of the run.
    pub(crate) fn now(&self) -> Duration {
        self.now
    }

    /// Moves the clock to `now` (not before the current instant) and removes every
    /// timer due by then, passing (owner, waker) to `fired` in firing order.
    pub(crate) fn advance_to(
        &mut self,
        now: Duration,
        mut fired: impl FnMut(Option<TaskId>, Waker),
    ) {
        assert!(
            now >= self.now,
            "sim internal error: the virtual clock went back"
        );
        self.now = now;
        let now = nanos(now);
        while self.order.peek().is_some_and(|&Reverse(d)| d <= now) {
            let mut bucket = self.pop_bucket();
            for (seq, slot) in bucket.drain(..) {
                let s = &mut self.slots[slot as usize];
                if s.live && s.seq == seq {
                    s.live = false;
                    self.live -= 1;
                    self.free.push(slot);
                    if let Some(w) = s.waker.take() {
                        fired(s.owner, w);
                    }
                } else {
                    self.stale -= 1;
                }
            }
            self.recycle(bucket);
        }
    }

    /// Keeps an emptied bucket vector for reuse.
    fn recycle(&mut self, bucket: Vec<(u64, u32)>) {
        debug_assert!(bucket.is_empty());
        self.spare.push(bucket);
    }

    /// Removes the earliest bucket; the caller empties it and gives it back to `spare`.
    fn pop_bucket(&mut self) -> Vec<(u64, u32)> {
        let Reverse(deadline) = self.order.pop().expect("a first bucket");
        self.buckets
            .remove(&deadline)
            .expect("every deadline has a bucket")
    }

    /// Drops every registration (end of run), returning the wakers to drop outside.
    pub(crate) fn clear(&mut self) -> Vec<Waker> {
        self.buckets.clear();
        self.order.clear();
        self.free.clear();
        self.live = 0;
        self.stale = 0;
        self.slots.drain(..).filter_map(|s| s.waker).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn fires_in_deadline_then_registration_order() {
        let mut t = Timers::default();
        let w = Waker::noop().clone();
        t.register(ms(5), w.clone(), Some(TaskId(1)));
        let k2 = t.register(ms(3), w.clone(), Some(TaskId(2)));
        t.register(ms(3), w.clone(), Some(TaskId(3)));
        t.register(ms(9), w.clone(), Some(TaskId(4)));
        assert!(t.cancel(k2).is_some());
        assert!(t.cancel(k2).is_none(), "second cancel is a no-op");
        assert_eq!(t.next_deadline(), Some(ms(3)));
        let mut out = Vec::new();
        t.advance_to(ms(5), |o, w| out.push((o, w)));
        let owners: Vec<_> = out.iter().map(|(o, _)| o.unwrap().0).collect();
        assert_eq!(owners, vec![3, 1]);
        assert_eq!(t.live, 1);
        assert_eq!(t.next_deadline(), Some(ms(9)));
    }

    /// Entries the buckets hold, live or cancelled.
    fn entries(t: &Timers) -> usize {
        t.buckets.values().map(Vec::len).sum()
    }

    #[test]
    fn cancelled_timers_do_not_pile_up() {
        // A loop of `timeout(1h, op)` whose operations finish at once: each round arms a
        // timer an hour out and cancels it, while the clock barely moves.
        let mut t = Timers::default();
        let w = Waker::noop().clone();
        let keep = t.register(ms(7_200_000), w.clone(), Some(TaskId(9)));
        for round in 0..100_000u64 {
            let k = t.register(ms(3_600_000 + round % 3), w.clone(), Some(TaskId(1)));
            assert!(t.cancel(k).is_some());
            assert!(entries(&t) <= COMPACT_MIN + 2 * t.live + 2, "round {round}");
            assert_eq!(entries(&t), t.live + t.stale);
        }
        assert!(t.buckets.len() <= COMPACT_MIN + 2);
        assert_eq!(t.order.len(), t.buckets.len());
        assert_eq!(t.next_deadline(), Some(ms(7_200_000)));
        assert!(t.cancel(keep).is_some());
        assert_eq!(t.next_deadline(), None);
    }

    #[test]
    fn compaction_keeps_the_firing_order() {
        let mut t = Timers::default();
        let w = Waker::noop().clone();
        let mut keys = Vec::new();
        // Interleave timers to keep (owners 0..40, deadlines 5 ms apart, two per
        // deadline) with many to cancel, enough to compact several times.
        for i in 0..40u32 {
            let d = ms(u64::from(i / 2) * 5 + 1);
            t.register(d, w.clone(), Some(TaskId(i)));
            for j in 0..200u64 {
                keys.push(t.register(ms(j % 97 + 1), w.clone(), None));
            }
        }
        for k in keys {
            t.cancel(k);
        }
        assert!(entries(&t) < 8_000, "compacted");
        let mut out = Vec::new();
        t.advance_to(ms(1_000), |o, w| out.push((o, w)));
        let owners: Vec<u32> = out.iter().map(|(o, _)| o.unwrap().0).collect();
        assert_eq!(owners, (0..40).collect::<Vec<_>>());
        assert_eq!((t.live, t.stale, entries(&t)), (0, 0, 0));
    }

    #[test]
    fn slots_are_reused_and_stale_keys_stay_stale() {
        let mut t = Timers::default();
        let w = Waker::noop().clone();
        let a = t.register(ms(1), w.clone(), None);
        let mut out = Vec::new();
        t.advance_to(ms(1), |o, w| out.push((o, w)));
        let b = t.register(ms(2), w.clone(), None);
        assert_eq!(a.slot, b.slot);
        assert!(!t.set_waker(a, &w));
        assert!(t.set_waker(b, &w));
        assert!(t.cancel(a).is_none());
        assert_eq!(t.live, 1);
    }
}
