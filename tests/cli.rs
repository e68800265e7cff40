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
    std::fs::write(&path, "v1:ff:0.1x2.0\n").unwrap();
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
    let out = corosim(&["schedule", "v1:2a:0.1.q"]);
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
