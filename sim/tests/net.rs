//! The simulated network: connections refused, partitions (one-way and two-way) and
//! repairs, holds and releases, crashes and restarts seen by peers, UDP statistics
//! over many seeds, host clocks, pauses, the deadlock report, BUGGIFY, swarm faults;
//! each with a deterministic trace, and a failing network schedule replayed.

mod common;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::io::ErrorKind;
use std::rc::Rc;
use std::time::Duration;

use sim::net::{
    Faults, Host, Latency, LinkConfig, TcpListener, TcpStream, UdpSocket, hold, partition,
    partition_oneway, release, repair, repair_oneway, set_connect_timeout, set_link,
};
use sim::time::{Instant, sleep, timeout};
use sim::{Builder, FailureKind, Strategy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Runs `body()` on `seed` twice: both runs give the same result and the same trace,
/// byte for byte. Returns the first run's result and trace text.
fn deterministic<F, Fut>(seed: u64, body: F) -> (Result<Fut::Output, sim::Failure>, String)
where
    F: Fn() -> Fut,
    Fut: Future,
    Fut::Output: std::fmt::Debug + PartialEq,
{
    let mut a = Builder::new().seed(seed).build();
    let ra = a.block_on(body());
    let mut b = Builder::new().seed(seed).build();
    let rb = b.block_on(body());
    let (ta, tb) = (a.trace().to_string(), b.trace().to_string());
    assert_eq!(ta, tb, "seed {seed}: two runs of the same seed differ");
    assert_eq!(a.trace().digest(), b.trace().digest());
    assert_eq!(ra.is_ok(), rb.is_ok());
    if let (Ok(x), Ok(y)) = (&ra, &rb) {
        assert_eq!(x, y);
    }
    (ra, ta)
}

/// Lets the hosts' start-up tasks bind their sockets (a connect before the bind is
/// refused, as on a real network).
async fn settle() {
    sleep(ms(1)).await;
}

/// A host `server` whose start-up closure echoes on port 7 (every connection).
fn echo_server() -> Host {
    Host::builder("server")
        .on_start(|| async {
            let listener = TcpListener::bind("0.0.0.0:7").await.unwrap();
            loop {
                let Ok((mut s, _)) = listener.accept().await else {
                    return;
                };
                sim::spawn(async move {
                    let mut buf = [0; 256];
                    while let Ok(n @ 1..) = s.read(&mut buf).await {
                        if s.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                });
            }
        })
        .build()
}

#[test]
fn connect_without_a_listener_is_refused_after_a_round_trip() {
    for seed in 0..20 {
        let (r, trace) = deterministic(seed, || async {
            Host::builder("server").build();
            let client = Host::builder("client").build();
            client
                .spawn(async {
                    let start = Instant::now();
                    let err = TcpStream::connect("server:80").await.unwrap_err();
                    (err.kind(), start.elapsed() >= ms(2))
                })
                .await
                .unwrap()
        });
        assert_eq!(r.unwrap(), (ErrorKind::ConnectionRefused, true));
        assert!(trace.contains("refused tcp"), "{trace}");
    }
}

#[test]
fn bad_addresses_and_names_are_errors_naming_them() {
    let mut rt = Builder::new().build();
    rt.block_on(async {
        Host::builder("server").build();
        let e = TcpStream::connect("srvr:80").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(
            e.to_string().contains("srvr") && e.to_string().contains("server"),
            "{e}"
        );
        let e = TcpStream::connect("server:http").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.to_string().contains("server:http"), "{e}");
        let e = UdpSocket::bind("10.9.9.9:1").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AddrNotAvailable);
        let l = TcpListener::bind("0.0.0.0:5").await.unwrap();
        let e = TcpListener::bind("0.0.0.0:5").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AddrInUse);
        drop(l);
        TcpListener::bind("0.0.0.0:5").await.unwrap();
    })
    .unwrap();
    // A fault on an unknown host fails the run with a message naming it.
    let f = Builder::new()
        .build()
        .block_on(async {
            Host::builder("client").build();
            partition("client", "nowhere")
        })
        .unwrap_err();
    assert_eq!(f.kind(), FailureKind::Panic);
    assert!(f.to_string().contains("\"nowhere\""), "{f}");
    // A nonsensical probability is refused with its value.
    let p = std::panic::catch_unwind(|| LinkConfig::default().loss(1.5)).unwrap_err();
    let msg = p.downcast_ref::<String>().unwrap();
    assert!(msg.contains("loss(1.5)"), "{msg}");
    // So is a duplicate host.
    let f = Builder::new()
        .build()
        .block_on(async {
            Host::builder("a").build();
            Host::builder("a").build();
        })
        .unwrap_err();
    assert!(f.to_string().contains("`a` already exists"), "{f}");
}

#[test]
fn a_two_way_partition_times_connects_out_delays_streams_and_repair_heals_both() {
    for seed in 0..20 {
        let (r, trace) = deterministic(seed, || async {
            echo_server();
            let client = Host::builder("client").build();
            client
                .spawn(async {
                    set_connect_timeout(Some(ms(500)));
                    settle().await;
                    let mut s = TcpStream::connect("server:7").await.unwrap();
                    partition("client", "server");
                    let err = TcpStream::connect("server:7").await.unwrap_err();
                    assert_eq!(err.kind(), ErrorKind::TimedOut);
                    // An established stream keeps its bytes until the repair.
                    s.write_all(b"ping").await.unwrap();
                    let mut buf = [0; 4];
                    let waited = timeout(ms(300), s.read_exact(&mut buf)).await;
                    assert!(waited.is_err(), "nothing crosses a partition");
                    let repaired_at = Instant::now();
                    repair("client", "server");
                    s.read_exact(&mut buf).await.unwrap();
                    assert_eq!(&buf, b"ping");
                    assert!(Instant::now() > repaired_at);
                    TcpStream::connect("server:7").await.unwrap();
                })
                .await
                .unwrap()
        });
        r.unwrap();
        for event in [
            "partition link client->server",
            "partition link server->client",
            "timed-out tcp",
            "repair link",
        ] {
            assert!(trace.contains(event), "seed {seed}: no `{event}`:\n{trace}");
        }
    }
}

#[test]
fn a_one_way_partition_loses_only_one_direction() {
    for seed in 0..20 {
        let (r, _) = deterministic(seed, || async {
            Host::builder("a").build();
            let b = Host::builder("b").build();
            let sock_a = Host::lookup("a").unwrap().spawn(async {
                let s = UdpSocket::bind("0.0.0.0:9").await.unwrap();
                let mut buf = [0; 8];
                let got = timeout(ms(100), s.recv_from(&mut buf)).await.is_ok();
                s.send_to(b"a->b", "b:9").await.unwrap();
                got
            });
            let got_b = b.spawn(async {
                let s = UdpSocket::bind("0.0.0.0:9").await.unwrap();
                partition_oneway("a", "b");
                settle().await;
                s.send_to(b"b->a", "a:9").await.unwrap();
                let mut buf = [0; 8];
                let got = timeout(ms(200), s.recv_from(&mut buf)).await.is_ok();
                repair_oneway("a", "b");
                got
            });
            (sock_a.await.unwrap(), got_b.await.unwrap())
        });
        assert_eq!(
            r.unwrap(),
            (true, false),
            "seed {seed}: b->a arrives, a->b is lost"
        );
    }
}

#[test]
fn held_messages_wait_for_release_then_all_arrive() {
    for seed in 0..20 {
        let (r, trace) = deterministic(seed, || async {
            let a = Host::builder("a").build();
            Host::builder("b").build();
            let rx = Host::lookup("b").unwrap().spawn(async {
                let s = UdpSocket::bind("0.0.0.0:9").await.unwrap();
                let mut buf = [0; 8];
                let mut got = Vec::new();
                while let Ok(Ok((n, _))) = timeout(ms(400), s.recv_from(&mut buf)).await {
                    got.push((Instant::now().since_start(), buf[..n].to_vec()));
                }
                got
            });
            a.spawn(async {
                let s = UdpSocket::bind("0.0.0.0:0").await.unwrap();
                settle().await;
                hold("a", "b");
                for i in 0..3u8 {
                    s.send_to(&[i], "b:9").await.unwrap();
                }
                sleep(ms(100)).await;
                release("a", "b");
            })
            .await
            .unwrap();
            rx.await.unwrap()
        });
        let got = r.unwrap();
        assert_eq!(got.len(), 3, "seed {seed}: every held datagram arrives");
        assert!(
            got.iter().all(|(t, _)| *t > ms(100)),
            "seed {seed}: none before the release: {got:?}"
        );
        assert!(
            trace.contains("hold link a->b") && trace.contains("unhold link a->b"),
            "{trace}"
        );
    }
}

#[test]
fn a_crashed_host_resets_its_peers_and_restarts_with_its_start_up_closure() {
    for seed in 0..20 {
        let (r, trace) = deterministic(seed, || async {
            let starts = Rc::new(Cell::new(0));
            let counted = starts.clone();
            let server = Host::builder("server")
                .on_start(move || {
                    counted.set(counted.get() + 1);
                    async {
                        let l = TcpListener::bind("0.0.0.0:7").await.unwrap();
                        loop {
                            let (mut s, _) = l.accept().await.unwrap();
                            sim::spawn(async move {
                                let mut buf = [0; 16];
                                while let Ok(n @ 1..) = s.read(&mut buf).await {
                                    s.write_all(&buf[..n]).await.unwrap();
                                }
                            });
                        }
                    }
                })
                .build();
            let client = Host::builder("client").build();
            let out = client
                .spawn(async move {
                    settle().await;
                    let mut s = TcpStream::connect("server:7").await.unwrap();
                    s.write_all(b"hi").await.unwrap();
                    let mut buf = [0; 2];
                    s.read_exact(&mut buf).await.unwrap();
                    server.crash();
                    assert!(!server.is_up());
                    let err = s.read(&mut buf).await.unwrap_err();
                    let write_err = s.write_all(b"x").await.unwrap_err();
                    // Down: a connect gets no answer.
                    set_connect_timeout(Some(ms(50)));
                    let down = TcpStream::connect("server:7").await.unwrap_err();
                    server.restart();
                    sleep(ms(1)).await; // the start-up closure binds again
                    let mut again = TcpStream::connect("server:7").await.unwrap();
                    again.write_all(b"yo").await.unwrap();
                    again.read_exact(&mut buf).await.unwrap();
                    (err.kind(), write_err.kind(), down.kind(), buf)
                })
                .await
                .unwrap();
            (out, starts.get())
        });
        let ((read, write, down, buf), starts) = r.unwrap();
        assert_eq!(read, ErrorKind::ConnectionReset, "seed {seed}");
        assert_eq!(write, ErrorKind::ConnectionReset, "seed {seed}");
        assert_eq!(down, ErrorKind::TimedOut, "seed {seed}");
        assert_eq!(&buf, b"yo");
        assert_eq!(starts, 2, "the start-up closure ran again");
        for event in ["crash host server", "reset tcp", "restart host server"] {
            assert!(trace.contains(event), "seed {seed}: no `{event}`:\n{trace}");
        }
        assert!(
            trace.contains("cancelled"),
            "the crashed host's tasks were dropped"
        );
    }
}

/// Sends `n` numbered datagrams from `a` to `b` over `config`; returns what `b` got,
/// in order of arrival.
async fn datagrams(config: LinkConfig, n: u16) -> Vec<u16> {
    let a = Host::builder("a").build();
    let b = Host::builder("b").build();
    set_link("a", "b", config);
    let rx = b.spawn(async {
        let s = UdpSocket::bind("0.0.0.0:9").await.unwrap();
        let mut got = Vec::new();
        let mut buf = [0; 2];
        while let Ok(Ok(_)) = timeout(ms(200), s.recv_from(&mut buf)).await {
            got.push(u16::from_le_bytes(buf));
        }
        got
    });
    a.spawn(async move {
        let s = UdpSocket::bind("0.0.0.0:0").await.unwrap();
        settle().await;
        for i in 0..n {
            s.send_to(&i.to_le_bytes(), "b:9").await.unwrap();
            sleep(Duration::from_micros(200)).await;
        }
    })
    .await
    .unwrap();
    rx.await.unwrap()
}

#[test]
fn udp_loss_duplication_and_reordering_match_their_rates_over_many_seeds() {
    let config = LinkConfig::default()
        .latency(Latency::uniform(ms(1), ms(3)))
        .loss(0.2)
        .duplicate(0.1)
        .reorder(0.3);
    let (seeds, n) = (100u64, 50u16);
    let (mut lost, mut dups, mut inversions) = (0usize, 0usize, 0usize);
    for seed in 0..seeds {
        let (r, _) = deterministic(seed, || datagrams(config, n));
        let got = r.unwrap();
        let mut distinct = got.clone();
        distinct.sort();
        distinct.dedup();
        lost += usize::from(n) - distinct.len();
        dups += got.len() - distinct.len();
        inversions += got.windows(2).filter(|w| w[0] > w[1]).count();
    }
    let sent = (seeds * u64::from(n)) as f64;
    let loss = lost as f64 / sent;
    let dup = dups as f64 / (sent - lost as f64);
    assert!((0.17..0.23).contains(&loss), "loss rate {loss}");
    assert!((0.07..0.13).contains(&dup), "duplication rate {dup}");
    assert!(
        inversions as f64 / sent > 0.05,
        "reordering: {inversions} inversions"
    );
    // A clean link loses, duplicates and reorders nothing.
    let clean = LinkConfig::default().latency(Latency::fixed(ms(2)));
    for seed in 0..20 {
        let got = Builder::new()
            .seed(seed)
            .build()
            .block_on(datagrams(clean, n))
            .unwrap();
        assert_eq!(got, (0..n).collect::<Vec<_>>(), "seed {seed}");
    }
}

#[test]
fn each_host_has_its_own_clock_offset_and_drift() {
    let (r, _) = deterministic(1, || async {
        let ahead = Host::builder("ahead").clock(ms(250), false, 0).build();
        let drifts = Host::builder("drifts")
            .clock(Duration::ZERO, false, 1000)
            .build();
        sleep(Duration::from_secs(10)).await;
        let main = sim::net::system_time();
        let a = ahead
            .spawn(async { sim::net::system_time() })
            .await
            .unwrap();
        let d = drifts
            .spawn(async { sim::net::system_time() })
            .await
            .unwrap();
        (
            a.duration_since(main).unwrap(),
            d.duration_since(main).unwrap(),
        )
    });
    // 1000 ppm over 10 s is 10 ms.
    assert_eq!(r.unwrap(), (ms(250), ms(10)));
    // Swarm mode draws clocks per host from the seed.
    let skews: Vec<Duration> = (0..40)
        .map(|seed| {
            Builder::new()
                .seed(seed)
                .build()
                .block_on(async {
                    let h = Host::builder("h").build();
                    sim::net::swarm();
                    let there = h.spawn(async { sim::net::system_time() }).await.unwrap();
                    let here = sim::net::system_time();
                    there.duration_since(here).unwrap_or_else(|e| e.duration())
                })
                .unwrap()
        })
        .collect();
    assert!(
        skews.iter().any(|d| !d.is_zero()),
        "some seed skews a clock"
    );
    assert!(
        skews.iter().any(|d| d.is_zero()),
        "some seed keeps clocks in step"
    );
}

#[test]
fn a_paused_host_runs_nothing_until_resumed() {
    let (r, trace) = deterministic(4, || async {
        let ticks = Rc::new(Cell::new(0u32));
        let h = Host::builder("gc").build();
        let t = ticks.clone();
        h.spawn(async move {
            loop {
                sleep(ms(10)).await;
                t.set(t.get() + 1);
            }
        });
        sleep(ms(55)).await;
        let before = ticks.get();
        h.pause();
        sleep(ms(100)).await;
        let paused = ticks.get();
        h.resume();
        sleep(ms(55)).await;
        (before, paused, ticks.get())
    });
    let (before, paused, after) = r.unwrap();
    assert_eq!(before, 5);
    assert_eq!(paused, before, "no tick while paused");
    assert!(after > paused, "ticks again after resume");
    assert!(trace.contains("pause host gc") && trace.contains("resume host gc"));
}

#[test]
fn a_deadlock_report_names_the_socket_its_peer_and_the_link_state() {
    let f = Builder::new()
        .build()
        .block_on(async {
            echo_server();
            set_connect_timeout(None);
            let client = Host::builder("client").build();
            client
                .spawn(async {
                    settle().await;
                    let mut s = TcpStream::connect("server:7").await.unwrap();
                    partition("client", "server");
                    s.write_all(b"lost in the partition").await.unwrap();
                    let mut buf = [0; 8];
                    let _ = s.read(&mut buf).await; // never answered
                })
                .await
                .unwrap();
        })
        .unwrap_err();
    assert_eq!(f.kind(), FailureKind::Deadlock);
    let report = f.to_string();
    assert!(
        report.contains("link client->server partitioned"),
        "{report}"
    );
    assert!(report.contains("(host `server`)"), "{report}");

    // A connect that waits forever across a partition names both links.
    let f = Builder::new()
        .build()
        .block_on(async {
            echo_server();
            set_connect_timeout(None);
            hold("main", "server");
            let _ = TcpStream::connect("server:7").await;
        })
        .unwrap_err();
    assert_eq!(f.kind(), FailureKind::Deadlock);
    let report = f.to_string();
    assert!(report.contains("tcp connect from 192.0.2.1:"), "{report}");
    assert!(report.contains("link main->server held"), "{report}");

    // A socket whose peer's host crashed says so.
    let f = Builder::new()
        .build()
        .block_on(async {
            let server = Host::builder("server").build();
            let s = UdpSocket::bind("0.0.0.0:0").await.unwrap();
            s.connect("server:53").await.unwrap();
            server.crash();
            s.send(b"query").await.unwrap();
            let mut buf = [0; 8];
            let _ = s.recv(&mut buf).await; // no answer will ever come
        })
        .unwrap_err();
    assert_eq!(f.kind(), FailureKind::Deadlock);
    let report = f.to_string();
    assert!(
        report.contains("peer 10.0.0.1:53 (host `server`, crashed)"),
        "{report}"
    );
}

#[test]
fn writes_are_split_and_coalesced_so_framing_bugs_show() {
    let (mut split, mut coalesced) = (false, false);
    for seed in 0..100 {
        let mut rt = Builder::new().seed(seed).build();
        let first_read = rt
            .block_on(async {
                let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = l.local_addr().unwrap();
                sim::spawn(async move {
                    let mut s = TcpStream::connect(addr).await.unwrap();
                    s.write_all(b"first message").await.unwrap();
                    s.write_all(b"second message").await.unwrap();
                    sleep(ms(10)).await;
                });
                let (mut s, _) = l.accept().await.unwrap();
                sleep(Duration::from_micros(150)).await; // let both arrive
                let mut buf = [0; 64];
                s.read(&mut buf).await.unwrap()
            })
            .unwrap();
        split |= first_read < 13;
        coalesced |= first_read > 13;
    }
    assert!(split, "some seed cuts the first write");
    assert!(coalesced, "some seed delivers both writes to one read");
}

#[test]
fn a_full_send_buffer_makes_the_writer_wait_for_the_reader() {
    let mut rt = Builder::new().seed(3).build();
    rt.block_on(async {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let written = Rc::new(Cell::new(0usize));
        let w = written.clone();
        let writer = sim::spawn(async move {
            let mut s = TcpStream::connect(addr).await.unwrap();
            let chunk = vec![7u8; 8 * 1024];
            for _ in 0..32 {
                s.write_all(&chunk).await.unwrap();
                w.set(w.get() + chunk.len());
            }
        });
        let (mut s, _) = l.accept().await.unwrap();
        sleep(ms(100)).await;
        assert!(
            written.get() <= 64 * 1024,
            "{} bytes written unread",
            written.get()
        );
        let mut all = Vec::new();
        s.read_to_end(&mut all).await.unwrap();
        assert_eq!(all.len(), 256 * 1024);
        writer.await.unwrap();
    })
    .unwrap();
}

/// A connected pair of streams on loopback: (client, server).
async fn loopback_pair() -> (TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (c, a) = sim::join!(TcpStream::connect(l.local_addr().unwrap()), l.accept());
    (c.unwrap(), a.unwrap().0)
}

/// A write that found the send buffer full and was abandoned (a `select!` took
/// another branch) leaves nothing a shutdown waits for: as on tokio, `shutdown` sends
/// the FIN behind the queued bytes at once, and the reader still gets every byte. (It
/// used to wait for room to write, so a proxy between the two deadlocked; tokio's
/// `copy_bidirectional` test `blocking_one_side_does_not_block_other`.)
#[test]
fn shutdown_does_not_wait_for_an_abandoned_write() {
    common::sweep(20, || async {
        let (mut client, mut server) = loopback_pair().await;
        let chunk = [1u8; 2048];
        let mut written = 0;
        loop {
            sim::select! {
                n = client.write(&chunk) => written += n.unwrap(),
                _ = sleep(ms(10)) => break,
            }
        }
        client.shutdown().await.unwrap();
        let mut all = Vec::new();
        server.read_to_end(&mut all).await.unwrap();
        assert_eq!(all.len(), written);
    });
}

/// `peek` returns what has arrived without taking it, on the stream and on both
/// kinds of reading half; at the end of the stream it returns 0.
#[test]
fn peek_leaves_the_bytes_to_be_read() {
    common::sweep(20, || async {
        let (mut client, mut server) = loopback_pair().await;
        client.write_all(b"hello").await.unwrap();
        let mut buf = [0u8; 16];
        let n = server.peek(&mut buf).await.unwrap();
        assert!(n >= 1 && buf[..n] == b"hello"[..n], "{n} {buf:?}");
        let mut all = [0u8; 5];
        server.read_exact(&mut all).await.unwrap();
        assert_eq!(&all, b"hello");
        client.write_all(b"ab").await.unwrap();
        {
            let (mut rd, _wr) = server.split();
            let n = rd.peek(&mut buf).await.unwrap();
            assert_eq!(buf[0], b'a', "{n}");
        }
        let (mut rd, _wr) = server.into_split();
        let mut two = [0u8; 2];
        rd.read_exact(&mut two).await.unwrap();
        assert_eq!(&two, b"ab");
        drop(client);
        assert_eq!(rd.peek(&mut buf).await.unwrap(), 0, "the end of the stream");
    });
}

/// `set_zero_linger`: dropping the stream resets the connection, so the peer's read
/// fails with `ConnectionReset` (after any bytes that had arrived), where a plain drop
/// makes it read the end of the stream.
#[test]
fn zero_linger_resets_the_peer_on_drop() {
    for (zero, seed) in [(true, 1), (false, 1), (true, 2), (false, 2)] {
        let mut rt = Builder::new().seed(seed).build();
        let read = rt
            .block_on(async move {
                let (mut client, server) = loopback_pair().await;
                if zero {
                    server.set_zero_linger().unwrap();
                    assert_eq!(server.linger().unwrap(), Some(Duration::ZERO));
                } else {
                    assert_eq!(server.linger().unwrap(), None);
                }
                drop(server);
                let mut buf = [0u8; 8];
                client.read(&mut buf).await.map_err(|e| e.kind())
            })
            .unwrap();
        let expected = if zero {
            Err(ErrorKind::ConnectionReset)
        } else {
            Ok(0)
        };
        assert_eq!(read, expected, "zero linger: {zero}, seed {seed}");
    }
}

#[test]
fn half_close_ends_one_direction_only() {
    for seed in 0..10 {
        let (r, trace) = deterministic(seed, || async {
            echo_server();
            let c = Host::builder("client").build();
            c.spawn(async {
                settle().await;
                let s = TcpStream::connect("server:7").await.unwrap();
                let (mut rd, mut wr) = s.into_split();
                wr.write_all(b"bye").await.unwrap();
                wr.shutdown().await.unwrap();
                let mut back = Vec::new();
                rd.read_to_end(&mut back).await.unwrap();
                back
            })
            .await
            .unwrap()
        });
        assert_eq!(r.unwrap(), b"bye");
        assert!(
            trace.contains("shutdown tcp") && trace.contains("eof tcp"),
            "{trace}"
        );
    }
}

#[test]
fn simultaneous_deliveries_are_recorded_scheduling_decisions_and_replay() {
    // Two datagrams due at the same instant wake two readers together: which runs
    // first is the scheduler's choice, so both orders happen and a schedule replays.
    let body = || async {
        set_link(
            "main",
            "main",
            LinkConfig::loopback().latency(Latency::fixed(ms(1))),
        );
        let order = Rc::new(RefCell::new(Vec::new()));
        let mut readers = Vec::new();
        let mut addrs = Vec::new();
        for name in ["x", "y"] {
            let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            addrs.push(s.local_addr().unwrap());
            let order = order.clone();
            readers.push(
                sim::task::Builder::new()
                    .name(name)
                    .spawn(async move {
                        let mut buf = [0; 1];
                        s.recv_from(&mut buf).await.unwrap();
                        order.borrow_mut().push(name);
                    })
                    .unwrap(),
            );
        }
        let tx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        for a in &addrs {
            tx.send_to(b"!", a).await.unwrap();
        }
        for r in readers {
            r.await.unwrap();
        }
        order.take()
    };
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..40 {
        let mut rt = Builder::new().seed(seed).strategy(Strategy::Random).build();
        let order = rt.block_on(body()).unwrap();
        let mut replay = Builder::new()
            .strategy(Strategy::Replay(rt.schedule().clone()))
            .build();
        assert_eq!(
            replay.block_on(body()).unwrap(),
            order,
            "seed {seed} replays"
        );
        assert_eq!(replay.trace().digest(), rt.trace().digest());
        seen.insert(order);
    }
    assert_eq!(seen.len(), 2, "both delivery orders happen: {seen:?}");
}

/// A client that treats one `read` as one message (the framing bug).
async fn one_read_one_message() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    sim::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        s.write_all(b"hello world").await.unwrap();
        sleep(ms(1)).await;
    });
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut buf = [0; 32];
    let n = s.read(&mut buf).await.unwrap();
    assert_eq!(&buf[..n], b"hello world", "a message arrived in pieces");
}

#[test]
fn a_failing_network_schedule_replays_to_the_same_failure() {
    let (seed, failure) = (0..200)
        .find_map(|seed| {
            let mut rt = Builder::new().seed(seed).build();
            rt.block_on(one_read_one_message()).err().map(|f| (seed, f))
        })
        .expect("some seed splits the message");
    assert_eq!(failure.kind(), FailureKind::Panic);
    let schedule = failure.schedule().clone();
    let mut rt = Builder::new()
        .strategy(Strategy::Replay(schedule.clone()))
        .build();
    let again = rt.block_on(one_read_one_message()).unwrap_err();
    assert_eq!(again.kind(), FailureKind::Panic);
    assert_eq!(rt.seed(), seed);
    assert_eq!(again.run().trace.digest(), failure.run().trace.digest());
    // And from its text form.
    let parsed: sim::Schedule = schedule.to_string().parse().unwrap();
    sim::replay(&*parsed.to_string(), one_read_one_message).unwrap_err();
}

#[test]
fn streams_work_with_tokio_util_codecs_and_futures_io() {
    use futures::{SinkExt, StreamExt};
    use tokio_util::codec::{Framed, LinesCodec};
    let mut rt = Builder::new().seed(11).build();
    rt.block_on(async {
        echo_server();
        let c = Host::builder("client").build();
        c.spawn(async {
            settle().await;
            let s = TcpStream::connect("server:7").await.unwrap();
            let mut lines = Framed::new(s, LinesCodec::new());
            for i in 0..20 {
                lines.send(format!("line {i}")).await.unwrap();
            }
            for i in 0..20 {
                assert_eq!(lines.next().await.unwrap().unwrap(), format!("line {i}"));
            }
            let mut s = lines.into_inner();
            futures::io::AsyncWriteExt::write_all(&mut s, b"abc")
                .await
                .unwrap();
            let mut back = [0; 3];
            futures::io::AsyncReadExt::read_exact(&mut s, &mut back)
                .await
                .unwrap();
            assert_eq!(&back, b"abc");
        })
        .await
        .unwrap();
    })
    .unwrap();
}

#[test]
fn swarm_faults_come_from_the_seed_are_traced_and_can_be_fixed() {
    let drawn: Vec<Faults> = (0..30)
        .map(|seed| {
            let mut rt = Builder::new().seed(seed).build();
            let f = rt
                .block_on(async {
                    Host::builder("a").build();
                    sim::net::swarm()
                })
                .unwrap();
            assert_eq!(
                sim::net::faults_of(rt.trace()),
                Some(f),
                "the trace records them"
            );
            f
        })
        .collect();
    assert!(
        drawn.windows(2).any(|w| w[0] != w[1]),
        "seeds draw different faults"
    );
    let fixed: Faults = "latency=3ms,loss=0.5,dup=0,reorder=0,clock=0ns,drift=0"
        .parse()
        .unwrap();
    let mut rt = Builder::new().seed(5).net_faults(fixed).build();
    assert_eq!(rt.block_on(async { sim::net::swarm() }).unwrap(), fixed);
}

#[test]
fn buggify_sites_fire_from_the_seed_and_can_be_kept_off() {
    async fn flaky() -> u32 {
        let mut failures = 0;
        for _ in 0..10 {
            if sim::buggify!(0.5) {
                failures += 1;
            }
        }
        failures
    }
    let mut fired_seed = None;
    for seed in 0..50 {
        let (r, trace) = deterministic(seed, flaky);
        let n = r.unwrap();
        assert!(
            trace.contains("buggify-site buggify"),
            "the first evaluation is traced"
        );
        if n > 0 {
            fired_seed.get_or_insert(seed);
        }
    }
    let seed = fired_seed.expect("some seed enables the site");
    let mut rt = Builder::new().seed(seed).build();
    let n = rt.block_on(flaky()).unwrap();
    let fired = sim::buggify::fired(rt.trace());
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].1, u64::from(n));
    let site = fired[0].0.clone();
    assert!(
        site.contains("tests/net.rs"),
        "the site is the macro's call: {site}"
    );
    let mut off = Builder::new().seed(seed).buggify_off(&site).build();
    assert_eq!(off.block_on(flaky()).unwrap(), 0);
    let mut none = Builder::new().seed(seed).buggify(false).build();
    assert_eq!(none.block_on(flaky()).unwrap(), 0);
}

#[test]
fn programs_without_a_network_keep_their_traces() {
    // The network's draws come from their own stream: user numbers do not move.
    let draw = |net: bool| {
        let mut rt = Builder::new().seed(8).build();
        rt.block_on(async move {
            if net {
                let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
                s.send_to(b"x", s.local_addr().unwrap()).await.unwrap();
            }
            sim::rand::random::<u64>()
        })
        .unwrap()
    };
    assert_eq!(draw(false), draw(true));
}

#[test]
fn a_host_that_crashes_itself_stops_at_its_next_turn() {
    let (r, trace) = deterministic(2, || async {
        let h = Host::builder("fragile").build();
        let reached = Rc::new(Cell::new(false));
        let r = reached.clone();
        let task = h.spawn(async move {
            Host::current().crash();
            sleep(ms(1)).await; // never returns: the task is cancelled at its next turn
            r.set(true);
        });
        let cancelled = task.await.unwrap_err().is_cancelled();
        (cancelled, reached.get(), h.is_up())
    });
    assert_eq!(r.unwrap(), (true, false, false));
    assert!(trace.contains("crash host fragile"), "{trace}");
}
