//! An echo server with several clients over TCP. TCP is a byte stream: a write may
//! arrive in pieces and several writes may arrive together, so a client must read
//! exactly the length of the message it expects (`read_exact`), never assume that one
//! `read` returns one message. Invariant: every client gets each of its messages back
//! whole.

use futures::io::{AsyncReadExt, AsyncWriteExt};
use sim::net::{Host, TcpListener, TcpStream};
use sim::time::sleep;

use crate::{join_all, ms};

/// The shape of a run.
#[derive(Debug, Clone, arbitrary::Arbitrary)]
pub struct Config {
    /// Clients (1..=4).
    pub clients: u8,
    /// Messages per client (1..=5).
    pub messages: u8,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            clients: 3,
            messages: 3,
        }
    }
}

impl Config {
    /// The configuration with every field clamped to its range.
    pub fn normalized(&self) -> Config {
        Config {
            clients: self.clients.clamp(1, 4),
            messages: self.messages.clamp(1, 5),
        }
    }
}

/// How a client reads the echo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Correct: it reads exactly as many bytes as it sent.
    Framed,
    /// Bug: it takes whatever one `read` returns for the whole message.
    OneReadOneMessage,
}

/// Runs the scenario.
///
/// # Errors
/// When a client's I/O fails or an echo comes back wrong.
pub async fn run(config: Config, variant: Variant) -> Result<(), String> {
    let c = config.normalized();
    Host::builder("server")
        .on_start(|| async {
            let listener = TcpListener::bind("0.0.0.0:7")
                .await
                .expect("port 7 is free");
            while let Ok((mut stream, _)) = listener.accept().await {
                sim::spawn(async move {
                    let mut buf = [0; 64];
                    while let Ok(n @ 1..) = stream.read(&mut buf).await {
                        if stream.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                });
            }
        })
        .build();
    let host = Host::builder("clients").build();
    let mut clients = Vec::new();
    for i in 0..c.clients {
        clients.push(host.spawn_named(&format!("client-{i}"), async move {
            sleep(ms(1)).await; // the server binds at start-up
            let mut s = TcpStream::connect("server:7")
                .await
                .map_err(|e| e.to_string())?;
            for j in 0..c.messages {
                let msg = format!("client {i} message {j};");
                s.write_all(msg.as_bytes())
                    .await
                    .map_err(|e| e.to_string())?;
                let mut back = vec![0; msg.len()];
                match variant {
                    Variant::Framed => {
                        s.read_exact(&mut back).await.map_err(|e| e.to_string())?;
                    }
                    Variant::OneReadOneMessage => {
                        // BUG: one read is not one message: the echo may come in pieces.
                        let n = s.read(&mut back).await.map_err(|e| e.to_string())?;
                        back.truncate(n);
                    }
                }
                assert_eq!(
                    String::from_utf8_lossy(&back),
                    msg,
                    "client {i} got a wrong echo"
                );
            }
            Ok::<(), String>(())
        }));
    }
    for r in join_all(clients).await? {
        r?;
    }
    Ok(())
}
