//! Concurrent downloads from a flaky server, bounded by a [`Semaphore`]: each download
//! holds a permit while it fetches, with a timeout, and retries after a failure (the
//! server sometimes stalls or drops the connection). The permit must go back to the
//! pool on every path, the error path included; one forgotten on an error shrinks the
//! pool until nothing can start. Invariants: every download completes with the whole
//! file, and the pool ends full.

use std::rc::Rc;

use futures::io::{AsyncReadExt, AsyncWriteExt};
use sim::net::{Host, TcpListener, TcpStream};
use sim::sync::Semaphore;
use sim::time::{sleep, timeout};

use crate::{join_all, ms};

/// The size of every file.
const FILE: usize = 64;

/// The shape of a run.
#[derive(Debug, Clone, arbitrary::Arbitrary)]
pub struct Config {
    /// Downloads (2..=8).
    pub downloads: u8,
    /// Permits: downloads at once (1..=3).
    pub limit: u8,
    /// The chance in percent that the server fails a request (10..=50).
    pub flaky_percent: u8,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            downloads: 6,
            limit: 2,
            flaky_percent: 40,
        }
    }
}

impl Config {
    /// The configuration with every field clamped to its range.
    pub fn normalized(&self) -> Config {
        Config {
            downloads: self.downloads.clamp(2, 8),
            limit: self.limit.clamp(1, 3),
            flaky_percent: self.flaky_percent.clamp(10, 50),
        }
    }
}

/// What a download does with its permit when a fetch fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Correct: the permit is dropped on every path (it is a guard).
    Guarded,
    /// Bug: the error path forgets the permit: the pool starves.
    PermitLeak,
}

/// Fetches file `i`: one request, the whole file until the server closes.
async fn fetch(i: u8) -> std::io::Result<Vec<u8>> {
    let mut s = TcpStream::connect("files:80").await?;
    s.write_all(&[i]).await?;
    let mut file = Vec::new();
    s.read_to_end(&mut file).await?;
    if file.len() != FILE {
        return Err(std::io::Error::other(format!(
            "short file: {} bytes",
            file.len()
        )));
    }
    Ok(file)
}

/// Runs the scenario.
///
/// # Errors
/// When a download gets a wrong file or a task fails.
pub async fn run(config: Config, variant: Variant) -> Result<(), String> {
    let c = config.normalized();
    let flaky = f64::from(c.flaky_percent) / 100.0;
    Host::builder("files")
        .on_start(move || async move {
            let listener = TcpListener::bind("0.0.0.0:80").await.expect("port free");
            while let Ok((mut s, _)) = listener.accept().await {
                sim::spawn(async move {
                    let mut req = [0; 1];
                    if s.read_exact(&mut req).await.is_err() {
                        return;
                    }
                    if sim::rand::gen_bool(flaky) {
                        if sim::rand::gen_bool(0.5) {
                            sleep(ms(500)).await; // stalls past the client's timeout
                        }
                        return; // drops the connection without the file
                    }
                    let _ = s.write_all(&[req[0]; FILE]).await;
                });
            }
        })
        .build();
    let client = Host::builder("client").build();
    let pool = Rc::new(Semaphore::new(c.limit.into()));
    let mut downloads = Vec::new();
    for i in 0..c.downloads {
        let pool = pool.clone();
        downloads.push(client.spawn_named(&format!("download-{i}"), async move {
            sleep(ms(1)).await; // the server binds at start-up
            loop {
                let permit = pool.acquire().await.map_err(|e| e.to_string())?;
                match timeout(ms(100), fetch(i)).await {
                    Ok(Ok(file)) => {
                        assert!(
                            file.iter().all(|&b| b == i),
                            "download {i} got another file"
                        );
                        drop(permit);
                        return Ok::<(), String>(());
                    }
                    Ok(Err(_)) | Err(_) => {
                        if variant == Variant::PermitLeak {
                            // BUG: the error path forgets the permit instead of dropping it.
                            permit.forget();
                        } else {
                            drop(permit);
                        }
                        sleep(ms(5)).await; // back off, then retry
                    }
                }
            }
        }));
    }
    for r in join_all(downloads).await? {
        r?;
    }
    assert_eq!(
        pool.available_permits(),
        usize::from(c.limit),
        "permits leaked"
    );
    Ok(())
}
