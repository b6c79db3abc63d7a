// Docs: the stored site credentials, write-only (secrets are entered, never shown again).

import { del, post } from "../api.js";
import { h, replace, uid } from "../dom.js";
import { clearErrors, field, group, showFailure } from "../fields.js";
import { can } from "../store.js";
import { toast } from "../toast.js";

const AUTH_KINDS = { basic: "Basic auth", bearer: "Bearer token", headers: "Headers and cookies" };

/** Name/value rows for header or cookie credentials; the values are password inputs. */
function pairRows(noun) {
  const rows = h("div");
  const pairs = [];
  const add = h("button", { type: "button", class: "secondary" }, `Add ${noun.toLowerCase()}`);
  function addRow() {
    const n = pairs.length + 1;
    const prefix = n === 1 ? noun : `${noun} ${n}`;
    const name = h("input", { type: "text", id: uid(`docs-${noun}-name`), autocomplete: "off" });
    const value = h("input", { type: "password", id: uid(`docs-${noun}-value`), autocomplete: "new-password" });
    pairs.push([name, value]);
    rows.append(h("div", { class: "inline-fields" },
      h("div", { class: "field" }, h("label", { for: name.id }, `${prefix} name`), name),
      h("div", { class: "field" }, h("label", { for: value.id }, `${prefix} value`), value)));
    return name;
  }
  add.addEventListener("click", () => addRow().focus());
  addRow();
  return {
    element: h("div", {}, rows, h("div", { class: "actions" }, add)),
    values: () => Object.fromEntries(pairs.filter(([name]) => name.value.trim()).map(([name, value]) => [name.value.trim(), value.value])),
    reset() {
      pairs.length = 0;
      replace(rows);
      addRow();
    },
  };
}

function credentialRow(item, admin, onDeleted) {
  const questionId = uid("docs-delete");
  const remove = h("button", { type: "button", class: "danger", disabled: !admin, "aria-label": `Delete ${item.name}` }, "Delete");
  const yes = h("button", { type: "button", class: "danger" }, "Yes, delete");
  const keep = h("button", { type: "button", class: "secondary" }, "Keep");
  const question = h("div", { class: "actions", role: "group", "aria-labelledby": questionId },
    h("span", { id: questionId }, `Delete ${item.name}?`), yes, keep);
  const actions = h("div", {}, remove);
  const idle = () => {
    replace(actions, remove);
    remove.focus();
  };
  remove.addEventListener("click", () => {
    replace(actions, question);
    keep.focus();
  });
  keep.addEventListener("click", idle);
  question.addEventListener("keydown", (event) => event.key === "Escape" && idle());
  yes.addEventListener("click", async () => {
    yes.disabled = keep.disabled = true;
    try {
      await del(`/api/v1/auth/credentials/${encodeURIComponent(item.id)}`);
      onDeleted(item);
    } catch (failure) {
      toast(`Could not delete ${item.name}`, { kind: "error", body: failure.message });
      yes.disabled = keep.disabled = false;
      idle();
    }
  });
  const names = [...item.header_names.map((name) => `header ${name}`), ...item.cookie_names.map((name) => `cookie ${name}`)];
  return h("li", { dataset: { credential: item.id } },
    h("div", { class: "docs-item" },
      h("strong", {}, item.name),
      h("div", { class: "muted" }, `${item.host} · ${AUTH_KINDS[item.auth_type] || item.auth_type}`,
        names.length ? ` · ${names.join(", ")}` : "")),
    actions);
}

export function credentialsSection(onChange) {
  const admin = can("admin");
  const slots = new Map();
  const list = h("ul", { class: "docs-list" });
  const status = h("p", { class: "muted", role: "status" });
  const line = h("div", { class: "banner error", role: "alert", hidden: true });
  const text = (name, extra = {}) => h("input", { type: "text", id: uid(`docs-cred-${name}`), name, autocomplete: "off", ...extra });
  const secret = (name) => h("input", { type: "password", id: uid(`docs-cred-${name}`), name, autocomplete: "new-password" });
  const name = text("name", { maxlength: "100" });
  const host = text("host", { placeholder: "docs.example.com" });
  const kind = h("select", { id: uid("docs-cred-kind"), name: "auth_type" },
    Object.entries(AUTH_KINDS).map(([value, label]) => h("option", { value }, label)));
  const username = text("username");
  const password = secret("password");
  const token = secret("token");
  const headers = pairRows("Header");
  const cookies = pairRows("Cookie");
  const parts = {
    basic: h("div", {}, field(slots, "username", "Username", username), field(slots, "password", "Password", password)),
    bearer: h("div", {}, field(slots, "token", "Token", token)),
    headers: h("div", {}, group(slots, "headers", "Headers", headers.element), group(slots, "cookies", "Cookies", cookies.element)),
  };
  const showKind = () => Object.entries(parts).forEach(([key, part]) => { part.hidden = key !== kind.value; });
  kind.addEventListener("change", showKind);
  showKind();
  const save = h("button", { type: "submit" }, "Save credential");
  const form = h("form", { novalidate: true, "aria-label": "Add a credential" },
    h("h3", {}, "Add a credential"),
    h("div", { class: "inline-fields" },
      field(slots, "name", "Name", name),
      field(slots, "host", "Host", host, "Host or host:port it is sent to, nothing else")),
    field(slots, "auth_type", "Kind", kind),
    Object.values(parts),
    h("p", { class: "muted" }, "Secrets are write-only: stored encrypted and never shown again."),
    line,
    h("div", { class: "actions" }, save,
      admin ? null : h("span", { class: "muted" }, "Only admins can add or delete credentials.")));
  for (const control of form.querySelectorAll("input, select, button")) control.disabled = !admin;

  function credentialBody() {
    const chosen = { name: name.value.trim(), host: host.value.trim(), auth_type: kind.value };
    if (kind.value === "basic") Object.assign(chosen, { username: username.value, password: password.value });
    if (kind.value === "bearer") chosen.token = token.value;
    if (kind.value === "headers") Object.assign(chosen, { headers: headers.values(), cookies: cookies.values() });
    return chosen;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!admin) return;
    line.hidden = true;
    clearErrors(slots);
    save.disabled = true;
    try {
      const saved = await post("/api/v1/auth/credentials", credentialBody());
      form.reset();
      headers.reset();
      cookies.reset();
      showKind();
      status.textContent = `Saved credential ${saved.name}.`;
      toast(`Credential ${saved.name} saved`, { kind: "success" });
      onChange();
    } catch (failure) {
      showFailure(slots, line, failure);
    } finally {
      save.disabled = false;
    }
  });

  function deleted(item) {
    status.textContent = `Deleted credential ${item.name}.`;
    toast(`Credential ${item.name} deleted`, { kind: "success" });
    onChange();
  }

  return {
    element: h("section", { class: "card", "aria-labelledby": "docs-cred-title" },
      h("h2", { id: "docs-cred-title" }, "Stored credentials"),
      h("p", { class: "muted" }, "Logins for docs sites behind authentication; each is sent only to its host."),
      can("operator") ? list : h("p", { class: "muted" }, "Operators and admins can see the stored credentials."),
      status, form),
    draw(items, failure) {
      if (failure) replace(list, h("li", {}, h("div", { class: "banner error" }, failure.message)));
      else if (!items.length) replace(list, h("li", { class: "muted" }, "No credentials stored."));
      else replace(list, items.map((item) => credentialRow(item, admin, deleted)));
    },
  };
}
