// Bias tab: love plot of standardised mean differences with the threshold, cohort-vs-reference
// bars, and subgroup outcome medians with their confidence intervals.
import { readConfig } from "./lib/api.js";
import { OKABE_ITO } from "./lib/palette.js";
import { draw, showState } from "./lib/plots.js";

const config = readConfig("bias-config");
const bias = config.bias || {};
const rows = bias.rows || [];
const threshold = bias.threshold ?? 0.1;
const label = (r) => (r.level && r.level !== "true" ? `${r.covariate}: ${r.level}` : r.covariate).replace(/_/g, " ");

function lovePlot() {
  const element = document.getElementById("love-plot");
  if (!rows.length) { showState(element, "No covariate has a reference to compare with."); return; }
  const sorted = [...rows].sort((a, b) => Math.abs(a.smd ?? 0) - Math.abs(b.smd ?? 0));
  const traces = [false, true].map((flag) => {
    const items = sorted.filter((r) => r.flagged === flag);
    return { type: "scatter", mode: "markers", name: flag ? `|SMD| > ${threshold}` : `|SMD| ≤ ${threshold}`,
      x: items.map((r) => r.smd), y: items.map(label),
      marker: { size: 11, symbol: flag ? "diamond" : "circle", color: flag ? OKABE_ITO.vermillion : OKABE_ITO.blue },
      hovertemplate: "%{y}: SMD %{x:.3f}<extra></extra>" };
  });
  const line = (x, dash) => ({ type: "line", yref: "paper", y0: 0, y1: 1, x0: x, x1: x, line: { color: OKABE_ITO.black, dash, width: 1 } });
  const extent = Math.max(0.25, ...rows.map((r) => Math.abs(r.smd ?? 0))) * 1.1;
  draw(element, traces, { height: Math.max(320, 24 * rows.length + 100), shapes: [line(0, "solid"), line(threshold, "dash"), line(-threshold, "dash")],
    xaxis: { title: "Standardised mean difference (cohort − reference)", range: [-extent, extent], zeroline: false },
    yaxis: { automargin: true, categoryorder: "array", categoryarray: sorted.map(label) }, legend: { orientation: "h", y: -0.15 },
    annotations: [{ x: threshold, y: 1.02, yref: "paper", text: `±${threshold}`, showarrow: false }] })
    .then(() => { element.dataset.rendered = "true"; });
}

function barsPlot() {
  const element = document.getElementById("bars-plot");
  const props = rows.filter((r) => r.statistic === "proportion");
  if (!props.length) { showState(element, "No proportions to compare."); return; }
  const names = props.map(label);
  draw(element, [
    { type: "bar", orientation: "h", name: "Cohort", y: names, x: props.map((r) => 100 * r.cohort), marker: { color: OKABE_ITO.blue },
      hovertemplate: "%{y}: %{x:.1f}%<extra>cohort</extra>" },
    { type: "bar", orientation: "h", name: "Reference", y: names, x: props.map((r) => 100 * r.target), marker: { color: OKABE_ITO.orange },
      hovertemplate: "%{y}: %{x:.1f}%<extra>reference</extra>" },
  ], { barmode: "group", height: Math.max(320, 30 * props.length + 100), xaxis: { title: "%" }, yaxis: { automargin: true, autorange: "reversed" },
    legend: { orientation: "h", y: -0.12 } });
}

function subgroupPlot() {
  const element = document.getElementById("subgroup-plot");
  const subgroups = config.subgroups || [];
  if (!subgroups.length) { showState(element, "No subgroup medians were stored."); return; }
  const endpoint = document.getElementById("subgroup-endpoint").value;
  const names = subgroups.map((s) => `${s.covariate.replace(/_/g, " ")}: ${s.level} (n=${s.n})`);
  const m = subgroups.map((s) => s[endpoint] || {});
  const median = m.map((v) => v.median);
  draw(element, [{
    type: "scatter", mode: "markers", y: names, x: median, name: "Median",
    marker: { color: OKABE_ITO.blue, size: 9, symbol: "square" },
    error_x: { type: "data", symmetric: false, array: m.map((v) => (v.ci_upper != null && v.median != null ? v.ci_upper - v.median : 0)),
      arrayminus: m.map((v) => (v.ci_lower != null && v.median != null ? v.median - v.ci_lower : 0)), color: OKABE_ITO.black },
    hovertemplate: "%{y}: %{x:.1f} months<extra></extra>",
  }], { height: Math.max(360, 22 * names.length + 100), xaxis: { title: `Median ${endpoint.toUpperCase()} (months), 95% CI`, rangemode: "tozero" },
    yaxis: { automargin: true, autorange: "reversed", tickfont: { size: 11 } } });
}

lovePlot();
barsPlot();
subgroupPlot();
document.getElementById("subgroup-endpoint").addEventListener("change", subgroupPlot);
