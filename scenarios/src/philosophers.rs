//! Dining philosophers: `N` philosophers sit around a table with one fork (a
//! [`Mutex`]) between each pair of neighbours; to eat, a philosopher needs both the
//! fork on its left and the one on its right. Taking them in a fixed global order (the
//! lower-numbered fork first) breaks the cycle of waits; taking "left, then right"
//! everywhere lets every philosopher hold one fork and wait for the next: a deadlock.
//! Invariants: no two neighbours eat at once, and everyone eats every meal.

use std::cell::RefCell;
use std::rc::Rc;

use sim::sync::Mutex;
use sim::task::yield_now;
use sim::time::sleep;

use crate::{join_all, ms, spawn_named};

/// The shape of a run.
#[derive(Debug, Clone, arbitrary::Arbitrary)]
pub struct Config {
    /// Philosophers, and forks (2..=5).
    pub philosophers: u8,
    /// Meals each philosopher eats (1..=3).
    pub meals: u8,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            philosophers: 3,
            meals: 2,
        }
    }
}

impl Config {
    /// The configuration with every field clamped to its range.
    pub fn normalized(&self) -> Config {
        Config {
            philosophers: self.philosophers.clamp(2, 5),
            meals: self.meals.clamp(1, 3),
        }
    }
}

/// How forks are taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Correct: the lower-numbered of the two forks first.
    OrderedForks,
    /// Bug: left fork, then right fork, for everyone (deadlock).
    LeftThenRight,
    /// The same bug with no `yield_now` between the two forks: only the scheduling
    /// points of the locks themselves open the window.
    LeftThenRightNoYield,
}

/// Runs the scenario.
///
/// # Errors
/// When a philosopher's task fails.
pub async fn run(config: Config, variant: Variant) -> Result<(), String> {
    let c = config.normalized();
    let n = usize::from(c.philosophers);
    let forks: Rc<Vec<Mutex<u32>>> = Rc::new((0..n).map(|_| Mutex::new(0)).collect());
    let eating = Rc::new(RefCell::new(vec![false; n]));

    let mut tasks = Vec::new();
    for i in 0..n {
        let forks = forks.clone();
        let eating = eating.clone();
        tasks.push(spawn_named(&format!("philosopher-{i}"), async move {
            let (left, right) = (i, (i + 1) % n);
            let (first, second) = match variant {
                Variant::OrderedForks => (left.min(right), left.max(right)),
                // BUG: every philosopher takes left then right: a cycle of waits.
                Variant::LeftThenRight | Variant::LeftThenRightNoYield => (left, right),
            };
            for _ in 0..c.meals {
                sleep(ms(sim::rand::gen_range(0..2u64))).await; // think
                let mut a = forks[first].lock().await;
                if variant != Variant::LeftThenRightNoYield {
                    yield_now().await; // reach for the other fork
                }
                let mut b = forks[second].lock().await;
                {
                    let mut e = eating.borrow_mut();
                    assert!(
                        !e[(i + n - 1) % n] && !e[(i + 1) % n],
                        "philosopher {i} eats next to an eating neighbour"
                    );
                    e[i] = true;
                }
                *a += 1;
                *b += 1;
                sleep(ms(1)).await; // eat
                eating.borrow_mut()[i] = false;
            }
        }));
    }
    join_all(tasks).await?;
    let uses: u32 = forks
        .iter()
        .map(|f| *f.try_lock().expect("fork free"))
        .sum();
    assert_eq!(
        uses,
        2 * u32::from(c.meals) * c.philosophers as u32,
        "meals lost"
    );
    Ok(())
}
