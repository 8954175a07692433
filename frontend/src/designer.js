// Cohort designer: a form generated from the simulation's spec JSON Schema, presets, inline
// validation from the API's 400 errors, a live preview of the demographics, save and launch.
import { api, readConfig, show } from "./lib/api.js";
import { OKABE_ITO, SERIES } from "./lib/palette.js";
import { draw } from "./lib/plots.js";

const config = readConfig("designer-config");
const form = document.getElementById("designer-form");
const fieldsRoot = document.getElementById("spec-fields");
const summary = document.getElementById("form-summary");
const statusLine = document.getElementById("designer-status");
const SKIP = new Set(["spec_version"]);
const LEVEL_LABELS = {
  M: "Male", F: "Female", gtr: "Gross total", str: "Subtotal", biopsy: "Biopsy",
  white: "White", black: "Black", asian: "Asian", american_indian_alaska_native: "American Indian / Alaska Native",
  native_hawaiian_pacific_islander: "Native Hawaiian / Pacific Islander", other: "Other",
  hispanic_or_latino: "Hispanic or Latino", not_hispanic_or_latino: "Not Hispanic or Latino",
  gbm_newly_diagnosed: "Newly diagnosed GBM", gbm_recurrent: "Recurrent GBM",
};
const FIELD_LABELS = {
  median_years: "Median (years)", sd_years: "SD (years)", age_min_years: "Minimum age (years)",
  age_max_years: "Maximum age (years)", kps_min: "Minimum KPS", mgmt_methylated: "MGMT methylated (fraction)",
  idh_mutant: "IDH-mutant (fraction)", name: "Name", age_median_years: "Median age (years)",
  male_fraction: "Male fraction", sequences: "Sequences",
};
const idFor = (path) => "f-" + path.replace(/[^a-z0-9]+/gi, "-");
const errIdFor = (path) => "err-" + path.replace(/[^a-z0-9]+/gi, "-");

function getPath(object, parts) {
  return parts.reduce((value, key) => (value == null ? undefined : value[key]), object);
}
function setPath(object, parts, value) {
  let cursor = object;
  parts.slice(0, -1).forEach((key) => { cursor[key] ??= {}; cursor = cursor[key]; });
  cursor[parts[parts.length - 1]] = value;
}
function isProportions(schema) {
  const props = Object.values(schema.properties || {});
  return schema.type === "object" && props.length > 0 && schema.additionalProperties === false &&
    props.every((p) => p.type === "number" && p.minimum === 0 && p.maximum === 1) &&
    String(schema.description || "").includes("sum to 1");
}
function labelFor(key, schema) {
  return FIELD_LABELS[key] || LEVEL_LABELS[key] || schema.title || key.replace(/_/g, " ");
}

function errorSlot(path) {
  const slot = document.createElement("p");
  slot.className = "field-error";
  slot.id = errIdFor(path);
  slot.hidden = true;
  return slot;
}

// --- Building the form from the schema ------------------------------------------------------

function scalarInput(path, key, schema) {
  const wrap = document.createElement("div");
  wrap.className = "field";
  const label = document.createElement("label");
  label.htmlFor = idFor(path);
  label.textContent = labelFor(key, schema);
  let input;
  if (schema.enum) {
    input = document.createElement("select");
    schema.enum.forEach((value) => input.append(new Option(LEVEL_LABELS[value] || String(value).replace(/_/g, " "), value)));
    input.dataset.kind = typeof schema.enum[0] === "number" ? "number" : "string";
  } else if (key === "regimen" && path === "regimen") {
    input = document.createElement("select");
    (config.regimens || []).forEach((r) => input.append(new Option(`${r.name} — ${r.description}`, r.name)));
    input.dataset.kind = "string";
  } else if (schema.type === "integer" || schema.type === "number") {
    input = document.createElement("input");
    input.type = "number";
    input.inputMode = "decimal";
    if (schema.minimum !== undefined) input.min = schema.minimum;
    if (schema.exclusiveMinimum !== undefined) input.min = schema.exclusiveMinimum;
    if (schema.maximum !== undefined) input.max = schema.maximum;
    input.step = schema.type === "integer" ? "1" : "any";
    input.dataset.kind = schema.type;
  } else {
    input = document.createElement("input");
    input.type = "text";
    if (schema.maxLength) input.maxLength = schema.maxLength;
    input.dataset.kind = "string";
  }
  input.id = idFor(path);
  input.name = path;
  input.dataset.path = path;
  input.setAttribute("aria-describedby", errIdFor(path));
  if (schema.description) input.title = schema.description;
  wrap.append(label, input, errorSlot(path));
  return wrap;
}

function arrayInput(path, key, schema) {
  const set = document.createElement("fieldset");
  set.className = "checks";
  set.dataset.path = path;
  set.dataset.kind = "array";
  const legend = document.createElement("legend");
  legend.textContent = labelFor(key, schema);
  set.append(legend);
  (schema.items.enum || []).forEach((value) => {
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.value = value;
    box.dataset.arrayOf = path;
    label.append(box, ` ${value}`);
    set.append(label);
  });
  set.append(errorSlot(path));
  return set;
}

function objectFieldset(path, key, schema) {
  const set = document.createElement("fieldset");
  set.dataset.path = path;
  const legend = document.createElement("legend");
  legend.textContent = schema.title || labelFor(key, schema);
  set.append(legend);
  if (isProportions(schema)) {
    set.classList.add("proportions");
    set.dataset.kind = "proportions";
    const grid = document.createElement("div");
    grid.className = "prop-grid";
    for (const [name, sub] of Object.entries(schema.properties)) {
      grid.append(scalarInput(`${path}.${name}`, name, sub));
    }
    const sum = document.createElement("output");
    sum.className = "prop-sum";
    sum.id = idFor(path) + "-sum";
    set.append(grid, sum);
  } else {
    const grid = document.createElement("div");
    grid.className = "field-grid";
    for (const [name, sub] of Object.entries(schema.properties || {})) {
      grid.append(buildField(`${path}.${name}`, name, sub));
    }
    set.append(grid);
  }
  set.append(errorSlot(path));
  return set;
}

function jsonField(path, key, schema) {
  const wrap = document.createElement("details");
  wrap.className = "advanced";
  const summaryEl = document.createElement("summary");
  summaryEl.textContent = `${schema.title || key} (advanced, JSON)`;
  const label = document.createElement("label");
  label.htmlFor = idFor(path);
  label.textContent = "Definitions as JSON: name → regimen";
  const area = document.createElement("textarea");
  area.id = idFor(path);
  area.rows = 4;
  area.dataset.path = path;
  area.dataset.kind = "json";
  area.setAttribute("aria-describedby", errIdFor(path));
  wrap.append(summaryEl, label, area, errorSlot(path));
  return wrap;
}

function buildField(path, key, schema) {
  if (schema.type === "object" && schema.properties) return objectFieldset(path, key, schema);
  if (schema.type === "object") return jsonField(path, key, schema);
  if (schema.type === "array" && schema.items && schema.items.enum) return arrayInput(path, key, schema);
  return scalarInput(path, key, schema);
}

function buildForm(schema) {
  fieldsRoot.innerHTML = "";
  const basics = document.createElement("fieldset");
  basics.innerHTML = "<legend>Cohort</legend>";
  const grid = document.createElement("div");
  grid.className = "field-grid";
  basics.append(grid);
  fieldsRoot.append(basics);
  for (const [key, sub] of Object.entries(schema.properties)) {
    if (SKIP.has(key)) continue;
    const field = buildField(key, key, sub);
    if (field.tagName === "DIV") grid.append(field); else fieldsRoot.append(field);
  }
}

// --- Values ------------------------------------------------------------------------------------

function defaultsOf(schema) {
  const out = {};
  for (const [key, sub] of Object.entries(schema.properties || {})) {
    if (sub.default !== undefined) out[key] = structuredClone(sub.default);
    if (sub.type === "object" && sub.properties) {
      const nested = defaultsOf(sub);
      if (Object.keys(nested).length) out[key] = { ...nested, ...(out[key] || {}) };
    }
  }
  return out;
}

function deepMerge(base, over) {
  if (Array.isArray(over) || typeof over !== "object" || over === null) return structuredClone(over);
  const out = { ...(typeof base === "object" && base && !Array.isArray(base) ? base : {}) };
  for (const [key, value] of Object.entries(over)) out[key] = deepMerge(out[key], value);
  return out;
}

function fill(spec) {
  form.querySelectorAll("[data-path]").forEach((el) => {
    const parts = el.dataset.path.split(".");
    const value = getPath(spec, parts);
    if (el.dataset.kind === "json") {
      el.value = value && Object.keys(value).length ? JSON.stringify(value, null, 2) : "";
    } else if (el.dataset.kind === "array") {
      el.querySelectorAll("input[type=checkbox]").forEach((box) => { box.checked = (value || []).includes(box.value); });
    } else if (el.tagName === "INPUT" || el.tagName === "SELECT") {
      el.value = value === undefined || value === null ? "" : String(value);
    }
  });
  updateSums();
}

function collect() {
  const spec = {};
  let jsonError = null;
  form.querySelectorAll("#spec-fields [data-path]").forEach((el) => {
    const parts = el.dataset.path.split(".");
    if (el.dataset.kind === "proportions") return;
    if (el.dataset.kind === "array") {
      setPath(spec, parts, [...el.querySelectorAll("input:checked")].map((box) => box.value));
      return;
    }
    if (el.dataset.kind === "json") {
      if (!el.value.trim()) return;
      try { setPath(spec, parts, JSON.parse(el.value)); } catch { jsonError = el.dataset.path; }
      return;
    }
    if (el.tagName !== "INPUT" && el.tagName !== "SELECT") return;
    if (el.value === "") return;
    const kind = el.dataset.kind;
    setPath(spec, parts, kind === "integer" || kind === "number" ? Number(el.value) : el.value);
  });
  return { spec, jsonError };
}

function updateSums() {
  form.querySelectorAll("fieldset.proportions").forEach((set) => {
    const total = [...set.querySelectorAll("input")].reduce((sum, input) => sum + (Number(input.value) || 0), 0);
    const out = set.querySelector(".prop-sum");
    const ok = Math.abs(total - 1) < 1e-6;
    out.textContent = `Sum ${total.toFixed(3)}${ok ? " ✓" : " — must be 1"}`;
    out.classList.toggle("bad", !ok);
  });
}

// --- Errors from the API --------------------------------------------------------------------------

function clearErrors() {
  form.querySelectorAll(".field-error").forEach((slot) => { slot.hidden = true; slot.textContent = ""; });
  form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
  summary.hidden = true;
  summary.innerHTML = "";
}

function showErrors(fields, message) {
  clearErrors();
  const unplaced = [];
  let first = null;
  for (const [rawPath, reasons] of Object.entries(fields || {})) {
    const path = rawPath.replace(/^data\.?/, "").replace(/\[(\d+)\]/g, ".$1");
    let slot = null;
    let parts = path ? path.split(".") : [];
    while (parts.length && !slot) {
      slot = document.getElementById(errIdFor(parts.join(".")));
      if (!slot) parts = parts.slice(0, -1);
    }
    const text = reasons.join(" ");
    if (slot) {
      slot.textContent = slot.textContent ? `${slot.textContent} ${text}` : text;
      slot.hidden = false;
      const field = document.getElementById(idFor(parts.join("."))) || form.querySelector(`[data-path="${parts.join(".")}"]`);
      if (field) {
        const targets = field.tagName === "FIELDSET" ? field.querySelectorAll("input, select, textarea") : [field];
        targets.forEach((el) => el.setAttribute("aria-invalid", "true"));
        field.setAttribute("aria-invalid", "true");
      }
      first ??= field;
    } else {
      unplaced.push(`${path || rawPath}: ${text}`);
    }
  }
  if (message || unplaced.length) {
    summary.hidden = false;
    const p = document.createElement("p");
    p.textContent = message || "Please correct the fields marked below.";
    summary.append(p);
    if (unplaced.length) {
      const ul = document.createElement("ul");
      unplaced.forEach((line) => { const li = document.createElement("li"); li.textContent = line; ul.append(li); });
      summary.append(ul);
    }
  }
  return first;
}

// --- Preview ------------------------------------------------------------------------------------------

function normalPdf(x, mu, sd) { return Math.exp(-0.5 * ((x - mu) / sd) ** 2) / (sd * Math.sqrt(2 * Math.PI)); }

function preview(spec) {
  const full = deepMerge(defaultsOf(config.schema), spec);
  const age = full.demographics?.age || {};
  const elig = full.eligibility || {};
  const lo = Number(elig.age_min_years ?? 18);
  const hi = Number(elig.age_max_years ?? 70);
  const mu = Number(age.median_years ?? 56);
  const sd = Math.max(Number(age.sd_years ?? 10), 0.1);
  const xs = [];
  const ys = [];
  for (let x = 18; x <= 100; x += 0.5) { xs.push(x); ys.push(x >= lo && x <= hi ? normalPdf(x, mu, sd) : 0); }
  const area = ys.reduce((a, b) => a + b, 0) * 0.5 || 1;
  draw(document.getElementById("preview-age"), [{
    x: xs, y: ys.map((y) => y / area), type: "scatter", mode: "lines", fill: "tozeroy",
    line: { color: OKABE_ITO.blue }, name: "Age", hovertemplate: "%{x} y<extra></extra>",
  }], { title: { text: `Age at diagnosis (eligible ${lo}–${hi} y)`, font: { size: 13 } }, height: 200,
        xaxis: { title: "years" }, yaxis: { title: "density", showticklabels: false }, margin: { l: 40, r: 10, t: 30, b: 40 } });
  const groups = [
    ["Sex", full.demographics?.sex || {}],
    ["Resection", full.resection || {}],
    ["MGMT methylated", { yes: full.biomarkers?.mgmt_methylated ?? 0, no: 1 - (full.biomarkers?.mgmt_methylated ?? 0) }],
    ["IDH-mutant", { yes: full.biomarkers?.idh_mutant ?? 0, no: 1 - (full.biomarkers?.idh_mutant ?? 0) }],
    ["KPS", full.demographics?.kps || {}],
  ];
  const levels = [...new Set(groups.flatMap(([, values]) => Object.keys(values)))];
  const traces = levels.map((level, i) => ({
    type: "bar", orientation: "h", name: LEVEL_LABELS[level] || level,
    y: groups.map(([name]) => name),
    x: groups.map(([, values]) => 100 * (Number(values[level]) || 0)),
    marker: { color: SERIES[i % SERIES.length] },
    hovertemplate: `${LEVEL_LABELS[level] || level}: %{x:.1f}%<extra>%{y}</extra>`,
  }));
  draw(document.getElementById("preview-mix"), traces, {
    barmode: "stack", height: 240, showlegend: false, xaxis: { title: "%", range: [0, 100] },
    margin: { l: 130, r: 10, t: 10, b: 40 }, yaxis: { automargin: true },
  });
}

// --- Validation, save, launch ----------------------------------------------------------------

let validateTimer = null;
let validateSeq = 0;

async function validateNow() {
  const { spec, jsonError } = collect();
  preview(spec);
  if (jsonError) { showErrors({ [jsonError]: ["is not valid JSON"] }); return false; }
  const seq = ++validateSeq;
  try {
    await api("POST", "/api/v1/specs/validate/", { data: spec });
    if (seq === validateSeq) { clearErrors(); show(statusLine, "The spec is valid."); }
    return true;
  } catch (error) {
    if (seq !== validateSeq) return false;
    if (error.status === 400) { showErrors(error.fields); show(statusLine, "The spec has errors: see the marked fields."); }
    else show(statusLine, error.message);
    return false;
  }
}

function scheduleValidate() {
  updateSums();
  clearTimeout(validateTimer);
  validateTimer = setTimeout(validateNow, 350);
}

async function save(launch) {
  clearTimeout(validateTimer);
  const { spec, jsonError } = collect();
  if (jsonError) { showErrors({ [jsonError]: ["is not valid JSON"] }); return; }
  const reason = document.getElementById("spec-reason")?.value || "";
  form.setAttribute("aria-busy", "true");
  show(statusLine, "Saving…");
  let saved;
  try {
    if (config.spec) {
      // In place while no run used the version; a frozen version answers 201 with the next one.
      saved = (await api("PUT", `/api/v1/specs/${config.spec}/`, { data: spec, reason })).data;
    } else {
      saved = (await api("POST", "/api/v1/specs/", { trial: config.trial, data: spec, reason })).data;
    }
  } catch (error) {
    form.removeAttribute("aria-busy");
    const first = showErrors(error.fields, error.status === 400 ? "The spec was not saved: please correct the marked fields." : error.message);
    show(statusLine, "Not saved.");
    (first || summary).focus?.();
    return;
  }
  config.spec = saved.id;
  config.frozen = saved.is_frozen;
  if (!launch) {
    form.removeAttribute("aria-busy");
    show(statusLine, `Saved as version ${saved.version}.`);
    return;
  }
  show(statusLine, `Saved as version ${saved.version}; launching…`);
  try {
    const run = (await api("POST", "/api/v1/runs/", { spec: saved.id })).data;
    window.location.assign(`/runs/${run.id}/`);
  } catch (error) {
    form.removeAttribute("aria-busy");
    showErrors(error.fields, `Saved as version ${saved.version}, but the launch failed: ${error.message}`);
    show(statusLine, "Not launched.");
  }
}

function presetButtons() {
  const row = document.getElementById("preset-buttons");
  config.presets.forEach((preset) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "secondary preset";
    button.dataset.preset = preset.key;
    button.textContent = preset.label;
    button.title = preset.source;
    button.addEventListener("click", () => {
      fill(deepMerge(defaultsOf(config.schema), preset.spec));
      syncRegimens();
      show(statusLine, `Loaded the preset “${preset.label}” (${preset.source}).`);
      scheduleValidate();
    });
    row.append(button);
  });
}

// Regimens of the other indication stay listed but cannot be chosen.
function syncRegimens() {
  const indication = document.getElementById(idFor("indication"));
  const regimen = document.getElementById(idFor("regimen"));
  if (!indication || !regimen) return;
  const byName = Object.fromEntries((config.regimens || []).map((r) => [r.name, r]));
  [...regimen.options].forEach((option) => {
    option.disabled = byName[option.value] && byName[option.value].indication !== indication.value;
  });
}

function main() {
  buildForm(config.schema);
  presetButtons();
  fill(deepMerge(defaultsOf(config.schema), config.initial));
  preview(collect().spec);
  form.addEventListener("input", scheduleValidate);
  form.addEventListener("change", (event) => {
    if (event.target.id === idFor("indication")) syncRegimens();
    scheduleValidate();
  });
  syncRegimens();
  form.addEventListener("submit", (event) => { event.preventDefault(); save(true); });
  document.getElementById("save-only").addEventListener("click", () => save(false));
  form.dataset.ready = "true";
}

main();
