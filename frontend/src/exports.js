// Exports page: request an export through the API, then follow every unfinished export live.
import { api, show } from "./lib/api.js";

const POLL_MS = 1500;
const TERMINAL = new Set(["succeeded", "failed"]);
const form = document.getElementById("export-form");
const errorEl = document.getElementById("export-error");

function checked(name) {
  return [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((input) => input.value);
}

function options() {
  const visitsText = form.querySelector("#export-visits").value.trim();
  const visits = visitsText ? visitsText.split(",").map((v) => Number(v.trim())) : null;
  const imaging = form.querySelector("#export-imaging").checked;
  return {
    datasets: checked("datasets"),
    sequences: imaging ? checked("sequences") : [],
    imaging,
    segmentations: imaging,
    visits,
    layout: form.querySelector("#export-layout").value,
    resolution_mm: Number(form.querySelector("#export-resolution").value),
  };
}

function describeFields(fields) {
  return Object.entries(fields).map(([path, reasons]) => `${path}: ${reasons.join(" ")}`).join("; ");
}

form?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = form.querySelector("#export-submit");
  button.disabled = true;
  show(errorEl, "");
  try {
    await api("POST", "/api/v1/exports/", { run: Number(form.querySelector("#export-run").value), options: options() });
    window.location.reload();
  } catch (error) {
    const detail = describeFields(error.fields || {});
    show(errorEl, detail ? `The export was refused — ${detail}` : error.message);
    button.disabled = false;
  }
});

function renderRow(row, data) {
  row.dataset.status = data.status;
  const status = row.querySelector('[data-field="status"]');
  status.textContent = data.status;
  status.className = `status status-${data.status}`;
  const bar = row.querySelector(".progress");
  const percent = data.status === "succeeded" ? 100 : Math.floor(100 * (data.progress || 0));
  bar.dataset.status = data.status;
  bar.setAttribute("aria-valuenow", String(percent));
  bar.querySelector(".progress-fill").style.width = `${percent}%`;
  if (data.status === "succeeded") {
    row.querySelector('[data-field="size"]').textContent = `${(data.size_bytes / 1e6).toFixed(1)} MB`;
    const cell = row.querySelector('[data-field="download"]');
    cell.innerHTML = "";
    const link = document.createElement("a");
    link.href = data.download_url;
    link.textContent = "Download zip";
    link.setAttribute("download", "");
    cell.append(link);
  }
  if (data.status === "failed" && data.error) {
    const error = document.createElement("div");
    error.className = "error";
    error.textContent = data.error;
    status.after(error);
  }
}

async function follow(row) {
  try {
    const { data } = await api("GET", `/api/v1/exports/${row.dataset.export}/`);
    renderRow(row, data);
    if (TERMINAL.has(data.status)) return;
  } catch (error) {
    if (error.status === 404 || error.status === 403) return;
  }
  setTimeout(() => follow(row), POLL_MS);
}

document.querySelectorAll("#exports-table tr[data-export]").forEach((row) => {
  if (!TERMINAL.has(row.dataset.status)) follow(row);
});
