//! `sim::io`: tokio's runtime-free I/O utilities in a run. The copies and the in-memory
//! pipes give way like tokio's (each read and write is a scheduling point that spends
//! the cooperative budget), and a program over them replays from its seed.

use sim::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use sim::{Builder, Strategy};

/// A loop of operations that never wait, raced against `yield_now` in a biased
/// `select!`: it must give way (tokio's `copy_is_cooperative` and
/// `duplex_is_cooperative`; both ran forever before).
fn gives_way<S>(mut state: S, body: impl AsyncFn(&mut S)) {
    Builder::new()
        .seed(1)
        .max_steps(10_000)
        .build()
        .block_on(async {
            sim::select! {
                biased;
                _ = async {
                    for _ in 0..100_000 {
                        body(&mut state).await;
                    }
                    panic!("100,000 rounds and the loop never gave way");
                } => {},
                _ = sim::task::yield_now() => {},
            }
        })
        .unwrap();
}

#[test]
fn a_loop_of_copies_gives_way() {
    gives_way((), async |_| {
        let mut reader: &[u8] = b"hello";
        let mut writer = Vec::new();
        sim::io::copy(&mut reader, &mut writer).await.unwrap();
        assert_eq!(writer, b"hello");
    });
}

#[test]
fn a_loop_over_a_duplex_stream_gives_way() {
    gives_way(sim::io::duplex(8 * 1024), async |(tx, rx)| {
        let buf = [3u8; 4096];
        tx.write_all(&buf).await.unwrap();
        let mut back = [0u8; 4096];
        let n = rx.read(&mut back).await.unwrap();
        assert!(n > 0);
    });
}

/// Two tasks talk through a duplex pipe, line by line; which task runs at each read
/// and write is the seed's choice, so the interleaving varies over seeds, and a seed
/// gives the same trace twice.
async fn chat() -> Vec<String> {
    let (client, server) = sim::io::duplex(16);
    let echo = sim::spawn(async move {
        let (rd, mut wr) = sim::io::split(server);
        let mut lines = BufReader::new(rd).lines();
        while let Some(line) = lines.next_line().await.unwrap() {
            wr.write_all(format!("{line}!\n").as_bytes()).await.unwrap();
        }
    });
    let (rd, mut wr) = sim::io::split(client);
    let talk = sim::spawn(async move {
        for word in ["one", "two", "three"] {
            wr.write_all(format!("{word}\n").as_bytes()).await.unwrap();
        }
    });
    let mut lines = BufReader::new(rd).lines();
    let mut got = Vec::new();
    while got.len() < 3 {
        got.push(lines.next_line().await.unwrap().unwrap());
    }
    talk.await.unwrap();
    drop(lines);
    echo.abort();
    got
}

#[test]
fn a_duplex_conversation_interleaves_by_seed_and_replays() {
    let mut switches = std::collections::BTreeSet::new();
    for seed in 0..30 {
        let run = || {
            let mut rt = Builder::new().seed(seed).strategy(Strategy::Random).build();
            let got = rt.block_on(chat()).unwrap();
            (
                got,
                rt.trace().to_string(),
                rt.schedule().context_switches(),
            )
        };
        let (got, trace, n) = run();
        assert_eq!(got, ["one!", "two!", "three!"]);
        assert_eq!(run().1, trace, "seed {seed} replays byte for byte");
        switches.insert(n);
    }
    assert!(
        switches.len() > 3,
        "the seeds explore interleavings: {switches:?}"
    );
}
