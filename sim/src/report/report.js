// Draws the timeline of a corosim report from the page's JSON (#timeline-data): a lane
// per task, its polls, waits and runnable spans, the events as ticks, arrows for wakes,
// messages and spawns, the context switches and the failure. Zoom: the buttons, + and -,
// or ctrl + wheel; scroll sideways to move. Loads nothing.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("timeline-data").textContent);
  var root = document.getElementById("timeline");
  var ROW = 26, AXIS = 30, PAD = 6, GAP = data.gap;
  var PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948",
    "#b07aa1", "#ff9da7", "#9c755f", "#79706e"];
  var ENTITIES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" };
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) { return ENTITIES[c]; });
  }
  function num(v) { return Math.round(v * 10) / 10; }

  // Rows: a header per group when there are several (hosts), then the group's lanes.
  var groups = [];
  data.lanes.forEach(function (l) { if (groups.indexOf(l[1]) < 0) { groups.push(l[1]); } });
  var rows = [], laneRow = [], lastGroup = null;
  data.lanes.forEach(function (l, i) {
    if (groups.length > 1 && l[1] !== lastGroup) { rows.push({ group: l[1] }); lastGroup = l[1]; }
    laneRow[i] = rows.length;
    rows.push({ lane: i });
  });
  var height = AXIS + rows.length * ROW + PAD;
  var longest = 8;
  data.lanes.forEach(function (l) { longest = Math.max(longest, Math.min(l[0].length, 32)); });
  var labelWidth = Math.round(longest * 7.3 + 28);
  function laneTop(i) { return AXIS + laneRow[i] * ROW; }
  function laneMid(i) { return laneTop(i) + ROW / 2; }
  function colour(i) {
    return data.lanes[i][0] === "runtime" ? "#90a4ae" : PALETTE[i % PALETTE.length];
  }

  var byLane = data.lanes.map(function () { return { slices: [], marks: [] }; });
  data.slices.forEach(function (s) { byLane[s[0]].slices.push(s); });
  data.marks.forEach(function (m) { byLane[m[0]].marks.push(m); });

  var labels = ["<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + labelWidth +
    "\" height=\"" + height + "\">"];
  labels.push("<text class=\"tick-label\" x=\"8\" y=\"18\">virtual time →</text>");
  rows.forEach(function (r, k) {
    var y = AXIS + k * ROW;
    if (r.group !== undefined) {
      labels.push("<text class=\"group-label\" x=\"8\" y=\"" + (y + 17) + "\">" + esc(r.group) + "</text>");
      return;
    }
    var name = data.lanes[r.lane][0];
    var shown = name.length > 32 ? name.slice(0, 31) + "…" : name;
    labels.push("<g class=\"lane-name\"><rect x=\"8\" y=\"" + (y + 8) + "\" width=\"10\" height=\"10\" rx=\"2\" fill=\"" +
      colour(r.lane) + "\"></rect><text class=\"lane-label\" x=\"24\" y=\"" + (y + 17) + "\">" +
      esc(shown) + "</text><title>" + esc(name) + "</title></g>");
  });
  labels.push("</svg>");
  root.innerHTML = "<div class=\"tl-labels\">" + labels.join("") + "</div><div class=\"tl-scroll\"></div>";
  var scroller = root.querySelector(".tl-scroll");

  var show = { wake: true, message: true, spawn: true, marks: true };
  function fit() { return Math.max(0.05, (scroller.clientWidth - 16) / data.cols); }
  var scale = Math.min(40, Math.max(4, fit()));

  function render() {
    var width = Math.ceil(data.cols * scale) + 16;
    function x(c) { return num(c * scale); }
    var out = ["<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + width + "\" height=\"" + height + "\">"];
    out.push("<defs>" +
      "<pattern id=\"hatch-wait\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">" +
      "<rect width=\"6\" height=\"6\" fill=\"#eceff1\"></rect><rect width=\"3\" height=\"6\" fill=\"#b0bec5\"></rect></pattern>" +
      "<pattern id=\"hatch-blocked\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">" +
      "<rect width=\"6\" height=\"6\" fill=\"#ffebee\"></rect><rect width=\"3\" height=\"6\" fill=\"#e57373\"></rect></pattern>");
    [["wake", "#1565c0"], ["message", "#2e7d32"], ["spawn", "#8e24aa"]].forEach(function (k) {
      out.push("<marker id=\"arrow-" + k[0] + "\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" " +
        "markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0L10,5L0,10z\" fill=\"" + k[1] + "\"></path></marker>");
    });
    out.push("</defs>");

    out.push("<g class=\"lane-bgs\">");
    data.lanes.forEach(function (l, i) {
      out.push("<rect class=\"lane-bg\" x=\"0\" y=\"" + laneTop(i) + "\" width=\"" + width + "\" height=\"" + ROW + "\"></rect>");
    });
    out.push("</g>");

    // The axis: a tick where each virtual instant starts, a gap where the clock moved.
    out.push("<g class=\"axis\">");
    var lastLabel = -1e9;
    data.ticks.forEach(function (t, k) {
      var tx = x(t[0]);
      if (k > 0) {
        out.push("<rect class=\"gap\" x=\"" + x(t[0] - GAP) + "\" y=\"" + AXIS + "\" width=\"" + num(GAP * scale) +
          "\" height=\"" + (height - AXIS - PAD) + "\"><title>the clock moves to " + esc(t[1]) + "</title></rect>");
      }
      out.push("<line class=\"tick\" x1=\"" + tx + "\" y1=\"" + (AXIS - 8) + "\" x2=\"" + tx + "\" y2=\"" + AXIS + "\"></line>");
      if (tx - lastLabel >= 84) {
        out.push("<text class=\"tick-label\" x=\"" + (tx + 3) + "\" y=\"" + (AXIS - 11) + "\">" + esc(t[1]) + "</text>");
        lastLabel = tx;
      }
    });
    out.push("</g>");

    out.push("<g class=\"switches\">");
    data.switches.forEach(function (s) {
      var sx = x(s[0]);
      out.push("<g class=\"switch\"><line class=\"switch-line\" x1=\"" + sx + "\" y1=\"" + (AXIS - 4) + "\" x2=\"" + sx +
        "\" y2=\"" + (height - PAD) + "\"></line><path class=\"switch-tick\" d=\"M" + (sx - 4) + "," + (AXIS - 7) +
        "L" + (sx + 4) + "," + (AXIS - 7) + "L" + sx + "," + (AXIS - 1) + "z\"></path><title>" + esc(s[1]) +
        "</title></g>");
    });
    out.push("</g>");

    out.push("<g class=\"lanes\">");
    data.lanes.forEach(function (l, i) {
      var top = laneTop(i);
      out.push("<g class=\"lane\" data-lane=\"" + esc(l[0]) + "\" transform=\"translate(0," + top + ")\">");
      byLane[i].slices.forEach(function (s) {
        var x0 = x(s[1]), w = Math.max(1, num((s[2] - s[1]) * scale)), kind = s[3], open = s[5] === 1;
        var attrs;
        if (kind === "poll") {
          attrs = "y=\"4\" height=\"" + (ROW - 8) + "\" fill=\"" + colour(i) + "\"";
        } else if (kind === "wait") {
          attrs = "y=\"8\" height=\"" + (ROW - 16) + "\"";
        } else if (kind === "runnable") {
          attrs = "y=\"" + (ROW / 2 - 1) + "\" height=\"2\"";
        } else {
          attrs = "y=\"6\" height=\"" + (ROW - 12) + "\"";
        }
        var title = kind === "wait" ? (open ? "blocked: waits on " : "waits on ") + s[4] : s[4];
        out.push("<rect class=\"slice " + kind + (open ? " open" : "") + "\" x=\"" + x0 + "\" width=\"" + w + "\" " +
          attrs + "><title>" + esc(title) + "</title></rect>");
        if (kind === "wait" && w > s[4].length * 6.6 + 8) {
          out.push("<text class=\"slice-label\" x=\"" + num(x0 + 4) + "\" y=\"" + (ROW / 2 + 4) + "\">" + esc(s[4]) + "</text>");
        }
      });
      if (show.marks) {
        byLane[i].marks.forEach(function (m) {
          var mx = x(m[1] + 0.5);
          out.push("<line class=\"mark " + m[2] + "\" x1=\"" + mx + "\" y1=\"2\" x2=\"" + mx + "\" y2=\"" + (ROW - 2) +
            "\"><title>" + esc(m[3]) + "</title></line>");
        });
      }
      out.push("</g>");
    });
    out.push("</g>");

    out.push("<g class=\"flows\">");
    data.flows.forEach(function (f) {
      if (!show[f[0]]) { return; }
      var x1 = x(f[2] + 0.5), y1 = laneMid(f[1]), x2 = x(f[4] + 0.5), y2 = laneMid(f[3]);
      var d;
      if (y1 === y2) {
        d = "M" + x1 + "," + (y1 - 4) + "C" + x1 + "," + (y1 - ROW) + " " + x2 + "," + (y2 - ROW) + " " + x2 + "," + (y2 - 4);
      } else {
        var dx = num(Math.max(6, (x2 - x1) / 2));
        d = "M" + x1 + "," + y1 + "C" + num(x1 + dx) + "," + y1 + " " + num(x2 - dx) + "," + y2 + " " + x2 + "," + y2;
      }
      out.push("<path class=\"flow " + f[0] + "\" d=\"" + d + "\" marker-end=\"url(#arrow-" + f[0] + ")\"><title>" +
        esc(f[0] + ": " + data.lanes[f[1]][0] + " → " + data.lanes[f[3]][0]) + "</title></path>");
    });
    out.push("</g>");

    if (data.failure) {
      var fx = x(data.failure[0]);
      // The label goes left of the marker when it would not fit on its right.
      var right = fx + 8 + data.failure[1].length * 7.5 < width;
      out.push("<g id=\"failure-marker\" class=\"failure-marker\" data-kind=\"" + esc(data.failure[1]) + "\"><line x1=\"" + fx + "\" y1=\"" +
        (AXIS - 22) + "\" x2=\"" + fx + "\" y2=\"" + (height - PAD) + "\"></line><text x=\"" +
        num(right ? fx + 5 : fx - 5) + "\" y=\"" + (AXIS - 14) + "\" text-anchor=\"" + (right ? "start" : "end") + "\">" +
        esc(data.failure[1]) + "</text><title>" + esc(data.failure[2]) + "</title></g>");
    }
    out.push("</svg>");
    scroller.innerHTML = out.join("");
  }

  function zoom(factor, clientX) {
    var box = scroller.getBoundingClientRect();
    var anchor = clientX === undefined ? scroller.clientWidth / 2 : clientX - box.left;
    var col = (scroller.scrollLeft + anchor) / scale;
    scale = Math.min(80, Math.max(Math.min(fit(), 1), scale * factor));
    render();
    scroller.scrollLeft = col * scale - anchor;
  }
  document.getElementById("zoom-in").addEventListener("click", function () { zoom(1.5); });
  document.getElementById("zoom-out").addEventListener("click", function () { zoom(1 / 1.5); });
  document.getElementById("zoom-fit").addEventListener("click", function () { scale = fit(); render(); });
  scroller.addEventListener("wheel", function (e) {
    if (!e.ctrlKey && !e.metaKey) { return; }
    e.preventDefault();
    zoom(e.deltaY < 0 ? 1.25 : 0.8, e.clientX);
  }, { passive: false });
  document.addEventListener("keydown", function (e) {
    if (e.target && e.target.tagName === "INPUT") { return; }
    if (e.key === "+" || e.key === "=") { zoom(1.5); }
    if (e.key === "-") { zoom(1 / 1.5); }
  });
  [["show-wakes", "wake"], ["show-messages", "message"], ["show-spawns", "spawn"], ["show-marks", "marks"]]
    .forEach(function (b) {
      document.getElementById(b[0]).addEventListener("change", function (e) {
        show[b[1]] = e.target.checked;
        render();
      });
    });

  render();
  // Open at the end of the run, where it failed.
  scroller.scrollLeft = scroller.scrollWidth;
  document.body.setAttribute("data-timeline", "drawn");
})();
