#!/usr/bin/env python3
"""Summarises `cargo bench --bench workloads` runs as the README table.

Usage:
    python3 benches/summarize.py snapshot NAME   # copy target/criterion medians to target/bench-runs/NAME.json
    python3 benches/summarize.py table           # median over every snapshot: ns per unit and ratios

Each snapshot holds criterion's median time per iteration for every (workload, runtime)
pair; the table divides by the units per iteration (see benches/RESULTS.md) and takes the
median across snapshots, then the ratio corosim / tokio of those medians.
"""
import json
import os
import statistics
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
CRIT = os.path.join(ROOT, "target", "criterion")
RUNS = os.path.join(ROOT, "target", "bench-runs")
WORKLOADS = [
    ("w0_empty", "W0 (ns/run)", 1),
    ("w1_producer_consumer", "W1 (ns/msg)", 4_000),
    ("w2_ping_pong", "W2 (ns/round trip)", 100_000),
    ("w3_timers", "W3 (ns/timer)", 100_000),
    ("w4_spawn", "W4 (ns/task)", 100_000),
    ("w5_mutex", "W5 (ns/lock)", 10_000),
]
RUNTIMES = [
    "corosim_default", "corosim_random", "corosim_pct3", "tokio_paused", "bare_localpool"
]


def snapshot(name):
    data = {}
    for group, _, _ in WORKLOADS:
        for rt in RUNTIMES:
            path = os.path.join(CRIT, group, rt, "new", "estimates.json")
            if os.path.exists(path):
                with open(path) as f:
                    data[f"{group}/{rt}"] = json.load(f)["median"]["point_estimate"]
    if not data:
        sys.exit(f"no criterion results under {CRIT}: run `cargo bench --bench workloads` first")
    os.makedirs(RUNS, exist_ok=True)
    with open(os.path.join(RUNS, f"{name}.json"), "w") as f:
        json.dump(data, f, indent=1)
    print(f"saved {len(data)} medians to target/bench-runs/{name}.json")


def table():
    if not os.path.isdir(RUNS):
        sys.exit("no snapshots in target/bench-runs: run `summarize.py snapshot NAME` after each bench run")
    runs = []
    for fname in sorted(os.listdir(RUNS)):
        with open(os.path.join(RUNS, fname)) as f:
            runs.append(json.load(f))
    print(f"median of {len(runs)} runs")
    print("| workload (unit) | corosim default | corosim Random | corosim Pct3 | tokio paused "
          "| bare LocalPool | default / tokio | Random / tokio | Pct3 / tokio |")
    print("|---|---|---|---|---|---|---|---|---|")
    for group, label, units in WORKLOADS:
        med = {}
        for rt in RUNTIMES:
            vals = [r[f"{group}/{rt}"] / units for r in runs if f"{group}/{rt}" in r]
            med[rt] = statistics.median(vals) if vals else None
        cell = lambda v: "–" if v is None else f"{v:,.0f}"
        ratio = lambda rt: "–" if med[rt] is None or not med["tokio_paused"] else f"{med[rt] / med['tokio_paused']:.2f}×"
        print(f"| {label} | {cell(med['corosim_default'])} | {cell(med['corosim_random'])} | "
              f"{cell(med['corosim_pct3'])} | {cell(med['tokio_paused'])} | "
              f"{cell(med['bare_localpool'])} | {ratio('corosim_default')} | "
              f"{ratio('corosim_random')} | {ratio('corosim_pct3')} |")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "snapshot":
        snapshot(sys.argv[2])
    elif len(sys.argv) == 2 and sys.argv[1] == "table":
        table()
    else:
        sys.exit(__doc__)
