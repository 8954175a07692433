// Run page: polls the run status endpoint and shows progress, rate, ETA, errors and cancel.
import { api, readConfig, show } from "./lib/api.js";

const config = readConfig("run-config");
const POLL_MS = 1000;
const bar = document.getElementById("run-progress");
const fill = bar.querySelector(".progress-fill");
const text = document.getElementById("progress-text");
const statusEl = document.getElementById("run-status");
const errorEl = document.getElementById("run-error");
const messageEl = document.getElementById("run-message");
const cancelButton = document.getElementById("cancel-run");
const dashboardLink = document.getElementById("dashboard-link");
const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);
let failures = 0;

function duration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return "–";
  if (seconds < 60) return `${Math.ceil(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function render(run) {
  const percent = run.status === "succeeded" ? 100 : Math.floor(100 * (run.progress || 0));
  fill.style.width = `${percent}%`;
  text.textContent = `${percent}%`;
  bar.setAttribute("aria-valuenow", String(percent));
  bar.dataset.status = run.status;
  statusEl.textContent = run.status;
  statusEl.className = `status status-${run.status}`;
  const done = run.status === "succeeded" ? run.size : Math.min(run.size, run.chunks_done * run.chunk_size);
  document.getElementById("run-done").textContent = `${done} of ${run.size}`;
  const end = run.finished_at ? new Date(run.finished_at) : new Date();
  const elapsed = run.started_at ? (end - new Date(run.started_at)) / 1000 : NaN;
  const rate = elapsed > 0 && done > 0 ? done / elapsed : NaN;
  document.getElementById("run-rate").textContent = Number.isFinite(rate) ? `${rate.toFixed(rate < 10 ? 2 : 0)} subjects/s` : "–";
  document.getElementById("run-eta").textContent = TERMINAL.has(run.status) ? "–" :
    (Number.isFinite(rate) ? duration((run.size - done) / rate) : (run.status === "queued" ? "waiting for a worker" : "estimating…"));
  if (run.status === "failed") {
    show(errorEl, `The run failed: ${run.error || "no reason was recorded"}. Its spec is unchanged; you can launch it again.`);
  } else if (run.status === "cancelled") {
    show(errorEl, "The run was cancelled; subjects computed so far are kept but no statistics are computed.");
  } else show(errorEl, "");
  if (run.status === "succeeded") {
    show(messageEl, `Finished: ${run.size} subjects in ${duration(run.duration_s)}.`);
  } else if (run.status === "running" && run.chunks_done === run.chunks_total) {
    show(messageEl, "All subjects are simulated; computing the cohort statistics…");
  }
  if (cancelButton) cancelButton.hidden = TERMINAL.has(run.status);
  dashboardLink.hidden = run.status !== "succeeded";
}

async function poll() {
  try {
    const { data } = await api("GET", `/api/v1/runs/${config.id}/`);
    failures = 0;
    render(data);
    if (TERMINAL.has(data.status)) return;
  } catch (error) {
    failures += 1;
    show(messageEl, `${error.message} Retrying… (${failures})`);
    if (error.status === 404 || error.status === 403) return;
  }
  setTimeout(poll, Math.min(POLL_MS * 2 ** Math.max(0, failures - 1), 15000));
}

cancelButton?.addEventListener("click", async () => {
  cancelButton.disabled = true;
  show(messageEl, "Cancelling…");
  try {
    const { data } = await api("POST", `/api/v1/runs/${config.id}/cancel/`, { reason: "Cancelled from the run page" });
    render(data);
    show(messageEl, "Cancelled.");
  } catch (error) {
    show(errorEl, `The run could not be cancelled: ${error.message}`);
  } finally {
    cancelButton.disabled = false;
  }
});

poll();
