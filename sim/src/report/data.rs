//! The timeline of the HTML report as the JSON its script draws: the [`Timeline`] on
//! the page's axis.
//!
//! The page's axis is not virtual time but the order of events: each event of the run
//! is one column, and a few empty columns mark each time the clock moves (labelled
//! with the new virtual time), so the steps of one virtual instant are as readable as
//! steps far apart in time. Only the last [`WINDOW`] events before the stop are drawn
//! (the page says so); the Chrome export has them all.

use std::fmt::Write as _;

use super::WINDOW;
use crate::json;
use crate::trace::timeline::{SliceKind, Timeline};
use crate::trace::{EventKind, ResourceOp, Trace, fmt_time};

/// Empty columns where the clock moves.
const GAP: usize = 3;
/// Columns after the stop that a slice still open at the stop runs on into.
const TAIL: usize = 4;

/// The failure to mark: its kind and headline.
pub(crate) struct FailureMark<'a> {
    pub(crate) kind: &'a str,
    pub(crate) headline: &'a str,
}

/// The JSON object the page's script reads (see `report.js`).
pub(crate) fn timeline_json(
    trace: &Trace,
    t: &Timeline,
    failure: Option<&FailureMark<'_>>,
) -> String {
    let end = t.end;
    let first = end.saturating_sub(WINDOW);
    // col[i - first] for events first..=end.
    let mut cols = Vec::with_capacity(end - first + 1);
    let mut ticks: Vec<(usize, String)> = Vec::new();
    let mut col = 0;
    let mut last_time = None;
    for i in first..=end {
        let time = t
            .events
            .get(i)
            .or(t.events.get(end.saturating_sub(1)))
            .map(|e| e.time);
        if let Some(time) = time {
            if last_time != Some(time) {
                if last_time.is_some() {
                    col += GAP;
                }
                ticks.push((col, fmt_time(time)));
                last_time = Some(time);
            }
        }
        cols.push(col);
        col += 1;
    }
    let at = |i: usize| cols[i.clamp(first, end) - first];
    // A boundary right after event `i - 1`: the end of its column.
    let after = |i: usize| {
        if i > first {
            cols[i.min(end) - 1 - first] + 1
        } else {
            at(i)
        }
    };
    let stop = at(end);
    let width = stop + TAIL + 1;

    // Data lanes are the shown lanes, renumbered.
    let mut lane_index = vec![usize::MAX; t.lanes.len()];
    let mut out = String::with_capacity(64 * (end - first) + 1024);
    let _ = write!(
        out,
        "{{\"cols\":{width},\"gap\":{GAP},\"stop\":{stop},\"first\":{first},\"end\":{end},\"total\":{},\"lanes\":[",
        t.events.len()
    );
    // Lanes of one group (host) together, groups in order of first appearance.
    let mut shown: Vec<_> = t.shown_lanes().collect();
    let mut groups: Vec<&str> = Vec::new();
    for (_, lane) in &shown {
        if !groups.contains(&lane.group.as_str()) {
            groups.push(&lane.group);
        }
    }
    shown.sort_by_key(|(i, lane)| (groups.iter().position(|g| *g == lane.group), *i));
    for (k, (i, lane)) in shown.into_iter().enumerate() {
        lane_index[i] = k;
        if k > 0 {
            out.push(',');
        }
        out.push('[');
        json::string(&mut out, &lane.label);
        out.push(',');
        json::string(&mut out, &lane.group);
        out.push(']');
    }
    out.push_str("],\"ticks\":[");
    for (k, (c, label)) in ticks.iter().enumerate() {
        if k > 0 {
            out.push(',');
        }
        let _ = write!(out, "[{c},");
        json::string(&mut out, label);
        out.push(']');
    }

    out.push_str("],\"slices\":[");
    let mut sep = "";
    for s in &t.slices {
        if (s.end < first && !s.open) || lane_index[s.lane] == usize::MAX {
            continue;
        }
        let (kind, label) = match s.kind {
            SliceKind::Poll(step) => ("poll", format!("step {step}: poll")),
            SliceKind::Wait => ("wait", s.label.clone()),
            SliceKind::Runnable => ("runnable", "runnable".to_string()),
            SliceKind::Advance => ("advance", "clock advance".to_string()),
        };
        let c0 = if s.starts_after {
            after(s.start)
        } else {
            at(s.start)
        };
        let c1 = match (s.open, s.ends_after) {
            (true, _) => width,
            (false, true) => after(s.end),
            (false, false) => at(s.end),
        };
        let _ = write!(out, "{sep}[{},{c0},{c1},\"{kind}\",", lane_index[s.lane]);
        json::string(&mut out, &label);
        out.push_str(if s.open { ",1]" } else { ",0]" });
        sep = ",";
    }

    out.push_str("],\"marks\":[");
    sep = "";
    for i in first..end {
        let e = &t.events[i];
        let class = match &e.kind {
            EventKind::Poll => continue,
            EventKind::Spawn { .. } => "spawn",
            EventKind::Yield => "yield",
            EventKind::Preempt => "preempt",
            EventKind::Wake { .. } => "wake",
            EventKind::Sleep { .. } => "sleep",
            EventKind::TimerFired => "timer",
            EventKind::Exit => "exit",
            EventKind::Abort { .. } => "abort",
            EventKind::Cancelled | EventKind::Dropped => "cancel",
            EventKind::Panicked => "panic",
            EventKind::Resource { op, .. } if *op == ResourceOp::Wait => "wait",
            EventKind::Resource { .. } => "resource",
        };
        let lane = lane_index[t.lane_of(e.task)];
        let _ = write!(out, "{sep}[{lane},{},\"{class}\",", at(i));
        json::string(
            &mut out,
            &format!("step {}: {}", e.step, trace.describe(&e.kind)),
        );
        out.push(']');
        sep = ",";
    }

    out.push_str("],\"flows\":[");
    sep = "";
    for f in &t.flows {
        if f.from.1 < first || f.to.1 >= end {
            continue;
        }
        let _ = write!(
            out,
            "{sep}[\"{}\",{},{},{},{}]",
            f.kind.as_str(),
            lane_index[f.from.0],
            at(f.from.1),
            lane_index[f.to.0],
            at(f.to.1)
        );
        sep = ",";
    }

    out.push_str("],\"switches\":[");
    sep = "";
    for (k, s) in t.switches.iter().enumerate() {
        if s.at < first {
            continue;
        }
        let _ = write!(out, "{sep}[{},", at(s.at));
        json::string(
            &mut out,
            &format!(
                "context switch {} of {}: {} → {}",
                k + 1,
                t.switches.len(),
                trace.actor_label(Some(s.from)),
                trace.actor_label(Some(s.to))
            ),
        );
        out.push(']');
        sep = ",";
    }
    out.push_str("],\"failure\":");
    match failure {
        Some(f) => {
            let _ = write!(out, "[{stop},");
            json::string(&mut out, f.kind);
            out.push(',');
            json::string(&mut out, f.headline);
            out.push(']');
        }
        None => out.push_str("null"),
    }
    out.push('}');
    out
}
