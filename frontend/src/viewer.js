// Subject viewer: NiiVue multiplanar + 3D render of a visit, baseline beside it, sequence
// switcher, segmentation overlay (toggle, opacity) and a keyboard-steppable visit timeline.
// Volumes come from the authenticated, Range-capable volume endpoint; 202 means "rendering".
import { Niivue, NVImage, SHOW_RENDER, SLICE_TYPE } from "@niivue/niivue";
import { readConfig } from "./lib/api.js";

const config = readConfig("viewer-config");
const RETRY_MS = 1000;
const MAX_WAIT_MS = 180000;
// BraTS labels 1 necrotic core, 2 oedema, 3 enhancing, in Okabe-Ito colours.
const SEG_LUT = {
  R: [0, 230, 86, 213], G: [0, 159, 180, 94], B: [0, 0, 233, 0], A: [0, 255, 255, 255],
  labels: ["", "necrotic core", "oedema", "enhancing tumour"],
};
const state = { visit: 0, sequence: config.sequences.find((s) => s.key === "t1c")?.key || config.sequences[0].key,
  seg: true, opacity: 0.5, compare: true, focus: null, timings: {} };
const cache = new Map();
window.viewerTimings = state.timings;

function volumeUrl(visit, sequence) {
  return config.volume_url.replace("{visit}", visit).replace("{sequence}", sequence);
}

async function fetchVolume(visit, sequence, onWait) {
  const key = `${visit}/${sequence}`;
  if (!cache.has(key)) {
    cache.set(key, (async () => {
      const started = performance.now();
      for (;;) {
        const response = await fetch(volumeUrl(visit, sequence), { credentials: "same-origin", headers: { Accept: "application/gzip" } });
        if (response.status === 200 || response.status === 206) return response.arrayBuffer();
        if (response.status === 202) {
          if (performance.now() - started > MAX_WAIT_MS) throw new Error("The volume is still being rendered; try again in a minute.");
          onWait?.();
          await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
          continue;
        }
        let message = `The volume could not be loaded (HTTP ${response.status}).`;
        try { message = (await response.json()).error?.message || message; } catch { /* not JSON */ }
        throw new Error(message);
      }
    })());
    cache.get(key).catch(() => cache.delete(key));
  }
  return cache.get(key);
}

// Where the tumour is: the centroid of the labelled voxels (volume order x fastest), so the
// three planes cut through it rather than through the middle of the head.
function tumourCentroid(image) {
  const [, nx, ny, nz] = image.hdr.dims;
  const data = image.img;
  let sx = 0; let sy = 0; let sz = 0; let count = 0;
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      const row = (z * ny + y) * nx;
      for (let x = 0; x < nx; x++) {
        if (data[row + x] > 0) { sx += x; sy += y; sz += z; count++; }
      }
    }
  }
  return count ? [Math.round(sx / count), Math.round(sy / count), Math.round(sz / count)] : null;
}

function makeViewer(canvasId) {
  const nv = new Niivue({ backColor: [0, 0, 0, 1], show3Dcrosshair: false, isColorbar: false, multiplanarShowRender: SHOW_RENDER.ALWAYS,
    dragAndDropEnabled: false, loadingText: "" });
  // Attached on first use: compiling the WebGL shaders of two canvases at once delays both.
  const attach = async () => {
    await nv.attachToCanvas(document.getElementById(canvasId));
    nv.setSliceType(SLICE_TYPE.MULTIPLANAR);
  };
  return { nv, ready: null, attach, token: 0 };
}

const panes = {
  current: { viewer: makeViewer("nv-current"), state: document.getElementById("current-state"), caption: document.getElementById("current-caption") },
  baseline: { viewer: makeViewer("nv-baseline"), state: document.getElementById("baseline-state"), caption: document.getElementById("baseline-caption") },
};

function setState(pane, text, kind = "loading") {
  pane.state.textContent = text;
  pane.state.className = `canvas-state ${kind}`;
  pane.state.hidden = !text;
}

async function loadPane(pane, visitIndex) {
  const v = config.visits[visitIndex];
  const viewer = pane.viewer;
  const token = ++viewer.token;
  const started = performance.now();
  setState(pane, "Loading…");
  pane.caption.textContent = `visit ${v.visit}, day ${v.day}`;
  try {
    const first = !state.timings.attach_ms;
    const volumes = Promise.all([
      fetchVolume(v.visit, state.sequence, () => setState(pane, "Rendering the volume on the server…")),
      fetchVolume(v.visit, "seg"),
    ]);
    viewer.ready ??= viewer.attach();
    await viewer.ready;
    const attached = performance.now();
    const [image, seg] = await volumes;
    const fetched = performance.now();
    if (token !== viewer.token) return;
    const nv = viewer.nv;
    const base = await NVImage.loadFromUrl({ url: `${config.subject_id}-v${v.visit}-${state.sequence}.nii.gz`, buffer: image.slice(0), colormap: "gray" });
    const overlay = await NVImage.loadFromUrl({ url: `${config.subject_id}-v${v.visit}-seg.nii.gz`, buffer: seg.slice(0), colormap: "gray", opacity: state.seg ? state.opacity : 0 });
    overlay.setColormapLabel(SEG_LUT);
    const parsed = performance.now();
    if (token !== viewer.token) return;
    // Each add/remove re-uploads the scene to the GPU: remove the overlay first, and set the
    // crosshair and the overlay's opacity before adding, so nothing is drawn twice.
    [...nv.volumes].reverse().forEach((volume) => nv.removeVolume(volume));
    nv.addVolume(base);
    state.focus ??= tumourCentroid(overlay);
    if (state.focus) nv.scene.crosshairPos = nv.vox2frac(state.focus);
    overlay.opacity = state.seg ? state.opacity : 0;
    nv.addVolume(overlay);
    setState(pane, "");
    if (first) {
      state.timings.attach_ms = attached - started;
      state.timings.fetch_wait_ms = fetched - attached;
      state.timings.parse_ms = parsed - fetched;
      state.timings.draw_ms = performance.now() - parsed;
    }
    const elapsed = performance.now() - started;
    state.timings.last_ms = elapsed;
    state.timings.first_ms ??= elapsed;
    state.timings.first_since_navigation_ms ??= performance.now();
    document.getElementById(pane === panes.current ? "nv-current" : "nv-baseline").dataset.loadedVisit = String(v.visit);
  } catch (error) {
    if (token === viewer.token) setState(pane, error.message, "error");
  }
}

function applyOverlay() {
  for (const pane of Object.values(panes)) {
    const nv = pane.viewer.nv;
    if (nv.volumes.length > 1) { nv.setOpacity(1, state.seg ? state.opacity : 0); nv.updateGLVolume(); }
  }
}

const slider = document.getElementById("visit-slider");
const visitLabel = document.getElementById("visit-label");
const buttons = [...document.querySelectorAll("#timeline .visit")];

function selectVisit(index) {
  state.visit = Math.max(0, Math.min(config.visits.length - 1, index));
  slider.value = String(state.visit);
  const v = config.visits[state.visit];
  const response = v.response ? (config.responses[v.response] || v.response) : "baseline";
  visitLabel.textContent = `${v.visit} (day ${v.day}, ${response})`;
  slider.setAttribute("aria-valuetext", `Visit ${v.visit}, day ${v.day}, ${response}`);
  buttons.forEach((b, i) => b.setAttribute("aria-pressed", String(i === state.visit)));
  return loadPane(panes.current, state.visit);
}

const sequenceSelect = document.getElementById("sequence");
config.sequences.forEach((s) => sequenceSelect.append(new Option(s.label, s.key)));
sequenceSelect.value = state.sequence;
sequenceSelect.addEventListener("change", () => {
  state.sequence = sequenceSelect.value;
  loadPane(panes.current, state.visit);
  if (state.compare) loadPane(panes.baseline, 0);
});
slider.addEventListener("input", () => selectVisit(Number(slider.value)));
buttons.forEach((button) => button.addEventListener("click", () => selectVisit(Number(button.dataset.index))));
document.getElementById("seg-toggle").addEventListener("change", (event) => { state.seg = event.target.checked; applyOverlay(); });
document.getElementById("seg-opacity").addEventListener("input", (event) => { state.opacity = Number(event.target.value); applyOverlay(); });
document.getElementById("compare-toggle").addEventListener("change", (event) => {
  state.compare = event.target.checked;
  document.getElementById("baseline-pane").hidden = !state.compare;
  document.getElementById("viewer-grid").classList.toggle("single", !state.compare);
  if (state.compare) loadPane(panes.baseline, 0);
});

// The current visit first, then the baseline: the first image appears as early as possible.
selectVisit(0).then(() => loadPane(panes.baseline, 0));
