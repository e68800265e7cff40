//! A few clients sharing a counter and a session on one server.
//!
//! ```sh
//! cargo run -p kv                                                   # on tokio
//! RUSTFLAGS="--cfg corosim" CARGO_TARGET_DIR=$PWD/target/corosim-cfg \
//!     SIM_SEED=7 cargo run -p kv                                    # one simulated run
//! ```

use tokio::task::JoinSet;
use tokio::time::{Duration, sleep};

#[tokio::main]
async fn main() {
    let server = kv::Server::start(8);
    let mut clients = JoinSet::new();
    for id in 0..3 {
        let client = server.client();
        clients.spawn(async move {
            for _ in 0..3 {
                client.increment("visits", 1).await.unwrap();
                sleep(Duration::from_millis(10 * (id + 1))).await;
            }
            client
                .set_with_ttl(&format!("session-{id}"), "active", Duration::from_secs(5))
                .await
                .unwrap();
        });
    }
    while let Some(done) = clients.join_next().await {
        done.unwrap();
    }
    let client = server.client();
    print!("{}", client.snapshot().await.unwrap());
    let answered = server.shutdown().await;
    println!("{answered} requests answered");
}
