//! The workloads W1, W3, W4 and W5, written once and compiled for both corosim and
//! tokio: `same_code!(sim)` and `same_code!(tokio)` differ only in the crate path, which
//! is the point of corosim's API (moving a test into the simulator is a change of
//! paths). Used by `benches/workloads.rs` and `examples/w4_memory.rs`.

use std::time::Duration;

pub const W1_PRODUCERS: u64 = 4;
pub const W1_PER_PRODUCER: u64 = 1_000;
pub const W1_MESSAGES: u64 = W1_PRODUCERS * W1_PER_PRODUCER;

pub fn w1_expected_sum() -> u64 {
    (0..W1_PRODUCERS)
        .flat_map(|p| (0..W1_PER_PRODUCER).map(move |i| p * 1000 + i))
        .sum()
}

pub const W3_TASKS: u64 = 10_000;
pub const W3_SLEEPS: u64 = 10;

/// The sleep durations (ms) of task `index`: xorshift64 seeded by the index.
pub fn w3_durations(index: u64) -> impl Iterator<Item = u64> {
    let mut x = index.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..W3_SLEEPS).map(move |_| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        1 + x % 999
    })
}

/// Virtual time at which W3 ends: the longest task's total sleep.
pub fn w3_virtual_end() -> Duration {
    let ms = (0..W3_TASKS)
        .map(|t| w3_durations(t).sum::<u64>())
        .max()
        .unwrap();
    Duration::from_millis(ms)
}

pub const W4_TASKS: u64 = 100_000;
pub const W4_SUM: u64 = W4_TASKS * (W4_TASKS - 1) / 2;

pub const W2_ROUND_TRIPS: u64 = 100_000;

pub const W5_TASKS: u64 = 100;
pub const W5_LOCKS: u64 = 100;

macro_rules! same_code {
    ($rt:ident) => {
        use std::sync::Arc;
        use std::time::Duration;

        use super::*;

        /// W1: 4 producers into one bounded(16) channel, 1 consumer; producers sleep
        /// 1 ms after every 10 sends.
        pub async fn w1() {
            let (tx, mut rx) = $rt::sync::mpsc::channel::<u64>(16);
            let producers: Vec<_> = (0..W1_PRODUCERS)
                .map(|p| {
                    let tx = tx.clone();
                    $rt::spawn(async move {
                        for i in 0..W1_PER_PRODUCER {
                            tx.send(p * 1000 + i).await.unwrap();
                            if (i + 1) % 10 == 0 {
                                $rt::time::sleep(Duration::from_millis(1)).await;
                            }
                        }
                    })
                })
                .collect();
            drop(tx);
            let (mut sum, mut n) = (0, 0);
            while let Some(v) = rx.recv().await {
                sum += v;
                n += 1;
            }
            for p in producers {
                p.await.unwrap();
            }
            assert_eq!(n, W1_MESSAGES);
            assert_eq!(sum, w1_expected_sum());
        }

        /// W2: two tasks bounce a counter through two bounded(1) channels.
        pub async fn w2() {
            let (ping_tx, mut ping_rx) = $rt::sync::mpsc::channel::<u64>(1);
            let (pong_tx, mut pong_rx) = $rt::sync::mpsc::channel::<u64>(1);
            let a = $rt::spawn(async move {
                for i in 0..W2_ROUND_TRIPS {
                    ping_tx.send(i).await.unwrap();
                    let v = pong_rx.recv().await.unwrap();
                    assert_eq!(v, i + 1);
                }
            });
            let b = $rt::spawn(async move {
                while let Some(v) = ping_rx.recv().await {
                    pong_tx.send(v + 1).await.unwrap();
                }
            });
            a.await.unwrap();
            b.await.unwrap();
        }

        /// W3: 10,000 tasks each sleep 10 times (1..1000 ms, fixed per task index).
        pub async fn w3() {
            let tasks: Vec<_> = (0..W3_TASKS)
                .map(|t| {
                    $rt::spawn(async move {
                        for ms in w3_durations(t) {
                            $rt::time::sleep(Duration::from_millis(ms)).await;
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
        }

        /// W4: 100,000 tasks that yield once and return their index; join and sum.
        pub async fn w4() -> u64 {
            let tasks: Vec<_> = (0..W4_TASKS)
                .map(|i| {
                    $rt::spawn(async move {
                        $rt::task::yield_now().await;
                        i
                    })
                })
                .collect();
            let mut sum = 0;
            for t in tasks {
                sum += t.await.unwrap();
            }
            assert_eq!(sum, W4_SUM);
            sum
        }

        /// W5: 100 tasks lock one mutex 100 times each, yielding while holding it.
        pub async fn w5() {
            let m = Arc::new($rt::sync::Mutex::new(0u64));
            let tasks: Vec<_> = (0..W5_TASKS)
                .map(|_| {
                    let m = m.clone();
                    $rt::spawn(async move {
                        for _ in 0..W5_LOCKS {
                            let mut g = m.lock().await;
                            let v = *g;
                            $rt::task::yield_now().await;
                            *g = v + 1;
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
            assert_eq!(*m.lock().await, W5_TASKS * W5_LOCKS);
        }
    };
}

/// The workloads on corosim.
pub mod on_sim {
    same_code!(sim);
}

/// The same source on tokio.
pub mod on_tokio {
    same_code!(tokio);
}
