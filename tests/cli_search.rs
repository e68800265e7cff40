//! `corosim fuzz`, `corosim explore` and `corosim replay --bytes`, run as a user would.

use std::path::PathBuf;
use std::process::{Command, Output};

fn corosim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_corosim"))
        .args(args)
        .output()
        .expect("run corosim")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("corosim-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn fuzz_catches_a_bug_and_its_minimized_input_replays_byte_for_byte() {
    let dir = scratch("fuzz-replay");
    let out_dir = dir.join("out");
    let out_arg = out_dir.to_str().unwrap();
    let args = [
        "fuzz",
        "classic/reorder-10",
        "--runs",
        "3000",
        "--seed",
        "3",
        "--out",
        out_arg,
    ];
    let first = corosim(&args);
    assert!(
        first.status.success(),
        "{}{}",
        stdout(&first),
        stderr(&first)
    );
    let text = stdout(&first);
    assert!(text.contains("checker saw"), "{text}");
    // Deterministic: the same campaign, the same output, whatever the job count.
    let again = corosim(&[&args[..], &["--jobs", "1"]].concat());
    assert_eq!(stdout(&again), text);

    let input = out_dir.join("classic.reorder-10.input");
    let bytes = std::fs::read(&input).unwrap();
    // The table's INPUT column is `original->minimized`.
    let row = text
        .lines()
        .find(|l| l.starts_with("classic") && l.contains("reorder-10"))
        .unwrap();
    let sizes = row.split_whitespace().nth(7).unwrap();
    let (original, minimized) = sizes.split_once("->").unwrap();
    let (original, minimized): (usize, usize) =
        (original.parse().unwrap(), minimized.parse().unwrap());
    assert!(minimized <= original, "{row}");
    assert_eq!(bytes.len(), minimized);
    let command = format!(
        "reproduce: corosim replay classic/reorder-10 --bytes {}",
        input.display()
    );
    assert!(text.contains(&command), "{text}");
    // The report ends with that command: how the campaign found it comes first.
    let found_by = text
        .find("found by: corosim fuzz classic/reorder-10 --seed")
        .expect("the campaign says how it found the failure");
    let report_start = text.find("corosim: `checker`").unwrap();
    assert!(found_by < report_start, "{text}");
    let after = &text[text.find(&command).unwrap() + command.len()..];
    assert!(
        after.starts_with("\n\n") || after.trim().is_empty(),
        "nothing may follow the reproduce command in its report: {after:?}"
    );

    // The printed command replays the same failure: the same report, line for line.
    let replayed = corosim(&[
        "replay",
        "classic/reorder-10",
        "--bytes",
        input.to_str().unwrap(),
    ]);
    assert_eq!(replayed.status.code(), Some(1), "{}", stderr(&replayed));
    let report_of = |s: &str| {
        let start = s.find("corosim: `checker`").unwrap();
        let end = s[start..].find(&command).unwrap() + start + command.len();
        s[start..end].to_string()
    };
    assert_eq!(report_of(&stdout(&replayed)), report_of(&text));
}

#[test]
fn fuzz_passes_correct_variants_and_grows_a_corpus_directory() {
    let dir = scratch("fuzz-corpus");
    let corpus = dir.join("corpus");
    let run = || {
        corosim(&[
            "fuzz",
            "event_waiter/event",
            "--runs",
            "300",
            "--corpus",
            corpus.to_str().unwrap(),
        ])
    };
    let out = run();
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let saved = corpus.join("event_waiter.event");
    let files = std::fs::read_dir(&saved).unwrap().count();
    assert!(files > 0, "the corpus is saved");
    // A second campaign starts from it and adds only inputs it did not have.
    let out = run();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::read_dir(&saved).unwrap().count() >= files);
}

#[test]
fn fuzz_and_explore_reject_bad_input_naming_it() {
    let dir = scratch("fuzz-bad");
    let file = dir.join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    for (args, needle) in [
        (vec!["fuzz", "--runs", "0"], "--runs"),
        (vec!["fuzz", "--time", "0s"], "--time"),
        (vec!["fuzz", "--time", "10"], "--time"),
        (vec!["fuzz", "--time", "forever"], "a number with a unit"),
        (vec!["fuzz", "nope/nothing"], "nope"),
        (
            vec!["fuzz", "--corpus", file.to_str().unwrap()],
            "not a directory",
        ),
        (vec!["explore", "--max-schedules", "0"], "--max-schedules"),
        (vec!["explore", "--bound=-1"], "--bound"),
        (
            vec![
                "replay",
                "classic/abba-deadlock",
                "--bytes",
                "/nonexistent/input",
            ],
            "cannot read input file /nonexistent/input",
        ),
        (
            vec![
                "replay",
                "classic/abba-deadlock",
                "--bytes",
                "f",
                "--seed",
                "3",
            ],
            "--seed",
        ),
    ] {
        let out = corosim(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn explore_finds_a_bug_within_the_bound_and_exhausts_a_fixed_variant() {
    let out = corosim(&[
        "explore",
        "classic/abba-deadlock",
        "classic/abba-deadlock-fixed",
        "--bound",
        "2",
    ]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    let row = |variant: &str| {
        text.lines()
            .find(|l| l.split_whitespace().nth(1) == Some(variant))
            .unwrap_or_else(|| panic!("{variant} in {text}"))
            .to_string()
    };
    assert!(row("abba-deadlock").contains("deadlock"), "{text}");
    assert!(row("abba-deadlock-fixed").contains("exhausted"), "{text}");
    // The failure's command replays its schedule.
    let command = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("reproduce: "))
        .unwrap();
    let words: Vec<&str> = command.split_whitespace().collect();
    assert_eq!(&words[..3], ["corosim", "replay", "classic/abba-deadlock"]);
    let replayed = corosim(&words[1..]);
    assert_eq!(replayed.status.code(), Some(1), "{}", stderr(&replayed));
    assert!(stdout(&replayed).contains("deadlock"));
    // Deterministic.
    let again = corosim(&[
        "explore",
        "classic/abba-deadlock",
        "classic/abba-deadlock-fixed",
        "--bound",
        "2",
        "--jobs",
        "1",
    ]);
    assert_eq!(stdout(&again), text);
}

#[test]
fn a_bug_not_found_within_the_bound_exits_1() {
    // reorder-10's bug needs more than the schedules a budget of 5 allows.
    let out = corosim(&["explore", "classic/reorder-10", "--max-schedules", "5"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("classic/reorder-10: expected panic, but 5 schedules found none"),
        "{}",
        stderr(&out)
    );
}
