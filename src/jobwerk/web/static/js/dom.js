// Small DOM and formatting helpers shared by the views.

/**
 * Create an element: h("button", {class: "x", onclick: fn}, "text", child).
 * Attributes starting with "on" become listeners; false/null attributes are left out.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (key in el && typeof value !== "string") {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace all children of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let idCounter = 0;
export function uid(prefix = "id") {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

export function badge(status) {
  const text = status ? status.replace(/_/g, " ") : "—";
  return h("span", { class: "badge", dataset: { status: status || "unknown" } }, text);
}

/**
 * Ask before a destructive action, in a modal dialog (focus stays inside, Escape keeps).
 * Resolves true when the user confirms.
 */
export function ask(question, { detail = "", confirm = "Confirm", danger = true } = {}) {
  return new Promise((resolve) => {
    const yes = h("button", { type: "submit", value: "yes", class: danger ? "danger" : null }, confirm);
    const dialog = h("dialog", { class: "confirm", "aria-labelledby": uid("ask") },
      h("form", { method: "dialog" },
        h("h2", {}, question),
        detail ? h("p", { class: "muted" }, detail) : null,
        h("div", { class: "actions" }, h("button", { type: "submit", value: "no", class: "secondary" }, "Keep"), yes)));
    dialog.querySelector("h2").id = dialog.getAttribute("aria-labelledby");
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue === "yes");
    });
    document.body.append(dialog);
    dialog.showModal();
    yes.focus();
  });
}

/** A progress bar whose fill animates (CSS transition on transform). */
export function progressBar(label, small = false) {
  const fill = h("span");
  const bar = h("div", {
    class: small ? "progress small" : "progress",
    role: "progressbar",
    "aria-label": label,
    "aria-valuemin": "0",
    "aria-valuemax": "100",
    "aria-valuenow": "0",
  }, fill);
  bar.set = (percent, status) => {
    const value = Math.max(0, Math.min(100, Number(percent) || 0));
    fill.style.transform = `scaleX(${value / 100})`;
    bar.setAttribute("aria-valuenow", String(Math.round(value)));
    bar.dataset.status = status || "";
  };
  return bar;
}

export function parseTime(value) {
  if (value === null || value === undefined || value === "") return null;
  if (typeof value === "number") return new Date(value < 1e12 ? value * 1000 : value);
  // Naive ISO strings from the server are UTC.
  const text = /[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value}Z`;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? null : date;
}

export function fmtTime(value) {
  const date = parseTime(value);
  if (!date) return "—";
  const sameDay = date.toDateString() === new Date().toDateString();
  return sameDay
    ? date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" })
    : date.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

export function fmtRelative(value) {
  const date = parseTime(value);
  if (!date) return "—";
  const seconds = Math.round((date.getTime() - Date.now()) / 1000);
  const abs = Math.abs(seconds);
  const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  if (abs < 60) return rtf.format(seconds, "second");
  if (abs < 3600) return rtf.format(Math.round(seconds / 60), "minute");
  if (abs < 86400) return rtf.format(Math.round(seconds / 3600), "hour");
  return rtf.format(Math.round(seconds / 86400), "day");
}

export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined || seconds === "") return "—";
  const s = Number(seconds);
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function fmtBytes(bytes) {
  if (bytes === null || bytes === undefined) return "";
  const units = ["B", "KB", "MB", "GB"];
  let value = Number(bytes);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit ? 1 : 0)} ${units[unit]}`;
}

/** Percent 0..100 from a number or a progress object ({percent_complete} or {run_progress}). */
export function percentOf(progress) {
  if (progress === null || progress === undefined) return 0;
  if (typeof progress === "object") {
    return percentOf(progress.percent_complete ?? progress.run_progress ?? progress.progress);
  }
  return Number(progress) || 0;
}

export function definitionList(pairs) {
  return h("dl", { class: "kv" }, pairs.map(([key, value]) => [h("dt", {}, key), h("dd", {}, value)]));
}
