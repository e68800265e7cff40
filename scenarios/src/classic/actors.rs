//! A request/reply deadlock over bounded [`mpsc`] channels: a server actor and clients
//! that pipeline requests before reading replies.
//!
//! Owns this program only; every wait is a plain `send().await` or `recv().await`.

use sim::sync::mpsc;

use super::Twin;
use crate::{join_all, spawn_named};

/// Clients of the server.
const CLIENTS: usize = 2;
/// Requests each client sends before reading its replies.
const REQUESTS: u32 = 3;

/// A request: the client's number and a value to double.
struct Request {
    client: usize,
    value: u32,
}

/// A server doubles numbers sent over its bounded inbox and answers each client over
/// the client's own bounded reply channel; each client sends all its requests, then
/// reads all its replies. Buggy: a reply channel has fewer slots than a client has
/// requests in flight, so the server can block on a full reply channel while that
/// client blocks on the server's inbox, which another client has filled.
pub(super) async fn bounded_reply(twin: Twin) -> Result<(), String> {
    let reply_capacity = match twin {
        // BUG: one reply slot for `REQUESTS` requests in flight.
        Twin::Buggy => 1,
        Twin::Fixed => REQUESTS as usize,
    };
    let (inbox_tx, mut inbox) = mpsc::channel::<Request>(1);
    let mut reply_txs = Vec::new();
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let (reply_tx, mut replies) = mpsc::channel::<u32>(reply_capacity);
        reply_txs.push(reply_tx);
        let inbox_tx = inbox_tx.clone();
        clients.push(spawn_named(&format!("client-{c}"), async move {
            let values: Vec<u32> = (0..REQUESTS).map(|i| 100 * c as u32 + i).collect();
            for &value in &values {
                let sent = inbox_tx.send(Request { client: c, value }).await;
                assert!(sent.is_ok(), "the server hung up");
            }
            for &value in &values {
                let reply = replies.recv().await;
                assert_eq!(reply, Some(2 * value), "client-{c} got a wrong reply");
            }
        }));
    }
    drop(inbox_tx);
    let server = spawn_named("server", async move {
        let mut served = 0;
        while let Some(Request { client, value }) = inbox.recv().await {
            let sent = reply_txs[client].send(2 * value).await;
            assert!(sent.is_ok(), "client-{client} hung up");
            served += 1;
        }
        served
    });
    join_all(clients).await?;
    let served = server
        .await
        .map_err(|e| format!("the server failed: {e}"))?;
    assert_eq!(served, CLIENTS as u32 * REQUESTS, "requests lost");
    Ok(())
}
