//! Atomicity violations across two acquisitions of one [`Mutex`]: a write published in
//! two stages, a read of a length and then of the contents, a check and then an act,
//! lazy initialisation without a re-check, and the reorder bug with ten setters.
//!
//! In each buggy program every access is under the lock, so no data race is reported:
//! what is wrong is that an operation meant to be atomic is split over two
//! acquisitions, and another task runs in between. Owns these five programs only.

use std::cell::Cell;
use std::rc::Rc;

use sim::sync::Mutex;

use super::Twin;
use crate::{join_all, spawn_named};

/// A value and its derived value, meant to be published together.
#[derive(Default)]
struct Pair {
    /// Set first.
    value: u32,
    /// Always `value * 10` once published.
    derived: u32,
}

/// Versions the two-stage writer publishes.
const VERSIONS: u32 = 2;
/// Readers of the two-stage program.
const READERS: usize = 2;

/// A writer publishes versions of a pair (`value`, `derived = value * 10`); readers
/// check that whatever they see is consistent. Buggy: the writer sets `value` under
/// one acquisition and `derived` under a second one, so a reader can see the new value
/// with the old derived one (SCTBench's `twostage`).
pub(super) async fn two_stage(twin: Twin) -> Result<(), String> {
    let pair = Rc::new(Mutex::new(Pair::default()));
    let mut tasks = Vec::new();
    tasks.push(spawn_named("writer", {
        let pair = pair.clone();
        async move {
            for v in 1..=VERSIONS {
                match twin {
                    Twin::Buggy => {
                        pair.lock().await.value = v;
                        // BUG: the second stage is a second acquisition: a reader can
                        // run between the two.
                        let mut p = pair.lock().await;
                        p.derived = p.value * 10;
                    }
                    Twin::Fixed => {
                        let mut p = pair.lock().await;
                        p.value = v;
                        p.derived = p.value * 10;
                    }
                }
            }
        }
    }));
    for r in 0..READERS {
        let pair = pair.clone();
        tasks.push(spawn_named(&format!("reader-{r}"), async move {
            for _ in 0..VERSIONS {
                let p = pair.lock().await;
                assert_eq!(
                    p.derived,
                    p.value * 10,
                    "reader-{r} saw a half-published pair"
                );
            }
        }));
    }
    join_all(tasks).await?;
    Ok(())
}

/// What the shared string buffer holds at the start.
const TEXT: &str = "hello, world";

/// `dst.append(src)` as in the JDK 1.4 `StringBuffer`: read `src`'s length, then copy
/// that many characters, while another task empties `src` (`setLength(0)`). Buggy:
/// the length and the characters are read under two acquisitions of `src`'s lock, so
/// the copy can ask for more characters than are left (the JDK threw
/// `StringIndexOutOfBoundsException`).
pub(super) async fn stringbuffer_append(twin: Twin) -> Result<(), String> {
    let src = Rc::new(Mutex::new(String::from(TEXT)));
    let dst = Rc::new(Mutex::new(String::new()));
    let appender = spawn_named("appender", {
        let (src, dst) = (src.clone(), dst.clone());
        async move {
            let chars = match twin {
                Twin::Buggy => {
                    let len = src.lock().await.len();
                    // BUG: the length was read under the previous acquisition.
                    let s = src.lock().await;
                    let chars = s.get(..len).map(str::to_owned);
                    assert!(
                        chars.is_some(),
                        "StringIndexOutOfBounds: {len} characters asked, {} left",
                        s.len()
                    );
                    chars.unwrap_or_default()
                }
                Twin::Fixed => {
                    let s = src.lock().await;
                    let len = s.len();
                    s[..len].to_owned()
                }
            };
            dst.lock().await.push_str(&chars);
        }
    });
    let eraser = spawn_named("eraser", {
        let src = src.clone();
        async move { src.lock().await.clear() }
    });
    join_all(vec![appender, eraser]).await?;
    let copied = dst.lock().await.clone();
    assert!(
        copied.is_empty() || copied == TEXT,
        "append copied a torn string {copied:?}"
    );
    Ok(())
}

/// The opening balance.
const BALANCE: i64 = 100;
/// What each withdrawal takes: two fit in the balance only once.
const WITHDRAWAL: i64 = 60;

/// Two tasks withdraw from one account if the balance covers it. Buggy: the balance is
/// checked under one acquisition and debited under another, so both can pass the check
/// and overdraw the account (check-then-act).
pub(super) async fn bank_check_then_act(twin: Twin) -> Result<(), String> {
    let balance = Rc::new(Mutex::new(BALANCE));
    let mut tasks = Vec::new();
    for who in ["alice", "bob"] {
        let balance = balance.clone();
        tasks.push(spawn_named(who, async move {
            match twin {
                Twin::Buggy => {
                    let covered = *balance.lock().await >= WITHDRAWAL;
                    if covered {
                        // BUG: the check above was made under another acquisition.
                        *balance.lock().await -= WITHDRAWAL;
                    }
                }
                Twin::Fixed => {
                    let mut b = balance.lock().await;
                    if *b >= WITHDRAWAL {
                        *b -= WITHDRAWAL;
                    }
                }
            }
        }));
    }
    join_all(tasks).await?;
    let left = *balance.lock().await;
    assert!(left >= 0, "account overdrawn: {left}");
    Ok(())
}

/// Tasks that all want the lazily initialised value.
const USERS: usize = 3;

/// Tasks get a lazily initialised value: the first to find it missing creates it.
/// Buggy: "missing" is checked under one acquisition and the value stored under
/// another without checking again, so two tasks can both initialise it (the broken
/// half of double-checked locking).
pub(super) async fn double_checked_init(twin: Twin) -> Result<(), String> {
    let slot: Rc<Mutex<Option<u32>>> = Rc::new(Mutex::new(None));
    let inits = Rc::new(Cell::new(0u32));
    let mut tasks = Vec::new();
    for u in 0..USERS {
        let (slot, inits) = (slot.clone(), inits.clone());
        tasks.push(spawn_named(&format!("user-{u}"), async move {
            let missing = slot.lock().await.is_none();
            if missing {
                let mut s = slot.lock().await;
                let check_again = match twin {
                    // BUG: stores without checking again under this acquisition.
                    Twin::Buggy => false,
                    Twin::Fixed => true,
                };
                if !check_again || s.is_none() {
                    inits.set(inits.get() + 1);
                    *s = Some(42);
                }
            }
            assert_eq!(inits.get(), 1, "the value was initialised twice");
            assert_eq!(*slot.lock().await, Some(42));
        }));
    }
    join_all(tasks).await?;
    Ok(())
}

/// Setter tasks of the reorder program (SCTBench's `reorder_10_bad` has ten).
const SETTERS: usize = 10;

/// Ten setters each set `a = 1` and `b = -1`; a checker asserts it sees either
/// neither or both. Buggy: as in SCTBench, where every access is its own step, a
/// setter sets `a` and `b` under two acquisitions and the checker reads them under two
/// acquisitions, so the checker can run between a setter's two writes, or the setters
/// between the checker's two reads.
pub(super) async fn reorder(twin: Twin) -> Result<(), String> {
    let ab = Rc::new(Mutex::new((0i32, 0i32)));
    let mut tasks = Vec::new();
    for s in 0..SETTERS {
        let ab = ab.clone();
        tasks.push(spawn_named(&format!("setter-{s}"), async move {
            match twin {
                Twin::Buggy => {
                    ab.lock().await.0 = 1;
                    // BUG: `b` is set under a second acquisition.
                    ab.lock().await.1 = -1;
                }
                Twin::Fixed => {
                    let mut g = ab.lock().await;
                    g.0 = 1;
                    g.1 = -1;
                }
            }
        }));
    }
    tasks.push(spawn_named("checker", {
        let ab = ab.clone();
        async move {
            let (a, b) = match twin {
                Twin::Buggy => {
                    let a = ab.lock().await.0;
                    // BUG: `b` is read under a second acquisition.
                    let b = ab.lock().await.1;
                    (a, b)
                }
                Twin::Fixed => *ab.lock().await,
            };
            assert!(
                (a, b) == (0, 0) || (a, b) == (1, -1),
                "checker saw a = {a}, b = {b}"
            );
        }
    }));
    join_all(tasks).await?;
    Ok(())
}
