//! A work-stealing deque guarded by a [`Mutex`]: the owner pushes and pops at the
//! tail, thieves steal at the head. Every item must be taken exactly once.
//!
//! Owns this program only; the deque's operations are plain `lock().await`s.

use std::cell::RefCell;
use std::rc::Rc;

use sim::sync::Mutex;

use super::Twin;
use crate::{join_all, spawn_named};

/// The deque: the items `items[head..tail]` are present (`tail` never exceeds
/// [`JOBS`]: the owner pops a job back before pushing the next, unless it was stolen).
struct Deque {
    items: [u32; JOBS as usize],
    head: usize,
    tail: usize,
}

/// Jobs the owner pushes (and pops back, unless stolen).
const JOBS: u32 = 3;
/// Thieves.
const THIEVES: usize = 2;
/// Steal attempts per thief (a thief gives up on an empty deque; no spinning).
const STEALS: usize = 2;

/// Records that `item` was taken by `who`; panics if it was taken before.
fn take(taken: &RefCell<Vec<u32>>, item: u32, who: &str) {
    let mut t = taken.borrow_mut();
    t[item as usize] += 1;
    assert_eq!(t[item as usize], 1, "{who} took item {item} a second time");
}

/// The owner pushes a job and pops it back (the Cilk pattern: spawn a child, then
/// sync), while thieves steal from the other end. Buggy: the owner checks the size
/// under one acquisition and pops under another, so a thief can steal the last item in
/// between and the owner takes it again (the race the THE protocol exists to close).
pub(super) async fn work_stealing(twin: Twin) -> Result<(), String> {
    let deque = Rc::new(Mutex::new(Deque {
        items: [0; JOBS as usize],
        head: 0,
        tail: 0,
    }));
    let taken = Rc::new(RefCell::new(vec![0u32; JOBS as usize]));
    let mut tasks = Vec::new();
    tasks.push(spawn_named("owner", {
        let (deque, taken) = (deque.clone(), taken.clone());
        async move {
            for job in 0..JOBS {
                {
                    let mut d = deque.lock().await;
                    let tail = d.tail;
                    d.items[tail] = job;
                    d.tail += 1;
                }
                let popped = match twin {
                    Twin::Buggy => {
                        let (head, tail) = {
                            let d = deque.lock().await;
                            (d.head, d.tail)
                        };
                        if tail > head {
                            // BUG: pops what the size check under the previous
                            // acquisition saw: a thief may have taken it since.
                            let mut d = deque.lock().await;
                            d.tail = tail - 1;
                            Some(d.items[tail - 1])
                        } else {
                            None
                        }
                    }
                    Twin::Fixed => {
                        let mut d = deque.lock().await;
                        if d.tail > d.head {
                            d.tail -= 1;
                            Some(d.items[d.tail])
                        } else {
                            None
                        }
                    }
                };
                if let Some(item) = popped {
                    take(&taken, item, "the owner");
                }
            }
        }
    }));
    for t in 0..THIEVES {
        let (deque, taken) = (deque.clone(), taken.clone());
        tasks.push(spawn_named(&format!("thief-{t}"), async move {
            for _ in 0..STEALS {
                let stolen = {
                    let mut d = deque.lock().await;
                    if d.head < d.tail {
                        d.head += 1;
                        Some(d.items[d.head - 1])
                    } else {
                        None
                    }
                };
                if let Some(item) = stolen {
                    take(&taken, item, &format!("thief-{t}"));
                }
            }
        }));
    }
    join_all(tasks).await?;
    let taken = taken.borrow();
    for (item, &n) in taken.iter().enumerate() {
        assert_eq!(n, 1, "item {item} was taken {n} times");
    }
    Ok(())
}
