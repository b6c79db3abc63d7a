// One run: step timeline with progress and counters, result with exports, cancel/retry,
// and the live log (filter by level, step and text; follows the tail).

import { ApiError, del, get, post, withQuery } from "../api.js";
import {
  ask, badge, definitionList, fmtBytes, fmtDuration, fmtTime, h, percentOf, progressBar, replace, uid,
} from "../dom.js";
import { streamRun } from "../runstream.js";
import { ACTIVE, SUCCEEDED, TERMINAL, may, on, state } from "../store.js";
import { toast } from "../toast.js";

const LEVELS = ["debug", "info", "warning", "error"];
const MAX_LINES = 2000;

function field(labelText, control) {
  return h("div", { class: "field" }, h("label", { for: control.id }, labelText), control);
}

function exportsList(result, runId) {
  const files = result.exports || [];
  if (!files.length) return null;
  return h("div", {},
    h("h3", {}, "Exports"),
    h("ul", { class: "exports" }, files.map((file) => {
      const entry = typeof file === "string" ? { name: file } : file;
      const name = entry.name || entry.filename;
      const href = entry.url || `/api/v1/exports/${encodeURIComponent(runId)}/${encodeURIComponent(name)}`;
      return h("li", {}, h("a", { href, download: name }, entry.title && entry.title !== name ? `${entry.title} (${name})` : name),
        entry.size ? h("span", { class: "muted" }, ` · ${fmtBytes(entry.size)}`) : null);
    })));
}

const words = (key) => key.replace(/_/g, " ").replace(/^\w/, (c) => c.toUpperCase());

/** One line for a nested value: "de: Ελένη → Eleni · city: Αθήνα → Athina". */
function inline(value) {
  if (value === null || value === undefined || value === "") return "—";
  if (Array.isArray(value)) return value.map(inline).join(", ");
  if (typeof value === "object") return Object.entries(value).map(([key, item]) => `${key}: ${inline(item)}`).join(" · ");
  return String(value);
}

/** A document (an order's XML, an API payload) folded, its text as written. */
function documentText(text) {
  const kind = text.trimStart().startsWith("<") ? "XML" : "Text";
  return h("details", { class: "document" },
    h("summary", {}, `${kind}, ${text.split("\n").length} lines`), h("pre", { class: "mono", tabindex: "0" }, text));
}

/**
 * A value as readable markup, never raw JSON: lists of records become tables, other lists
 * bulleted lists, records definition lists; what is nested deeper reads as one line; a text of
 * several lines is a document to unfold.
 */
function readable(value, depth = 0) {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value === "string" && value.includes("\n")) return documentText(value);
  if (depth > 1 && typeof value === "object") return inline(value);
  if (Array.isArray(value)) {
    if (!value.length) return "none";
    if (value.every((item) => item && typeof item === "object" && !Array.isArray(item))) {
      const columns = [...new Set(value.flatMap((item) => Object.keys(item)))];
      // Scrolls sideways when wider than the card, so it must be reachable by keyboard too.
      return h("div", { class: "table-wrap", tabindex: "0", role: "group", "aria-label": "Table (scrolls sideways)" }, h("table", { class: "compact" },
        h("thead", {}, h("tr", {}, columns.map((column) => h("th", { scope: "col" }, words(column))))),
        h("tbody", {}, value.map((item) => h("tr", {}, columns.map((column) => h("td", {}, readable(item[column], depth + 2))))))));
    }
    return h("ul", { class: "plain" }, value.map((item) => h("li", {}, readable(item, depth + 1))));
  }
  if (typeof value === "object") return definitionList(Object.entries(value).map(([key, item]) => [words(key), readable(item, depth + 1)]));
  if (typeof value === "boolean") return value ? "yes" : "no";
  return typeof value === "number" ? value.toLocaleString() : String(value);
}

function resultSummary(result, runId) {
  const { warnings = [], counts = {}, exports: _files, ...rest } = result || {};
  const countEntries = Object.entries(counts);
  return h("div", {},
    warnings.length ? h("div", { class: "warnings", dataset: { section: "warnings" } },
      h("h3", {}, `${warnings.length} warning${warnings.length === 1 ? "" : "s"}`),
      h("ul", {}, warnings.map((warning) => h("li", {}, String(warning))))) : null,
    countEntries.length ? h("div", { dataset: { section: "counts" } }, h("h3", {}, "Counts"),
      h("table", { class: "compact counts" }, h("caption", { class: "sr-only" }, "Counts"),
        h("tbody", {}, countEntries.map(([key, value]) => h("tr", {}, h("th", { scope: "row" }, words(key)), h("td", {}, readable(value))))))) : null,
    Object.keys(rest).length ? definitionList(Object.entries(rest).map(([key, value]) => [words(key), readable(value)])) : null,
    !warnings.length && !countEntries.length && !Object.keys(rest).length && !(result?.exports || []).length
      ? h("p", { class: "muted" }, "No result yet.") : null,
    exportsList(result || {}, runId));
}

/** Who or what started a run: "anna (dashboard user)", "API key erp", "schedule". */
function startedBy(run) {
  const [kind, ...rest] = (run.started_by || "").split(":");
  const name = rest.join(":");
  if (kind === "user") return `${name} (user)`;
  if (kind === "key") return `API key ${name}`;
  if (kind === "static") return "the static API key";
  if (kind === "cli") return `${name} on the command line`;
  return { schedule: "the schedule", retry: "a retry", demo: "the demo set-up" }[run.trigger] || run.trigger || "—";
}

function stepItem(step, titles) {
  const bar = progressBar(`Progress of step ${step.name}`);
  bar.set(step.progress, step.status);
  const counters = h("div", { class: "counters" });
  const detail = h("div", { class: "muted step-detail" });
  const item = h("li", { dataset: { step: step.name, status: step.status } },
    h("span", { class: "dot", "aria-hidden": "true" }),
    h("div", {},
      h("div", { class: "step-head" },
        h("strong", {}, titles.get(step.name) || step.name),
        h("span", {}, h("span", { class: "step-count muted" }), " ", badge(step.status))),
      bar, counters, detail));
  item.update = (data) => {
    Object.assign(step, Object.fromEntries(Object.entries(data).filter(([, value]) => value !== undefined)));
    item.dataset.status = step.status;
    replace(item.querySelector(".step-head .badge").parentElement, h("span", { class: "step-count muted" },
      step.total ? `${step.done} / ${step.total}` : ""), " ", badge(step.status));
    bar.set(step.status === "completed" || step.status === "skipped" ? 100 : step.progress, step.status);
    replace(counters, Object.entries(step.counters || {}).map(([key, value]) => h("span", {}, `${key.replace(/_/g, " ")}: ${value}`)),
      step.attempt > 1 ? h("span", {}, `attempt ${step.attempt}`) : null);
    replace(detail, step.error ? h("span", { class: "last-error" }, step.error) : step.message || "");
  };
  item.update({});
  return item;
}

export function renderRun(main, { id }) {
  const titles = new Map();
  const heading = h("h1", {}, "Run");
  const sub = h("p", { class: "muted mono run-id" }, id);
  const headBadge = h("span");
  const overall = progressBar("Run progress");
  const overallText = h("span", { class: "muted run-percent" }, "0%");
  const info = h("div");
  const paramsBox = h("div");
  const timeline = h("ol", { class: "timeline", "aria-label": "Steps" });
  const result = h("div");
  const banner = h("div", { class: "banner error", role: "alert", hidden: true });
  const cancel = h("button", { type: "button", class: "danger", hidden: true }, "Cancel run");
  const retry = h("button", { type: "button", hidden: true }, "Retry run");
  const steps = new Map();
  let run = null;

  // Log controls
  const levelId = uid("log-level");
  const stepId = uid("log-step");
  const textId = uid("log-text");
  const level = h("select", { id: levelId, name: "level" }, h("option", { value: "" }, "All levels"), LEVELS.map((l) => h("option", { value: l }, `${l} and above`)));
  const stepSelect = h("select", { id: stepId, name: "step" }, h("option", { value: "" }, "All steps"));
  const text = h("input", { id: textId, name: "text", type: "search", placeholder: "Search messages" });
  const follow = h("input", { type: "checkbox", id: uid("follow"), checked: true });
  const logBox = h("div", { class: "logs", role: "log", "aria-label": "Run log", tabindex: "0", "aria-live": "off" });
  const logCount = h("span", { class: "muted", role: "status" });
  let shown = 0;

  main.append(
    h("div", { class: "page-head" },
      h("div", {}, h("a", { href: "#/runs" }, "‹ Runs"), heading, sub),
      h("div", { class: "actions" }, headBadge, cancel, retry)),
    banner,
    h("section", { class: "card", "aria-label": "Progress" },
      h("div", { class: "step-head" }, h("h2", {}, "Progress"), overallText), overall, info),
    h("div", { class: "grid wide" },
      h("section", { class: "card", "aria-labelledby": "steps-title" }, h("h2", { id: "steps-title" }, "Steps"), timeline),
      h("section", { class: "card", "aria-labelledby": "params-title" }, h("h2", { id: "params-title" }, "Parameters"), paramsBox)),
    h("section", { class: "card", "aria-labelledby": "result-title" }, h("h2", { id: "result-title" }, "Result"), result),
    h("section", { class: "card", "aria-labelledby": "logs-title" },
      h("div", { class: "step-head" }, h("h2", { id: "logs-title" }, "Logs"), logCount),
      h("form", { class: "log-toolbar", role: "search", "aria-label": "Filter logs", onsubmit: (e) => e.preventDefault() },
        field("Level", level), field("Step", stepSelect), field("Text", text),
        h("label", { class: "check", for: follow.id }, follow, "Follow")),
      logBox));

  function matches(line) {
    if (level.value && LEVELS.indexOf(line.level) < LEVELS.indexOf(level.value)) return false;
    if (stepSelect.value && line.step !== stepSelect.value) return false;
    if (text.value && !line.message.toLowerCase().includes(text.value.toLowerCase())) return false;
    return true;
  }

  function appendLines(lines) {
    const atBottom = logBox.scrollHeight - logBox.scrollTop - logBox.clientHeight < 40;
    logBox.querySelector(".empty")?.remove();
    for (const line of lines) {
      if (!matches(line)) continue;
      logBox.append(h("div", { class: "line", dataset: { level: line.level, id: line.id ?? "" } },
        h("span", { class: "time" }, fmtTime(line.created_at ?? line.timestamp)),
        h("span", { class: "lvl" }, line.level),
        h("span", { class: "step" }, line.step || ""),
        h("span", { class: "msg" }, line.message)));
      shown += 1;
    }
    while (logBox.children.length > MAX_LINES) logBox.firstElementChild.remove();
    if (!shown) logBox.append(h("div", { class: "empty" }, "No log lines match."));
    logCount.textContent = `${shown} line${shown === 1 ? "" : "s"}`;
    if (follow.checked && (atBottom || lines.length)) logBox.scrollTop = logBox.scrollHeight;
  }

  /** Load the newest lines that match the filters (the stored log is the truth after a gap). */
  async function loadLogs() {
    const path = `/api/v1/jobs/${encodeURIComponent(id)}/logs`;
    const query = { level: level.value, step: stepSelect.value, text: text.value, limit: 1000 };
    let page = await get(withQuery(path, query));
    const total = page.pagination?.total ?? 0;
    if (total > (page.logs || []).length) page = await get(withQuery(path, { ...query, offset: total - 1000 }));
    replace(logBox);
    shown = 0;
    appendLines(page.logs || []);
  }

  let textTimer = null;
  level.addEventListener("change", () => loadLogs());
  stepSelect.addEventListener("change", () => loadLogs());
  text.addEventListener("input", () => {
    clearTimeout(textTimer);
    textTimer = setTimeout(() => loadLogs(), 250);
  });
  follow.addEventListener("change", () => {
    if (follow.checked) logBox.scrollTop = logBox.scrollHeight;
  });
  logBox.addEventListener("scroll", () => {
    // Scrolling up pauses following; scrolling back to the end resumes it.
    follow.checked = logBox.scrollHeight - logBox.scrollTop - logBox.clientHeight < 40;
  });

  function setOverall(percent, status) {
    const value = SUCCEEDED.has(status) ? 100 : percent;
    overall.set(value, status);
    overallText.textContent = `${Math.round(value)}%`;
  }

  function drawRun() {
    heading.textContent = state.workflows.get(run.workflow)?.title || run.workflow;
    sub.textContent = run.id;
    replace(headBadge, badge(run.status));
    setOverall(percentOf(run.progress_detail ?? run.progress), run.status);
    replace(info, definitionList([
      ["Workflow", run.workflow],
      ["Job", run.job_id ? h("a", { href: `#/runs?job=${encodeURIComponent(run.job_id)}` }, run.job_id) : "—"],
      ["Started by", h("span", { class: "started-by" }, startedBy(run))],
      ["How", run.trigger || "—"],
      ["Queued", fmtTime(run.created_at)],
      ["Started", fmtTime(run.started_at)],
      ["Finished", fmtTime(run.finished_at)],
      ["Duration", fmtDuration(run.duration_seconds)],
      run.retry_of ? ["Retry of", h("a", { href: `#/runs/${run.retry_of}`, class: "mono" }, run.retry_of)] : null,
      run.params?.dry_run ? ["Preview", h("span", { class: "dry-run" }, "a dry run: nothing was written; the result lists what would be")] : null,
      run.params?.replay_of ? ["Replay of", h("a", { href: `#/runs/${run.params.replay_of}`, class: "mono" }, run.params.replay_of)] : null,
      run.error ? ["Error", h("span", { class: "last-error" }, run.error)] : null,
    ].filter(Boolean)));
    cancel.hidden = !ACTIVE.has(run.status) || !may.trigger();
    cancel.disabled = Boolean(run.cancel_requested);
    cancel.textContent = run.cancel_requested ? "Cancelling…" : "Cancel run";
    retry.hidden = !["failed", "cancelled"].includes(run.status) || !may.trigger();
    replace(result, resultSummary(run.result, run.id));
    const schema = state.workflows.get(run.workflow)?.params_schema?.properties || {};
    // Parameters no form shows appear when set; a write-only one (a sealed secret) only as "set".
    const params = Object.entries(run.params || {}).filter(([key, value]) => !schema[key]?.["x-hidden"] || (value !== null && value !== false));
    const shown = (key, value) => (schema[key]?.writeOnly ? "set (not shown)" : readable(value));
    replace(paramsBox, params.length
      ? definitionList(params.map(([key, value]) => [schema[key]?.title || words(key), shown(key, value)]))
      : h("p", { class: "muted" }, "This workflow takes no parameters."));
  }

  function drawSteps() {
    const workflow = state.workflows.get(run.workflow);
    for (const step of workflow?.steps || []) titles.set(step.name, step.title);
    const list = run.steps?.length ? run.steps : (workflow?.steps || []).map((s, i) => ({ name: s.name, position: i, status: "pending", progress: 0, done: 0, total: null, counters: {} }));
    steps.clear();
    replace(timeline, list.map((step) => {
      const item = stepItem({ ...step }, titles);
      steps.set(step.name, item);
      return item;
    }));
    const chosen = stepSelect.value;
    replace(stepSelect, h("option", { value: "" }, "All steps"), list.map((step) => h("option", { value: step.name }, titles.get(step.name) || step.name)));
    stepSelect.value = chosen;
  }

  let loads = 0;
  /** Apply a newer state; answers can arrive out of order, and a finished run stays finished. */
  function accept(next) {
    if (run && TERMINAL.has(run.status) && !TERMINAL.has(next.status)) return false;
    run = next;
    return true;
  }

  async function loadRun() {
    const ticket = ++loads;
    try {
      const next = await get(`/api/v1/jobs/${encodeURIComponent(id)}`);
      if (ticket !== loads || !accept(next)) return;
      banner.hidden = true;
      drawRun();
      drawSteps();
    } catch (failure) {
      banner.textContent = failure.status === 404 ? "This run does not exist (any more)." : failure.message;
      banner.hidden = false;
    }
  }

  function onMessage(message) {
    const data = message.data || {};
    if (!run) return;
    if (message.type === "log") {
      appendLines([data]);
    } else if (message.type === "progress") {
      if (data.step) steps.get(data.step)?.update(data);
      const percent = data.run_progress ?? data.percent_complete;
      if (percent !== undefined) setOverall(percent, run.status === "queued" ? "running" : run.status);
    } else if (message.type === "status") {
      if (data.scope === "run" && Array.isArray(data.steps)) {
        // The stream opens with the full current state; like seed 003 it calls the run
        // job_id and the configured job job.
        if (!accept({ ...data, job_id: data.job })) return;
        drawRun();
        drawSteps();
      } else if (data.step) {
        steps.get(data.step)?.update({ status: data.status, attempt: data.attempt, error: data.error });
        if (data.run_progress !== undefined) setOverall(data.run_progress, run.status);
      } else if (data.status) {
        if (!accept({ ...run, status: data.status, cancel_requested: data.cancel_requested ?? run.cancel_requested })) return;
        drawRun();
      }
    } else if (message.type === "complete" || message.type === "error") {
      loadRun();
      loadLogs();
    }
  }

  cancel.addEventListener("click", async () => {
    const sure = await ask("Cancel this run?", {
      detail: "It stops between units of work; what is done stays done. You can retry it later.",
      confirm: "Cancel run",
    });
    if (!sure) return;
    cancel.disabled = true;
    try {
      const answer = await del(`/api/v1/jobs/${encodeURIComponent(id)}`);
      toast(answer?.action === "cancelled" ? "Cancelling the run…" : "Run cancelled", { kind: "warning" });
      await loadRun();
    } catch (failure) {
      toast("Could not cancel the run", { kind: "error", body: failure.message });
      cancel.disabled = false;
    }
  });
  retry.addEventListener("click", async () => {
    retry.disabled = true;
    try {
      const answer = await post(`/api/v1/jobs/${encodeURIComponent(id)}/retry`);
      const next = answer.run_id ?? answer.id;
      toast("Retry started", { href: `#/runs/${next}` });
      location.hash = `#/runs/${next}`;
    } catch (failure) {
      toast("Could not retry the run", { kind: "error", body: failure instanceof ApiError ? failure.message : String(failure) });
    } finally {
      retry.disabled = false;
    }
  });

  let stream = null;
  (async () => {
    await loadRun();
    if (run && run.id !== id) {
      // A unique prefix found the run: show it under its whole id (and follow that).
      location.replace(`#/runs/${run.id}`);
      return;
    }
    await loadLogs().catch(() => null);
    stream = streamRun(id, {
      onMessage,
      onResync: () => {
        loadRun();
        loadLogs().catch(() => null);
      },
    });
  })();

  // /ws/logs reports the job's latest run too: if the stream missed a change, catch up.
  const JOB_STATE = {
    success: "completed", warning: "completed_with_warnings", failed: "failed", cancelled: "cancelled", running: "running",
  };
  const offJobs = on("jobs", (jobs) => {
    const job = run?.job_id ? jobs.get(run.job_id) : null;
    const reported = JOB_STATE[job?.status?.status];
    if (job?.status?.last_run_id === id && reported && reported !== run.status) loadRun();
  });

  return {
    resync() {
      loadRun();
      loadLogs().catch(() => null);
    },
    destroy() {
      clearTimeout(textTimer);
      offJobs();
      stream?.close();
    },
  };
}
