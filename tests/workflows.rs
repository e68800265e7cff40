//! The GitHub Actions workflows in `.github/workflows/` and the ClusterFuzzLite setup
//! in `.clusterfuzzlite/`: every workflow is valid YAML with a name, triggers and
//! jobs; every job has `runs-on` and steps, each step `uses` an action or `run`s a
//! command; every script or fuzz target a command names exists in the repository; the
//! sweep's matrix covers every shard exactly once; and the commands are the README's.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every workflow file, parsed, by file name (sorted).
fn workflows() -> Vec<(String, Yaml)> {
    let dir = root().join(".github/workflows");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| {
            let mut docs = YamlLoader::load_from_str(&read(p))
                .unwrap_or_else(|e| panic!("{}: not valid YAML: {e}", p.display()));
            assert_eq!(docs.len(), 1, "{}: one document", p.display());
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, docs.remove(0))
        })
        .collect()
}

fn workflow(name: &str) -> Yaml {
    workflows()
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no .github/workflows/{name}"))
        .1
}

/// The `run:` commands of every step of every job of `w`.
fn commands(w: &Yaml) -> Vec<String> {
    let mut out = Vec::new();
    for (_, job) in w["jobs"].as_hash().expect("jobs is a mapping") {
        for step in job["steps"].as_vec().into_iter().flatten() {
            if let Some(run) = step["run"].as_str() {
                out.push(run.to_string());
            }
        }
    }
    out
}

/// The fuzz targets `fuzz/Cargo.toml` declares.
fn fuzz_targets() -> BTreeSet<String> {
    read(&root().join("fuzz/Cargo.toml"))
        .lines()
        .skip_while(|l| !l.starts_with("[[bin]]"))
        .filter_map(|l| l.strip_prefix("name = \""))
        .map(|n| n.trim_end_matches('"').to_string())
        .collect()
}

#[test]
fn the_four_workflows_exist() {
    let names: Vec<String> = workflows().into_iter().map(|(n, _)| n).collect();
    for w in ["ci.yml", "sweep.yml", "fuzz-nightly.yml", "cflite_pr.yml"] {
        assert!(names.iter().any(|n| n == w), "{w} missing from {names:?}");
    }
}

#[test]
fn every_job_has_a_runner_and_steps() {
    for (name, w) in workflows() {
        assert!(w["name"].as_str().is_some(), "{name}: no name");
        assert!(!w["on"].is_badvalue(), "{name}: no trigger (on:)");
        let jobs = w["jobs"]
            .as_hash()
            .unwrap_or_else(|| panic!("{name}: no jobs"));
        assert!(!jobs.is_empty(), "{name}: no jobs");
        for (id, job) in jobs {
            let id = id.as_str().expect("a job id is a string");
            assert!(
                job["runs-on"].as_str().is_some(),
                "{name}: job {id} has no runs-on"
            );
            let steps = job["steps"]
                .as_vec()
                .unwrap_or_else(|| panic!("{name}: job {id} has no steps"));
            assert!(!steps.is_empty(), "{name}: job {id} has no steps");
            for (i, step) in steps.iter().enumerate() {
                let uses = step["uses"].as_str();
                let run = step["run"].as_str();
                assert!(
                    uses.is_some() != run.is_some(),
                    "{name}: job {id} step {i} needs exactly one of uses and run"
                );
                if let Some(action) = uses {
                    assert!(
                        action.contains('@'),
                        "{name}: job {id} step {i}: {action} is not pinned to a version"
                    );
                }
            }
        }
    }
}

#[test]
fn every_script_and_fuzz_target_named_exists() {
    let targets = fuzz_targets();
    assert!(
        targets.contains("correct") && targets.contains("bug"),
        "{targets:?}"
    );
    for (name, w) in workflows() {
        for run in commands(&w) {
            for word in run.split_whitespace() {
                let word = word.trim_matches(|c| c == '"' || c == '\'');
                if word.starts_with(".ci/") || word.starts_with(".clusterfuzzlite/") {
                    assert!(root().join(word).is_file(), "{name}: {word} does not exist");
                }
            }
            // `cargo fuzz run TARGET`: a target of fuzz/Cargo.toml, or the matrix's.
            let words: Vec<&str> = run.split_whitespace().collect();
            for pair in words.windows(3) {
                if pair[0] == "fuzz" && pair[1] == "run" && !pair[2].starts_with("${{") {
                    assert!(
                        targets.contains(pair[2]),
                        "{name}: no fuzz target {}",
                        pair[2]
                    );
                }
            }
        }
    }
    // The nightly matrix names only real targets, and every target but `bug` (which
    // crashes by design).
    let nightly = workflow("fuzz-nightly.yml");
    let matrix: BTreeSet<String> = nightly["jobs"]["fuzz"]["strategy"]["matrix"]["target"]
        .as_vec()
        .expect("a target matrix")
        .iter()
        .map(|t| t.as_str().expect("a target name").to_string())
        .collect();
    let mut expected = targets.clone();
    expected.remove("bug");
    assert_eq!(matrix, expected);
    // ClusterFuzzLite builds the same targets with its build script (its `for target
    // in ...` loop copies them to $OUT).
    let build = read(&root().join(".clusterfuzzlite/build.sh"));
    let copied: BTreeSet<String> = build
        .lines()
        .find_map(|l| l.trim().strip_prefix("for target in "))
        .expect("build.sh loops over the targets")
        .trim_end_matches("; do")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    assert_eq!(copied, expected, "build.sh copies every target but `bug`");
    let docker = read(&root().join(".clusterfuzzlite/Dockerfile"));
    assert!(docker.contains("COPY .clusterfuzzlite/build.sh $SRC/"));
    let project = YamlLoader::load_from_str(&read(&root().join(".clusterfuzzlite/project.yaml")))
        .expect("project.yaml is YAML");
    assert_eq!(project[0]["language"].as_str(), Some("rust"));
    // CI runs .ci/run.
    assert!(
        commands(&workflow("ci.yml"))
            .iter()
            .any(|c| c.trim() == "bash .ci/run")
    );
}

#[test]
fn the_sweep_matrix_covers_every_shard_once() {
    let w = workflow("sweep.yml");
    let job = &w["jobs"]["sweep"];
    let shards: Vec<i64> = job["strategy"]["matrix"]["shard"]
        .as_vec()
        .expect("a shard matrix")
        .iter()
        .map(|s| s.as_i64().expect("a shard number"))
        .collect();
    let n: i64 = job["env"]["SHARDS"]
        .as_str()
        .expect("SHARDS in the job's env")
        .parse()
        .expect("SHARDS is a number");
    assert_eq!(
        shards,
        (1..=n).collect::<Vec<_>>(),
        "shards 1..={n}, once each"
    );
    assert_eq!(job["strategy"]["fail-fast"].as_bool(), Some(false));
    let sweep = commands(&w)
        .into_iter()
        .find(|c| c.contains("corosim run"))
        .expect("a corosim run step");
    assert!(
        sweep.contains("--shard \"${{ matrix.shard }}/${{ env.SHARDS }}\""),
        "{sweep}"
    );
    // Failing shards upload their results.
    let upload = job["steps"]
        .as_vec()
        .unwrap()
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/upload-artifact@"))
        })
        .expect("an upload step");
    assert_eq!(upload["if"].as_str(), Some("failure()"));
}

#[test]
fn the_readme_shows_the_commands_the_workflows_run() {
    let readme = read(&root().join("README.md"));
    for needle in [
        "corosim run --seeds",
        "--shard",
        "cargo fuzz run",
        "-max_total_time",
        ".clusterfuzzlite/",
    ] {
        assert!(readme.contains(needle), "README does not mention {needle}");
    }
    let nightly = commands(&workflow("fuzz-nightly.yml"));
    assert!(nightly.iter().any(|c| c.contains("cargo fuzz run")));
}
