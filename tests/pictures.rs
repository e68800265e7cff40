//! Pictures of a run from the `corosim` binary: `replay --html/--perfetto` of a
//! deadlocking scenario opened in headless Chromium (the page's script draws a lane per
//! task; the wait-for graph shows the cycle; the failure is marked), `run --html` with
//! a linked report per failing variant, and unwritable paths rejected before running.
//!
//! Chromium is required: without it the browser test fails saying how to install it
//! (`.ci/run` installs it).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sim::Failure;

const SPEC: &str = "philosophers/left-then-right";
const SEED: &str = "1";
/// Pinned, so that the seed means one run (a portfolio picks by sweep position).
const STRATEGY: &str = "random";

fn corosim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_corosim"))
        .args(args)
        .output()
        .expect("run corosim")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn fresh_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The Chromium binary: `$CHROMIUM`, else `chromium` or `chromium-browser` on the
/// path. Never skipped: without one the test fails.
fn chromium() -> PathBuf {
    let mut candidates: Vec<PathBuf> = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        for name in ["chromium", "chromium-browser"] {
            candidates.push(dir.join(name));
        }
    }
    candidates.push("/usr/bin/chromium".into());
    candidates
        .into_iter()
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "headless Chromium is required to check the HTML report, and none was found \
             (looked at $CHROMIUM, chromium and chromium-browser on PATH, /usr/bin/chromium); \
             install it: apt-get install -y chromium"
            )
        })
}

/// The DOM of `page` after its scripts ran, as headless Chromium prints it.
fn dump_dom(page: &Path, scratch: &Path) -> String {
    let profile = scratch.join("chromium-profile");
    let _ = std::fs::remove_dir_all(&profile);
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(out.status.success(), "chromium failed: {}", text(&out));
    String::from_utf8(out.stdout).expect("the DOM is UTF-8")
}

/// The values of attribute `attr` on the elements whose opening tag starts with
/// `tag_start` (`<g class="lane"`), in document order.
fn attrs(dom: &str, tag_start: &str, attr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = dom;
    while let Some(i) = rest.find(tag_start) {
        rest = &rest[i + tag_start.len()..];
        let tag = &rest[..rest.find('>').expect("a closed tag")];
        let key = format!(" {attr}=\"");
        if let Some(j) = tag.find(&key) {
            let v = &tag[j + key.len()..];
            out.push(v[..v.find('"').unwrap()].to_string());
        }
    }
    out
}

/// The scenario's failure, run in this process: what the page must show.
fn expected_failure() -> sim::DeadlockFailure {
    let entry = scenarios::select(SPEC).unwrap()[0];
    let mut rt = scenarios::builder(
        SEED.parse().unwrap(),
        &sim::Strategy::Random,
        scenarios::DEFAULT_MAX_TIME,
    )
    .build();
    match entry.run_on(&mut rt) {
        Err(Failure::Deadlock(d)) => *d,
        other => panic!("{SPEC} seed {SEED} should deadlock: {other:?}"),
    }
}

#[test]
fn the_html_report_of_a_deadlock_draws_lanes_cycle_and_failure_in_chromium() {
    let dir = fresh_dir("pictures-chromium");
    let (html, perfetto) = (dir.join("report.html"), dir.join("run.json"));
    let out = corosim(&[
        "replay",
        SPEC,
        "--seed",
        SEED,
        "--strategy",
        STRATEGY,
        "--html",
        html.to_str().unwrap(),
        "--perfetto",
        perfetto.to_str().unwrap(),
        "--trace-out",
        dir.join("trace.txt").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let expected = expected_failure();
    let page = std::fs::read_to_string(&html).unwrap();
    let json = std::fs::read_to_string(&perfetto).unwrap();
    assert!(
        json.contains("\"cat\":\"failure\""),
        "the export marks the failure"
    );

    // The lanes exist only once the page's script ran.
    assert!(
        !page.contains("<g class=\"lane\" data-lane="),
        "lanes drawn before the script ran"
    );
    let dom = dump_dom(&html, &dir);
    assert!(
        dom.contains("data-timeline=\"drawn\""),
        "the script did not finish:\n{dom}"
    );

    // One lane per task, then the runtime's.
    let lanes = attrs(&dom, "<g class=\"lane\"", "data-lane");
    let mut tasks: Vec<String> = expected
        .run
        .trace
        .tasks()
        .iter()
        .map(|t| t.label())
        .collect();
    tasks.push("runtime".to_string());
    assert_eq!(lanes, tasks);

    // The cycle's edges: each task waits on a fork its neighbour holds.
    assert_eq!(expected.cycles.len(), 1, "{expected:?}");
    let cycle = &expected.cycles[0];
    let from = attrs(&dom, "<path class=\"wfg-edge waits cycle\"", "data-from");
    let held = attrs(&dom, "<path class=\"wfg-edge held-by cycle\"", "data-to");
    let label = |id: &sim::task::TaskId| expected.run.trace.task(*id).unwrap().label();
    let mut in_cycle: Vec<String> = cycle.iter().map(label).collect();
    in_cycle.sort();
    let (mut from, mut held) = (from, held);
    from.sort();
    held.sort();
    assert_eq!(
        from, in_cycle,
        "one waits-on edge from each task of the cycle"
    );
    assert_eq!(held, in_cycle, "one held-by edge to each task of the cycle");
    assert_eq!(
        attrs(&dom, "<path class=\"wfg-edge", "data-cycle").len(),
        2 * cycle.len()
    );

    // The failure marker.
    let markers = attrs(
        &dom,
        "<g id=\"failure-marker\" class=\"failure-marker\"",
        "data-kind",
    );
    assert_eq!(markers, ["deadlock"]);
}

#[test]
fn run_html_links_a_report_per_failing_variant() {
    let dir = fresh_dir("pictures-run");
    let summary = dir.join("sweep.html");
    let out = corosim(&[
        "run",
        "philosophers",
        "--seeds",
        "30",
        "--html",
        summary.to_str().unwrap(),
    ]);
    assert!(out.status.code().is_some_and(|c| c <= 1), "{}", text(&out));
    let page = std::fs::read_to_string(&summary).unwrap();
    let rows = attrs(&page, "<tr", "data-variant");
    let ids: Vec<String> = scenarios::select("philosophers")
        .unwrap()
        .iter()
        .map(|e| e.id())
        .collect();
    assert_eq!(rows, ids);
    let links = attrs(&page, "<a", "href");
    assert!(
        links.contains(&"sweep/philosophers.left-then-right.html".to_string()),
        "{links:?}"
    );
    assert!(
        !links.iter().any(|l| l.contains("ordered-forks")),
        "a passing variant has no report"
    );
    for link in &links {
        let report = std::fs::read_to_string(dir.join(link)).unwrap();
        assert!(
            report.contains("class=\"wfg\""),
            "{link} has no wait-for graph"
        );
    }
    // The same sweep, the same bytes.
    let again = dir.join("again.html");
    corosim(&[
        "run",
        "philosophers",
        "--seeds",
        "30",
        "--html",
        again.to_str().unwrap(),
    ]);
    assert_eq!(
        std::fs::read_to_string(&again)
            .unwrap()
            .replace("again/", "sweep/"),
        page
    );
}

#[test]
fn unwritable_picture_paths_exit_2_naming_them_before_running() {
    let bad = "/nonexistent/corosim-dir/out.html";
    for (args, what) in [
        (
            vec!["replay", SPEC, "--seed", SEED, "--html", bad],
            "the HTML report",
        ),
        (
            vec!["replay", SPEC, "--seed", SEED, "--perfetto", bad],
            "the Perfetto trace",
        ),
        (
            vec!["run", "philosophers", "--seeds", "3", "--html", bad],
            "the HTML summary",
        ),
    ] {
        let out = corosim(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("cannot write {what} to {bad}")),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "",
            "{args:?} ran anyway"
        );
    }
}
