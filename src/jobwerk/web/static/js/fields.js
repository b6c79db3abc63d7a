// Labelled inputs with a hint and an error line each, registered by their API field name, so a
// 422's errors land next to the inputs they name (the docs view's forms).

import { ApiError } from "./api.js";
import { h } from "./dom.js";

/** An input with its label, hint and error line, registered under its API field name. */
export function field(slots, name, text, control, hint = "") {
  const hintElement = hint ? h("span", { class: "hint", id: `${control.id}-hint` }, hint) : null;
  const error = h("span", { class: "error-text", id: `${control.id}-error`, hidden: true });
  control.setAttribute("aria-describedby", [hintElement?.id, error.id].filter(Boolean).join(" "));
  slots.set(name, { input: control, error });
  return control.type === "checkbox"
    ? h("div", { class: "field" }, h("label", { class: "check", for: control.id }, control, text), hintElement, error)
    : h("div", { class: "field" }, h("label", { for: control.id }, text), control, hintElement, error);
}

/** A fieldset of inputs that share one error line (export formats, headers, cookies). */
export function group(slots, name, legend, ...children) {
  const error = h("span", { class: "error-text", hidden: true });
  const element = h("fieldset", { tabindex: "-1" }, h("legend", {}, legend), children, error);
  slots.set(name, { input: element, error });
  return element;
}

export function clearErrors(slots) {
  for (const { input, error } of slots.values()) {
    input.removeAttribute("aria-invalid");
    error.hidden = true;
    error.textContent = "";
  }
}

/** Show a failed call: a 422's errors next to the inputs they name, anything else as one line. */
export function showFailure(slots, line, failure) {
  clearErrors(slots);
  const unmatched = [];
  let placed = 0;
  const errors = failure instanceof ApiError && failure.status === 422 ? failure.errors : [];
  for (const entry of errors) {
    const name = (entry.loc || []).map(String).find((part) => slots.has(part));
    if (!name) {
      unmatched.push(entry.msg || String(entry));
      continue;
    }
    const { input, error } = slots.get(name);
    input.setAttribute("aria-invalid", "true");
    input.closest("details")?.setAttribute("open", "");
    error.textContent = error.textContent ? `${error.textContent}; ${entry.msg}` : entry.msg;
    error.hidden = false;
    if (!placed) input.focus();
    placed += 1;
  }
  line.textContent = unmatched.length ? unmatched.join("; ") : failure.message;
  line.hidden = placed > 0 && !unmatched.length;
}
