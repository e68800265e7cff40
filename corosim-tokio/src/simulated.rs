//! tokio's public paths over `sim` (compiled under `--cfg corosim` only).
//!
//! Every item is a re-export of `sim`'s tokio-named API (`runtime::{Builder, Runtime}`
//! included: `sim::runtime`'s have tokio's signatures). Nothing here adds behaviour:
//! what a path does is what `sim` documents.

pub use sim::spawn;
pub use sim::{join, pin, select, task_local, try_join};

/// `#[tokio::main]`: one simulated run of the body, seeded by `SIM_SEED`.
pub use sim_macros::tokio_main as main;
/// `#[tokio::test]`: a seed sweep of the body (`SIM_SEEDS`, `SIM_STRATEGY`, ...).
pub use sim_macros::tokio_test as test;

/// The simulator, for the expansions of `#[tokio::main]` and `#[tokio::test]`.
#[doc(hidden)]
pub use sim as __sim;

/// Tasks (tokio's `task`): `sim::task`.
pub mod task {
    pub use sim::task::*;
}

/// Virtual time (tokio's `time`): `sim::time`.
pub mod time {
    pub use sim::time::*;
}

/// Synchronisation primitives (tokio's `sync`): `sim::sync`.
pub mod sync {
    pub use sim::sync::*;
}

/// The runtime (tokio's `runtime`): `sim::runtime`, whose `Builder` and `Runtime`
/// keep tokio's signatures and run one simulated run per `block_on`.
pub mod runtime {
    pub use sim::runtime::{Builder, Handle, Runtime, TryCurrentError};
}

/// I/O traits and utilities (tokio's `io`): `sim::io`, tokio's own runtime-free code,
/// its copies making each read a scheduling point.
pub mod io {
    pub use sim::io::*;
}

/// The network (tokio's `net`): `sim::net`'s simulated TCP and UDP, with tokio's
/// names (`TcpListener`, `TcpStream`, `UdpSocket`, `lookup_host`, the `tcp` halves).
pub mod net {
    pub use sim::net::{TcpListener, TcpStream, ToSocketAddrs, UdpSocket, lookup_host};

    /// TCP's split halves (tokio's `net::tcp`).
    pub mod tcp {
        pub use sim::net::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, WriteHalf};
    }
}
