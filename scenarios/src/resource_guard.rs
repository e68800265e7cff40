//! An async resource guard: opening a connection is async (register it with the
//! server, then a handshake), and so is closing it (a goodbye, then unregister). Clients
//! open, use and close connections under a timeout that may cancel them anywhere: in
//! the middle of the setup, of the use, or of the teardown. A destructor cannot
//! await, so a guard dropped with its connection still open hands the teardown to a
//! cleanup task. Invariant: once every client and every cleanup has finished, no
//! connection is left open on the server.
//!
//! The bugs: the guard is created only once the setup has finished (a cancellation
//! during the handshake leaks the registered connection), or the teardown disarms the
//! guard before its await (a cancellation during the goodbye leaks it).

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::rc::Rc;

use sim::task::JoinHandle;
use sim::time::{sleep, timeout};

use crate::{join_all, ms, spawn_named};

/// The shape of a run.
#[derive(Debug, Clone, arbitrary::Arbitrary)]
pub struct Config {
    /// Clients (1..=4).
    pub clients: u8,
    /// Connections each client opens, one after the other (1..=4).
    pub rounds: u8,
    /// The longest setup, use and teardown each take, in ms (1..=4).
    pub phase_ms: u8,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            clients: 3,
            rounds: 3,
            phase_ms: 3,
        }
    }
}

impl Config {
    /// The configuration with every field clamped to its range.
    pub fn normalized(&self) -> Config {
        Config {
            clients: self.clients.clamp(1, 4),
            rounds: self.rounds.clamp(1, 4),
            phase_ms: self.phase_ms.clamp(1, 4),
        }
    }
}

/// Where the guard's protection starts and ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Correct: the guard exists from the registration to the unregistration.
    Guarded,
    /// Bug: the guard is created after the handshake.
    GuardAfterSetup,
    /// Bug: the teardown disarms the guard before its goodbye.
    DisarmBeforeTeardown,
}

/// The server's side: the open connections, and the cleanups in flight.
#[derive(Default)]
struct Server {
    open: RefCell<BTreeSet<u32>>,
    next_id: Cell<u32>,
    cleanups: RefCell<Vec<JoinHandle<()>>>,
    phase_ms: u64,
}

impl Server {
    async fn phase(&self) {
        sleep(ms(sim::rand::gen_range(1..=self.phase_ms))).await;
    }

    /// Unregisters a connection (the last step of a teardown).
    fn unregister(&self, id: u32) {
        assert!(
            self.open.borrow_mut().remove(&id),
            "connection {id} closed twice"
        );
    }
}

/// An open connection; closes itself in a cleanup task if dropped while armed.
struct Guard {
    server: Rc<Server>,
    id: u32,
    armed: bool,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if self.armed {
            let (server, id) = (self.server.clone(), self.id);
            let cleanup = spawn_named("cleanup", async move {
                server.phase().await; // the goodbye
                server.unregister(id);
            });
            self.server.cleanups.borrow_mut().push(cleanup);
        }
    }
}

impl Guard {
    fn new(server: &Rc<Server>, id: u32) -> Guard {
        Guard {
            server: server.clone(),
            id,
            armed: true,
        }
    }
}

/// Opens a connection: registers it, then the handshake.
async fn open(server: &Rc<Server>, variant: Variant) -> Guard {
    let id = server.next_id.get();
    server.next_id.set(id + 1);
    server.open.borrow_mut().insert(id);
    if variant == Variant::GuardAfterSetup {
        // BUG: no guard during the handshake; a cancellation here leaks `id`.
        server.phase().await;
        return Guard::new(server, id);
    }
    let guard = Guard::new(server, id);
    server.phase().await; // the handshake
    guard
}

/// Closes a connection: the goodbye, then unregister.
async fn close(mut guard: Guard, variant: Variant) {
    if variant == Variant::DisarmBeforeTeardown {
        // BUG: disarmed before the await; a cancellation during the goodbye leaks it.
        guard.armed = false;
        guard.server.phase().await;
        guard.server.unregister(guard.id);
        return;
    }
    guard.server.phase().await; // the goodbye
    guard.server.unregister(guard.id);
    guard.armed = false;
}

/// Runs the scenario.
///
/// # Errors
/// When a client or a cleanup task fails.
pub async fn run(config: Config, variant: Variant) -> Result<(), String> {
    let c = config.normalized();
    let server = Rc::new(Server {
        phase_ms: c.phase_ms.into(),
        ..Server::default()
    });
    let mut clients = Vec::new();
    for i in 0..c.clients {
        let server = server.clone();
        clients.push(spawn_named(&format!("client-{i}"), async move {
            for _ in 0..c.rounds {
                // A deadline that may fall anywhere in the three phases (or after).
                let deadline = ms(sim::rand::gen_range(1..=3 * server.phase_ms + 1));
                let _ = timeout(deadline, async {
                    let conn = open(&server, variant).await;
                    server.phase().await; // the use
                    close(conn, variant).await;
                })
                .await;
            }
        }));
    }
    join_all(clients).await?;
    loop {
        let cleanups = std::mem::take(&mut *server.cleanups.borrow_mut());
        if cleanups.is_empty() {
            break;
        }
        join_all(cleanups).await?;
    }
    let open = server.open.borrow();
    assert!(open.is_empty(), "connections leaked: {open:?}");
    Ok(())
}
