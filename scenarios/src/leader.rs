//! A leader that crashes and restarts: clients append values to a log kept by a leader
//! host, which acknowledges each append. The test crashes and restarts the leader
//! while the clients write. What the leader keeps in memory (its tasks' state) is gone
//! after the restart; only what it wrote to its disk survives. A leader that keeps
//! its log in memory and acknowledges from there loses acknowledged writes.
//! Invariant: every acknowledged value is in the log read after the restart.

use std::cell::RefCell;
use std::rc::Rc;

use futures::io::{AsyncReadExt, AsyncWriteExt};
use sim::net::{Host, TcpListener, TcpStream};
use sim::time::{sleep, timeout};

use crate::ms;

/// Asks for the whole log instead of appending.
const READ: u32 = u32::MAX;

/// The shape of a run.
#[derive(Debug, Clone, arbitrary::Arbitrary)]
pub struct Config {
    /// Values each client appends (1..=10).
    pub values: u8,
    /// Clients (1..=3).
    pub clients: u8,
    /// When the leader restarts, in ms (2..=30).
    pub restart_at_ms: u8,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            values: 8,
            clients: 2,
            restart_at_ms: 10,
        }
    }
}

impl Config {
    /// The configuration with every field clamped to its range.
    pub fn normalized(&self) -> Config {
        Config {
            values: self.values.clamp(1, 10),
            clients: self.clients.clamp(1, 3),
            restart_at_ms: self.restart_at_ms.clamp(2, 30),
        }
    }
}

/// Where the leader keeps its log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Correct: on its disk (outside its tasks), read back at start-up.
    Disk,
    /// Bug: in memory, assumed to survive the restart.
    Memory,
}

/// One request to the leader: the reply (an ack, or the log).
async fn ask(request: u32) -> std::io::Result<Vec<u32>> {
    let mut s = TcpStream::connect("leader:5000").await?;
    s.write_all(&request.to_le_bytes()).await?;
    let mut len = [0; 4];
    s.read_exact(&mut len).await?;
    let mut body = vec![0; 4 * u32::from_le_bytes(len) as usize];
    s.read_exact(&mut body).await?;
    Ok(body
        .chunks(4)
        .map(|w| u32::from_le_bytes(w.try_into().expect("4 bytes")))
        .collect())
}

/// Asks until an answer comes (the leader may be down or restarting).
async fn ask_until_answered(request: u32) -> Vec<u32> {
    loop {
        if let Ok(Ok(reply)) = timeout(ms(50), ask(request)).await {
            return reply;
        }
        sleep(ms(3)).await;
    }
}

/// Runs the scenario.
///
/// # Errors
/// When an acknowledged value is missing after the restart.
pub async fn run(config: Config, variant: Variant) -> Result<(), String> {
    let c = config.normalized();
    let disk: Rc<RefCell<Vec<u32>>> = Rc::default();
    let leader = Host::builder("leader")
        .on_start(move || {
            let disk = disk.clone();
            async move {
                let log: Rc<RefCell<Vec<u32>>> = match variant {
                    Variant::Disk => disk, // read back from the disk
                    // BUG: the log lives in memory only; a restart starts it empty.
                    Variant::Memory => Rc::default(),
                };
                let listener = TcpListener::bind("0.0.0.0:5000").await.expect("port free");
                while let Ok((mut s, _)) = listener.accept().await {
                    let log = log.clone();
                    sim::spawn(async move {
                        let mut req = [0; 4];
                        if s.read_exact(&mut req).await.is_err() {
                            return;
                        }
                        let reply = match u32::from_le_bytes(req) {
                            READ => log.borrow().clone(),
                            v => {
                                log.borrow_mut().push(v); // appended before the ack
                                Vec::new()
                            }
                        };
                        let mut out = (reply.len() as u32).to_le_bytes().to_vec();
                        out.extend(reply.iter().flat_map(|v| v.to_le_bytes()));
                        let _ = s.write_all(&out).await;
                    });
                }
            }
        })
        .build();
    let clients_host = Host::builder("clients").build();
    let mut clients = Vec::new();
    for k in 0..u32::from(c.clients) {
        clients.push(
            clients_host.spawn_named(&format!("client-{k}"), async move {
                sleep(ms(1)).await; // the leader binds at start-up
                let mut acked = Vec::new();
                for i in 0..u32::from(c.values) {
                    let v = k * 1000 + i;
                    ask_until_answered(v).await;
                    acked.push(v);
                }
                acked
            }),
        );
    }
    sleep(ms(
        u64::from(c.restart_at_ms) + sim::rand::gen_range(0..5u64)
    ))
    .await;
    leader.restart();
    let mut acked = Vec::new();
    for client in clients {
        acked.extend(client.await.map_err(|e| e.to_string())?);
    }
    let log = ask_until_answered(READ).await;
    if let Some(lost) = acked.iter().find(|v| !log.contains(v)) {
        return Err(format!(
            "value {lost} was acknowledged but is not in the log after the leader restarted"
        ));
    }
    Ok(())
}
