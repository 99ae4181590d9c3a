// Small DOM helpers shared by every page. Text always goes in as text nodes, never as HTML,
// so nothing a customer writes can run in an agent's browser.

/** el("div.card#x", {attrs}, ...children): children are nodes, strings or arrays. */
export function el(spec, attrs = {}, ...children) {
  const [, tag = "div", rest = ""] = spec.match(/^([a-z0-9-]+)?(.*)$/i);
  const node = document.createElement(tag);
  for (const part of rest.match(/[.#][^.#]+/g) || []) {
    if (part[0] === ".") node.classList.add(part.slice(1));
    else node.id = part.slice(1);
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k === "text") node.textContent = v;
    else if (k in node && typeof v !== "string") node[k] = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(node, c);
    else node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

export function clear(node) {
  while (node.firstChild) node.firstChild.remove();
  return node;
}

/** Replace a node's children (nulls skipped, arrays flattened, strings as text). */
export function fill(node, ...children) {
  clear(node);
  append(node, children);
  return node;
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dayFmt = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

/** "14:02" today, "Mar 3" otherwise. */
export function shortTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  const now = new Date();
  return d.toDateString() === now.toDateString() ? timeFmt.format(d) : dayFmt.format(d);
}

export function fullTime(iso) {
  return iso ? fullFmt.format(new Date(iso)) : "";
}

export function timeEl(iso, short = true) {
  return el("time", { datetime: iso || "", title: fullTime(iso) }, short ? shortTime(iso) : fullTime(iso));
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(Number(seconds))) return "—";
  const s = Math.round(Number(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

export function initials(name) {
  return (name || "?")
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((w) => w[0].toUpperCase())
    .join("");
}

export function pill(value, extra = "") {
  return el(`span.pill.pill-${value}${extra}`, {}, value);
}

export function platformBadge(type) {
  return el(`span.platform.platform-${type || "MOCK"}`, {}, type || "?");
}

export function toast(message, { error = false, timeout = 5000 } = {}) {
  const box = document.getElementById("toasts");
  if (!box) return;
  const t = el(`div.toast${error ? ".error" : ""}`, { role: error ? "alert" : undefined }, message);
  box.append(t);
  setTimeout(() => t.remove(), timeout);
}

/** Show an API error: field details next to their inputs (by name), the message on top. */
export function showError(form, err, box) {
  clearErrors(form);
  const details = (err && err.details) || {};
  for (const [field, why] of Object.entries(details)) {
    const name = field.split(".").pop();
    const input = form && (form.querySelector(`[name="${CSS.escape(field)}"]`) || form.querySelector(`[name="${CSS.escape(name)}"]`));
    if (input) {
      const id = `${input.id || input.name}-error`;
      const msg = el("div.field-error", { id }, String(why));
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", id);
      input.insertAdjacentElement("afterend", msg);
    }
  }
  const target = box || (form && form.querySelector(".form-error"));
  const text = err instanceof Error ? err.message : String(err);
  if (target) {
    target.textContent = Object.keys(details).length
      ? `${text}: ${Object.entries(details).map(([k, v]) => `${k}: ${v}`).join("; ")}`
      : text;
    target.hidden = false;
  } else {
    toast(text, { error: true });
  }
}

export function clearErrors(form) {
  if (!form) return;
  for (const e of form.querySelectorAll(".field-error")) e.remove();
  for (const i of form.querySelectorAll("[aria-invalid]")) {
    i.removeAttribute("aria-invalid");
    i.removeAttribute("aria-describedby");
  }
  const box = form.querySelector(".form-error");
  if (box) box.hidden = true;
}

export function formData(form) {
  const out = {};
  for (const [k, v] of new FormData(form).entries()) out[k] = typeof v === "string" ? v.trim() : v;
  return out;
}

export async function copyText(text, label = "Copied") {
  try {
    await navigator.clipboard.writeText(text);
    toast(label);
  } catch {
    toast("Copy failed: select the text and copy it by hand", { error: true });
  }
}

/** A value with a Copy button, for webhook URLs, tokens and invite links. */
export function copyable(value, label) {
  return el(
    "span.secret-box",
    {},
    el("code", {}, value),
    el("button.btn-small", { type: "button", "aria-label": `Copy ${label}`, onclick: () => copyText(value, `${label} copied`) }, "Copy"),
  );
}

/** Run `fn` at most once per `ms`; a call during the pause runs (with its args) after it. */
export function throttle(fn, ms) {
  let timer = null;
  let pendingArgs = null;
  const tick = () => {
    timer = null;
    if (pendingArgs) {
      const args = pendingArgs;
      pendingArgs = null;
      fn(...args);
      timer = setTimeout(tick, ms);
    }
  };
  return (...args) => {
    if (timer) {
      pendingArgs = args;
      return;
    }
    fn(...args);
    timer = setTimeout(tick, ms);
  };
}

export function table(columns, rows, { empty = "Nothing here yet.", rowAttrs } = {}) {
  if (!rows.length) return el("p.empty", {}, empty);
  return el(
    "div.table-wrap",
    {},
    el(
      "table",
      {},
      el("thead", {}, el("tr", {}, columns.map((c) => el("th", { scope: "col" }, c.label)))),
      el(
        "tbody",
        {},
        rows.map((r) =>
          el("tr", rowAttrs ? rowAttrs(r) : {}, columns.map((c) => el("td", { "data-label": c.label }, c.render ? c.render(r) : String(r[c.key] ?? "")))),
        ),
      ),
    ),
  );
}
