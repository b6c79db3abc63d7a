// Docs: start a documentation scrape (check the site first), manage the stored site credentials
// and download what past scrapes exported. Scrapes are docs.scrape runs; the run page follows them.

import { get, post, withQuery } from "../api.js";
import { badge, definitionList, fmtBytes, fmtDuration, fmtTime, h, replace, uid } from "../dom.js";
import { clearErrors, field, group, showFailure } from "../fields.js";
import { describeField } from "../schema-form.js";
import { credentialsSection } from "./docs-credentials.js";
import { TERMINAL, can, on, runId, state } from "../store.js";
import { toast } from "../toast.js";

const WORKFLOW = "docs.scrape";
const FORMAT_LABELS = { markdown: "Markdown", json: "JSON", html: "HTML", pdf: "PDF" };
const BASIS = { sitemap: "Sitemap", link_sampling: "Sampled links" };
// Scrape options shown, with their labels; limits, defaults and hints come from the schema.
const LIMITS = [["max_pages", "Max pages"], ["max_depth", "Max depth"]];
const SCOPE = [["path_prefix", "Path prefix"], ["include", "Include paths"], ["exclude", "Exclude paths"]];
const PACE = [["rate_limit", "Rate limit"], ["concurrency", "Concurrency"], ["timeout", "Timeout"]];
const MORE = [
  ["content_selector", "Content selector"], ["respect_robots", "Respect robots.txt"],
  ["use_sitemaps", "Use sitemaps"], ["render_js", "Render JavaScript"], ["keep_query", "Keep query strings"],
];
const LINES = new Set(["include", "exclude"]);

function rangeOf(raw) {
  const number = (value) => Number(value).toLocaleString();
  if (raw.minimum !== undefined && raw.maximum !== undefined) return `${number(raw.minimum)}–${number(raw.maximum)}`;
  return raw.maximum !== undefined ? `up to ${number(raw.maximum)}` : "";
}

/** One scrape option's input, typed, bounded and pre-filled from the workflow's schema. */
function optionControl(name, schema) {
  const root = schema || {};
  const options = root.$defs?.ScrapeOptions?.properties || {};
  const spec = describeField(name, options[name] || {}, root, []);
  const id = uid(`docs-${name}`);
  const hint = [spec.description, rangeOf(options[name] || {})].filter(Boolean).join(" · ");
  if (LINES.has(name)) {
    return { spec, hint: `${hint}; one per line, e.g. /guide/*`, control: h("textarea", { id, name, rows: "2", class: "mono" }) };
  }
  if (spec.kind === "boolean") return { spec, hint, control: h("input", { id, name, type: "checkbox", checked: Boolean(spec.default) }) };
  if (spec.kind === "integer" || spec.kind === "number") {
    return { spec, hint, control: h("input", {
      id, name, type: "number", inputmode: spec.kind === "integer" ? "numeric" : "decimal",
      step: spec.kind === "integer" ? "1" : "any", min: spec.minimum ?? null, max: spec.maximum ?? null, value: spec.default ?? "",
    }) };
  }
  return { spec, hint, control: h("input", { id, name, type: "text", autocomplete: "off", value: spec.default ?? "" }) };
}

function optionValue({ spec, control }) {
  if (control.type === "checkbox") return control.checked;
  const raw = control.value.trim();
  if (LINES.has(spec.name)) return raw ? raw.split("\n").map((line) => line.trim()).filter(Boolean) : undefined;
  if (raw === "") return undefined;
  // Numbers go as typed; the API checks them and answers with a message per field.
  if (spec.kind === "integer" || spec.kind === "number") return Number.isNaN(Number(raw)) ? raw : Number(raw);
  return raw;
}

const yesNo = (value) => (value === null || value === undefined ? "unknown" : value ? "yes" : "no");

function listOf(title, items) {
  if (!items?.length) return null;
  return h("div", {}, h("h4", {}, title), h("ul", { class: "docs-notes" }, items.map((item) => h("li", {}, item))));
}

function checkResult(report, estimate) {
  return [
    report.status === "fulfilled" ? h("div", { class: "docs-check-part" },
      h("h3", {}, report.value.valid ? "Ready to scrape" : "Not ready to scrape"),
      definitionList([
        ["Reachable", yesNo(report.value.reachable)],
        ["HTTP status", report.value.status_code ?? "—"],
        ["robots.txt allows it", yesNo(report.value.robots_allowed)],
        ["URLs in sitemaps", String(report.value.sitemap_urls)],
        ["Needs JavaScript", yesNo(report.value.looks_like_spa)],
      ]),
      listOf("Warnings", report.value.warnings),
      listOf("Recommendations", report.value.recommendations)) : null,
    estimate.status === "fulfilled" ? h("div", { class: "docs-check-part" },
      h("h3", {}, "Estimate"),
      definitionList([
        ["Pages", estimate.value.estimated_pages.toLocaleString()],
        ["Duration", fmtDuration(estimate.value.estimated_duration_seconds)],
        ["Pages in sitemaps", estimate.value.sitemap_pages.toLocaleString()],
        ["Pages sampled", estimate.value.sampled_pages.toLocaleString()],
        ["Based on", BASIS[estimate.value.basis] || estimate.value.basis],
      ])) : null,
  ];
}

function scrapeSection() {
  const schema = state.workflows.get(WORKFLOW)?.params_schema;
  const allowed = can("operator");
  const slots = new Map();
  const url = h("input", { id: uid("docs-url"), name: "url", type: "text", inputmode: "url", autocomplete: "url", placeholder: "https://docs.example.com/" });
  const formats = (schema?.$defs?.ExportFormat?.enum || Object.keys(FORMAT_LABELS)).map((format) =>
    h("input", { type: "checkbox", id: uid(`docs-format-${format}`), name: "export_formats", value: format, checked: format === "markdown" }));
  const credential = h("select", { id: uid("docs-credential"), name: "credential_id" });
  const options = new Map([...LIMITS, ...SCOPE, ...PACE, ...MORE].map(([name]) => [name, optionControl(name, schema)]));
  const optionField = ([name, text]) => field(slots, name, text, options.get(name).control, options.get(name).hint);
  const line = h("div", { class: "banner error", role: "alert", hidden: true });
  const status = h("p", { class: "muted", role: "status" });
  const result = h("div", { class: "docs-check" });
  const check = h("button", { type: "submit", class: "secondary" }, "Check");
  const start = h("button", { type: "button" }, "Start scrape");
  const form = h("form", { novalidate: true, "aria-labelledby": "docs-new-title" },
    field(slots, "url", "Start URL", url, "The first page; the crawl stays below its path unless a path prefix says otherwise."),
    group(slots, "export_formats", "Export formats",
      h("div", { class: "docs-checks" }, formats.map((input) => h("label", { class: "check", for: input.id }, input, FORMAT_LABELS[input.value] || input.value)))),
    h("div", { class: "inline-fields" }, LIMITS.map(optionField)),
    optionField(SCOPE[0]),
    h("div", { class: "inline-fields" }, SCOPE.slice(1).map(optionField)),
    field(slots, "credential_id", "Credential", credential, "Sent only to the host it was stored for."),
    h("details", {}, h("summary", {}, "More options"),
      h("div", { class: "inline-fields" }, PACE.map(optionField)), MORE.map(optionField)),
    line,
    h("div", { class: "actions" }, check, start,
      allowed ? null : h("span", { class: "muted" }, "Your role can view scrapes but not start them.")),
    status, result);
  for (const control of form.querySelectorAll("input, select, textarea, button")) control.disabled = !allowed;

  function body() {
    const chosen = {};
    for (const [name, option] of options) {
      const value = optionValue(option);
      if (value !== undefined) chosen[name] = value;
    }
    return {
      url: url.value.trim(),
      export_formats: formats.filter((input) => input.checked).map((input) => input.value),
      options: chosen,
      credential_id: credential.value || null,
    };
  }

  async function busy(action) {
    if (!allowed) return;
    line.hidden = true;
    clearErrors(slots);
    check.disabled = start.disabled = true;
    try {
      await action(body());
    } finally {
      check.disabled = start.disabled = false;
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(async (request) => {
      status.textContent = "Checking the site…";
      replace(result);
      const [report, estimate] = await Promise.allSettled([
        post("/api/v1/scrape/validate", request), post("/api/v1/scrape/estimate", request)]);
      const failure = [report, estimate].find((answer) => answer.status === "rejected")?.reason;
      if (failure) showFailure(slots, line, failure);
      replace(result, checkResult(report, estimate));
      status.textContent = report.status === "fulfilled" && estimate.status === "fulfilled"
        ? `Checked: ${report.value.valid ? "ready to scrape" : "not ready to scrape"}, about ${estimate.value.estimated_pages} pages.`
        : "The check did not finish; see the messages above.";
    });
  });
  start.addEventListener("click", () => busy(async (request) => {
    status.textContent = "Starting the scrape…";
    try {
      const answer = await post("/api/v1/scrape", request);
      toast("Scrape started", { href: `#/runs/${answer.job_id}` });
      location.hash = `#/runs/${encodeURIComponent(answer.job_id)}`;
    } catch (failure) {
      status.textContent = "The scrape did not start.";
      showFailure(slots, line, failure);
    }
  }));

  return {
    element: h("section", { class: "card", "aria-labelledby": "docs-new-title" },
      h("h2", { id: "docs-new-title" }, "New scrape"),
      schema ? null : h("div", { class: "banner" }, "The docs module is not loaded on this server."),
      form),
    setCredentials(list) {
      const chosen = credential.value;
      replace(credential, h("option", { value: "" }, "None"),
        (list || []).map((item) => h("option", { value: item.id }, `${item.name} (${item.host})`)));
      credential.value = list?.some((item) => item.id === chosen) ? chosen : "";
    },
  };
}

function scrapeItem(run, detail) {
  const id = runId(run);
  const address = detail?.params?.url;
  const result = detail?.result || {};
  const files = result.exports || [];
  return h("li", { dataset: { run: id, status: detail?.status || run.status } },
    h("div", { class: "docs-item" },
      h("div", { class: "docs-run-head" }, badge(detail?.status || run.status),
        h("a", { href: `#/runs/${encodeURIComponent(id)}`, class: "docs-url" }, address || `Run ${id.slice(0, 8)}`)),
      h("div", { class: "muted" }, fmtTime(run.created_at),
        result.pages !== undefined ? ` · ${result.pages} pages` : "",
        result.pages_failed ? ` · ${result.pages_failed} failed` : ""),
      files.length ? h("ul", { class: "docs-downloads", "aria-label": `Downloads of ${address || id}` }, files.map((file) => {
        const href = `/api/v1/exports/${encodeURIComponent(id)}/${encodeURIComponent(file.name)}`;
        return h("li", {}, h("a", { href, download: file.name }, file.name),
          file.size ? h("span", { class: "muted" }, ` · ${fmtBytes(file.size)}`) : null);
      })) : null));
}

function pastSection() {
  const list = h("ul", { class: "docs-list" });
  const status = h("p", { class: "muted", role: "status" });
  const details = new Map(); // run id -> detail; a finished run's detail does not change

  async function detailOf(id) {
    const known = details.get(id);
    if (known && TERMINAL.has(known.status)) return known;
    try {
      const detail = await get(`/api/v1/jobs/${encodeURIComponent(id)}`);
      details.set(id, detail);
      return detail;
    } catch {
      return known || null;
    }
  }

  let loading = null;
  let again = false;
  async function load() {
    if (loading) {
      again = true;
      return loading;
    }
    loading = (async () => {
      try {
        const page = await get(withQuery("/api/v1/jobs", { workflow: WORKFLOW, limit: 20 }));
        const runs = page.jobs || page.runs || page.items || [];
        const found = await Promise.all(runs.map((run) => detailOf(runId(run))));
        replace(list, runs.length ? runs.map((run, index) => scrapeItem(run, found[index]))
          : h("li", { class: "muted" }, "No scrapes yet."));
        status.textContent = runs.length ? `${runs.length} scrape${runs.length === 1 ? "" : "s"}` : "";
      } catch (failure) {
        replace(list, h("li", {}, h("div", { class: "banner error" }, failure.message)));
      }
    })();
    await loading;
    loading = null;
    if (again) {
      again = false;
      await load();
    }
  }

  return {
    element: h("section", { class: "card", "aria-labelledby": "docs-past-title" },
      h("div", { class: "step-head" }, h("h2", { id: "docs-past-title" }, "Past scrapes"), status),
      list),
    load,
  };
}

export function renderDocs(main) {
  const scrape = scrapeSection();
  const past = pastSection();
  const credentials = credentialsSection(() => loadCredentials());

  async function loadCredentials() {
    if (!can("operator")) return scrape.setCredentials([]);
    try {
      const items = await get("/api/v1/auth/credentials");
      scrape.setCredentials(items);
      credentials.draw(items);
    } catch (failure) {
      credentials.draw([], failure);
    }
  }

  main.append(h("div", { class: "docs-view" },
    h("div", { class: "page-head" }, h("div", {}, h("h1", {}, "Docs"),
      h("p", { class: "muted" }, "Scrape documentation sites into Markdown, JSON, HTML or PDF."))),
    scrape.element, past.element, credentials.element));

  loadCredentials();
  past.load();
  let timer = null;
  const refreshSoon = () => {
    clearTimeout(timer);
    timer = setTimeout(past.load, 400);
  };
  const offs = [on("jobs", refreshSoon), on("run-event", refreshSoon)];
  return {
    resync() {
      loadCredentials();
      past.load();
    },
    destroy() {
      clearTimeout(timer);
      offs.forEach((off) => off());
    },
  };
}
