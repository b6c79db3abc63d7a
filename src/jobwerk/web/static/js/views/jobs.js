// Jobs: live status, enable/disable, schedule editor (interval or cron) and run-now.

import { ApiError, post } from "../api.js";
import { badge, definitionList, fmtDuration, fmtRelative, fmtTime, h, replace, uid } from "../dom.js";
import { loadJobs, may, normaliseJob, on, state } from "../store.js";
import { toast } from "../toast.js";

function describeSchedule(job) {
  const zone = job.timezone && job.timezone !== "UTC" ? ` (${job.timezone})` : " (UTC)";
  if (job.cron) return `cron ${job.cron}${zone}`;
  if (job.interval_minutes) return `every ${job.interval_minutes} min`;
  return "manual only";
}

const BROWSER_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

function zoneSelect(id, value, disabled) {
  const zones = new Set(["UTC", value, BROWSER_ZONE, ...(Intl.supportedValuesOf?.("timeZone") || [])]);
  const select = h("select", { id, name: "timezone", disabled, "aria-describedby": `${id}-hint` },
    [...zones].filter(Boolean).map((zone) => h("option", { value: zone }, zone)));
  select.value = value;
  return select;
}

function scheduleEditor(job, onSaved) {
  const id = uid("schedule");
  const allowed = may.schedule();
  const mode = job.cron ? "cron" : job.interval_minutes ? "interval" : "manual";
  const radio = (value, text) => h("label", {},
    h("input", { type: "radio", name: `${id}-mode`, value, checked: mode === value, disabled: !allowed }), text);
  const interval = h("input", { id: `${id}-interval`, name: "interval_minutes", type: "number", min: "0.5", step: "any", inputmode: "decimal", value: job.interval_minutes ?? "", disabled: !allowed, "aria-describedby": `${id}-interval-error` });
  const cron = h("input", { id: `${id}-cron`, name: "cron", type: "text", class: "mono", placeholder: "*/30 * * * *", value: job.cron ?? "", disabled: !allowed, "aria-describedby": `${id}-cron-error` });
  // A cron saved in the browser means the browser's wall clock unless the job already has a zone.
  const zone = zoneSelect(`${id}-zone`, job.cron && job.timezone ? job.timezone : BROWSER_ZONE, !allowed);
  const intervalError = h("span", { class: "error-text", id: `${id}-interval-error`, hidden: true });
  const cronError = h("span", { class: "error-text", id: `${id}-cron-error`, hidden: true });
  const intervalField = h("div", { class: "field" }, h("label", { for: `${id}-interval` }, "Interval (minutes)"), interval, intervalError);
  const cronField = h("div", { class: "field" }, h("label", { for: `${id}-cron` }, "Cron expression"), cron, h("span", { class: "hint" }, "minute hour day month weekday"), cronError);
  const zoneField = h("div", { class: "field" }, h("label", { for: zone.id }, "Time zone"), zone, h("span", { class: "hint", id: `${id}-zone-hint` }, "The cron fires on this zone's clock"));
  const manualNote = h("p", { class: "muted" }, "The job runs only when someone starts it.");
  const general = h("div", { class: "banner error", role: "alert", hidden: true });
  const save = h("button", { type: "submit", disabled: !allowed }, "Save schedule");
  const modes = h("div", { class: "seg", role: "radiogroup", "aria-label": "Schedule type" },
    radio("manual", "Manual"), radio("interval", "Interval"), radio("cron", "Cron"));
  const chosen = () => modes.querySelector("input:checked").value;

  const sync = () => {
    intervalField.hidden = chosen() !== "interval";
    cronField.hidden = zoneField.hidden = chosen() !== "cron";
    manualNote.hidden = chosen() !== "manual";
  };
  modes.addEventListener("change", sync);
  sync();

  const form = h("form", { class: "schedule-form", novalidate: true }, modes,
    h("div", { class: "inline-fields" }, intervalField, cronField, zoneField), manualNote, general,
    h("div", { class: "actions" }, save, allowed ? null : h("span", { class: "muted" }, "Only admins can change schedules.")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const [input, error] of [[interval, intervalError], [cron, cronError]]) {
      input.removeAttribute("aria-invalid");
      error.hidden = true;
    }
    general.hidden = true;
    const body = {
      cron: { cron: cron.value.trim(), timezone: zone.value },
      interval: { interval_minutes: interval.value === "" ? null : Number(interval.value) },
      manual: { interval_minutes: null, cron: null },
    }[chosen()];
    save.disabled = true;
    try {
      const answer = await post(`/api/jobs/${encodeURIComponent(job.job_id)}/schedule`, body);
      toast(`Schedule of ${job.title || job.job_id} saved`, { kind: "success", body: describeSchedule(answer) });
      onSaved(answer);
    } catch (failure) {
      let placed = false;
      for (const entry of failure instanceof ApiError ? failure.errors : []) {
        const loc = (entry.loc || []).map(String);
        const target = loc.includes("cron") ? [cron, cronError] : loc.includes("interval_minutes") ? [interval, intervalError] : null;
        if (!target) continue;
        target[0].setAttribute("aria-invalid", "true");
        target[1].textContent = entry.msg;
        target[1].hidden = false;
        placed = true;
      }
      if (!placed) {
        // A message without a field location still belongs to the visible input.
        const [input, error] = body.cron ? [cron, cronError] : [interval, intervalError];
        input.setAttribute("aria-invalid", "true");
        error.textContent = failure.message;
        error.hidden = false;
      }
    } finally {
      save.disabled = !allowed;
    }
  });
  return form;
}

function jobCard(job) {
  const status = job.status || {};
  const toggleId = uid("toggle");
  const toggle = h("input", { id: toggleId, type: "checkbox", role: "switch", dataset: { focus: "toggle" }, checked: job.enabled !== false, disabled: !may.toggle() });
  const runNow = h("button", { type: "button", class: "secondary", dataset: { focus: "run" }, disabled: !may.trigger() || job.enabled === false }, "Run now");
  const editorSlot = h("div");
  const details = h("details", { class: "schedule" }, h("summary", {}, "Edit schedule"), editorSlot);
  details.addEventListener("toggle", () => {
    if (details.open && !editorSlot.firstChild) editorSlot.append(scheduleEditor(job, refresh));
  });

  async function refresh(answer) {
    if (answer && (answer.job_id || answer.id)) {
      state.jobs.set(job.job_id, normaliseJob(answer, state.jobs.get(job.job_id)));
    }
    await loadJobs().catch(() => null);
  }

  toggle.addEventListener("change", async () => {
    toggle.disabled = true;
    try {
      const answer = await post(`/api/jobs/${encodeURIComponent(job.job_id)}/toggle?enabled=${toggle.checked}`);
      toast(`${job.title || job.job_id} ${toggle.checked ? "enabled" : "disabled"}`, { kind: "success" });
      await refresh(answer);
    } catch (failure) {
      toggle.checked = !toggle.checked;
      toast("Could not change the job", { kind: "error", body: failure.message });
    } finally {
      toggle.disabled = !may.toggle();
    }
  });

  runNow.addEventListener("click", async () => {
    runNow.disabled = true;
    try {
      const answer = await post(`/api/jobs/${encodeURIComponent(job.job_id)}/run-now`, {});
      toast(`${job.title || job.job_id} started`, { href: answer.run_id ? `#/runs/${answer.run_id}` : null });
      await refresh();
    } catch (failure) {
      toast(`Could not start ${job.title || job.job_id}`, { kind: "error", body: failure.message });
      runNow.disabled = !may.trigger() || job.enabled === false;
    }
  });

  const last = status.status || "idle";
  return h("article", { class: `card ${["failed", "error"].includes(last) ? "error" : last === "warning" ? "warning" : ""}`, dataset: { job: job.job_id } },
    h("div", { class: "step-head" },
      h("h3", {}, job.title || job.job_id),
      h("span", {}, badge(job.enabled === false ? "disabled" : last))),
    h("p", { class: "muted mono" }, `${job.job_id}${job.workflow ? ` · ${job.workflow}` : ""}`),
    definitionList([
      ["State", h("span", { class: "job-state" }, last)],
      ["Last success", status.last_success ? `${fmtTime(status.last_success)} (${fmtRelative(status.last_success)})` : "never"],
      ["Last run", status.last_run ? `${fmtTime(status.last_run)} (${fmtRelative(status.last_run)})` : "never"],
      ["Next run", job.enabled === false ? "— (disabled)" : status.next_run ? `${fmtTime(status.next_run)} (${fmtRelative(status.next_run)})` : "—"],
      ["Duration", fmtDuration(status.last_duration)],
      ["Schedule", h("span", { class: "schedule-text" }, describeSchedule(job))],
      ["Last error", h("span", { class: "last-error" }, status.last_error || "—")],
    ]),
    h("div", { class: "actions" },
      h("label", { class: "switch", for: toggleId }, toggle, "Enabled"),
      runNow,
      status.last_run_id ? h("a", { href: `#/runs/${status.last_run_id}` }, "Last run") : null,
      h("a", { href: `#/runs?job=${encodeURIComponent(job.job_id)}` }, "All runs")),
    details);
}

export function renderJobs(main) {
  const list = h("div", { class: "grid wide", "aria-live": "polite" });
  main.append(
    h("div", { class: "page-head" }, h("div", {}, h("h1", {}, "Jobs"), h("p", { class: "muted" }, "Scheduled workflows and their live status."))),
    list);
  const openEditors = () => new Set([...list.querySelectorAll("details[open]")].map((d) => d.closest("[data-job]").dataset.job));
  function draw() {
    // Keep open editors open while live updates redraw the cards, and keep focus in place.
    const open = openEditors();
    const active = document.activeElement;
    if (list.contains(active) && active.closest("details[open]")) return;
    const focused = list.contains(active) && active.dataset.focus
      ? [active.closest("[data-job]").dataset.job, active.dataset.focus] : null;
    replace(list, [...state.jobs.values()].map(jobCard));
    for (const card of list.querySelectorAll("[data-job]")) {
      if (open.has(card.dataset.job)) card.querySelector("details").open = true;
      if (focused && card.dataset.job === focused[0]) card.querySelector(`[data-focus="${focused[1]}"]`)?.focus();
    }
    if (!state.jobs.size) list.append(h("p", { class: "muted" }, "No jobs are configured yet."));
  }
  draw();
  const off = on("jobs", draw);
  return { resync: draw, destroy: off };
}
