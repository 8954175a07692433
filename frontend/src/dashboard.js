// Cohort dashboard: Kaplan-Meier (CI bands, numbers at risk), response, waterfall, swimmer,
// spaghetti and run comparison, drawn from the statistics stored when the run completed.
import { api, readConfig, show } from "./lib/api.js";
import { OKABE_ITO, RESPONSE_COLOURS, RESPONSE_LABELS, withAlpha } from "./lib/palette.js";
import { draw, showState } from "./lib/plots.js";

const config = readConfig("dashboard-config");
const stats = config.statistics;
const DAYS_PER_MONTH = 365.25 / 12;
const fmt = (v, d = 1) => (v === null || v === undefined ? "NR" : Number(v).toFixed(d));

function kmTraces(km, name, colour, dash) {
  const c = km.curve;
  return [
    { x: c.time_months, y: c.ci_upper, type: "scatter", mode: "lines", line: { width: 0, shape: "hv" }, hoverinfo: "skip", showlegend: false },
    { x: c.time_months, y: c.ci_lower, type: "scatter", mode: "lines", line: { width: 0, shape: "hv" }, fill: "tonexty",
      fillcolor: withAlpha(colour, 0.2), name: `${name} 95% CI`, hoverinfo: "skip" },
    { x: c.time_months, y: c.survival, type: "scatter", mode: "lines", line: { color: colour, width: 2.5, shape: "hv", dash },
      name, hovertemplate: `${name}: %{y:.1%} at %{x:.1f} months<extra></extra>` },
  ];
}

function kmPlot(key, title, colour, subgroup = null) {
  const km = stats.kaplan_meier?.[key];
  const element = document.getElementById(`km-${key}`);
  if (!km) { showState(element, "No Kaplan–Meier estimate was stored for this run."); return; }
  const traces = kmTraces(km, subgroup ? "All subjects" : title, colour, "solid");
  if (subgroup) traces.push(...kmTraces(subgroup.kaplan_meier[key], subgroup.name, OKABE_ITO.reddishPurple, "dash"));
  const shapes = km.median != null ? [{ type: "line", x0: 0, x1: km.median, y0: 0.5, y1: 0.5, line: { dash: "dot", color: OKABE_ITO.grey } },
    { type: "line", x0: km.median, x1: km.median, y0: 0, y1: 0.5, line: { dash: "dot", color: OKABE_ITO.grey } }] : [];
  draw(element, traces, {
    title: { text: title, font: { size: 14 } }, height: 320, shapes,
    xaxis: { title: "Months since enrolment", rangemode: "tozero" }, yaxis: { title: "Probability", range: [0, 1.02], tickformat: ".0%" },
    legend: { orientation: "h", y: -0.25 },
  }).then(() => { element.dataset.rendered = "true"; });
  const shown = subgroup ? subgroup.kaplan_meier[key] : km;
  document.getElementById(`km-${key}-caption`).textContent = (subgroup ? `${subgroup.name}: ` : "") +
    `Median ${fmt(shown.median)} months (95% CI ${fmt(shown.ci_lower)}–${fmt(shown.ci_upper)}); ${shown.events} events in ${shown.n} subjects.` +
    Object.entries(shown.landmarks || {}).map(([k, v]) => ` ${k.replace("_", " ")}: ${v.survival == null ? "–" : (100 * v.survival).toFixed(1) + "%"}`).join(";");
  const risk = document.getElementById(`km-${key}-risk`);
  const table = document.createElement("table");
  table.className = "data compact at-risk-table";
  const caption = document.createElement("caption");
  caption.textContent = "Numbers at risk";
  const head = document.createElement("tr");
  const body = document.createElement("tr");
  head.innerHTML = "<th scope='row'>Months</th>";
  body.innerHTML = "<th scope='row'>At risk</th>";
  shown.at_risk.time_months.forEach((t, i) => {
    const th = document.createElement("th"); th.scope = "col"; th.textContent = String(t); head.append(th);
    const td = document.createElement("td"); td.textContent = String(shown.at_risk.n[i]); body.append(td);
  });
  table.append(caption, head, body);
  risk.replaceChildren(table);
}

function responsePlot() {
  const resp = stats.response;
  const element = document.getElementById("response-plot");
  if (!resp) { showState(element, "No response summary was stored."); return; }
  const levels = resp.best_response;
  draw(element, [{ type: "bar", x: levels.map((l) => l.level), y: levels.map((l) => l.percent),
    customdata: levels.map((l) => RESPONSE_LABELS[l.level] || l.level),
    marker: { color: levels.map((l) => RESPONSE_COLOURS[l.level] || OKABE_ITO.grey) }, text: levels.map((l) => `${l.n}`),
    textposition: "outside", hovertemplate: "%{customdata}: %{y:.1f}% (n=%{text})<extra></extra>" }],
  { height: 280, yaxis: { title: "% of subjects", rangemode: "tozero" } });
  const orr = resp.objective_response;
  document.getElementById("orr-text").textContent = orr.rate == null ? "" :
    `Objective response rate ${(100 * orr.rate).toFixed(1)}% (95% CI ${(100 * orr.ci_lower).toFixed(1)}–${(100 * orr.ci_upper).toFixed(1)}%), ${orr.responders} of ${orr.n}.`;
}

// The per-subject series are stored with the statistics when the run finished, as columns
// (runs.statistics.subject_plots); a large cohort is sampled there, and `sampling` says how.
function sampled(sampling) {
  if (!sampling) return "";
  return sampling.shown < sampling.of
    ? `${sampling.shown} of ${sampling.of} subjects, evenly spaced by ${sampling.ranked_by}`
    : `${sampling.of} subjects`;
}

function openSubjectOnClick(element) {
  element.on?.("plotly_click", (event) => {
    const subject = event.points?.[0]?.customdata;
    if (subject) window.location.assign(`${config.subject_url}${encodeURIComponent(subject)}/`);
  });
}

function waterfall(series) {
  const element = document.getElementById("waterfall-plot");
  const w = series.waterfall;
  if (!w.subject_id.length) { showState(element, "No subject has a measurable baseline and a follow-up scan."); return; }
  const byResponse = {};
  w.subject_id.forEach((subject, i) => { (byResponse[w.best_response[i]] ??= []).push(i); });
  const traces = Object.entries(byResponse).map(([level, rows]) => ({
    type: "bar", name: RESPONSE_LABELS[level] || level, x: rows, y: rows.map((i) => w.best_change_percent[i]),
    customdata: rows.map((i) => w.subject_id[i]), text: rows.map((i) => w.subject_id[i]),
    marker: { color: RESPONSE_COLOURS[level] || OKABE_ITO.grey }, hovertemplate: "%{text}: %{y:.0f}%<extra></extra>",
  }));
  draw(element, traces, {
    height: 320, bargap: 0.1, xaxis: { showticklabels: false, title: `Subjects (${sampled(w.sampling)})` },
    yaxis: { title: "Best change in SPD (%)" },
    shapes: [-50, 25].map((y) => ({ type: "line", xref: "paper", x0: 0, x1: 1, y0: y, y1: y, line: { dash: "dash", color: OKABE_ITO.black, width: 1 } })),
    legend: { orientation: "h", y: -0.2 },
  }).then(() => openSubjectOnClick(element));
}

function swimmer(series) {
  const element = document.getElementById("swimmer-plot");
  const s = series.swimmer;
  if (!s.subject_id.length) { showState(element, "No subjects."); return; }
  const names = s.subject_id;
  const where = (test) => names.map((_, i) => i).filter(test);
  const progressed = where((i) => s.pfs_event[i]);
  const died = where((i) => s.os_event[i]);
  const alive = where((i) => !s.os_event[i]);
  const traces = [
    { type: "bar", orientation: "h", y: names, x: s.os_months, name: "Time on study (OS)", customdata: names,
      marker: { color: withAlpha(OKABE_ITO.blue, 0.55) }, hovertemplate: "%{y}: %{x:.1f} months<extra></extra>" },
    { type: "scatter", mode: "markers", y: progressed.map((i) => names[i]), x: progressed.map((i) => s.pfs_months[i]), name: "Progression",
      marker: { symbol: "diamond", size: 9, color: OKABE_ITO.vermillion }, hovertemplate: "%{y}: progression at %{x:.1f} months<extra></extra>" },
    { type: "scatter", mode: "markers", y: died.map((i) => names[i]), x: died.map((i) => s.os_months[i]), name: "Death",
      marker: { symbol: "x", size: 9, color: OKABE_ITO.black } },
    { type: "scatter", mode: "markers", y: alive.map((i) => names[i]), x: alive.map((i) => s.os_months[i]), name: "Alive at last follow-up",
      marker: { symbol: "triangle-right", size: 10, color: OKABE_ITO.bluishGreen } },
  ];
  const responses = names.flatMap((name, i) => s.response_months[i].map((month) => [name, month]));
  if (responses.length) traces.push({ type: "scatter", mode: "markers", y: responses.map(([name]) => name), x: responses.map(([, month]) => month),
    name: "Response (CR/PR)", marker: { symbol: "circle-open", size: 8, color: OKABE_ITO.bluishGreen } });
  draw(element, traces, { height: Math.max(320, 14 * names.length + 120), barmode: "overlay",
    xaxis: { title: `Months since enrolment (${sampled(s.sampling)})` }, yaxis: { automargin: true, tickfont: { size: 10 } },
    legend: { orientation: "h", y: -0.12 } }).then(() => openSubjectOnClick(element));
}

function spaghetti(series) {
  const element = document.getElementById("spaghetti-plot");
  const sp = series.spaghetti;
  if (!sp.subject_id.length) { showState(element, "No imaging visits."); return; }
  const traces = sp.subject_id.map((subject, i) => ({ type: "scatter", mode: "lines", x: sp.day[i].map((d) => d / DAYS_PER_MONTH), y: sp.tumour_ml[i],
    line: { color: withAlpha(OKABE_ITO.blue, 0.35), width: 1 }, name: subject, showlegend: false,
    hovertemplate: `${subject}: %{y:.1f} ml at %{x:.1f} months<extra></extra>` }));
  const traj = stats.trajectories || [];
  if (traj.length) {
    traces.push({ type: "scatter", mode: "lines+markers", name: "Cohort median (enhancing + necrosis)",
      x: traj.map((t) => (t.day_median || 0) / DAYS_PER_MONTH),
      y: traj.map((t) => (t.enhancing_ml?.median || 0) + (t.necrosis_ml?.median || 0)), line: { color: OKABE_ITO.vermillion, width: 3 } });
  }
  draw(element, traces, { height: 320, xaxis: { title: `Months since enrolment (${sampled(sp.sampling)})` },
    yaxis: { title: "Tumour core volume (ml)", rangemode: "tozero" }, legend: { orientation: "h", y: -0.2 } });
}

async function subjectPlots() {
  try {
    const response = await fetch(config.series_url, { credentials: "same-origin" });
    const body = await response.json().catch(() => null);
    if (!response.ok) throw new Error(body?.error?.message || `The subject series could not be loaded (${response.status}).`);
    waterfall(body);
    swimmer(body);
    spaghetti(body);
  } catch (error) {
    ["waterfall-plot", "swimmer-plot", "spaghetti-plot"].forEach((id) => showState(document.getElementById(id), error.message, "error"));
  }
}

function compare() {
  const formEl = document.getElementById("compare-form");
  if (!formEl) return;
  const out = document.getElementById("compare-result");
  formEl.addEventListener("submit", async (event) => {
    event.preventDefault();
    const b = formEl.elements.b.value;
    out.textContent = "Comparing…";
    try {
      const { data } = await api("GET", `/api/v1/runs/compare/?a=${config.run}&b=${b}`);
      const c = data.comparison;
      const row = (label, a, bb, p) => `<tr><th scope="row">${label}</th><td>${a}</td><td>${bb}</td><td>${p ?? ""}</td></tr>`;
      const med = (m) => `${fmt(m.median)} (${fmt(m.ci_lower)}–${fmt(m.ci_upper)})`;
      const orr = (o) => (o.rate == null ? "–" : `${(100 * o.rate).toFixed(1)}%`);
      out.innerHTML = `<table class="data compact"><thead><tr><th></th><th scope="col">This run (#${config.run})</th><th scope="col">Run #${b}</th><th scope="col">Log-rank p</th></tr></thead><tbody>` +
        row("Median OS, months (95% CI)", med(c.os.a), med(c.os.b), c.os.logrank_p?.toFixed(4)) +
        row("Median PFS, months (95% CI)", med(c.pfs.a), med(c.pfs.b), c.pfs.logrank_p?.toFixed(4)) +
        row("Objective response", orr(c.objective_response.a), orr(c.objective_response.b)) +
        row("Mean age", fmt(c.age_mean.a), fmt(c.age_mean.b)) +
        row("Male", orr({ rate: c.male_fraction.a }), orr({ rate: c.male_fraction.b })) + "</tbody></table>";
    } catch (error) {
      out.textContent = `The comparison failed: ${error.message}`;
    }
  });
}

function subgroupFilter() {
  const select = document.getElementById("subgroup-filter");
  const statusEl = document.getElementById("subgroup-status");
  select.addEventListener("change", async () => {
    if (!select.value) {
      kmPlot("os", "Overall survival", OKABE_ITO.blue);
      kmPlot("pfs", "Progression-free survival", OKABE_ITO.orange);
      statusEl.textContent = "";
      return;
    }
    const [covariate, level] = select.value.split("=");
    statusEl.textContent = "Computing the subgroup…";
    try {
      const query = new URLSearchParams({ covariate, level });
      const { data } = await api("GET", `${config.subgroup_url}?${query}`);
      const subgroup = { ...data, name: `${covariate.replace(/_/g, " ")} = ${level}` };
      kmPlot("os", "Overall survival", OKABE_ITO.blue, subgroup);
      kmPlot("pfs", "Progression-free survival", OKABE_ITO.orange, subgroup);
      statusEl.textContent = `Showing ${subgroup.name} (n = ${data.n}) against all subjects.`;
    } catch (error) {
      statusEl.textContent = `The subgroup could not be computed: ${error.message}`;
    }
  });
}

try {
  kmPlot("os", "Overall survival", OKABE_ITO.blue);
  kmPlot("pfs", "Progression-free survival", OKABE_ITO.orange);
  responsePlot();
} catch (error) {
  show(document.getElementById("dashboard-error"), `A chart could not be drawn: ${error.message}`);
}
subjectPlots();
compare();
subgroupFilter();
