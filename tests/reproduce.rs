//! End to end, as a user meets it: a planted bug found by `#[sim::test]` in a child
//! `cargo test`; the printed command, run in another child, reproduces it; the shrunk
//! schedule file replays to the same failure; the regression file replays first.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Copies the fixture crate to a fresh directory outside the workspace's members.
fn fixture() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // A stable path: cargo reuses the fixture's test binary across runs of this test.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("planted");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("tests")).unwrap();
    std::fs::copy(
        root.join("tests/fixtures/planted/tests/planted.rs"),
        dir.join("tests/planted.rs"),
    )
    .unwrap();
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    let manifest = format!(
        "[package]\nname = \"planted\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
         [dev-dependencies]\nsim = {{ path = {:?} }}\n\n[workspace]\n",
        root.join("sim").display().to_string()
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    dir
}

/// The workspace's target directory (shared, so the child reuses built dependencies).
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Runs a shell command line in `dir` the way a user pastes it.
fn shell(dir: &Path, line: &str) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(line)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir())
        .env_remove("SIM_SEED")
        .env_remove("SIM_SCHEDULE")
        .env_remove("SIM_STRATEGY")
        .env_remove("SIM_SEEDS")
        .env_remove("SIM_START_SEED")
        .output()
        .expect("run sh")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The line starting with `prefix`, without it.
fn line<'a>(report: &'a str, prefix: &str) -> &'a str {
    report
        .lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no `{prefix}` line in:\n{report}"))
}

#[test]
fn a_planted_bug_reproduces_from_its_printed_command() {
    let dir = fixture();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());

    // 1. The sweep finds the bug and prints a report ending with the command.
    let first = shell(&dir, &format!("{cargo} test --offline --test planted"));
    let report = text(&first);
    assert_eq!(first.status.code(), Some(101), "{report}");
    assert!(report.contains("an increment was lost"), "{report}");
    let command = line(&report, "reproduce: ").trim().to_string();
    assert!(command.starts_with("SIM_SEED="), "{command}");
    assert!(
        command.ends_with("cargo test -p planted --test planted -- lost_update --exact"),
        "{command}"
    );
    let seed = command
        .split_whitespace()
        .next()
        .unwrap()
        .trim_start_matches("SIM_SEED=")
        .to_string();
    let shrunk_line = line(&report, "shrunk: ").to_string();
    let shrunk_file = line(&report, "shrunk schedule: ").to_string();

    // 2. The printed command, pasted into a shell, reproduces the same failure.
    let again = shell(
        &dir,
        &command.replacen("cargo test", &format!("{cargo} test --offline"), 1),
    );
    let report2 = text(&again);
    assert_eq!(again.status.code(), Some(101), "{report2}");
    assert_eq!(line(&report2, "reproduce: ").trim(), command);
    assert_eq!(
        line(&report2, "shrunk: "),
        shrunk_line,
        "same run, same shrink"
    );

    // 3. The shrunk schedule file replays to the same panic.
    let replay = shell(
        &dir,
        &format!(
            "SIM_SCHEDULE=@{shrunk_file} {cargo} test --offline --test planted -- lost_update --exact"
        ),
    );
    let report3 = text(&replay);
    assert_eq!(replay.status.code(), Some(101), "{report3}");
    assert!(report3.contains("an increment was lost"), "{report3}");

    // 4. The regression file holds the seed and replays it before any other seed.
    let regressions =
        std::fs::read_to_string(dir.join("sim-regressions/planted.lost_update.txt")).unwrap();
    assert!(
        regressions.contains(&format!("seed={seed} strategy=random")),
        "{regressions}"
    );
    let later = shell(
        &dir,
        &format!(
            "SIM_START_SEED=123456789 SIM_SEEDS=1 {cargo} test --offline --test planted -- lost_update --exact"
        ),
    );
    let report4 = text(&later);
    assert_eq!(later.status.code(), Some(101), "{report4}");
    assert!(
        line(&report4, "reproduce: ").starts_with(&format!("SIM_SEED={seed} ")),
        "{report4}"
    );
}
