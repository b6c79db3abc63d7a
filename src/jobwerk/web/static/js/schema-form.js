// Inputs generated from a workflow's parameter JSON schema (pydantic's model_json_schema()).
//   enum (or oneOf constants with titles) -> select, integer/number -> number, boolean -> checkbox,
//   string -> text,
//   anything else -> a JSON textarea. API validation errors are shown next to their input.
// A property marked "x-hidden" (set by other means, e.g. a Preview button) gets no input.

import { h, uid } from "./dom.js";

function resolve(schema, root) {
  if (schema && schema.$ref) {
    const name = schema.$ref.split("/").pop();
    return resolve({ ...(root.$defs?.[name] || root.definitions?.[name] || {}), ...without(schema, "$ref") }, root);
  }
  if (schema && Array.isArray(schema.allOf) && schema.allOf.length === 1) {
    return resolve({ ...without(schema, "allOf"), ...schema.allOf[0] }, root);
  }
  return schema || {};
}

function without(object, key) {
  const copy = { ...object };
  delete copy[key];
  return copy;
}

/** Normalise one property: {kind, nullable, options, ...} */
export function describeField(name, raw, root, required) {
  let schema = resolve(raw, root);
  let nullable = false;
  if (Array.isArray(schema.anyOf)) {
    const variants = schema.anyOf.map((variant) => resolve(variant, root));
    const real = variants.filter((variant) => variant.type !== "null");
    nullable = real.length < variants.length;
    if (real.length === 1) schema = { ...without(schema, "anyOf"), ...real[0], default: schema.default };
  }
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== "null") : schema.type;
  // Named constants, e.g. TEMU's order statuses: {oneOf: [{const: 2, title: "to ship"}, …]}.
  const named = Array.isArray(schema.oneOf) && schema.oneOf.every((option) => option.const !== undefined)
    ? schema.oneOf : null;
  let kind = "json";
  if (named || Array.isArray(schema.enum)) kind = "enum";
  else if (schema.const !== undefined) kind = "enum";
  else if (type === "boolean") kind = "boolean";
  else if (type === "integer") kind = "integer";
  else if (type === "number") kind = "number";
  else if (type === "string") kind = "string";
  return {
    name,
    kind,
    nullable,
    required: required.includes(name),
    label: schema.title || name.replace(/_/g, " "),
    description: schema.description || raw.description || "",
    default: schema.default,
    options: named ? named.map((option) => option.const) : schema.enum || (schema.const !== undefined ? [schema.const] : []),
    optionLabels: named ? named.map((option) => option.title ?? String(option.const)) : null,
    minimum: schema.minimum ?? schema.exclusiveMinimum,
    maximum: schema.maximum ?? schema.exclusiveMaximum,
    format: schema.format,
  };
}

function control(field, id, value) {
  const common = { id, name: field.name, "aria-describedby": `${id}-hint ${id}-error` };
  if (field.kind === "boolean") {
    return h("input", { ...common, type: "checkbox", checked: Boolean(value) });
  }
  if (field.kind === "enum") {
    const select = h("select", common,
      field.nullable || !field.required && field.default === undefined ? h("option", { value: "" }, "—") : null,
      field.options.map((option, index) => h("option", { value: JSON.stringify(option) }, field.optionLabels?.[index] ?? String(option))));
    select.value = value === null || value === undefined ? "" : JSON.stringify(value);
    return select;
  }
  if (field.kind === "integer" || field.kind === "number") {
    return h("input", {
      ...common,
      type: "number",
      inputmode: field.kind === "integer" ? "numeric" : "decimal",
      step: field.kind === "integer" ? "1" : "any",
      min: field.minimum ?? null,
      max: field.maximum ?? null,
      value: value ?? "",
    });
  }
  if (field.kind === "string") {
    return h("input", { ...common, type: "text", value: value ?? "" });
  }
  return h("textarea", { ...common, rows: "2", class: "mono" }, value === undefined ? "" : JSON.stringify(value));
}

function readValue(field, input) {
  if (field.kind === "boolean") return input.checked;
  const raw = input.value;
  if (raw === "") return field.nullable ? null : undefined;
  if (field.kind === "enum") return JSON.parse(raw);
  // Numbers are sent as typed; the API validates them and answers with a message per field.
  if (field.kind === "integer" || field.kind === "number") return Number.isNaN(Number(raw)) ? raw : Number(raw);
  if (field.kind === "string") return raw;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/**
 * Build the inputs for `schema` with initial `values`.
 * Returns {element, values(), showErrors(errors) -> unmatched messages, clearErrors()}.
 */
export function schemaForm(schema, values = {}) {
  const root = schema || {};
  const required = root.required || [];
  const fields = Object.entries(root.properties || {}).filter(([, raw]) => !raw?.["x-hidden"]).map(([name, raw]) =>
    describeField(name, raw, root, required));
  const inputs = new Map();
  const errorSlots = new Map();
  const element = h("div", { class: "schema-form" });
  for (const field of fields) {
    const id = uid(`param-${field.name}`);
    const initial = values[field.name] !== undefined ? values[field.name] : field.default;
    const input = control(field, id, initial);
    const hint = h("span", { class: "hint", id: `${id}-hint` }, field.description);
    const error = h("span", { class: "error-text", id: `${id}-error`, hidden: true });
    inputs.set(field.name, input);
    errorSlots.set(field.name, { input, error });
    element.append(field.kind === "boolean"
      ? h("div", { class: "field" }, h("label", { class: "check", for: id }, input, field.label), hint, error)
      : h("div", { class: "field" }, h("label", { for: id }, field.label), input, hint, error));
  }

  function clearErrors() {
    for (const { input, error } of errorSlots.values()) {
      input.removeAttribute("aria-invalid");
      error.hidden = true;
      error.textContent = "";
    }
  }

  return {
    element,
    fields,
    values() {
      const out = {};
      for (const field of fields) {
        const value = readValue(field, inputs.get(field.name));
        if (value !== undefined) out[field.name] = value;
      }
      return out;
    },
    clearErrors,
    /** Put each error next to its input; returns the messages that matched no input. */
    showErrors(errors) {
      clearErrors();
      const unmatched = [];
      for (const entry of errors || []) {
        const loc = (entry.loc || []).map(String);
        const name = loc.find((part) => errorSlots.has(part));
        if (!name) {
          unmatched.push(entry.msg || String(entry));
          continue;
        }
        const { input, error } = errorSlots.get(name);
        input.setAttribute("aria-invalid", "true");
        error.hidden = false;
        error.textContent = error.textContent ? `${error.textContent}; ${entry.msg}` : entry.msg;
      }
      const first = [...errorSlots.values()].find(({ input }) => input.getAttribute("aria-invalid"));
      if (first) first.input.focus();
      return unmatched;
    },
  };
}
