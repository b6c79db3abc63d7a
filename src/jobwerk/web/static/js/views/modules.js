// Modules: what is loaded, its instances (primary marked), and the repositories' catalog; admins
// install, update, roll back and switch the primary, each an operation whose progress shows here.

import { del, get, post } from "../api.js";
import { ask, badge, h, progressBar, replace } from "../dom.js";
import { can } from "../store.js";
import { toast } from "../toast.js";

const FINISHED = new Set(["completed", "failed", "cancelled"]);

/** Follow an operation until it ends; resolves with its last state. */
async function follow(operation, bar, text) {
  let current = operation;
  while (!FINISHED.has(current.status)) {
    bar.set(current.progress || 0, current.status);
    text.textContent = current.message || current.status;
    await new Promise((resolve) => setTimeout(resolve, 500));
    current = await get(`/modules/status/${encodeURIComponent(current.operation_id)}`);
  }
  bar.set(100, current.status);
  text.textContent = current.message || current.status;
  return current;
}

/** Start an operation from a button and show its progress under `place`. */
async function operate(button, place, start, done) {
  button.disabled = true;
  const bar = progressBar(button.textContent, true);
  const text = h("span", { class: "muted", role: "status" });
  replace(place, bar, text);
  try {
    const result = await follow(await start(), bar, text);
    toast(result.message || result.status, { kind: result.status === "completed" ? "success" : "error" });
    done();
  } catch (failure) {
    replace(place, h("div", { class: "banner error", role: "alert" }, failure.message));
    button.disabled = false;
  }
}

function instanceRow(instance, reload) {
  const place = h("div");
  const path = `${encodeURIComponent(instance.module_name)}/${encodeURIComponent(instance.instance_id)}`;
  const makePrimary = can("admin") && !instance.is_primary
    ? h("button", { type: "button", class: "secondary" }, "Make primary")
    : null;
  makePrimary?.addEventListener("click", async () => {
    const sure = await ask(`Make ${instance.name} the primary instance?`, {
      detail: "Requests without an instance (such as /api/temu/orders/sync) then go to this one.",
      confirm: "Make primary",
      danger: false,
    });
    if (sure) operate(makePrimary, place, () => post(`/modules/primary/${path}`, {}), reload);
  });
  const remove = can("admin") ? h("button", { type: "button", class: "danger" }, "Delete") : null;
  remove?.addEventListener("click", async () => {
    const sure = await ask(`Delete the instance ${instance.name}?`, {
      detail: "Its settings, secrets and jobs are removed; its past runs are kept. This cannot be undone.",
      confirm: "Delete instance",
    });
    if (sure) operate(remove, place, () => del(`/modules/instance/${path}`), reload);
  });
  return h("tr", {},
    h("td", {}, instance.name, instance.is_primary ? h("span", { class: "badge", dataset: { status: "primary" } }, "primary") : null),
    h("td", { class: "mono hide-phone" }, instance.instance_id),
    h("td", {}, badge(instance.status)),
    h("td", { class: "hide-phone" }, instance.jobs.join(", ") || "—"),
    h("td", {}, h("div", { class: "actions" }, makePrimary, remove), place));
}

function moduleCard(module, instances, reload) {
  const place = h("div");
  const rollback = can("admin") && module.previous_version
    ? h("button", { type: "button", class: "secondary" }, `Roll back to ${module.previous_version}`)
    : null;
  rollback?.addEventListener("click", () => operate(rollback, place,
    () => post(`/modules/rollback/${encodeURIComponent(module.name)}`, {}), reload));
  return h("section", { class: "card", "aria-label": `Module ${module.name}` },
    h("div", { class: "card-head" },
      h("h2", {}, module.title || module.name),
      badge(module.status),
      h("span", { class: "muted" }, `${module.name} ${module.version || ""} · ${module.source}`),
      rollback),
    place,
    module.description ? h("p", { class: "muted" }, module.description) : null,
    module.error ? h("div", { class: "banner error" }, module.error) : null,
    instances.length
      ? h("div", { class: "table-wrap" }, h("table", {},
        h("caption", { class: "sr-only" }, `Instances of ${module.name}`),
        h("thead", {}, h("tr", {}, ["Instance", "Id", "Status", "Jobs", ""].map((text, index) =>
          h("th", { scope: "col", class: index === 1 || index === 3 ? "hide-phone" : null }, text)))),
        h("tbody", {}, instances.map((instance) => instanceRow(instance, reload)))))
      : null);
}

/** What an admin can do with one catalog entry: install it, update to it, or nothing. */
function catalogAction(entry) {
  if (!can("admin") || entry.status !== "available") return null;
  const body = { module_name: entry.name, repository_id: entry.repository_id, version: entry.version };
  return entry.installed
    ? { label: `Update to ${entry.version}`, start: () => post("/modules/update", body) }
    : { label: "Install", start: () => post("/repository/install", body) };
}

function catalogRow(entry, reload) {
  const place = h("div");
  const action = catalogAction(entry);
  const button = action ? h("button", { type: "button" }, action.label) : null;
  button?.addEventListener("click", () => operate(button, place, action.start, reload));
  const state = entry.status === "available" ? null
    : h("span", { title: entry.incompatible_reason || null }, badge(entry.status));
  return h("tr", {},
    h("td", {}, h("strong", {}, entry.display_name || entry.name), h("div", { class: "muted" }, entry.description)),
    h("td", {}, entry.version),
    h("td", { class: "hide-phone" }, entry.category),
    h("td", {}, state, button, place));
}

export function renderModules(main) {
  const modules = h("div", { class: "stack" }, h("p", { class: "muted" }, "Loading…"));
  const catalog = h("tbody");
  main.append(
    h("div", { class: "page-head" }, h("div", {}, h("h1", {}, "Modules"),
      h("p", { class: "muted" }, "Loaded modules with their instances, and what the repositories offer."))),
    modules,
    h("h2", {}, "Available in repositories"),
    h("div", { class: "card table-wrap" }, h("table", {},
      h("caption", { class: "sr-only" }, "Available modules"),
      h("thead", {}, h("tr", {}, ["Module", "Version", "Category", ""].map((text, index) =>
        h("th", { scope: "col", class: index === 2 ? "hide-phone" : null }, text)))),
      catalog)));

  async function load() {
    try {
      const [loaded, instances] = await Promise.all([get("/api/modules"), get("/modules/instances")]);
      replace(modules, loaded.modules.map((module) =>
        moduleCard(module, instances.modules[module.name] || [], load)));
    } catch (failure) {
      replace(modules, h("div", { class: "banner error" }, failure.message));
    }
    try {
      const offered = await get("/repository/modules");
      replace(catalog, offered.modules.length
        ? offered.modules.map((entry) => catalogRow(entry, load))
        : h("tr", {}, h("td", { colspan: "4", class: "muted" }, "No repository offers modules yet (jobwerk repos add).")));
    } catch (failure) {
      replace(catalog, h("tr", {}, h("td", { colspan: "4" }, h("div", { class: "banner error" }, failure.message))));
    }
  }
  load();
  return { resync: load };
}
