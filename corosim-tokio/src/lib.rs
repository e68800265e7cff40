//! # corosim-tokio: one cfg flag between tokio and the simulator
//!
//! A crate written against `tokio::` paths runs under corosim's deterministic simulator
//! without source changes. Declare this crate under tokio's name:
//!
//! ```toml
//! [dependencies]
//! tokio = { package = "corosim-tokio", path = "../corosim-tokio", features = ["rt", "macros", "sync", "time"] }
//! ```
//!
//! Built normally, it *is* tokio (`pub use tokio::*`): same types, same runtime, same
//! behaviour. Built with `--cfg corosim`
//!
//! ```sh
//! RUSTFLAGS="--cfg corosim" CARGO_TARGET_DIR=$PWD/target/corosim-cfg cargo test
//! ```
//!
//! the same paths name `sim`'s tokio-shaped API instead, and
//!
//! - `#[tokio::test]` becomes a seed sweep (`sim::Check`, 100 seeds by default; the
//!   `SIM_` variables apply: `SIM_SEEDS`, `SIM_SEED`, `SIM_STRATEGY`, ...), whose failure
//!   report ends with the command that replays it;
//! - `#[tokio::main]` and `tokio::runtime::Runtime::block_on` run the program once,
//!   seeded by `SIM_SEED`;
//! - `tokio::spawn`, `tokio::task::*` (`JoinSet`, `LocalSet`, `spawn_blocking`,
//!   `spawn_local`, `yield_now`, `task_local!`), `tokio::time::*` (virtual: `sleep`,
//!   `timeout`, `interval`, `Instant`, `pause`, `advance`), `tokio::sync::*` and the
//!   macros `select!` (branch order from the seed), `join!`, `try_join!`, `pin!` are
//!   `sim`'s, so every interleaving and timeout is the seed's choice and replays.
//!
//! Arguments of tokio's attributes that describe threads (`flavor`, `worker_threads`)
//! or the clock (`start_paused`) are accepted and change nothing: a simulated run is
//! one thread with a paused clock. `tokio::net` is `sim`'s simulated network (TCP and
//! UDP between simulated hosts, with latency and faults from the seed) and `tokio::io`
//! is tokio's runtime-free I/O code (`copy`, `split`, `duplex`, `BufReader`, ...) over
//! it. Not simulated: `tokio::fs`, `tokio::process`, `tokio::signal` (they do not
//! exist under the cfg, so a crate using them does not compile there), and the
//! features beyond `rt`, `rt-multi-thread`, `macros`, `sync`, `time`, `test-util`,
//! `net`, `io-util`.
//!
//! Use a separate `CARGO_TARGET_DIR` for the cfg build: `RUSTFLAGS` changes every
//! crate's fingerprint, and sharing the directory rebuilds everything at each switch.

#[cfg(not(corosim))]
pub use tokio::*;

#[cfg(corosim)]
mod simulated;

#[cfg(corosim)]
pub use simulated::*;
