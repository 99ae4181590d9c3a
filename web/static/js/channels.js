// Channels: create, edit, test the connection, and the webhook URL + verify token for Meta.

import { ApiError, del, getAll, orgPath, post, put } from "./api.js";
import { boot } from "./shell.js";
import { $, clear, clearErrors, copyable, el, fullTime, platformBadge, showError, toast, fill } from "./ui.js";

await boot({ adminOnly: true });

// Config keys per type, as the API takes them: [key, label, kind, hint].
const FIELDS = {
  WHATSAPP: [
    ["phoneNumberId", "Phone number ID", "text", "WhatsApp Manager → API setup"],
    ["businessAccountId", "WhatsApp Business Account ID", "text"],
    ["accessToken", "Access token", "secret", "A permanent system-user token"],
    ["appSecret", "App secret", "secret", "Signs the webhooks (X-Hub-Signature-256)"],
    ["webhookVerifyToken", "Webhook verify token", "verify"],
  ],
  FACEBOOK: [
    ["facebookPageId", "Facebook Page ID", "text"],
    ["appId", "App ID", "text"],
    ["pageAccessToken", "Page access token", "secret"],
    ["appSecret", "App secret", "secret", "Signs the webhooks (X-Hub-Signature-256)"],
    ["webhookVerifyToken", "Webhook verify token", "verify"],
  ],
  INSTAGRAM: [
    ["facebookPageId", "Facebook Page ID", "text"],
    ["instagramAccountId", "Instagram account ID", "text"],
    ["appId", "App ID", "text"],
    ["pageAccessToken", "Page access token", "secret"],
    ["appSecret", "App secret", "secret", "Signs the webhooks (X-Hub-Signature-256)"],
    ["webhookVerifyToken", "Webhook verify token", "verify"],
  ],
  EMAIL: [
    ["host", "SMTP host", "text", "e.g. smtp.example.com"],
    ["port", "Port (optional)", "text", "587 for starttls, 465 for tls, 25 for none"],
    ["security", "Security", "text", "starttls, tls or none"],
    ["username", "Username (optional)", "text"],
    ["password", "Password", "secret"],
    ["fromAddress", "From address", "text", "e.g. shop@example.com"],
    ["fromName", "From name (optional)", "text"],
  ],
  SMS: [
    ["accountSid", "Account SID", "text", "Twilio console → Account info"],
    ["authToken", "Auth token", "secret", "Also signs the webhooks (X-Twilio-Signature)"],
    ["fromNumber", "From number", "text", "E.164, e.g. +15005550006"],
    ["messagingServiceSid", "Messaging service SID (optional)", "text"],
    ["baseUrl", "API base URL (optional)", "text", "Default https://api.twilio.com; any gateway speaking Twilio's API"],
  ],
  MOCK: [
    ["appSecret", "App secret (optional)", "secret", "Leave empty to accept unsigned development posts"],
    ["webhookVerifyToken", "Webhook verify token (optional)", "verify"],
  ],
};
const GRAPH_BASE_URL = [["apiBaseUrl", "Graph API base URL (optional)", "text", "Only to point at a test server"]];
// E-mail and SMS channels do not talk to Meta's Graph API.
const advanced = (type) => (type === "EMAIL" || type === "SMS" ? [] : GRAPH_BASE_URL);

let channels = [];
let editing = null; // the channel being edited, or null for a new one

function randomToken() {
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  return btoa(String.fromCharCode(...bytes)).replace(/[+/=]/g, "").slice(0, 24);
}

function renderConfigFields(type, config = {}) {
  const box = clear($("#config-fields"));
  for (const [key, label, kind, hint] of [...(FIELDS[type] || []), ...advanced(type)]) {
    const id = `cfg-${key}`;
    const isSecret = kind === "secret";
    const value = config[key];
    const input = el("input", {
      id,
      name: key,
      type: isSecret ? "password" : "text",
      autocomplete: "off",
      value: isSecret ? "" : value || (kind === "verify" && !editing && type !== "MOCK" ? randomToken() : ""),
      placeholder: isSecret && value ? "Saved (leave empty to keep)" : "",
      dataset: { secret: isSecret ? "1" : "" },
    });
    const field = el(
      "div.field",
      {},
      el("label", { for: id }, label, hint ? el("span.hint", {}, ` — ${hint}`) : null),
      kind === "verify"
        ? el("div.row", {}, input, el("button.btn-small", { type: "button", onclick: () => { input.value = randomToken(); } }, "Generate"))
        : input,
    );
    box.append(field);
  }
}

function openEditor(channel = null) {
  editing = channel;
  const form = $("#channel-form");
  clearErrors(form);
  form.reset();
  $("#editor").hidden = false;
  $("#editor-title").textContent = channel ? `Edit ${channel.name}` : "New channel";
  $("#ch-type").value = channel ? channel.type : "WHATSAPP";
  $("#ch-type").disabled = Boolean(channel);
  $("#ch-name").value = channel ? channel.name : "";
  $("#ch-active").checked = channel ? channel.isActive : true;
  renderConfigFields($("#ch-type").value, channel ? channel.config : {});
  $("#editor-title").focus();
}

function closeEditor() {
  $("#editor").hidden = true;
  editing = null;
  $("#new-channel").focus();
}

function collectConfig(type) {
  // PUT merges into the stored config: a secret left empty is left out (the stored one is
  // kept); any other field emptied on edit is sent as "" to clear it.
  const config = {};
  for (const [key, , kind] of [...(FIELDS[type] || []), ...advanced(type)]) {
    const v = $(`#cfg-${key}`).value.trim();
    if (v) config[key] = v;
    else if (editing && kind !== "secret" && editing.config && editing.config[key]) config[key] = "";
  }
  return config;
}

async function save(e) {
  e.preventDefault();
  const form = e.target;
  clearErrors(form);
  const type = $("#ch-type").value;
  const body = { name: $("#ch-name").value.trim(), config: collectConfig(type) };
  const button = $("#save-channel");
  button.disabled = true;
  try {
    let saved;
    if (editing) {
      saved = await put(orgPath(`/channels/${editing.id}`), { ...body, isActive: $("#ch-active").checked });
      toast(`Saved ${saved.name}`);
    } else {
      saved = await post(orgPath("/channels"), { type, ...body });
      if (!$("#ch-active").checked) saved = await put(orgPath(`/channels/${saved.id}`), { isActive: false });
      const where = { EMAIL: "", SMS: ": paste its webhook URL into Twilio" }[type] ?? ": paste its webhook URL and verify token into Meta";
      toast(`Created ${saved.name}${where}`);
    }
    closeEditor();
    await load(saved.id);
  } catch (err) {
    // Config errors come back as "config.phoneNumberId": map them to the inputs.
    if (err instanceof ApiError && err.details) {
      const mapped = {};
      for (const [k, v] of Object.entries(err.details)) mapped[k.replace(/^config\./, "")] = v;
      err.details = mapped;
    }
    showError(form, err);
  } finally {
    button.disabled = false;
  }
}

async function testConnection(channel, out) {
  out.textContent = "Testing…";
  out.className = "alert alert-warn";
  out.hidden = false;
  try {
    const r = await post(orgPath(`/channels/${channel.id}/test-connection`));
    out.className = `alert ${r.ok ? "alert-ok" : "alert-error"}`;
    const details = r.details && Object.keys(r.details).length ? ` (${Object.entries(r.details).map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`).join(", ")})` : "";
    out.textContent = `${r.ok ? "Connected" : "Failed"}: ${r.message}${details}`;
  } catch (err) {
    out.className = "alert alert-error";
    out.textContent = `Test failed: ${err.message}`;
  }
}

async function remove(channel) {
  if (!confirm(`Delete the channel “${channel.name}”? Its tickets stay; new webhooks will be refused.`)) return;
  try {
    await del(orgPath(`/channels/${channel.id}`));
    toast(`Deleted ${channel.name}`);
    await load();
  } catch (err) {
    toast(`Could not delete: ${err.message}`, { error: true });
  }
}

function webhookInfo(c) {
  // E-mail channels only send; SMS channels take Twilio's signed posts (no verify token).
  if (c.type === "EMAIL") return [el("dt.small.muted", {}, "Sends through"), el("dd", {}, `${c.config.host || "?"} as ${c.config.fromAddress || "?"}`)];
  const verify = c.config && c.config.webhookVerifyToken;
  const url = [el("dt.small.muted", {}, c.type === "SMS" ? "Webhook URL (Twilio: “A message comes in”)" : "Callback (webhook) URL"), el("dd", {}, copyable(c.webhookUrl, "Webhook URL"))];
  if (c.type === "SMS") return url;
  return [...url, el("dt.small.muted", {}, "Verify token"), el("dd", {}, verify ? copyable(verify, "Verify token") : el("span.muted", {}, "none set"))];
}

function channelCard(c, highlight) {
  const out = el("div.alert", { hidden: true, role: "status" });
  return el(
    `article.card${highlight ? ".selected-row" : ""}`,
    { "aria-labelledby": `ch-${c.id}`, dataset: { id: c.id } },
    el("div.row", {}, el("h3", { id: `ch-${c.id}` }, c.name), platformBadge(c.type), c.isActive ? el("span.pill.pill-OPEN", {}, "active") : el("span.pill.pill-CLOSED", {}, "inactive")),
    el("dl.stack", {}, ...webhookInfo(c)),
    el("p.small.muted", {}, `Created ${fullTime(c.createdAt)}`),
    el(
      "div.row",
      {},
      el("button.btn-small", { type: "button", onclick: () => openEditor(c) }, "Edit"),
      el("button.btn-small", { type: "button", onclick: () => testConnection(c, out) }, "Test connection"),
      el("button.btn-small.btn-danger", { type: "button", onclick: () => remove(c) }, "Delete"),
    ),
    out,
  );
}

async function load(highlightId) {
  const box = $("#channel-list");
  try {
    channels = await getAll(orgPath("/channels"));
    clear(box);
    if (!channels.length) box.append(el("p.empty", {}, "No channels yet. Create one to start receiving messages."));
    const stack = el("div.stack");
    for (const c of channels) stack.append(channelCard(c, c.id === highlightId));
    box.append(stack);
  } catch (err) {
    fill(box, el("p.alert.alert-error", {}, `Could not load channels: ${err.message}`));
  } finally {
    box.setAttribute("aria-busy", "false");
  }
}

$("#new-channel").addEventListener("click", () => openEditor(null));
$("#cancel-edit").addEventListener("click", closeEditor);
$("#ch-type").addEventListener("change", (e) => renderConfigFields(e.target.value));
$("#channel-form").addEventListener("submit", save);
load();
