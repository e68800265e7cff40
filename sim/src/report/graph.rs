//! The wait-for graph of a deadlock as a standalone SVG
//! ([`DeadlockFailure::to_svg`](crate::DeadlockFailure::to_svg)), laid out here, with
//! no Graphviz.
//!
//! Tasks are boxes and what they wait on (a resource, the end of a task) ellipses; a
//! solid arrow goes from a task to what it waits on, a dashed one from a resource to a
//! task holding it; the cycles' nodes and arrows are red. The layout is a circle: the
//! nodes of each cycle first, in cycle order with the resource between each task and
//! the next (so a cycle is drawn as a ring), then every other node in the order the
//! report lists them. The radius grows with the number of nodes and the widest label,
//! so neighbours never overlap whatever the graph's size; arrows are slightly bent so
//! that two arrows between the same pair of nodes (a task waiting on what it holds)
//! stay apart. Coordinates are rounded to whole pixels: the same failure gives the
//! same bytes.

use std::f64::consts::PI;
use std::fmt::Write as _;

use super::escape;
use crate::failure::{DeadlockFailure, TaskRef};
use crate::ids::TaskId;

/// Longest label drawn in a node (the full text is its tooltip).
const LABEL_CHARS: usize = 40;
/// Width of one character of the 12 px monospace font, in pixels.
const CHAR_PX: f64 = 7.3;
const NODE_HEIGHT: f64 = 28.0;
const MARGIN: f64 = 24.0;
/// Above this many nodes the layout does not check every pair for overlap.
const MAX_CHECKED: usize = 400;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    Task,
    Resource,
}

struct Node {
    label: String,
    shape: Shape,
    cycle: bool,
}

impl Node {
    fn shown(&self) -> String {
        if self.label.chars().count() <= LABEL_CHARS {
            self.label.clone()
        } else {
            let cut: String = self.label.chars().take(LABEL_CHARS - 1).collect();
            format!("{cut}…")
        }
    }

    /// Half the width and half the height of the node's box (or ellipse axes).
    fn half(&self) -> (f64, f64) {
        let w = self.shown().chars().count() as f64 * CHAR_PX + 16.0;
        match self.shape {
            Shape::Task => (w / 2.0, NODE_HEIGHT / 2.0),
            Shape::Resource => (w / 2.0 + 8.0, NODE_HEIGHT / 2.0 + 3.0),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum EdgeKind {
    Waits,
    HeldBy,
}

struct Edge {
    from: usize,
    to: usize,
    kind: EdgeKind,
    cycle: bool,
}

/// The graph of `d`: nodes and edges, before layout.
struct Graph {
    nodes: Vec<Node>,
    edges: Vec<Edge>,
}

/// `name#id`, as the trace and the timeline name a task.
pub(crate) fn task_label(t: &TaskRef) -> String {
    format!("{}#{}", t.name.as_deref().unwrap_or(""), t.id)
}

impl Graph {
    fn of(d: &DeadlockFailure) -> Graph {
        let mut g = Graph {
            nodes: Vec::new(),
            edges: Vec::new(),
        };
        let in_cycle = |id: TaskId| d.cycles.iter().any(|c| c.contains(&id));
        for b in &d.blocked {
            g.node(task_label(&b.task), Shape::Task, in_cycle(b.task.id));
        }
        for b in &d.blocked {
            let t = g.node(task_label(&b.task), Shape::Task, false);
            for a in &b.awaits {
                let r = g.node(a.what.clone(), Shape::Resource, false);
                g.edge(t, r, EdgeKind::Waits);
                for h in &a.held_by {
                    let h = g.node(task_label(h), Shape::Task, in_cycle(h.id));
                    g.edge(r, h, EdgeKind::HeldBy);
                }
            }
        }
        // A cycle's hop from task a to the next task b goes through what a waits on
        // that b holds.
        for c in &d.cycles {
            for (k, &a) in c.iter().enumerate() {
                let b = c[(k + 1) % c.len()];
                let Some(blocked) = d.blocked.iter().find(|x| x.task.id == a) else {
                    continue;
                };
                for aw in blocked
                    .awaits
                    .iter()
                    .filter(|aw| aw.held_by.iter().any(|h| h.id == b))
                {
                    let (ta, r) = (g.find(&task_label(&blocked.task)), g.find(&aw.what));
                    let tb = aw
                        .held_by
                        .iter()
                        .find(|h| h.id == b)
                        .and_then(|h| g.find(&task_label(h)));
                    if let (Some(ta), Some(r), Some(tb)) = (ta, r, tb) {
                        g.nodes[r].cycle = true;
                        for e in &mut g.edges {
                            if (e.from, e.to) == (ta, r) || (e.from, e.to) == (r, tb) {
                                e.cycle = true;
                            }
                        }
                    }
                }
            }
        }
        g
    }

    fn find(&self, label: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.label == label)
    }

    fn node(&mut self, label: String, shape: Shape, cycle: bool) -> usize {
        if let Some(i) = self.find(&label) {
            self.nodes[i].cycle |= cycle;
            return i;
        }
        self.nodes.push(Node {
            label,
            shape,
            cycle,
        });
        self.nodes.len() - 1
    }

    fn edge(&mut self, from: usize, to: usize, kind: EdgeKind) {
        if !self.edges.iter().any(|e| (e.from, e.to) == (from, to)) {
            self.edges.push(Edge {
                from,
                to,
                kind,
                cycle: false,
            });
        }
    }

    /// The order of the nodes around the circle: each cycle as a ring (task, what it
    /// waits on, next task, ...), then the rest in the order they were found.
    fn order(&self, d: &DeadlockFailure) -> Vec<usize> {
        let mut order: Vec<usize> = Vec::with_capacity(self.nodes.len());
        let mut placed = vec![false; self.nodes.len()];
        let mut place = |i: usize, order: &mut Vec<usize>| {
            if !placed[i] {
                placed[i] = true;
                order.push(i);
            }
        };
        for c in &d.cycles {
            for (k, &a) in c.iter().enumerate() {
                let b = c[(k + 1) % c.len()];
                let Some(blocked) = d.blocked.iter().find(|x| x.task.id == a) else {
                    continue;
                };
                if let Some(ta) = self.find(&task_label(&blocked.task)) {
                    place(ta, &mut order);
                }
                let hop = blocked
                    .awaits
                    .iter()
                    .find(|aw| aw.held_by.iter().any(|h| h.id == b));
                if let Some(r) = hop.and_then(|aw| self.find(&aw.what)) {
                    place(r, &mut order);
                }
            }
        }
        // The rest: each node followed by what it points to, so chains sit together.
        for i in 0..self.nodes.len() {
            place(i, &mut order);
            for e in self.edges.iter().filter(|e| e.from == i) {
                place(e.to, &mut order);
            }
        }
        order
    }
}

// `to_svg` lives with the drawing it calls, so `failure` (the data) does not import
// `report` (a view of it).
impl DeadlockFailure {
    /// The wait-for graph as a standalone SVG, laid out without Graphviz: tasks as
    /// boxes, what they wait on as ellipses, a solid arrow from a task to what it waits
    /// on, a dashed one from a resource to the task holding it, the cycles in red,
    /// each cycle drawn as a ring. The HTML report ([`crate::report::HtmlReport`])
    /// shows it; every arrow carries `data-edge` (`waits` or `held-by`), `data-cycle="1"`
    /// when on a cycle, and `data-from`/`data-to` with the nodes' labels (`name#id` for
    /// a task).
    ///
    /// ```
    /// let failure = sim::Builder::new().seed(2).build().block_on(async {
    ///     let lock = std::rc::Rc::new(sim::sync::Mutex::new(()));
    ///     let _held = lock.lock().await;
    ///     let again = lock.clone();
    ///     sim::spawn(async move { drop(again.lock().await) }).await.unwrap();
    /// }).unwrap_err();
    /// let sim::Failure::Deadlock(d) = failure else { panic!("a deadlock") };
    /// let svg = d.to_svg();
    /// assert!(svg.starts_with("<svg"));
    /// assert!(svg.contains("data-to=\"mutex#r0\""));
    /// ```
    pub fn to_svg(&self) -> String {
        svg(self)
    }
}

/// The wait-for graph of `d` as SVG. See the module docs.
fn svg(d: &DeadlockFailure) -> String {
    let g = Graph::of(d);
    let order = g.order(d);
    let half: Vec<(f64, f64)> = g.nodes.iter().map(Node::half).collect();
    let (rx, ry, pos) = layout(&order, &half);
    let (max_hw, max_hh) = half
        .iter()
        .fold((0.0f64, 0.0f64), |a, h| (a.0.max(h.0), a.1.max(h.1)));
    let (width, height) = (
        (2.0 * (MARGIN + max_hw + rx)).round(),
        (2.0 * (MARGIN + max_hh + ry)).round(),
    );
    let (cx, cy) = (width / 2.0, height / 2.0);
    let pos: Vec<(f64, f64)> = pos
        .iter()
        .map(|&(x, y)| ((cx + x).round(), (cy + y).round()))
        .collect();

    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"wfg\" width=\"{width}\" \
         height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" \
         aria-label=\"wait-for graph\" font-family=\"ui-monospace, SFMono-Regular, Menlo, \
         Consolas, monospace\" font-size=\"12\">"
    );
    out.push_str(
        "<defs>\
         <marker id=\"wfg-arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"8\" \
         markerHeight=\"8\" orient=\"auto-start-reverse\"><path d=\"M0,0L10,5L0,10z\" \
         fill=\"#555\"/></marker>\
         <marker id=\"wfg-arrow-cycle\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" \
         markerWidth=\"8\" markerHeight=\"8\" orient=\"auto-start-reverse\"><path \
         d=\"M0,0L10,5L0,10z\" fill=\"#c62828\"/></marker>\
         </defs>\n<g class=\"wfg-edges\">\n",
    );
    for e in &g.edges {
        let (a, b) = (pos[e.from], pos[e.to]);
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        // Bend to the right of the direction by a tenth of the length.
        let (mx, my) = ((a.0 + b.0) / 2.0 - dy * 0.1, (a.1 + b.1) / 2.0 + dx * 0.1);
        let start = boundary(&g.nodes[e.from], a, (mx, my));
        let end = boundary(&g.nodes[e.to], b, (mx, my));
        let (kind, verb) = match e.kind {
            EdgeKind::Waits => ("waits", "waits on"),
            EdgeKind::HeldBy => ("held-by", "is held by"),
        };
        let (class, colour, marker) = if e.cycle {
            (" cycle", "#c62828", "wfg-arrow-cycle")
        } else {
            ("", "#555", "wfg-arrow")
        };
        let dash = if e.kind == EdgeKind::HeldBy {
            " stroke-dasharray=\"6 4\""
        } else {
            ""
        };
        let (from, to) = (escape(&g.nodes[e.from].label), escape(&g.nodes[e.to].label));
        let cycle_attr = if e.cycle { " data-cycle=\"1\"" } else { "" };
        let _ = writeln!(
            out,
            "<path class=\"wfg-edge {kind}{class}\" data-edge=\"{kind}\"{cycle_attr} \
             data-from=\"{from}\" data-to=\"{to}\" d=\"M{:.0},{:.0} Q{:.0},{:.0} {:.0},{:.0}\" fill=\"none\" stroke=\"{colour}\" \
             stroke-width=\"{}\"{dash} marker-end=\"url(#{marker})\"><title>{from} {verb} \
             {to}</title></path>",
            start.0,
            start.1,
            mx,
            my,
            end.0,
            end.1,
            if e.cycle { 2 } else { 1 },
        );
    }
    out.push_str("</g>\n<g class=\"wfg-nodes\">\n");
    for (i, node) in g.nodes.iter().enumerate() {
        let (x, y) = pos[i];
        let (hw, hh) = node.half();
        let (stroke, fill) = if node.cycle {
            ("#c62828", "#fdecea")
        } else {
            ("#555", "#fafafa")
        };
        let (kind, shape) = match node.shape {
            Shape::Task => (
                "task",
                format!(
                    "<rect x=\"{:.0}\" y=\"{:.0}\" width=\"{:.0}\" height=\"{:.0}\" rx=\"4\" \
                     fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"1.5\"/>",
                    x - hw,
                    y - hh,
                    2.0 * hw,
                    2.0 * hh
                ),
            ),
            Shape::Resource => (
                "resource",
                format!(
                    "<ellipse cx=\"{x:.0}\" cy=\"{y:.0}\" rx=\"{hw:.0}\" ry=\"{hh:.0}\" \
                     fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"1.5\"/>"
                ),
            ),
        };
        let label = escape(&node.label);
        let _ = writeln!(
            out,
            "<g class=\"wfg-node {kind}{}\" data-node=\"{kind}\" data-label=\"{label}\">{shape}<text x=\"{x:.0}\" \
             y=\"{:.0}\" text-anchor=\"middle\" fill=\"#222\">{}</text><title>{label}</title></g>",
            if node.cycle { " cycle" } else { "" },
            y + 4.0,
            escape(&node.shown()),
        );
    }
    out.push_str("</g>\n</svg>\n");
    out
}

/// Places the nodes (`half`: their half sizes) in `order` around an ellipse half
/// again as wide as it is tall, centred on the origin: the smallest one (growing by
/// steps of 8%) on which no two nodes' boxes come closer than a gap. Returns the
/// ellipse's radii and each node's centre.
fn layout(order: &[usize], half: &[(f64, f64)]) -> (f64, f64, Vec<(f64, f64)>) {
    const GAP: f64 = 14.0;
    let n = order.len();
    let mut pos = vec![(0.0, 0.0); half.len()];
    if n < 2 {
        return (0.0, 0.0, pos);
    }
    let place = |ry: f64, pos: &mut Vec<(f64, f64)>| {
        for (k, &i) in order.iter().enumerate() {
            let angle = -PI / 2.0 + 2.0 * PI * k as f64 / n as f64;
            pos[i] = (1.5 * ry * angle.cos(), ry * angle.sin());
        }
    };
    let apart = |pos: &[(f64, f64)]| {
        (0..half.len()).all(|a| {
            (a + 1..half.len()).all(|b| {
                (pos[a].0 - pos[b].0).abs() >= half[a].0 + half[b].0 + GAP
                    || (pos[a].1 - pos[b].1).abs() >= half[a].1 + half[b].1 + GAP
            })
        })
    };
    // Neighbours sit a chord apart: start where the chord is a node's height.
    let chord = |size: f64| (size + GAP) / (2.0 * (PI / n as f64).sin());
    let max_h = half.iter().map(|h| h.1).fold(0.0, f64::max);
    let mut ry = chord(2.0 * max_h).max(60.0);
    if n > MAX_CHECKED {
        // Too many pairs to check: a chord of the widest node is always enough.
        let max_w = half.iter().map(|h| h.0).fold(0.0, f64::max);
        ry = ry.max(chord(2.0 * max_w));
        place(ry, &mut pos);
        return (1.5 * ry, ry, pos);
    }
    for _ in 0..200 {
        place(ry, &mut pos);
        if apart(&pos) {
            break;
        }
        ry *= 1.08;
    }
    (1.5 * ry, ry, pos)
}

/// Where the line from `center` of `node` towards `toward` leaves the node's shape.
fn boundary(node: &Node, center: (f64, f64), toward: (f64, f64)) -> (f64, f64) {
    let (hw, hh) = node.half();
    let (dx, dy) = (toward.0 - center.0, toward.1 - center.1);
    if dx == 0.0 && dy == 0.0 {
        return center;
    }
    let t = match node.shape {
        Shape::Task => {
            let tx = if dx == 0.0 {
                f64::INFINITY
            } else {
                hw / dx.abs()
            };
            let ty = if dy == 0.0 {
                f64::INFINITY
            } else {
                hh / dy.abs()
            };
            tx.min(ty)
        }
        Shape::Resource => 1.0 / ((dx / hw).powi(2) + (dy / hh).powi(2)).sqrt(),
    };
    let t = t.min(1.0) + 3.0 / (dx * dx + dy * dy).sqrt();
    (center.0 + dx * t.min(1.0), center.1 + dy * t.min(1.0))
}
