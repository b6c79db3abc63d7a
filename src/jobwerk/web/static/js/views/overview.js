// Overview: health and status cards per instance (TEMU figures when the module is there),
// then a trigger card per job.

import { get, withQuery } from "../api.js";
import { badge, definitionList, fmtRelative, fmtTime, h, parseTime, replace } from "../dom.js";
import { loadInstances, on, runId, state } from "../store.js";
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

function statsCards(payload, prefix) {
  const stats = payload.stats || payload;
  const cards = [];
  const { orders, inventory, held_orders: held, last_successful_sync: lastSync, token_expires_at: token, ...rest } = stats;
  if (orders) {
    // TEMU's order statuses by the names the seller center uses.
    const byStatus = Array.isArray(orders.by_status) ? orders.by_status.map((entry) => [label(entry.name), scalar(entry.count)])
      : Object.entries(orders.by_status || {}).map(([status, count]) => [status, scalar(count)]);
    cards.push(card("orders", `${prefix} · Orders`, "",
      h("div", { class: "big" }, scalar(orders.total)), definitionList(byStatus)));
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

/** The worst of an instance's own health checks: "error", "warning" or "". */
function healthLevel(health) {
  const levels = Object.values(health?.checks || {}).map((check) => String(check?.status ?? check).toLowerCase());
  if (levels.some((level) => !HEALTHY.has(level) && level !== "warning")) return "error";
  return levels.includes("warning") ? "warning" : "";
}

function recentStrip(runs) {
  if (!runs?.length) return h("p", { class: "muted" }, "No runs yet.");
  return h("ol", { class: "recent", "aria-label": "Recent runs, newest first" }, runs.map((run) =>
    h("li", {}, h("a", {
      href: `#/runs/${runId(run)}`,
      dataset: { status: run.status },
      title: `${run.workflow} · ${run.status.replace(/_/g, " ")} · ${fmtTime(run.created_at)}`,
    }, h("span", { class: "sr-only" }, `${run.workflow} ${run.status.replace(/_/g, " ")} ${fmtTime(run.created_at)}`)))));
}

/** One card per instance (and one for jobs of no instance): its name, a status that rolls up
 * its jobs and its own health checks, each job's last success, and its recent runs. */
function instanceCard(group) {
  const { key, name, jobs, health, runs } = group;
  const failing = jobs.filter((job) => ["failed", "error"].includes(job.status?.status));
  const warned = jobs.filter((job) => job.status?.status === "warning");
  const running = jobs.filter((job) => ["running", "queued"].includes(job.status?.status));
  const disabled = jobs.filter((job) => job.enabled === false);
  const healthy = healthLevel(health);
  const level = healthy === "error" || failing.length ? "error" : healthy || warned.length || disabled.length === jobs.length ? "warning" : "";
  const headline = healthy === "error" ? "Connection problem"
    : failing.length ? `${failing.length} failing`
      : healthy === "warning" ? "Needs attention"
        : warned.length ? `${warned.length} with warnings`
          : running.length ? `${running.length} running`
            : disabled.length === jobs.length ? "Jobs disabled" : "All good";
  return h("article", { class: `card ${level}`, dataset: { card: `instance-${key}` } },
    h("div", { class: "label" }, name),
    h("div", { class: "big" }, headline),
    h("ul", { class: "job-lines", "aria-label": `Jobs (${jobs.length}${disabled.length ? `, ${disabled.length} disabled` : ""})` },
      jobs.map((job) => h("li", { dataset: { job: job.job_id } },
        h("span", { class: "job-title" }, job.title || job.job_id),
        h("span", { class: "muted" }, badge(job.enabled === false ? "disabled" : job.status?.status || "idle"), " ",
          job.status?.last_success ? `last success ${fmtRelative(job.status.last_success)}` : "no success yet"),
        ["failed", "error"].includes(job.status?.status) ? h("span", { class: "last-error" }, job.status.last_error || "—") : null))),
    disabled.length === jobs.length && jobs.length ? h("p", { class: "muted" }, "New instances start with their jobs disabled: check the settings, then enable them on Jobs.") : null,
    h("h3", { class: "label" }, "Recent runs"),
    recentStrip(runs));
}

async function instanceGroups(jobs, instances) {
  const groups = new Map();
  for (const job of jobs) {
    const key = job.instance_id || "none";
    if (!groups.has(key)) {
      const instance = instances.get(job.instance_id);
      const module = instance?.module_name || job.workflow?.split(".")[0] || "";
      groups.set(key, {
        key,
        instance,
        name: instance ? `${label(module)} ${instance.name}${instance.is_primary ? " (primary)" : ""}` : "Other jobs",
        jobs: [],
      });
    }
    groups.get(key).jobs.push(job);
  }
  await Promise.all([...groups.values()].map(async (group) => {
    const query = group.instance ? { instance: group.key } : { job: group.jobs[0].job_id };
    group.runs = (await optional(withQuery("/api/v1/jobs", { ...query, limit: 12 })))?.jobs || [];
    if (group.instance?.module_name === "temu") {
      const base = `/api/temu/instances/${encodeURIComponent(group.key)}`;
      [group.health, group.stats] = await Promise.all([checkedHealth(`${base}/health`), optional(`${base}/stats`)]);
    }
  }));
  return [...groups.values()];
}

// A health check asks TEMU and JTL; live updates redraw far more often than that is worth.
const HEALTH_SECONDS = 60;
const healthCache = new Map(); // path -> {at, answer}

async function checkedHealth(path) {
  const cached = healthCache.get(path);
  if (cached && Date.now() - cached.at < HEALTH_SECONDS * 1000) return cached.answer;
  const answer = await optional(path);
  healthCache.set(path, { at: Date.now(), answer });
  return answer;
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
    const groups = await instanceGroups([...state.jobs.values()], await loadInstances());
    replace(status, groups.map((group) => [
      instanceCard(group),
      group.health ? healthCards(group.health, group.name) : null,
      group.stats ? statsCards(group.stats, group.name) : null,
    ]));
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
