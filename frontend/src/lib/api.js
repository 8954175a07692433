// Same-origin calls to the platform's REST API with the session cookie and the CSRF token.
// Errors come back as {"error": {"code", "message", "fields": {path: [reasons]}}}.

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `The server answered ${status}.`);
    this.status = status;
    this.code = error.code || "error";
    this.fields = error.fields || {};
  }
}

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)(?:__Secure-)?csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

export async function api(method, url, body) {
  const options = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  if (method !== "GET") options.headers["X-CSRFToken"] = csrfToken();
  let response;
  try {
    response = await fetch(url, options);
  } catch (cause) {
    const error = new ApiError(0, { error: { code: "network", message: "The server cannot be reached; check your connection." } });
    error.cause = cause;
    throw error;
  }
  let data = null;
  const type = response.headers.get("Content-Type") || "";
  if (type.includes("json")) data = await response.json();
  if (!response.ok) throw new ApiError(response.status, data);
  return { status: response.status, data, response };
}

export function readConfig(id) {
  const element = document.getElementById(id);
  return element ? JSON.parse(element.textContent) : null;
}

export function show(element, text) {
  if (!element) return;
  element.textContent = text;
  element.hidden = !text;
}
