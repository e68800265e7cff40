//! Snapshots of the network's stable text: the trace of a pinned seed (two hosts, a
//! connection, an exchange, a partition) and the deadlock report of a task blocked on a
//! partitioned socket.

use std::time::Duration;

use sim::net::{Host, TcpListener, TcpStream, partition, set_connect_timeout};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn exchange_then_partition() {
    Host::builder("server")
        .on_start(|| async {
            let l = TcpListener::bind("0.0.0.0:7").await.unwrap();
            let (mut s, _) = l.accept().await.unwrap();
            let mut buf = [0; 4];
            s.read_exact(&mut buf).await.unwrap();
            s.write_all(&buf).await.unwrap();
            let _ = s.read(&mut buf).await; // waits forever: the partition
        })
        .build();
    set_connect_timeout(None);
    let client = Host::builder("client").build();
    client
        .spawn_named("client", async {
            sim::time::sleep(Duration::from_millis(1)).await;
            let mut s = TcpStream::connect("server:7").await.unwrap();
            s.write_all(b"ping").await.unwrap();
            let mut buf = [0; 4];
            s.read_exact(&mut buf).await.unwrap();
            partition("client", "server");
            s.write_all(b"lost").await.unwrap();
            let _ = s.read(&mut buf).await; // never answered
        })
        .await
        .unwrap();
}

#[test]
fn trace_and_deadlock_report_of_a_pinned_seed() {
    let mut rt = sim::Builder::new()
        .seed(3)
        .strategy(sim::Strategy::Random)
        .build();
    let failure = rt.block_on(exchange_then_partition()).unwrap_err();
    insta::assert_snapshot!("net_trace", rt.trace().to_string());
    insta::assert_snapshot!("net_deadlock_report", failure.to_string());
}
