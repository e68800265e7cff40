//! A bank: tellers run concurrent transfers between accounts whose balances are shared
//! state ([`RaceCell`]s). A transfer checks the source balance, then moves the money;
//! the check and the act must be atomic with respect to other transfers, so both happen
//! under one [`Mutex`]. Without it, a transfer that checks, awaits (an audit call),
//! then acts on what it read is a data race (and can overdraw or lose money).
//! Invariants: the total is conserved and no balance goes negative.

use std::rc::Rc;

use sim::cell::RaceCell;
use sim::sync::Mutex;
use sim::task::yield_now;

use crate::{join_all, spawn_named};

/// The shape of a run.
#[derive(Debug, Clone, arbitrary::Arbitrary)]
pub struct Config {
    /// Accounts (2..=4).
    pub accounts: u8,
    /// Tellers running transfers (2..=3).
    pub tellers: u8,
    /// Transfers per teller (1..=4).
    pub transfers: u8,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            accounts: 3,
            tellers: 2,
            transfers: 3,
        }
    }
}

impl Config {
    /// The configuration with every field clamped to its range.
    pub fn normalized(&self) -> Config {
        Config {
            accounts: self.accounts.clamp(2, 4),
            tellers: self.tellers.clamp(2, 3),
            transfers: self.transfers.clamp(1, 4),
        }
    }
}

/// How a transfer is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Correct: check and act under one `Mutex`.
    Locked,
    /// Bug: check, await, act, with no lock (data race).
    Unlocked,
    /// The same bug with no `yield_now` (neither the audit call nor the one between
    /// transfers): nothing orders two tellers' accesses, so it is still a data race.
    UnlockedNoYield,
}

const INITIAL: i64 = 100;

/// Runs the scenario.
///
/// # Errors
/// When a teller's task fails.
pub async fn run(config: Config, variant: Variant) -> Result<(), String> {
    let c = config.normalized();
    let n = usize::from(c.accounts);
    let balances: Rc<Vec<RaceCell<i64>>> = Rc::new(
        (0..n)
            .map(|i| RaceCell::named(&format!("balance-{i}"), INITIAL))
            .collect(),
    );
    let lock = Rc::new(Mutex::new(()));

    let mut tellers = Vec::new();
    for t in 0..c.tellers {
        let balances = balances.clone();
        let lock = lock.clone();
        tellers.push(spawn_named(&format!("teller-{t}"), async move {
            for _ in 0..c.transfers {
                let from = sim::rand::gen_range(0..n);
                let to = (from + sim::rand::gen_range(1..n)) % n;
                let amount = sim::rand::gen_range(1..=80i64);
                let guard = match variant {
                    Variant::Locked => Some(lock.lock().await),
                    // BUG: no lock: another transfer can run between check and act.
                    Variant::Unlocked | Variant::UnlockedNoYield => None,
                };
                let yields = variant != Variant::UnlockedNoYield;
                let seen = balances[from].get(); // check
                if seen >= amount {
                    if yields {
                        yield_now().await; // an audit call: other tasks run here
                    }
                    balances[from].set(seen - amount); // act on what was seen
                    balances[to].with_mut(|b| *b += amount);
                }
                drop(guard);
                if yields {
                    yield_now().await;
                }
            }
        }));
    }
    join_all(tellers).await?;
    let total: i64 = balances.iter().map(RaceCell::get).sum();
    assert_eq!(total, INITIAL * n as i64, "money created or lost");
    for (i, b) in balances.iter().enumerate() {
        assert!(b.get() >= 0, "account {i} overdrawn: {}", b.get());
    }
    Ok(())
}
