// Toast notifications: polite live region, auto-dismiss, close button, newest at the bottom.

import { h } from "./dom.js";

const MAX_TOASTS = 5;

export function toast(title, { body = "", kind = "info", timeout = 7000, href = null } = {}) {
  const region = document.getElementById("toasts");
  if (!region) return null;
  const close = () => item.remove();
  const item = h(
    "div",
    { class: "toast", role: kind === "error" ? "alert" : "status", dataset: { kind } },
    h("div", { class: "body" },
      h("strong", {}, title),
      body ? h("div", { class: "muted" }, body) : null,
      href ? h("a", { href, onclick: close }, "Open run") : null),
    h("button", { type: "button", class: "close", "aria-label": "Dismiss notification", onclick: close }, "×"),
  );
  region.append(item);
  while (region.children.length > MAX_TOASTS) region.firstElementChild.remove();
  if (timeout) setTimeout(close, kind === "error" ? timeout * 2 : timeout);
  return item;
}
