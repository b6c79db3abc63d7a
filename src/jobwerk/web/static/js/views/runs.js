// Runs: a filterable, paged list (status, workflow, instance, time), refreshed live.

import { get, withQuery } from "../api.js";
import { badge, fmtDuration, fmtTime, h, percentOf, progressBar, replace } from "../dom.js";
import { SUCCEEDED, loadInstances, on, runId, state } from "../store.js";

const PAGE = 25;
const STATUSES = ["queued", "running", "completed", "completed_with_warnings", "failed", "cancelled"];
const SINCE = { "": "Any time", "1h": "Last hour", "24h": "Last 24 hours", "7d": "Last 7 days", "30d": "Last 30 days" };
const SINCE_MS = { "1h": 3600e3, "24h": 86400e3, "7d": 7 * 86400e3, "30d": 30 * 86400e3 };

function select(id, labelText, options, value) {
  const element = h("select", { id, name: id.replace("runs-", "") },
    Object.entries(options).map(([key, text]) => h("option", { value: key }, text)));
  element.value = value || "";
  return h("div", { class: "field" }, h("label", { for: id }, labelText), element);
}

function durationOf(run) {
  if (run.duration_seconds !== undefined && run.duration_seconds !== null) return run.duration_seconds;
  if (run.started_at && run.finished_at) return (new Date(run.finished_at) - new Date(run.started_at)) / 1000;
  return null;
}

function row(run, names) {
  const id = runId(run);
  const bar = progressBar(`Progress of run ${id}`, true);
  bar.set(SUCCEEDED.has(run.status) ? 100 : percentOf(run.progress), run.status);
  return h("tr", { dataset: { run: id, status: run.status } },
    h("td", { class: "run-id" }, h("a", { href: `#/runs/${id}`, class: "mono" }, id)),
    h("td", {}, badge(run.status)),
    h("td", {}, run.workflow || "—", run.job_id && run.job_id !== id ? h("div", { class: "muted" }, run.job_ref || run.job_id) : null),
    h("td", { class: "hide-phone" }, run.instance_id ? names.get(run.instance_id) || run.instance_id : "—"),
    h("td", {}, fmtTime(run.created_at)),
    h("td", { class: "hide-phone" }, fmtDuration(durationOf(run))),
    h("td", { class: "hide-phone" }, bar));
}

export function renderRuns(main, { params }) {
  const filters = {
    status: params.get("status") || "",
    workflow: params.get("workflow") || "",
    instance: params.get("instance") || "",
    since: params.get("since") || "",
    job: params.get("job") || "",
    offset: Number(params.get("offset") || 0),
  };
  const workflows = Object.fromEntries([["", "All workflows"], ...[...state.workflows.keys()].map((name) => [name, state.workflows.get(name).title || name])]);
  const instances = new Set([...state.jobs.values()].map((job) => job.instance_id).filter(Boolean));
  const names = new Map(); // instance id -> name, once /modules/instances answered
  const form = h("form", { class: "card log-toolbar", "aria-label": "Filter runs" },
    select("runs-status", "Status", Object.fromEntries([["", "Any status"], ...STATUSES.map((s) => [s, s.replace(/_/g, " ")])]), filters.status),
    select("runs-workflow", "Workflow", workflows, filters.workflow),
    select("runs-instance", "Instance", Object.fromEntries([["", "All instances"], ...[...instances].map((i) => [i, i])]), filters.instance),
    select("runs-since", "Time", SINCE, filters.since));
  const body = h("tbody");
  const summary = h("span", { class: "muted", role: "status" });
  const previous = h("button", { type: "button", class: "secondary" }, "Previous");
  const next = h("button", { type: "button", class: "secondary" }, "Next");
  main.append(
    h("div", { class: "page-head" }, h("div", {}, h("h1", {}, "Runs"), h("p", { class: "muted" }, filters.job ? `Runs of job ${filters.job}` : "Every execution, newest first."))),
    form,
    h("div", { class: "card table-wrap" },
      h("table", {},
        h("caption", { class: "sr-only" }, "Runs"),
        h("thead", {}, h("tr", {}, ["Run", "Status", "Workflow", "Instance", "Started", "Duration", "Progress"].map((text, index) =>
          h("th", { scope: "col", class: index === 3 || index > 4 ? "hide-phone" : null }, text)))),
        body),
      h("div", { class: "pager" }, previous, summary, next)));

  function navigate(changes) {
    const merged = { ...filters, ...changes };
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(merged)) if (value) query.set(key, value);
    location.hash = `#/runs${query.toString() ? `?${query}` : ""}`;
  }
  form.addEventListener("change", (event) => navigate({ [event.target.name]: event.target.value, offset: 0 }));
  previous.addEventListener("click", () => navigate({ offset: Math.max(0, filters.offset - PAGE) }));
  next.addEventListener("click", () => navigate({ offset: filters.offset + PAGE }));

  let loading = false;
  async function load() {
    if (loading) return;
    loading = true;
    try {
      const since = SINCE_MS[filters.since] ? new Date(Date.now() - SINCE_MS[filters.since]).toISOString() : "";
      const page = await get(withQuery("/api/v1/jobs", {
        status: filters.status, workflow: filters.workflow, instance: filters.instance, job: filters.job,
        since, limit: PAGE, offset: filters.offset,
      }));
      const runs = page.jobs || page.runs || page.items || [];
      const total = page.pagination?.total ?? page.total ?? runs.length;
      replace(body, runs.length ? runs.map((run) => row(run, names)) : h("tr", {}, h("td", { colspan: "7", class: "muted" }, "No runs match these filters.")));
      summary.textContent = total ? `${filters.offset + 1}–${filters.offset + runs.length} of ${total}` : "0 runs";
      previous.disabled = filters.offset === 0;
      next.disabled = filters.offset + runs.length >= total;
    } catch (failure) {
      replace(body, h("tr", {}, h("td", { colspan: "7" }, h("div", { class: "banner error" }, failure.message))));
    } finally {
      loading = false;
    }
  }
  loadInstances().then((instances) => {
    for (const [id, instance] of instances) names.set(id, instance.name);
    const choice = form.querySelector("#runs-instance");
    for (const option of choice.options) if (names.has(option.value)) option.textContent = names.get(option.value);
    load();
  });
  let timer = null;
  const refreshSoon = () => {
    clearTimeout(timer);
    timer = setTimeout(load, 400);
  };
  const offs = [on("jobs", refreshSoon), on("run-event", refreshSoon)];
  return {
    resync: load,
    destroy() {
      clearTimeout(timer);
      offs.forEach((off) => off());
    },
  };
}
