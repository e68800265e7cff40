//! Scheduling points: operations that succeed at once still let the scheduler run
//! another task first, so bugs between two uncontended acquisitions are found.

use std::sync::Arc;

use sim::sync::Mutex;
use sim::{Builder, FailureKind, Strategy};

async fn abba() {
    let a = Arc::new(Mutex::new(0));
    let b = Arc::new(Mutex::new(0));
    let (a2, b2) = (a.clone(), b.clone());
    let t1 = sim::spawn(async move {
        let _x = a2.lock().await;
        let _y = b2.lock().await;
    });
    let t2 = sim::spawn(async move {
        let _y = b.lock().await;
        let _x = a.lock().await;
    });
    t1.await.unwrap();
    t2.await.unwrap();
}

fn first_failure(strategy: &Strategy) -> Option<(u64, FailureKind)> {
    (0..10_000).find_map(|seed| {
        Builder::new()
            .seed(seed)
            .strategy(strategy.clone())
            .build()
            .block_on(abba())
            .err()
            .map(|f| (seed, f.kind()))
    })
}

#[test]
fn abba_deadlock_is_found_without_yields() {
    for strategy in [Strategy::Random, Strategy::pct(3)] {
        let (seed, kind) = first_failure(&strategy).expect("ABBA found");
        assert_eq!(kind, FailureKind::Deadlock, "{strategy} seed {seed}");
        eprintln!("{strategy}: seed {seed}");
    }
}
