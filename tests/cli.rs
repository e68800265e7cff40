//! The `corosim` binary, run as a user would.

use std::process::Command;

fn corosim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_corosim"))
        .args(args)
        .output()
        .expect("run corosim")
}

#[test]
fn schedule_summarises_a_recorded_schedule() {
    let mut rt = sim::Builder::new().seed(42).build();
    rt.block_on(async {
        let h = sim::spawn(async { sim::task::yield_now().await });
        h.await.unwrap();
    })
    .unwrap();
    let text = rt.schedule().to_string();
    let out = corosim(&["schedule", &text]);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("seed             42 (SIM_SEED=42)"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("steps            {}", rt.schedule().len())),
        "{stdout}"
    );
    assert!(stdout.contains("task 1"), "{stdout}");
}

#[test]
fn schedule_reads_a_file() {
    let dir = std::env::temp_dir().join(format!("corosim-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("schedule.txt");
    std::fs::write(&path, "v2:ff:0.1x2.0\n").unwrap();
    let out = corosim(&["schedule", &format!("@{}", path.display())]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("context switches 2")
    );
}

#[test]
fn a_corrupt_schedule_exits_2_saying_where() {
    let out = corosim(&["schedule", "v2:2a:0.1.q"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("at byte 10") && stderr.contains("\"q\""),
        "{stderr}"
    );
    let out = corosim(&["schedule", "@/nonexistent/file"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("cannot read schedule file")
    );
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// The table's rows without the seeds-per-second column (timing varies).
fn rows_without_speed(table: &str) -> Vec<String> {
    table
        .lines()
        .map(|l| {
            let mut cols: Vec<&str> = l.split_whitespace().collect();
            if cols.len() == 9 {
                cols.remove(7);
            }
            cols.join(" ")
        })
        .collect()
}

/// The value of `"key":` in the JSON text, as written (a number, `null` or a string).
fn json_field<'a>(json: &'a str, key: &str) -> &'a str {
    let start = json
        .find(&format!("\"{key}\":"))
        .unwrap_or_else(|| panic!("{key} in {json}"))
        + key.len()
        + 3;
    let rest = &json[start..];
    if let Some(s) = rest.strip_prefix('"') {
        let mut escaped = false;
        for (i, c) in s.char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => return &rest[..i + 2],
                _ => escaped = false,
            }
        }
        panic!("unterminated string for {key}");
    }
    let end = rest.find([',', '}', ']']).unwrap();
    &rest[..end]
}

fn unescape(s: &str) -> String {
    let inner = &s[1..s.len() - 1];
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next().unwrap() {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'u' => {
                let hex: String = chars.by_ref().take(4).collect();
                out.push(char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap());
            }
            other => out.push(other),
        }
    }
    out
}

#[test]
fn list_names_every_variant_with_its_expectation() {
    let out = corosim(&["list"]);
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    for e in scenarios::registry() {
        let line = text
            .lines()
            .find(|l| {
                let cols: Vec<&str> = l.split_whitespace().collect();
                cols.len() > 3 && cols[0] == e.scenario && cols[1] == e.variant
            })
            .unwrap_or_else(|| panic!("{} missing from\n{text}", e.id()));
        assert!(line.contains(&e.expect.label()), "{line}");
        assert!(line.contains(e.description), "{line}");
    }
    // Aligned columns: the variant column is as wide as the longest variant name.
    let w = scenarios::registry()
        .iter()
        .map(|e| e.variant.len())
        .max()
        .unwrap_or(0)
        .max(20);
    let row = |s: &str, v: &str, x: &str| format!("{s:<18} {v:<w$} {x}");
    assert!(text.contains(&row("philosophers", "left-then-right", "catch:deadlock")));
    assert!(text.contains(&row("bank", "locked", "pass")));
}

#[test]
fn run_reports_a_pass_and_a_catch() {
    let out = corosim(&[
        "run",
        "bank/locked",
        "philosophers/left-then-right",
        "--seeds",
        "50",
        "--jobs",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = stdout(&out);
    let rows = rows_without_speed(&text);
    assert!(
        rows.contains(&"bank locked pass 50 0 - - ok".to_string()),
        "{text}"
    );
    let caught = rows
        .iter()
        .find(|r| r.starts_with("philosophers left-then-right catch:deadlock"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(caught.ends_with("deadlock ok"), "{caught}");
    assert!(text.contains("ok: every correct variant passed"), "{text}");
}

#[test]
fn run_fails_with_exit_1_when_a_bug_is_not_caught() {
    // A seed on which the philosophers happen not to deadlock.
    let entry = scenarios::select("philosophers/left-then-right").unwrap()[0];
    let seed = (0..100)
        .find(|&s| {
            entry
                .run_seed(s, &sim::Strategy::Random, scenarios::DEFAULT_MAX_TIME)
                .is_ok()
        })
        .expect("some seed does not deadlock");
    let seed = seed.to_string();
    let out = corosim(&[
        "run",
        "philosophers/left-then-right",
        "--seeds",
        "1",
        "--start-seed",
        &seed,
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        stderr(&out).contains(
            "philosophers/left-then-right: expected deadlock, but none of the 1 seeds failed"
        ),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).contains("FAIL"), "{}", stdout(&out));
}

#[test]
fn json_output_has_the_key_fields() {
    let out = corosim(&[
        "run",
        "bounded_pool",
        "--seeds",
        "20",
        "--format",
        "json",
        "--strategy",
        "pct:3",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let json = stdout(&out);
    let json = json.trim();
    assert!(json.starts_with('{') && json.ends_with('}'), "{json}");
    assert_eq!(json_field(json, "strategy"), "\"pct:3\"");
    assert_eq!(json_field(json, "ok"), "true");
    assert_eq!(json_field(json, "seeds"), "20");
    assert_eq!(json_field(json, "shard"), "null");
    assert!(json.contains(
        "{\"scenario\":\"bounded_pool\",\"variant\":\"permit\",\"expected\":\"pass\",\"seeds_run\":20,\"failures\":0,\"first_failing_seed\":null,\"failure_kind\":null"
    ), "{json}");
    let buggy = &json[json.find("\"variant\":\"early-release\"").unwrap()..];
    assert_eq!(json_field(buggy, "expected"), "\"catch:panic\"");
    assert_eq!(json_field(buggy, "failure_kind"), "\"panic\"");
    assert_eq!(json_field(buggy, "ok"), "true");
    let report = unescape(json_field(buggy, "report"));
    assert!(report.contains("jobs at once, limit 2"), "{report}");
}

#[test]
fn results_do_not_depend_on_the_job_count() {
    let args = ["run", "--seeds", "60", "--strategy", "pct"];
    let one = corosim(&[&args[..], &["--jobs", "1"]].concat());
    let two = corosim(&[&args[..], &["--jobs", "2"]].concat());
    assert_eq!(one.status.code(), two.status.code());
    assert_eq!(
        rows_without_speed(&stdout(&one)),
        rows_without_speed(&stdout(&two))
    );
}

#[test]
fn shards_cover_disjoint_seeds() {
    let mut all = Vec::new();
    for shard in ["1/3", "2/3", "3/3"] {
        let out = corosim(&[
            "run",
            "bank/locked",
            "--seeds",
            "20",
            "--start-seed",
            "5",
            "--shard",
            shard,
            "--format",
            "json",
        ]);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let json = stdout(&out);
        assert_eq!(json_field(&json, "shard"), format!("\"{shard}\""));
        let field = |k: &str| json_field(&json, k).parse::<u64>().unwrap();
        let (first, step, count) = (field("seed_first"), field("seed_step"), field("seed_count"));
        let seeds: Vec<u64> = (0..count).map(|i| first + i * step).collect();
        let index: u64 = shard[..1].parse().unwrap();
        assert!(
            seeds.iter().all(|s| s % 3 == index - 1),
            "{shard}: {seeds:?}"
        );
        assert_eq!(json_field(&json, "seeds_run"), seeds.len().to_string());
        all.extend(seeds);
    }
    all.sort_unstable();
    assert_eq!(all, (5..25).collect::<Vec<u64>>());
}

#[test]
fn replay_reproduces_the_first_failing_seed_of_a_run() {
    let out = corosim(&[
        "run",
        "producer_consumer/cancelled-consumer",
        "--seeds",
        "100",
        "--strategy",
        "pct",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let json = stdout(&out);
    let seed = json_field(&json, "first_failing_seed").to_string();
    let report = unescape(json_field(&json, "report"));
    let schedule = unescape(json_field(&json, "schedule"));

    let replayed = corosim(&[
        "replay",
        "producer_consumer/cancelled-consumer",
        "--seed",
        &seed,
        "--strategy",
        "pct",
    ]);
    assert_eq!(replayed.status.code(), Some(1), "{replayed:?}");
    let text = stdout(&replayed);
    // The trace, then the same report, ending with its reproduce command.
    assert!(
        text.starts_with("--- trace ---") && text.trim_end().ends_with(report.trim_end()),
        "run said:\n{report}\nreplay said:\n{text}"
    );
    assert!(
        text.trim_end()
            .lines()
            .last()
            .unwrap()
            .contains("reproduce: corosim replay producer_consumer/cancelled-consumer"),
        "{text}"
    );

    // The schedule replays the same run: the same trace.
    let dir = std::env::temp_dir().join(format!("corosim-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (a, b) = (dir.join("by-seed.trace"), dir.join("by-schedule.trace"));
    let by_seed = corosim(&[
        "replay",
        "producer_consumer/cancelled-consumer",
        "--seed",
        &seed,
        "--strategy",
        "pct",
        "--trace-out",
        a.to_str().unwrap(),
    ]);
    let by_schedule = corosim(&[
        "replay",
        "producer_consumer/cancelled-consumer",
        "--schedule",
        &schedule,
        "--trace-out",
        b.to_str().unwrap(),
    ]);
    assert_eq!(by_seed.status.code(), Some(1));
    assert_eq!(by_schedule.status.code(), Some(1));
    assert!(!stdout(&by_seed).contains("--- trace ---"));
    let trace = std::fs::read_to_string(&a).unwrap();
    assert!(!trace.is_empty());
    assert_eq!(trace, std::fs::read_to_string(&b).unwrap());
    assert!(
        stdout(&by_schedule).contains("deadlock"),
        "{}",
        stdout(&by_schedule)
    );
}

#[test]
fn bad_arguments_exit_2_naming_the_input() {
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["run", "nosuch"],
            &["unknown scenario \"nosuch\"", "philosophers"],
        ),
        (
            &["run", "bank/nosuch"],
            &["unknown variant \"nosuch\" of scenario \"bank\"", "locked"],
        ),
        (
            &["run", "--shard", "5/3"],
            &["5/3", "expected I/N with 1 <= I <= N"],
        ),
        (
            &["run", "--shard", "0/3"],
            &["0/3", "expected I/N with 1 <= I <= N"],
        ),
        (&["run", "--shard", "x"], &["\"x\"", "expected I/N"]),
        (&["run", "--seeds", "0"], &["'0'", "--seeds"]),
        // Flags that read a setting of another name still name themselves.
        (
            &["fuzz", "bank/unlocked", "--runs", "0"],
            &["invalid --runs=\"0\"", "a whole number >= 1"],
        ),
        (
            &["explore", "bank/unlocked", "--bound", "x"],
            &["invalid --bound=\"x\"", "preemptions"],
        ),
        (
            &["explore", "bank/unlocked", "--delay-bound=-1"],
            &["invalid --delay-bound=\"-1\"", "a whole number of delays"],
        ),
        (
            &["run", "--strategy", "bogus"],
            &["bogus", "accepted forms"],
        ),
        (
            &["run", "--max-time", "10 parsecs"],
            &["10 parsecs", "a number with a unit"],
        ),
        // Past `Duration::MAX`: it panicked in `Duration::from_secs_f64`.
        (
            &["run", "--max-time", "100000000000000000000"],
            &["--max-time=\"100000000000000000000\"", "no unit"],
        ),
        (
            &["run", "--max-time", "100000000000000000000s"],
            &["longer than the longest duration"],
        ),
        // A zero bound fails every run: rejected, as SIM_MAX_TIME=0s is.
        (
            &["run", "--max-time", "0s"],
            &["a zero bound fails every run"],
        ),
        (
            &["run", "--max-time", "0"],
            &["--max-time=\"0\"", "no unit"],
        ),
        // One grammar with SIM_MAX_TIME: a bare number has no unit.
        (&["run", "--max-time", "10"], &["no unit"]),
        (
            &[
                "replay",
                "bank/unlocked",
                "--seed",
                "1",
                "--max-time",
                "0ms",
            ],
            &["a zero bound"],
        ),
        (
            &["run", "--start-seed", "soon"],
            &["--start-seed=\"soon\"", "random"],
        ),
        (
            &["replay", "bank/unlocked", "--schedule", "v2:2a:0.1.q"],
            &["at byte 10", "\"q\""],
        ),
        (
            &["replay", "bank", "--seed", "1"],
            &["replay needs one SCENARIO/VARIANT"],
        ),
    ];
    for (args, needles) in cases {
        let out = corosim(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        let err = stderr(&out);
        for n in *needles {
            assert!(err.contains(n), "{args:?}: {n:?} not in {err}");
        }
    }
}

#[test]
fn durations_read_as_sim_max_time_reads_them() {
    // Units the CLI did not know (`us`) and decimals: the one grammar of sim::config.
    for (arg, ms) in [
        ("2.5h", "9000000"),
        ("10000000us", "10000"),
        ("1.5s", "1500"),
    ] {
        let out = corosim(&[
            "run",
            "bank/locked",
            "--seeds",
            "2",
            "--max-time",
            arg,
            "--format",
            "json",
        ]);
        assert_eq!(out.status.code(), Some(0), "{arg}: {out:?}");
        assert_eq!(json_field(&stdout(&out), "max_time_ms"), ms, "{arg}");
        let parsed = sim::config::parse::max_time(sim::config::Source::Env, arg).unwrap();
        assert_eq!(parsed.as_millis().to_string(), ms);
    }
}

#[test]
fn an_unusable_output_path_exits_2_before_running() {
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "replay",
                "bank/unlocked",
                "--seed",
                "0",
                "--trace-out",
                "/nonexistent/corosim-dir/trace.txt",
            ],
            "cannot write the trace to /nonexistent/corosim-dir/trace.txt",
        ),
        (
            // Under a file: not creatable, whoever runs the test (root may create /x/y).
            &[
                "fuzz",
                "bank/locked",
                "--runs",
                "5",
                "--corpus",
                "Cargo.toml/corpus",
            ],
            "--corpus Cargo.toml/corpus: cannot create the corpus directory",
        ),
    ];
    for (args, needle) in cases {
        let out = corosim(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
        // Checked first: nothing ran, so no report whose result the exit code would
        // hide, and no campaign whose inputs would be lost.
        assert_eq!(stdout(&out), "", "{args:?}: it went ahead");
    }
}

#[test]
fn json_strings_are_escaped_by_serde() {
    // A report holds newlines, quotes and backslashes: the output must be valid JSON.
    let out = corosim(&["run", "bank/unlocked", "--seeds", "20", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let value: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("valid JSON");
    let result = &value["results"][0];
    assert_eq!(result["failure_kind"], "race");
    let report = result["report"].as_str().unwrap();
    assert!(
        report.contains('\n') && report.contains("reproduce: corosim replay bank/unlocked --seed "),
        "{report}"
    );
}

#[test]
fn a_random_start_seed_is_drawn_and_printed() {
    let out = corosim(&[
        "run",
        "bank/locked",
        "--seeds",
        "3",
        "--start-seed",
        "random",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let drawn = json_field(&stdout(&out), "start_seed").to_string();
    assert!(
        stderr(&out).contains(&format!(
            "--start-seed random drew {drawn} (rerun with --start-seed {drawn})"
        )),
        "{}",
        stderr(&out)
    );
}

#[test]
fn replay_reads_the_network_variables_a_reproduce_command_sets() {
    let trace = std::env::temp_dir().join(format!("corosim-net-vars-{}.txt", std::process::id()));
    let run = |vars: &[(&str, &str)]| {
        let out = Command::new(env!("CARGO_BIN_EXE_corosim"))
            .args([
                "replay",
                "broker/at-least-once",
                "--seed",
                "3",
                "--trace-out",
            ])
            .arg(&trace)
            .envs(vars.iter().copied())
            .output()
            .expect("run corosim");
        (out, std::fs::read_to_string(&trace).unwrap_or_default())
    };
    let (plain, plain_trace) = run(&[]);
    assert_eq!(plain.status.code(), Some(0), "{plain:?}");
    let (faulty, faulty_trace) = run(&[("SIM_NET_FAULTS", "latency=40ms,loss=0.5")]);
    assert_eq!(faulty.status.code(), Some(0), "{faulty:?}");
    assert_ne!(plain_trace, faulty_trace, "the faults changed the run");
    for (var, bad) in [("SIM_NET_FAULTS", "loss=7"), ("SIM_BUGGIFY_OFF", "nowhere")] {
        let (out, _) = run(&[(var, bad)]);
        assert_eq!(out.status.code(), Some(2), "{var}={bad}: {out:?}");
        let err = stderr(&out);
        assert!(err.contains(var) && err.contains(bad), "{err}");
    }
}
