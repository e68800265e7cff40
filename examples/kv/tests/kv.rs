//! The server's contract, as ordinary tokio tests. On tokio each test runs once; with
//! `RUSTFLAGS="--cfg corosim"` each `#[tokio::test]` is a sweep of 100 seeds (set
//! `SIM_SEEDS` for more), every seed a different interleaving of clients and server.

use std::collections::BTreeSet;

use kv::{Error, Server};
use tokio::task::JoinSet;
use tokio::time::{Duration, Instant, advance, sleep, timeout};

#[tokio::test]
async fn set_get_delete() {
    let server = Server::start(4);
    let client = server.client();
    assert_eq!(client.get("k").await, Ok(None));
    assert_eq!(client.set("k", "1").await, Ok(None));
    assert_eq!(client.set("k", "2").await, Ok(Some("1".into())));
    assert_eq!(client.get("k").await, Ok(Some("2".into())));
    assert_eq!(client.delete("k").await, Ok(Some("2".into())));
    assert_eq!(client.get("k").await, Ok(None));
    assert_eq!(server.shutdown().await, 6);
}

#[tokio::test]
async fn concurrent_increments_are_not_lost() {
    let server = Server::start(2);
    let mut clients = JoinSet::new();
    for _ in 0..4 {
        let client = server.client();
        clients.spawn(async move {
            let mut seen = Vec::new();
            for _ in 0..5 {
                seen.push(client.increment("n", 1).await.unwrap());
                tokio::task::yield_now().await;
            }
            seen
        });
    }
    let mut all = BTreeSet::new();
    while let Some(seen) = clients.join_next().await {
        for n in seen.unwrap() {
            assert!(all.insert(n), "two increments returned {n}");
        }
    }
    assert_eq!(all, (1..=20).collect());
    assert_eq!(server.client().get("n").await, Ok(Some("20".into())));
    server.shutdown().await;
}

#[tokio::test]
async fn compare_and_swap_lets_exactly_one_writer_win() {
    let server = Server::start(8);
    let mut writers = JoinSet::new();
    for id in 0..5 {
        let client = server.client();
        writers.spawn(async move {
            client
                .compare_and_swap("leader", None, &id.to_string())
                .await
        });
    }
    let mut winners = 0;
    let mut losers = 0;
    while let Some(outcome) = writers.join_next().await {
        match outcome.unwrap() {
            Ok(()) => winners += 1,
            Err(Error::Conflict(Some(_))) => losers += 1,
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!((winners, losers), (1, 4));
    server.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn entries_expire_after_their_time_to_live() {
    let server = Server::start(4);
    let client = server.client();
    client
        .set_with_ttl("session", "abc", Duration::from_secs(10))
        .await
        .unwrap();
    client.set("forever", "x").await.unwrap();
    advance(Duration::from_secs(9)).await;
    assert_eq!(client.get("session").await, Ok(Some("abc".into())));
    advance(Duration::from_secs(2)).await;
    assert_eq!(client.get("session").await, Ok(None));
    assert_eq!(client.snapshot().await.unwrap(), "forever=x\n");
    server.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn the_purge_runs_while_the_server_is_idle() {
    let server = Server::start(4);
    let client = server.client();
    let start = Instant::now();
    client
        .set_with_ttl("a", "1", Duration::from_millis(1500))
        .await
        .unwrap();
    sleep(Duration::from_secs(3)).await; // two purges pass meanwhile
    assert_eq!(start.elapsed(), Duration::from_secs(3));
    assert_eq!(client.snapshot().await.unwrap(), "");
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_answers_queued_requests_then_refuses() {
    let server = Server::start(16);
    let mut clients = JoinSet::new();
    for i in 0..6 {
        let client = server.client();
        clients.spawn(async move { client.set(&format!("k{i}"), "v").await });
    }
    // Whatever was queued before the shutdown is answered; a later request is refused.
    let late = server.client();
    let answered = server.shutdown().await;
    assert!(answered <= 6);
    let mut ok = 0;
    while let Some(r) = clients.join_next().await {
        match r.unwrap() {
            Ok(None) => ok += 1,
            Err(Error::Closed) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(ok, answered);
    assert_eq!(late.get("k0").await, Err(Error::Closed));
}

#[tokio::test]
async fn a_client_can_give_up_waiting() {
    let server = Server::start(1);
    let client = server.client();
    // A request that times out is dropped by its client; the server goes on.
    let outcome = timeout(Duration::from_secs(1), client.set("k", "v")).await;
    assert_eq!(outcome, Ok(Ok(None)));
    let slow = tokio::select! {
        biased;
        r = client.get("k") => r,
        _ = sleep(Duration::from_secs(5)) => panic!("the server is slow"),
    };
    assert_eq!(slow, Ok(Some("v".into())));
    server.shutdown().await;
}
