//! Pictures of a run: the Chrome trace-event export checked against the format
//! (parsed with `serde_json`) and pinned by a snapshot, byte-identical exports for the
//! same seed, the HTML report's parts, and the files a `sim::check` failure writes (and
//! that a passing sweep writes none).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::rc::Rc;
use std::time::Duration;

use serde_json::Value;
use sim::trace::EventKind;
use sim::{Builder, Check, Failure};

/// A small run with every kind of picture element: named tasks, messages on a
/// channel, a sleep (a timer and a clock advance), wakes, a mutex.
async fn small_run() {
    let (tx, mut rx) = sim::sync::mpsc::channel::<u32>(4);
    let lock = Rc::new(sim::sync::Mutex::new(0u32));
    let producer = {
        let lock = lock.clone();
        sim::task::Builder::new()
            .name("producer")
            .spawn(async move {
                for i in 0..3 {
                    tx.send(i).await.unwrap();
                    *lock.lock().await += 1;
                    sim::time::sleep(Duration::from_millis(1)).await;
                }
            })
            .unwrap()
    };
    let consumer = sim::task::Builder::new()
        .name("consumer")
        .spawn(async move {
            let mut sum = 0;
            while let Some(v) = rx.recv().await {
                sum += v;
            }
            sum
        })
        .unwrap();
    producer.await.unwrap();
    assert_eq!(consumer.await.unwrap(), 3);
    assert_eq!(*lock.lock().await, 3);
}

/// Two tasks taking two locks in opposite orders: a deadlock on most seeds.
async fn abba() {
    let a = Rc::new(sim::sync::Mutex::new(()));
    let b = Rc::new(sim::sync::Mutex::new(()));
    let one = {
        let (a, b) = (a.clone(), b.clone());
        sim::task::Builder::new()
            .name("ab")
            .spawn(async move {
                let _a = a.lock().await;
                sim::task::yield_now().await;
                let _b = b.lock().await;
            })
            .unwrap()
    };
    let two = sim::task::Builder::new()
        .name("ba")
        .spawn(async move {
            let _b = b.lock().await;
            sim::task::yield_now().await;
            let _a = a.lock().await;
        })
        .unwrap();
    one.await.unwrap();
    two.await.unwrap();
}

fn small_trace(seed: u64) -> sim::Trace {
    let mut rt = Builder::new().seed(seed).build();
    rt.block_on(small_run()).unwrap();
    rt.trace().clone()
}

/// The first seed on which `abba` deadlocks.
fn abba_deadlock() -> Failure {
    (0..100)
        .find_map(|seed| {
            Builder::new()
                .seed(seed)
                .build()
                .block_on(abba())
                .err()
                .filter(|f| matches!(f, Failure::Deadlock(_)))
        })
        .expect("ab/ba deadlocks on some seed below 100")
}

fn field<'a>(e: &'a Value, key: &str) -> &'a Value {
    e.get(key).unwrap_or_else(|| panic!("no {key:?} in {e}"))
}

/// Nanoseconds of a `ts`/`dur` (microseconds with three decimals).
fn nanos(v: &Value) -> u64 {
    let us = v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"));
    assert!(us >= 0.0, "negative time {us}");
    (us * 1000.0).round() as u64
}

/// Checks `json` against the trace-event format and returns its events.
fn validate(json: &str) -> Vec<Value> {
    let doc: Value = serde_json::from_str(json).expect("the export is JSON");
    assert_eq!(doc["displayTimeUnit"], "ns");
    let events = doc["traceEvents"]
        .as_array()
        .expect("a traceEvents array")
        .clone();
    assert!(!events.is_empty());
    // Every event has a phase, a time, a process and a thread.
    for e in &events {
        let ph = field(e, "ph").as_str().expect("ph is a string");
        assert!(
            ["M", "X", "i", "s", "f"].contains(&ph),
            "unexpected phase {ph} in {e}"
        );
        nanos(field(e, "ts"));
        assert!(field(e, "pid").as_u64().is_some(), "{e}");
        assert!(field(e, "tid").as_u64().is_some(), "{e}");
        assert!(field(e, "name").as_str().is_some(), "{e}");
        if ph == "X" {
            nanos(field(e, "dur"));
        }
        if ph == "i" {
            assert!(
                ["t", "g", "p"].contains(&field(e, "s").as_str().unwrap()),
                "{e}"
            );
        }
    }
    // Every thread that has events is named.
    let named: Vec<(u64, u64)> = events
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "thread_name")
        .map(|e| (e["pid"].as_u64().unwrap(), e["tid"].as_u64().unwrap()))
        .collect();
    for e in events.iter().filter(|e| e["ph"] == "X") {
        let track = (e["pid"].as_u64().unwrap(), e["tid"].as_u64().unwrap());
        assert!(named.contains(&track), "unnamed track of {e}");
    }
    // Flow events pair up by id: one start, then one finish no earlier, with `bp: e`.
    let mut flows: BTreeMap<u64, Vec<&Value>> = BTreeMap::new();
    for e in events.iter().filter(|e| e["ph"] == "s" || e["ph"] == "f") {
        flows
            .entry(field(e, "id").as_u64().expect("a numeric flow id"))
            .or_default()
            .push(e);
    }
    for (id, pair) in &flows {
        assert_eq!(pair.len(), 2, "flow {id}: {pair:?}");
        assert_eq!(
            (&pair[0]["ph"], &pair[1]["ph"]),
            (&"s".into(), &"f".into()),
            "flow {id}"
        );
        assert_eq!(pair[0]["name"], pair[1]["name"], "flow {id}");
        assert_eq!(pair[1]["bp"], "e", "flow {id}");
        assert!(
            nanos(&pair[0]["ts"]) <= nanos(&pair[1]["ts"]),
            "flow {id} goes back in time"
        );
    }
    // Per track, slices follow one another without overlapping, and the track's
    // instants are monotone (a global instant, `s: g`, belongs to no track).
    let mut last_end: BTreeMap<(u64, u64), u64> = BTreeMap::new();
    let mut last_instant: BTreeMap<(u64, u64), u64> = BTreeMap::new();
    for e in &events {
        let track = (e["pid"].as_u64().unwrap(), e["tid"].as_u64().unwrap());
        let ts = nanos(&e["ts"]);
        if e["ph"] == "X" {
            let end = last_end.entry(track).or_default();
            assert!(
                ts >= *end,
                "slice {e} starts before the previous one on its track ends"
            );
            *end = ts + nanos(&e["dur"]);
        } else if e["ph"] == "i" && e["s"] == "t" {
            let last = last_instant.entry(track).or_default();
            assert!(ts >= *last, "instant {e} goes back in time on its track");
            *last = ts;
        }
    }
    events
}

/// The instants of the run's events, in order, at the events' virtual times.
fn check_times(trace: &sim::Trace, events: &[Value]) {
    let instants: Vec<&Value> = events
        .iter()
        .filter(|e| e["ph"] == "i" && e["s"] == "t")
        .collect();
    let expected: Vec<sim::trace::Event> = trace
        .events()
        .filter(|e| !matches!(e.kind, EventKind::Poll))
        .collect();
    assert_eq!(
        instants.len(),
        expected.len(),
        "one instant per non-poll event"
    );
    for (i, e) in instants.iter().zip(&expected) {
        assert_eq!(i["args"]["step"].as_u64(), Some(e.step), "{i}");
        let ts = nanos(&i["ts"]);
        let at = e.time.as_nanos() as u64;
        assert!(
            ts >= at && ts - at < 1000,
            "{i}: ts {ts} ns is not within the microsecond after virtual time {at} ns"
        );
    }
}

#[test]
fn the_chrome_export_is_trace_event_json_on_virtual_time() {
    let trace = small_trace(5);
    let events = validate(&trace.to_chrome_trace());
    check_times(&trace, &events);
    let names = |ph: &str| -> Vec<String> {
        events
            .iter()
            .filter(|e| e["ph"] == ph)
            .map(|e| e["name"].as_str().unwrap().to_string())
            .collect()
    };
    // One named track per task.
    let threads: Vec<String> = events
        .iter()
        .filter(|e| e["name"] == "thread_name")
        .map(|e| e["args"]["name"].as_str().unwrap().to_string())
        .collect();
    for task in ["main#0", "producer#1", "consumer#2"] {
        assert!(threads.contains(&task.to_string()), "{threads:?}");
    }
    let slices = names("X");
    assert!(slices.iter().any(|n| n == "poll"), "{slices:?}");
    assert!(slices.iter().any(|n| n.starts_with("wait ")), "{slices:?}");
    assert!(slices.iter().any(|n| n == "clock advance"), "{slices:?}");
    let flows = names("s");
    for kind in ["wake", "spawn", "message"] {
        assert!(
            flows.iter().any(|n| n == kind),
            "no {kind} flow in {flows:?}"
        );
    }
    assert!(
        names("i").iter().any(|n| n == "timer fired"),
        "{:?}",
        names("i")
    );
    // The last slice ends at the run's last virtual time (1 ms steps: 3 sleeps).
    let last = trace.events().last().unwrap().time;
    assert!(last >= Duration::from_millis(3), "{last:?}");
}

#[test]
fn a_failure_export_marks_the_failure_and_the_blocked_waits() {
    let failure = abba_deadlock();
    let json = failure.to_chrome_trace();
    let events = validate(&json);
    let marker: Vec<&Value> = events.iter().filter(|e| e["cat"] == "failure").collect();
    assert_eq!(marker.len(), 1, "one failure marker");
    assert_eq!(marker[0]["ph"], "i");
    assert_eq!(marker[0]["s"], "g");
    assert_eq!(marker[0]["name"], "deadlock");
    // It is where the run stopped: after every event before the stop.
    let stop = failure.run().events_at_stop;
    let before: Vec<&Value> = events
        .iter()
        .filter(|e| e["ph"] == "i" && e["s"] == "t" && e["cat"] != "teardown")
        .collect();
    assert!(!before.is_empty() && stop > 0);
    for e in before {
        assert!(
            nanos(&e["ts"]) <= nanos(&marker[0]["ts"]),
            "{e} after the failure"
        );
    }
    // The blocked tasks' waits run on to the end, named by the lock they wait on.
    let open: Vec<&str> = events
        .iter()
        .filter(|e| e["ph"] == "X" && e["args"]["until"] == "the end of the run")
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(
        open.iter().filter(|n| n.starts_with("wait mutex#")).count() >= 2,
        "{open:?}"
    );
    let doc: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["otherData"]["failure"], "deadlock");
    assert_eq!(
        doc["otherData"]["seed"],
        failure.run().seed.to_string().as_str()
    );
}

#[test]
fn a_small_run_exports_the_same_bytes_every_time() {
    insta::assert_snapshot!(small_trace(5).to_chrome_trace());
}

#[test]
fn exports_are_byte_identical_for_the_same_seed() {
    for seed in [0, 1, 17] {
        let (a, b) = (small_trace(seed), small_trace(seed));
        assert_eq!(a.to_chrome_trace(), b.to_chrome_trace(), "seed {seed}");
        assert_eq!(
            sim::report::HtmlReport::run(&a).render(),
            sim::report::HtmlReport::run(&b).render(),
            "seed {seed}"
        );
    }
    let (a, b) = (abba_deadlock(), abba_deadlock());
    assert_eq!(a.to_chrome_trace(), b.to_chrome_trace());
    assert_eq!(
        sim::report::HtmlReport::failure(&a).render(),
        sim::report::HtmlReport::failure(&b).render()
    );
    // A different seed is a different picture.
    assert_ne!(
        small_trace(0).to_chrome_trace(),
        small_trace(1).to_chrome_trace()
    );
}

#[test]
fn the_html_report_of_a_deadlock_is_self_contained_with_its_parts() {
    let failure = abba_deadlock();
    let html = sim::report::HtmlReport::failure(&failure)
        .title("ab/ba")
        .render();
    assert!(html.starts_with("<!DOCTYPE html>"));
    // Nothing loaded from elsewhere.
    for outside in ["src=", "href=\"http", "@import", "url(http", "<link"] {
        assert!(
            !html.contains(outside),
            "the page loads something: {outside}"
        );
    }
    // The wait-for graph: the cycle ab -> mutex -> ba -> mutex -> ab.
    let cycle_edges = html.matches("data-cycle=\"1\"").count();
    assert_eq!(cycle_edges, 4, "two waits and two holds in the cycle");
    assert!(html.contains("data-from=\"ab#1\""), "{html}");
    assert!(html.contains("data-from=\"ba#2\""), "{html}");
    // The data the script draws, and the report text.
    assert!(html.contains("id=\"timeline-data\""));
    assert!(html.contains("\"failure\":["));
    assert!(html.contains(&sim::report::escape(
        failure.to_string().lines().next().unwrap()
    )));
}

/// The body of the sweeps run in a child process (see below): correct with any
/// schedule.
async fn correct() {
    let lock = Rc::new(sim::sync::Mutex::new(0u32));
    let hs: Vec<_> = (0..3)
        .map(|_| {
            let lock = lock.clone();
            sim::spawn(async move {
                for _ in 0..2 {
                    *lock.lock().await += 1;
                    sim::task::yield_now().await;
                }
            })
        })
        .collect();
    for h in hs {
        h.await.unwrap();
    }
    assert_eq!(*lock.lock().await, 6);
}

/// Run by `a_passing_sweep_writes_no_files` in a child process whose artifact
/// directory is a fresh temporary one.
#[test]
#[ignore = "run by a_passing_sweep_writes_no_files in a child process"]
fn child_passing_sweep() {
    let report = Check::new()
        .seeds(500)
        .no_regressions()
        .try_run(correct)
        .expect("a correct body passes every seed");
    assert_eq!(report.runs, 500);
}

/// Run by `a_passing_sweep_writes_no_files` as its control: the same setup, failing.
#[test]
#[ignore = "run by a_passing_sweep_writes_no_files in a child process"]
fn child_failing_sweep() {
    let failure = Check::new()
        .seeds(100)
        .no_regressions()
        .try_run(abba)
        .expect_err("ab/ba deadlocks");
    println!("{failure}");
}

/// Runs the ignored test `name` of this binary with `dir` as its target directory.
fn child(name: &str, dir: &Path) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            name,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("CARGO_TARGET_DIR", dir)
        .env_remove("SIM_SEED")
        .env_remove("SIM_SEEDS")
        .env_remove("SIM_SCHEDULE")
        .env_remove("SIM_STRATEGY")
        .env_remove("SIM_START_SEED")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{name}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn fresh_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every file under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_passing_sweep_writes_no_files() {
    let passing = fresh_dir("pictures-passing");
    child("child_passing_sweep", &passing);
    assert_eq!(
        files(&passing),
        Vec::<String>::new(),
        "a passing sweep wrote files"
    );

    // The control: the same setup with a failing body writes its pictures there.
    let failing = fresh_dir("pictures-failing");
    child("child_failing_sweep", &failing);
    let written = files(&failing);
    for suffix in [".schedule", ".trace", ".perfetto.json", ".html"] {
        assert!(
            written
                .iter()
                .any(|f| f.starts_with("corosim/") && f.ends_with(suffix)),
            "no {suffix} file in {written:?}"
        );
    }
}

#[test]
fn a_failing_check_writes_and_lists_its_pictures() {
    let failure = Check::new()
        .seeds(100)
        .no_regressions()
        .try_run(abba)
        .unwrap_err();
    let report = failure.to_string();
    let perfetto = failure
        .artifacts
        .perfetto
        .as_ref()
        .expect("a perfetto file");
    let html = failure.artifacts.html.as_ref().expect("an html file");
    assert!(
        report.contains(&format!(
            "perfetto (open at ui.perfetto.dev): {}",
            perfetto.display()
        )),
        "{report}"
    );
    assert!(
        report.contains(&format!("html report: {}", html.display())),
        "{report}"
    );
    assert!(
        html.to_string_lossy()
            .ends_with(&format!(".seed-{}.html", failure.failure.run().seed))
    );
    // The Perfetto file is the shown (shrunk) failure's export.
    let json = std::fs::read_to_string(perfetto).unwrap();
    assert_eq!(json, failure.shown().to_chrome_trace());
    validate(&json);
    // The page shows the whole report, files lines included.
    let page = std::fs::read_to_string(html).unwrap();
    assert_eq!(page, failure.to_html());
    assert!(page.contains(&sim::report::escape(&format!(
        "html report: {}",
        html.display()
    ))));
    assert!(page.contains("data-cycle=\"1\""), "the wait-for graph");
}

#[test]
fn a_run_with_hosts_exports_a_process_per_host() {
    let mut rt = Builder::new().seed(3).build();
    rt.block_on(async {
        sim::net::Host::builder("server").build();
        let client = sim::net::Host::builder("client").build();
        let h = client.spawn(async {
            sim::task::yield_now().await;
        });
        h.await.unwrap();
    })
    .unwrap();
    let events = validate(&rt.trace().to_chrome_trace());
    let processes: Vec<(u64, &str)> = events
        .iter()
        .filter(|e| e["name"] == "process_name")
        .map(|e| {
            (
                e["pid"].as_u64().unwrap(),
                e["args"]["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(processes, [(1, "host main"), (2, "host client")]);
    let thread_pid = |name: &str| {
        events
            .iter()
            .find(|e| e["name"] == "thread_name" && e["args"]["name"] == name)
            .map(|e| e["pid"].as_u64().unwrap())
    };
    assert_eq!(thread_pid("main#0"), Some(1));
    assert_eq!(thread_pid("#1"), Some(2), "the client's task");
}
