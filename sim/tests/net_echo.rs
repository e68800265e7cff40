//! A tokio echo server and client (`net_echo/body.rs`) compiled twice, against
//! `tokio::net` and against `sim::net`, by changing only the `use` lines; both pass.

mod on_tokio {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    use tokio::spawn;

    include!("net_echo/body.rs");
}

mod on_sim {
    use sim::net::{TcpListener, TcpStream};
    use sim::spawn;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    include!("net_echo/body.rs");
}

#[test]
fn the_tokio_echo_passes_on_tokio() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    let local = tokio::task::LocalSet::new();
    assert_eq!(local.block_on(&rt, on_tokio::echo(3, 4)), 3 * 4 * 16);
}

#[test]
fn the_same_echo_passes_in_the_simulator_on_every_seed() {
    for seed in 0..200 {
        let mut rt = sim::Builder::new().seed(seed).build();
        let total = rt
            .block_on(on_sim::echo(3, 4))
            .unwrap_or_else(|f| panic!("seed {seed}:\n{f}"));
        assert_eq!(total, 3 * 4 * 16);
    }
}
