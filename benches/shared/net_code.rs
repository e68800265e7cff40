//! W6 and W7 (see `benches/net.rs`) for corosim, turmoil and, built with
//! `--cfg madsim`, madsim: one copy of each workload, shared by the benchmark and
//! `examples/net_workload.rs` (instruction counts).

use std::cell::Cell;
use std::hint::black_box;
use std::time::Duration;

pub const W6_CLIENTS: usize = 100;
pub const W6_ROUNDS: usize = 100;
pub const W7_ROUNDS: usize = 100;
pub const W7_BURST: usize = 100;
pub const MSG: usize = 64;

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub mod corosim {
    use super::*;
    use sim::net::{Host, Latency, LinkConfig, TcpListener, TcpStream, UdpSocket, set_link};
    use sim::time::{sleep, timeout};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn run<F: std::future::Future>(seed: &Cell<u64>, fut: F) -> F::Output {
        seed.set(seed.get() + 1);
        let mut rt = sim::Builder::new()
            .seed(seed.get())
            .strategy(sim::Strategy::Random)
            .max_steps(50_000_000)
            .build();
        let out = rt.block_on(fut).unwrap();
        black_box(rt.trace().len());
        out
    }

    pub fn w6(seed: &Cell<u64>) -> usize {
        run(seed, async {
            Host::builder("server")
                .on_start(|| async {
                    let l = TcpListener::bind("0.0.0.0:7").await.unwrap();
                    loop {
                        let (mut s, _) = l.accept().await.unwrap();
                        sim::spawn(async move {
                            let mut buf = [0; MSG];
                            while let Ok(n @ 1..) = s.read(&mut buf).await {
                                s.write_all(&buf[..n]).await.unwrap();
                            }
                        });
                    }
                })
                .build();
            let c = Host::builder("client").build();
            let clients: Vec<_> = (0..W6_CLIENTS)
                .map(|_| {
                    c.spawn(async {
                        sleep(ms(1)).await;
                        let mut s = TcpStream::connect("server:7").await.unwrap();
                        let (msg, mut back) = ([7u8; MSG], [0u8; MSG]);
                        for _ in 0..W6_ROUNDS {
                            s.write_all(&msg).await.unwrap();
                            s.read_exact(&mut back).await.unwrap();
                        }
                        W6_ROUNDS
                    })
                })
                .collect();
            let mut n = 0;
            for h in clients {
                n += h.await.unwrap();
            }
            n
        })
    }

    pub fn w7(seed: &Cell<u64>) -> usize {
        run(seed, async {
            let tx = Host::builder("tx").build();
            let rx = Host::builder("rx").build();
            set_link(
                "tx",
                "rx",
                LinkConfig::default()
                    .latency(Latency::uniform(ms(1), ms(5)))
                    .loss(0.1),
            );
            let got = rx.spawn(async {
                let s = UdpSocket::bind("0.0.0.0:9").await.unwrap();
                let mut buf = [0; MSG];
                let mut n = 0;
                while let Ok(Ok(_)) = timeout(ms(50), s.recv_from(&mut buf)).await {
                    n += 1;
                }
                n
            });
            tx.spawn(async {
                sleep(ms(1)).await;
                let s = UdpSocket::bind("0.0.0.0:0").await.unwrap();
                let msg = [7u8; MSG];
                for _ in 0..W7_ROUNDS {
                    for _ in 0..W7_BURST {
                        s.send_to(&msg, "rx:9").await.unwrap();
                    }
                    sleep(ms(1)).await;
                }
            })
            .await
            .unwrap();
            got.await.unwrap()
        })
    }
}

pub mod on_turmoil {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use turmoil::net::{TcpListener, TcpStream, UdpSocket};

    fn builder(seed: &Cell<u64>) -> turmoil::Builder {
        seed.set(seed.get() + 1);
        let mut b = turmoil::Builder::new();
        b.rng_seed(seed.get())
            .simulation_duration(Duration::from_secs(3600))
            .min_message_latency(ms(1))
            .max_message_latency(ms(5))
            .udp_capacity(1 << 16)
            .tcp_capacity(1 << 16);
        b
    }

    pub fn w6(seed: &Cell<u64>) -> usize {
        let mut sim = builder(seed).build();
        sim.host("server", || async {
            let l = TcpListener::bind((IpAddr::V4(Ipv4Addr::UNSPECIFIED), 7)).await?;
            loop {
                let (mut s, _) = l.accept().await?;
                tokio::spawn(async move {
                    let mut buf = [0; MSG];
                    while let Ok(n @ 1..) = s.read(&mut buf).await {
                        s.write_all(&buf[..n]).await.unwrap();
                    }
                });
            }
        });
        let done = std::rc::Rc::new(Cell::new(0));
        let d = done.clone();
        sim.client("client", async move {
            let clients: Vec<_> = (0..W6_CLIENTS)
                .map(|_| {
                    tokio::spawn(async {
                        let mut s = TcpStream::connect(("server", 7)).await.unwrap();
                        let (msg, mut back) = ([7u8; MSG], [0u8; MSG]);
                        for _ in 0..W6_ROUNDS {
                            s.write_all(&msg).await.unwrap();
                            s.read_exact(&mut back).await.unwrap();
                        }
                        W6_ROUNDS
                    })
                })
                .collect();
            for h in clients {
                d.set(d.get() + h.await?);
            }
            Ok(())
        });
        sim.run().unwrap();
        done.get()
    }

    pub fn w7(seed: &Cell<u64>) -> usize {
        let mut b = builder(seed);
        // Fails a message's link with this chance, dropping what is in flight on it:
        // about 8% of the datagrams are lost, near corosim's and madsim's 10%.
        b.fail_rate(0.001).repair_rate(1.0);
        let mut sim = b.build();
        let got = std::rc::Rc::new(Cell::new(0));
        let g = got.clone();
        sim.client("rx", async move {
            let s = UdpSocket::bind((IpAddr::V4(Ipv4Addr::UNSPECIFIED), 9)).await?;
            let mut buf = [0; MSG];
            while let Ok(Ok(_)) = tokio::time::timeout(ms(50), s.recv_from(&mut buf)).await {
                g.set(g.get() + 1);
            }
            Ok(())
        });
        sim.client("tx", async {
            tokio::time::sleep(ms(1)).await;
            let s = UdpSocket::bind((IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0)).await?;
            let msg = [7u8; MSG];
            for _ in 0..W7_ROUNDS {
                for _ in 0..W7_BURST {
                    s.send_to(&msg, ("rx", 9)).await?;
                }
                tokio::time::sleep(ms(1)).await;
            }
            Ok(())
        });
        sim.run().unwrap();
        got.get()
    }
}

#[cfg(madsim)]
pub mod on_madsim {
    use super::*;
    use madsim::net::{TcpListener, TcpStream, UdpSocket};
    use madsim::runtime::{Handle, Runtime};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn runtime(seed: &Cell<u64>, loss: f64) -> Runtime {
        seed.set(seed.get() + 1);
        let mut config = madsim::Config::default();
        config.net.send_latency = ms(1)..ms(5);
        config.net.packet_loss_rate = loss;
        Runtime::with_seed_and_config(seed.get(), config)
    }

    pub fn w6(seed: &Cell<u64>) -> usize {
        runtime(seed, 0.0).block_on(async {
            let h = Handle::current();
            h.create_node()
                .name("server")
                .ip("10.0.0.1".parse().unwrap())
                .init(|| async {
                    let l = TcpListener::bind("0.0.0.0:7").await.unwrap();
                    loop {
                        let (mut s, _) = l.accept().await.unwrap();
                        madsim::task::spawn(async move {
                            let mut buf = [0; MSG];
                            while let Ok(n @ 1..) = s.read(&mut buf).await {
                                s.write_all(&buf[..n]).await.unwrap();
                                s.flush().await.unwrap(); // madsim sends on flush
                            }
                        });
                    }
                })
                .build();
            let c = h
                .create_node()
                .name("client")
                .ip("10.0.0.2".parse().unwrap())
                .build();
            c.spawn(async {
                madsim::time::sleep(ms(1)).await;
                let clients: Vec<_> = (0..W6_CLIENTS)
                    .map(|_| {
                        madsim::task::spawn(async {
                            let mut s = TcpStream::connect("10.0.0.1:7").await.unwrap();
                            let (msg, mut back) = ([7u8; MSG], [0u8; MSG]);
                            for _ in 0..W6_ROUNDS {
                                s.write_all(&msg).await.unwrap();
                                s.flush().await.unwrap();
                                s.read_exact(&mut back).await.unwrap();
                            }
                            W6_ROUNDS
                        })
                    })
                    .collect();
                let mut n = 0;
                for h in clients {
                    n += h.await.unwrap();
                }
                n
            })
            .await
            .unwrap()
        })
    }

    pub fn w7(seed: &Cell<u64>) -> usize {
        runtime(seed, 0.1).block_on(async {
            let h = Handle::current();
            let rx = h
                .create_node()
                .name("rx")
                .ip("10.0.0.1".parse().unwrap())
                .build();
            let tx = h
                .create_node()
                .name("tx")
                .ip("10.0.0.2".parse().unwrap())
                .build();
            let got = rx.spawn(async {
                let s = UdpSocket::bind("0.0.0.0:9").await.unwrap();
                let mut buf = [0; MSG];
                let mut n = 0;
                while let Ok(Ok(_)) = madsim::time::timeout(ms(50), s.recv_from(&mut buf)).await {
                    n += 1;
                }
                n
            });
            tx.spawn(async {
                madsim::time::sleep(ms(1)).await;
                let s = UdpSocket::bind("0.0.0.0:0").await.unwrap();
                let msg = [7u8; MSG];
                for _ in 0..W7_ROUNDS {
                    for _ in 0..W7_BURST {
                        s.send_to("10.0.0.1:9", &msg).await.unwrap(); // (madsim: target first)
                    }
                    madsim::time::sleep(ms(1)).await;
                }
            })
            .await
            .unwrap();
            got.await.unwrap()
        })
    }
}
