// Okabe & Ito (2008) colour-blind-safe palette, used for every chart and overlay.
export const OKABE_ITO = {
  black: "#000000", orange: "#E69F00", skyBlue: "#56B4E9", bluishGreen: "#009E73",
  yellow: "#F0E442", blue: "#0072B2", vermillion: "#D55E00", reddishPurple: "#CC79A7",
  grey: "#999999",
};
export const SERIES = [OKABE_ITO.blue, OKABE_ITO.orange, OKABE_ITO.bluishGreen, OKABE_ITO.vermillion,
  OKABE_ITO.reddishPurple, OKABE_ITO.skyBlue, OKABE_ITO.yellow, OKABE_ITO.black];
export const RESPONSE_COLOURS = {
  CR: OKABE_ITO.bluishGreen, PR: OKABE_ITO.skyBlue, SD: OKABE_ITO.grey, PD: OKABE_ITO.vermillion,
  NE: OKABE_ITO.black, "": OKABE_ITO.grey,
};
export const RESPONSE_LABELS = {
  CR: "Complete response", PR: "Partial response", SD: "Stable disease", PD: "Progressive disease",
  NE: "Not evaluable",
};

export function withAlpha(hex, alpha) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}
