// HTTP client: same-origin session cookie, CSRF header on mutations, typed errors.

export class ApiError extends Error {
  constructor(status, message, errors = []) {
    super(message);
    this.status = status;
    this.errors = errors; // pydantic-style [{loc, msg, type}]
  }
}

const CSRF_COOKIES = ["jobwerk_csrf", "csrf_token", "csrftoken"];
let csrfToken = null;
let onUnauthorized = () => {};

export function setCsrfToken(token) {
  csrfToken = token || null;
}

export function onSessionLost(callback) {
  onUnauthorized = callback;
}

function cookieToken() {
  for (const part of document.cookie.split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (CSRF_COOKIES.includes(name)) return decodeURIComponent(rest.join("="));
  }
  return null;
}

function messageOf(body, status) {
  if (!body) return `Request failed (${status})`;
  if (typeof body.detail === "string") return body.detail;
  if (typeof body.message === "string") return body.message;
  if (Array.isArray(body.detail)) return body.detail.map((e) => e.msg).join("; ");
  if (body.detail && typeof body.detail.message === "string") return body.detail.message;
  return `Request failed (${status})`;
}

function errorsOf(body) {
  if (!body) return [];
  for (const candidate of [body.errors, body.detail, body.detail?.errors]) {
    if (Array.isArray(candidate)) return candidate;
  }
  return [];
}

/** Call the API; resolves with the parsed JSON (or null), rejects with ApiError. */
export async function api(method, path, body, { quiet401 = false } = {}) {
  const headers = { Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin", cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  if (!["GET", "HEAD"].includes(method)) {
    const token = cookieToken() || csrfToken;
    if (token) headers["X-CSRF-Token"] = token;
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    throw new ApiError(0, "The server cannot be reached");
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { detail: text };
    }
  }
  if (!response.ok) {
    if (response.status === 401 && !quiet401) onUnauthorized();
    throw new ApiError(response.status, messageOf(data, response.status), errorsOf(data));
  }
  return data;
}

export const get = (path, options) => api("GET", path, undefined, options);
export const post = (path, body, options) => api("POST", path, body, options);
export const del = (path) => api("DELETE", path);

/** Build "path?a=1&b=2", leaving out empty values. */
export function withQuery(path, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === null || value === undefined || value === "") continue;
    query.set(key, String(value));
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}
