// Plotly with the project's defaults: accessible fonts, no mode bar clutter, responsive.
import Plotly from "plotly.js-dist-min";

export { Plotly };

export const LAYOUT = {
  font: { family: "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size: 13, color: "#1d2330" },
  margin: { l: 60, r: 20, t: 30, b: 50 },
  paper_bgcolor: "rgba(0,0,0,0)",
  plot_bgcolor: "#ffffff",
  hoverlabel: { font: { size: 13 } },
};
export const CONFIG = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["lasso2d", "select2d"] };

export function draw(element, traces, layout) {
  element.innerHTML = "";
  return Plotly.newPlot(element, traces, { ...LAYOUT, ...layout }, CONFIG);
}

export function showState(element, text, kind = "empty") {
  element.innerHTML = "";
  const p = document.createElement("p");
  p.className = kind;
  p.textContent = text;
  element.append(p);
}
