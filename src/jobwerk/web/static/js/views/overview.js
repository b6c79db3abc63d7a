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

function healthCards(health) {
  const checks = health.checks || health.components || health;
  return Object.entries(checks)
    .filter(([, value]) => value && typeof value === "object" || typeof value === "string" || typeof value === "boolean")
    .map(([name, value]) => {
      const status = typeof value === "object" ? value.status ?? value.ok : value;
      const ok = HEALTHY.has(String(status).toLowerCase());
      return h("article", { class: `card ${ok ? "" : "error"}`, dataset: { card: `health-${name}` } },
        h("div", { class: "label" }, `${label(name)} health`),
        h("div", { class: "big" }, ok ? "OK" : "Problem"),
        typeof value === "object" ? h("p", { class: "muted" }, value.message || value.detail || value.error || "") : null);
    });
}

function statsCards(stats) {
  return Object.entries(stats).map(([key, value]) => {
    if (value && typeof value === "object") {
      const entries = Object.entries(value);
      const level = entries.map(([k, v]) => severity(k, v)).find(Boolean) || "";
      return h("article", { class: `card ${level}`, dataset: { card: key } },
        h("div", { class: "label" }, label(key)),
        definitionList(entries.map(([k, v]) => [label(k), k.includes("expir") || k.endsWith("_at") ? `${fmtTime(v)} (${fmtRelative(v)})` : scalar(v)])));
    }
    const level = severity(key, value);
    const text = key.includes("expir") || key.endsWith("_at") ? fmtRelative(value) : scalar(value);
    return h("article", { class: `card ${level}`, dataset: { card: key } },
      h("div", { class: "label" }, label(key)), h("div", { class: "big" }, text));
  });
}

function instanceCards(jobs, lastSuccess) {
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
      h("div", { class: "label" }, label(name)),
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
    replace(status,
      health ? healthCards(health) : null,
      stats ? statsCards(stats.stats || stats) : null,
      instanceCards(jobs, success));
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
