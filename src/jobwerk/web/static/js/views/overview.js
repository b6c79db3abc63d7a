// Overview: health and status cards per instance (TEMU figures when the module is there),
// then a trigger card per job.

import { get, withQuery } from "../api.js";
import { badge, definitionList, fmtRelative, fmtTime, h, parseTime, replace } from "../dom.js";
import { on, runId, state } from "../store.js";
import { triggerCard } from "./trigger.js";

const HEALTHY = new Set(["ok", "healthy", "up", "connected", "true", "pass"]);
const WEEK = 7 * 86400 * 1000;

async function optional(path) {
  try {
    return await get(path);
  } catch {
    return null; // the module is not installed or not configured
  }
}

function label(key) {
  return key.replace(/_/g, " ").replace(/^\w/, (c) => c.toUpperCase());
}

function scalar(value) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** warning / error / "" for one stats entry, judged by its name and value. */
function severity(key, value) {
  const name = key.toLowerCase();
  if (name.includes("expir")) {
    const date = parseTime(value);
    if (date && date.getTime() < Date.now()) return "error";
    if (date && date.getTime() - Date.now() < WEEK) return "warning";
  }
  if ((name.includes("needs_sync") || name.includes("pending") || name.includes("error")) && Number(value) > 0) {
    return "warning";
  }
  return "";
}

const LEVEL = { ok: "", healthy: "", warning: "warning", error: "error" };

function card(name, title, level, ...body) {
  return h("article", { class: `card ${level || ""}`, dataset: { card: name } }, h("div", { class: "label" }, title), body);
}

function healthCards(health, prefix) {
  return Object.entries(health.checks || {}).map(([name, check]) => {
    const status = String(check?.status ?? check).toLowerCase();
    const ok = HEALTHY.has(status);
    const title = name === "scopes" ? "API scopes" : `${name.toUpperCase()} connection`;
    const missing = (check?.missing || []).map((m) => h("li", {}, h("code", {}, m.api), ` — ${m.effect}; ${m.grant}`));
    return card(`health-${name}`, `${prefix} · ${title}`, ok ? "" : LEVEL[status] ?? "error",
      h("div", { class: "big" }, ok ? "OK" : status === "warning" ? "Check" : "Problem"),
      missing.length ? h("ul", { class: "muted" }, missing)
        : h("p", { class: "muted" }, check?.message || check?.detail || check?.error || ""));
  });
}

function tokenCard(expiresAt, prefix) {
  const date = parseTime(expiresAt);
  const left = date ? date.getTime() - Date.now() : null;
  const level = left === null ? "warning" : left < 0 ? "error" : left < WEEK ? "warning" : "";
  return card("token", `${prefix} · Access token`, level,
    h("div", { class: "big" }, date ? (left < 0 ? "Expired" : `Expires ${fmtRelative(date.toISOString())}`) : "Unknown"),
    date ? h("p", { class: "muted" }, fmtTime(date.toISOString())) : null);
}

function statsCards(payload) {
  const stats = payload.stats || payload;
  const prefix = payload.instance?.name ? `TEMU ${payload.instance.name}` : "TEMU";
  const cards = [];
  const { orders, inventory, held_orders: held, last_successful_sync: lastSync, token_expires_at: token, ...rest } = stats;
  if (orders) {
    cards.push(card("orders", `${prefix} · Orders`, "",
      h("div", { class: "big" }, scalar(orders.total)),
      definitionList(Object.entries(orders.by_status || {}).map(([status, count]) => [status, scalar(count)]))));
  }
  if (held) {
    // Orders kept from JTL until TEMU answers or a price is known; each with its reason.
    cards.push(card("held-orders", `${prefix} · Held orders`, held.length ? "warning" : "",
      h("div", { class: "big" }, held.length ? `${held.length} held` : "None"),
      held.length ? definitionList(held.map((o) => [o.order, o.code ? `${o.code}: ${o.reason}` : o.reason])) : null));
  }
  if (inventory) {
    const pending = Number(inventory.needs_sync) || 0;
    cards.push(card("inventory", `${prefix} · Inventory`, pending ? "warning" : "",
      h("div", { class: "big" }, pending ? `${pending} to sync` : "In sync"),
      h("p", { class: "muted" }, `${scalar(inventory.total)} rows`)));
  }
  if (lastSync) {
    const missing = Object.values(lastSync).some((at) => !at);
    cards.push(card("last-sync", `${prefix} · Last successful sync`, missing ? "warning" : "",
      definitionList(Object.entries(lastSync).map(([workflow, at]) => [state.workflows.get(workflow)?.title || workflow, at ? fmtRelative(at) : "never"]))));
  }
  if ("token_expires_at" in stats) cards.push(tokenCard(token, prefix));
  for (const [key, value] of Object.entries(rest)) {
    const entries = value && typeof value === "object" ? Object.entries(value) : [[key, value]];
    cards.push(card(key, `${prefix} · ${label(key)}`, entries.map(([k, v]) => severity(k, v)).find(Boolean),
      entries.length ? definitionList(entries.map(([k, v]) => [label(k), scalar(v)])) : h("p", { class: "muted" }, "nothing yet")));
  }
  return cards;
}

function instanceCards(jobs, lastSuccess, names) {
  const groups = new Map();
  for (const job of jobs) {
    const key = job.instance_name || job.instance_id || job.workflow?.split(".")[0] || "jobs";
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(job);
  }
  return [...groups.entries()].map(([name, list]) => {
    const failing = list.filter((job) => ["failed", "error"].includes(job.status?.status));
    const running = list.filter((job) => ["running", "queued"].includes(job.status?.status));
    const disabled = list.filter((job) => job.enabled === false);
    return h("article", { class: `card ${failing.length ? "warning" : ""}`, dataset: { card: `instance-${name}` } },
      h("div", { class: "label" }, names.get(name) || label(name)),
      h("div", { class: "big" }, failing.length ? `${failing.length} failing` : running.length ? `${running.length} running` : "All good"),
      definitionList([
        ["Jobs", `${list.length}${disabled.length ? ` (${disabled.length} disabled)` : ""}`],
        ...list.map((job) => [job.title || job.job_id, h("span", {}, badge(job.status?.status || "idle"), " ",
          lastSuccess.get(job.workflow) ? `last success: ${fmtRelative(lastSuccess.get(job.workflow).finished_at ?? lastSuccess.get(job.workflow).created_at)}` : "no success yet")]),
        ...failing.map((job) => [`${job.title || job.job_id} error`, job.status?.last_error || "—"]),
      ]));
  });
}

async function lastSuccessful(workflows) {
  const result = new Map();
  await Promise.all([...workflows].map(async (workflow) => {
    const page = await optional(withQuery("/api/v1/jobs", { workflow, status: "completed", limit: 1 }));
    const run = page?.jobs?.[0];
    if (run) result.set(workflow, { ...run, id: runId(run) });
  }));
  return result;
}

export function renderOverview(main) {
  const status = h("div", { class: "grid", "aria-live": "polite" });
  const triggers = h("div", { class: "grid wide" });
  main.append(
    h("div", { class: "page-head" }, h("div", {}, h("h1", {}, "Overview"), h("p", { class: "muted" }, "Your integrations at a glance."))),
    h("section", { "aria-labelledby": "status-title" }, h("h2", { id: "status-title" }, "Status"), status),
    h("section", { "aria-labelledby": "trigger-title" }, h("h2", { id: "trigger-title" }, "Start a workflow"), triggers),
  );
  let cards = [];

  async function refreshStatus() {
    const jobs = [...state.jobs.values()];
    const [health, stats, success] = await Promise.all([
      optional("/api/temu/health"), optional("/api/temu/stats"),
      lastSuccessful(new Set(jobs.map((job) => job.workflow).filter(Boolean))),
    ]);
    const prefix = health?.instance?.name ? `TEMU ${health.instance.name}` : "TEMU";
    replace(status,
      health ? healthCards(health, prefix) : null,
      stats ? statsCards(stats) : null,
      instanceCards(jobs, success, new Map(stats?.instance ? [[stats.instance.id, prefix]] : [])));
  }

  function renderTriggers() {
    cards.forEach((card) => card.destroy());
    cards = [...state.jobs.values()].map(triggerCard);
    replace(triggers, cards.length ? cards : h("p", { class: "muted" }, "No jobs are configured yet."));
  }

  renderTriggers();
  refreshStatus();
  let timer = null;
  const off = on("jobs", () => {
    clearTimeout(timer);
    timer = setTimeout(refreshStatus, 300);
  });
  return {
    resync: () => {
      renderTriggers();
      refreshStatus();
    },
    destroy() {
      off();
      clearTimeout(timer);
      cards.forEach((card) => card.destroy());
    },
  };
}
