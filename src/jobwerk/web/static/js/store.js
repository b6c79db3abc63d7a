// Shared state of the signed-in session: user, jobs, workflows; a tiny event emitter.

import { get } from "./api.js";

const ROLE_RANK = { viewer: 1, operator: 2, admin: 3 };
export const TERMINAL = new Set([
  "completed", "completed_with_warnings", "failed", "cancelled", "success", "warning", "error",
]);
/** Finished without failing: the run page, toasts and cards treat both alike but show which. */
export const SUCCEEDED = new Set(["completed", "completed_with_warnings", "success", "warning"]);
export const ACTIVE = new Set(["queued", "running"]);

export const state = {
  user: null,
  jobs: new Map(), // job_id -> job (status normalised to an object)
  workflows: new Map(), // name -> describe() output
};

const listeners = new Map();

export function on(name, callback) {
  if (!listeners.has(name)) listeners.set(name, new Set());
  listeners.get(name).add(callback);
  return () => listeners.get(name).delete(callback);
}

export function emit(name, payload) {
  for (const callback of listeners.get(name) || []) callback(payload);
}

/** True when the signed-in user has at least `role` (viewer < operator < admin). */
export function can(role) {
  return (ROLE_RANK[state.user?.role] || 0) >= ROLE_RANK[role];
}

/** Run-now, cancel, retry and enabling need operator; schedules need admin (as the API). */
export const may = {
  trigger: () => can("operator"),
  toggle: () => can("operator"),
  schedule: () => can("admin"),
};

/** A job's status as an object, whatever shape it arrived in (seed 000 sends a plain string). */
export function normaliseJob(raw, previous = {}) {
  const status = typeof raw.status === "object" && raw.status !== null
    ? raw.status
    : { ...(previous.status || {}), status: raw.status ?? previous.status?.status };
  for (const key of ["last_run", "next_run", "last_error", "last_duration", "last_run_id", "progress", "last_success"]) {
    if (raw[key] !== undefined) status[key] = raw[key];
  }
  return { ...previous, ...raw, job_id: raw.job_id ?? raw.id ?? previous.job_id, status };
}

export function jobList(payload) {
  return Array.isArray(payload) ? payload : payload?.jobs || payload?.items || [];
}

export async function loadJobs() {
  const jobs = jobList(await get("/api/jobs"));
  state.jobs = new Map(jobs.map((job) => [job.job_id ?? job.id, normaliseJob(job)]));
  emit("jobs", state.jobs);
  return state.jobs;
}

export async function loadWorkflows() {
  try {
    const payload = await get("/api/v1/workflows");
    const list = Array.isArray(payload) ? payload : payload?.workflows || [];
    state.workflows = new Map(list.map((workflow) => [workflow.name, workflow]));
  } catch {
    state.workflows = new Map();
  }
  return state.workflows;
}

/** Module instances by id (each with its module_name); empty when they cannot be read. */
export async function loadInstances() {
  const instances = new Map();
  try {
    const payload = await get("/modules/instances");
    for (const [module, list] of Object.entries(payload?.modules || {})) {
      for (const instance of list) instances.set(instance.instance_id, { ...instance, module_name: instance.module_name || module });
    }
  } catch {
    /* without names, ids stand in */
  }
  return instances;
}

/** The id of a run in any of the shapes the API uses. */
export function runId(run) {
  return run?.run_id ?? run?.id ?? run?.job_id;
}
