// Boot: session check, hash router, the /ws/logs live connection and run notifications.

import { get, onSessionLost, post, setCsrfToken } from "./api.js";
import { h, parseTime, replace } from "./dom.js";
import { LiveSocket } from "./live.js";
import {
  ACTIVE, TERMINAL, emit, loadJobs, loadWorkflows, normaliseJob, state,
} from "./store.js";
import { toast } from "./toast.js";
import { renderLogin } from "./views/login.js";
import { renderOverview } from "./views/overview.js";
import { renderJobs } from "./views/jobs.js";
import { renderRuns } from "./views/runs.js";
import { renderRun } from "./views/run.js";
import { renderModules } from "./views/modules.js";
import { renderDocs } from "./views/docs.js";

const main = document.getElementById("main");
const connection = document.getElementById("conn");
let socket = null;
let view = null; // {destroy?, resync?}
let routed = false; // the first page keeps the focus where the browser put it
const notified = new Set(); // run keys already announced

const CONNECTION_TEXT = { online: "Live", connecting: "Connecting…", offline: "Offline — reconnecting", closed: "Offline" };

function setConnection(status) {
  connection.dataset.state = status === "closed" ? "offline" : status;
  connection.textContent = CONNECTION_TEXT[status] || status;
  emit("connection", status);
}

function route() {
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, query = ""] = hash.split("?");
  const params = new URLSearchParams(query);
  const parts = path.split("/").filter(Boolean);
  if (parts[0] === "jobs") return { name: "jobs", render: renderJobs, params };
  if (parts[0] === "runs" && parts[1]) return { name: "runs", render: renderRun, params, id: decodeURIComponent(parts[1]) };
  if (parts[0] === "runs") return { name: "runs", render: renderRuns, params };
  if (parts[0] === "modules") return { name: "modules", render: renderModules, params };
  if (parts[0] === "docs") return { name: "docs", render: renderDocs, params };
  return { name: "overview", render: renderOverview, params };
}

function show() {
  if (!state.user) return;
  view?.destroy?.();
  const current = route();
  for (const link of document.querySelectorAll("[data-nav]")) {
    if (link.dataset.nav === current.name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  replace(main);
  view = current.render(main, current) || null;
  document.title = `${main.querySelector("h1")?.textContent || "Dashboard"} · jobwerk`;
  // A screen reader or keyboard user starts on the new page, not on the link they left.
  if (routed) main.focus({ preventScroll: true });
  routed = true;
}

/** Announce finished runs, whoever started them (schedule, API, another user). */
function announce(key, { status, title, error, runHref }) {
  if (!key || notified.has(key)) return;
  notified.add(key);
  if (status === "completed_with_warnings" || status === "warning") {
    toast(`${title} completed with warnings`, { kind: "warning", body: "See the run's result for what needs a look.", href: runHref });
  } else if (status === "completed" || status === "success") {
    toast(`${title} completed`, { kind: "success", href: runHref });
  } else if (status === "failed" || status === "error") {
    toast(`${title} failed`, { kind: "error", body: error || "", href: runHref });
  } else if (status === "cancelled") {
    toast(`${title} was cancelled`, { kind: "warning", href: runHref });
  }
}

function onJobsUpdate(list) {
  for (const raw of list) {
    const id = raw.job_id ?? raw.id;
    const previous = state.jobs.get(id);
    const job = normaliseJob(raw, previous);
    state.jobs.set(id, job);
    const before = previous?.status?.status;
    const now = job.status.status;
    const runKey = job.status.last_run_id || `${id}@${parseTime(job.status.last_run)?.getTime()}`;
    const previousKey = previous?.status?.last_run_id || `${id}@${parseTime(previous?.status?.last_run)?.getTime()}`;
    if (previous && TERMINAL.has(now) && (ACTIVE.has(before) || runKey !== previousKey)) {
      const runHref = job.status.last_run_id ? `#/runs/${job.status.last_run_id}` : null;
      announce(runKey, { status: now, title: job.title || id, error: job.status.last_error, runHref });
    }
  }
  emit("jobs", state.jobs);
}

function onRunEvent(message) {
  const data = message.data || {};
  const runId = message.run_id ?? data.run_id ?? data.id;
  const status = data.status;
  if (runId && TERMINAL.has(status)) {
    const job = state.jobs.get(message.job_id ?? data.job_id);
    const title = job?.title || data.workflow || message.job_id || "Run";
    announce(runId, { status, title, error: data.error, runHref: `#/runs/${runId}` });
  }
  emit("run-event", message);
}

function onLiveMessage(message) {
  const type = message.type ?? message.kind;
  if (type === "jobs_update") onJobsUpdate(message.data || message.jobs || []);
  else if (type === "run.status" || type === "run_status" || type === "run_update") onRunEvent(message);
  else if (type) emit(type, message);
}

async function resync() {
  try {
    await loadJobs();
  } catch {
    /* the next reconnect tries again */
  }
  view?.resync?.();
}

function startLive() {
  socket?.close();
  socket = new LiveSocket("/ws/logs", {
    onMessage: onLiveMessage,
    onState: setConnection,
    onReconnect: resync,
  });
}

function showUser() {
  document.getElementById("topbar").hidden = false;
  document.getElementById("user").textContent = state.user.username || state.user.name || "";
  document.getElementById("role").textContent = state.user.role || "";
  document.body.dataset.role = state.user.role || "";
}

async function signedIn(user) {
  state.user = user;
  if (user.csrf_token) setCsrfToken(user.csrf_token);
  showUser();
  await Promise.all([loadWorkflows(), loadJobs().catch(() => null)]);
  startLive();
  show();
}

function signedOut(message) {
  state.user = null;
  socket?.close();
  socket = null;
  view?.destroy?.();
  view = null;
  document.getElementById("topbar").hidden = true;
  replace(main);
  renderLogin(main, { message, onSuccess: signedIn });
}

async function logout() {
  try {
    await post("/api/v1/auth/logout");
  } finally {
    setCsrfToken(null);
    signedOut("You are signed out.");
  }
}

async function boot() {
  document.getElementById("logout").addEventListener("click", logout);
  window.addEventListener("hashchange", show);
  window.addEventListener("online", () => socket?.retryNow());
  onSessionLost(() => state.user && signedOut("Your session has ended. Please sign in again."));
  if ("serviceWorker" in navigator && window.isSecureContext) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
  }
  try {
    const me = await get("/api/v1/auth/session", { quiet401: true });
    await signedIn(me.user || me);
  } catch {
    signedOut();
  }
}

boot().catch((error) => replace(main, h("div", { class: "banner error" }, String(error))));
