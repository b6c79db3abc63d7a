// A trigger card: a job's parameters as inputs, run-now, and the started run's live progress; a
// TEMU sync (and the stock watch) also gets Preview: the same workflow as a dry run, shown on its
// run page.

import { ApiError, post, withQuery } from "../api.js";
import { h, percentOf, progressBar } from "../dom.js";
import { streamRun } from "../runstream.js";
import { TERMINAL, may, runId, state } from "../store.js";
import { schemaForm } from "../schema-form.js";
import { toast } from "../toast.js";

const STATUS_TEXT = { 409: "This job is already running.", 423: "This job is disabled; enable it first." };
// A preview starts through the TEMU sync routes: it is no run of the job (it runs while the job
// runs or is disabled, and never counts as its sync).
const PREVIEW_ROUTES = {
  "temu.sync_orders": "orders/sync",
  "temu.sync_inventory": "inventory/sync",
  "temu.watch_stock": "stock-watch/preview",
};

function previewPath(job, workflow) {
  const route = PREVIEW_ROUTES[job.workflow];
  if (!route || !job.instance_id || !("dry_run" in (workflow?.params_schema?.properties || {}))) return null;
  return `/api/temu/instances/${encodeURIComponent(job.instance_id)}/${route}`;
}

export function triggerCard(job) {
  const workflow = state.workflows.get(job.workflow);
  const form = schemaForm(workflow?.params_schema || {}, job.params || {});
  const allowed = may.trigger();
  const message = h("div", { class: "banner error", role: "alert", hidden: true });
  const button = h("button", { type: "submit", disabled: !allowed }, "Run now");
  const previewAt = previewPath(job, workflow);
  const preview = previewAt ? h("button", {
    type: "button", class: "secondary", disabled: !allowed,
    title: "Read everything, write nothing, and list what this sync would write",
  }, "Preview") : null;
  const bar = progressBar(`Progress of ${job.title || job.job_id}`);
  const liveText = h("span", { class: "muted", role: "status" });
  const live = h("div", { class: "trigger-live", hidden: true },
    h("div", { class: "step-head" }, liveText, h("a", { class: "open-run" }, "Open run")), bar);
  let stream = null;

  for (const input of form.element.querySelectorAll("input, select, textarea")) input.disabled = !allowed;

  function follow(id) {
    stream?.close();
    live.hidden = false;
    live.querySelector(".open-run").href = `#/runs/${id}`;
    bar.set(0, "running");
    liveText.textContent = "Queued…";
    stream = streamRun(id, {
      onMessage(msg) {
        const data = msg.data || {};
        if (msg.type === "progress" && !data.step) {
          bar.set(percentOf(data), "running");
          liveText.textContent = `Running${data.current_step ? ` · ${data.current_step}` : ""} · ${Math.round(percentOf(data))}%`;
        } else if (msg.type === "status" && !data.step && data.status) {
          liveText.textContent = data.status;
        } else if (msg.type === "complete" || msg.type === "error") {
          const status = data.status || (msg.type === "complete" ? "completed" : "failed");
          bar.set(status === "completed" ? 100 : percentOf(data.progress ?? data), status);
          liveText.textContent = TERMINAL.has(status) ? `Finished: ${status}` : status;
        }
      },
    });
  }

  const formElement = h("form", { class: "card trigger", novalidate: true, "aria-label": `Start ${job.title || job.job_id}` },
    h("h3", {}, job.title || job.job_id),
    h("p", { class: "muted" }, workflow?.description || job.workflow || ""),
    form.element, message,
    h("div", { class: "actions" }, button, preview,
      allowed ? null : h("span", { class: "muted" }, "Your role can view runs but not start them.")),
    live);

  function showFailure(failure) {
    const unmatched = failure instanceof ApiError && failure.status === 422 ? form.showErrors(failure.errors) : [];
    if (!(failure instanceof ApiError && failure.status === 422) || unmatched.length) {
      message.textContent = STATUS_TEXT[failure.status] || unmatched.join("; ") || failure.message;
      message.hidden = false;
    }
  }

  /** Start a run with `start`, the card's buttons disabled meanwhile. */
  async function starting(control, start) {
    if (!allowed) return;
    message.hidden = true;
    form.clearErrors();
    control.disabled = true;
    try {
      await start();
    } catch (failure) {
      showFailure(failure);
    } finally {
      control.disabled = !allowed;
    }
  }

  formElement.addEventListener("submit", (event) => {
    event.preventDefault();
    starting(button, async () => {
      const answer = await post(`/api/jobs/${encodeURIComponent(job.job_id)}/run-now`, form.values());
      const id = answer.run_id ?? runId(answer.run);
      toast(`${job.title || job.job_id} started`, { href: id ? `#/runs/${id}` : null });
      if (id) follow(id);
    });
  });
  preview?.addEventListener("click", () => starting(preview, async () => {
    const answer = await post(withQuery(previewAt, { ...form.values(), dry_run: true }));
    toast(`Preview of ${job.title || job.job_id} started`, { href: `#/runs/${answer.run_id}` });
    location.hash = `#/runs/${answer.run_id}`;
  }));
  formElement.destroy = () => stream?.close();
  return formElement;
}
