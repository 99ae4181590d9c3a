// Campaigns: create, add recipients, start, and watch progress live (campaign.* events,
// with polling as a fallback while a campaign is sending).

import { ApiError, get, getAll, getPage, orgPath, post } from "./api.js";
import { boot } from "./shell.js";
import { $, clear, clearErrors, el, formData, fullTime, pill, platformBadge, showError, table, throttle, toast, fill } from "./ui.js";

const { rt } = await boot({ adminOnly: true });
let campaigns = [];
let selected = null; // campaign id shown in the detail panel
let pollTimer = null;

async function loadChannels() {
  const select = $("#camp-channel");
  const channels = (await getAll(orgPath("/channels"))).filter((c) => c.isActive);
  clear(select);
  if (!channels.length) select.append(el("option", { value: "" }, "No active channel: create one first"));
  for (const c of channels) select.append(el("option", { value: c.id }, `${c.name} (${c.type.toLowerCase()})`));
}

function openEditor() {
  clearErrors($("#campaign-form"));
  $("#campaign-form").reset();
  $("#campaign-editor").hidden = false;
  loadChannels().catch((err) => toast(`Could not load channels: ${err.message}`, { error: true }));
  $("#camp-editor-title").focus();
}

function closeEditor() {
  $("#campaign-editor").hidden = true;
  $("#new-campaign").focus();
}

async function loadList() {
  const box = $("#campaign-list");
  try {
    campaigns = await getAll(orgPath("/campaigns"));
    renderList();
  } catch (err) {
    fill(box, el("p.alert.alert-error", {}, `Could not load campaigns: ${err.message}`));
  } finally {
    box.setAttribute("aria-busy", "false");
  }
}

function renderList() {
  fill($("#campaign-list"), 
    table(
      [
        {
          label: "Name",
          render: (c) => el("button.btn-link", { type: "button", "aria-label": `Open campaign ${c.name}`, onclick: () => select(c.id) }, c.name),
        },
        { label: "Channel", render: (c) => (c.channel ? [platformBadge(c.channel.type), " ", c.channel.name] : "") },
        { label: "Status", render: (c) => pill(c.status) },
        { label: "Scheduled", render: (c) => (c.scheduledAt ? fullTime(c.scheduledAt) : "—") },
        { label: "Created", render: (c) => fullTime(c.createdAt) },
      ],
      campaigns,
      { empty: "No campaigns yet.", rowAttrs: (c) => ({ class: c.id === selected ? "selected-row" : undefined, dataset: { id: c.id } }) },
    ),
  );
}

function progressBar(stats) {
  const total = stats.totalRecipients || 0;
  const pct = (n) => (total ? (100 * n) / total : 0);
  const bar = el(
    "div.progress",
    { role: "progressbar", "aria-valuemin": "0", "aria-valuemax": String(total), "aria-valuenow": String(stats.sentCount + stats.failedCount), "aria-label": "Campaign progress" },
    el("span.sent", {}),
    el("span.failed", {}),
  );
  // Widths via CSSOM: allowed by the page's Content-Security-Policy, unlike inline styles.
  bar.children[0].style.width = `${pct(stats.sentCount)}%`;
  bar.children[1].style.width = `${pct(stats.failedCount)}%`;
  return bar;
}

function statsBlock(stats) {
  return el(
    "div#campaign-stats",
    {},
    el(
      "div.stat-cards",
      {},
      [
        ["Recipients", stats.totalRecipients],
        ["Sent", stats.sentCount],
        ["Failed", stats.failedCount],
        ["Pending", stats.pendingCount],
        stats.deliveredCount !== undefined ? ["Delivered", stats.deliveredCount] : null,
        stats.readCount !== undefined ? ["Read", stats.readCount] : null,
        // E-mail tracking: shown once anyone opened or clicked.
        stats.openedCount || stats.clickedCount ? ["Opened", stats.openedCount] : null,
        stats.openedCount || stats.clickedCount ? ["Clicked", stats.clickedCount] : null,
      ]
        .filter(Boolean)
        .map(([label, value]) => el("div.stat", { dataset: { stat: label.toLowerCase() } }, el("div.label", {}, label), el("div.value", {}, String(value ?? 0)))),
    ),
    progressBar(stats),
  );
}

async function select(id, { focus = true } = {}) {
  selected = id;
  renderList();
  await renderDetail({ focus });
}

async function renderDetail({ focus = false } = {}) {
  const box = $("#campaign-detail");
  if (!selected) {
    box.hidden = true;
    return;
  }
  let campaign;
  let stats;
  try {
    [campaign, stats] = await Promise.all([get(orgPath(`/campaigns/${selected}`)), get(orgPath(`/campaigns/${selected}/stats`))]);
  } catch (err) {
    fill(box, el("p.alert.alert-error", {}, `Could not load the campaign: ${err.message}`));
    box.hidden = false;
    return;
  }
  const editable = campaign.status === "DRAFT" || campaign.status === "SCHEDULED";
  const recipientsForm = el(
    "form#recipients-form",
    { novalidate: true, onsubmit: addRecipients },
    el("div.alert.alert-error.form-error", { role: "alert", hidden: true }),
    el(
      "div.field",
      {},
      el("label", { for: "recipients-input" }, "Add recipients", el("span.hint", {}, " — WhatsApp numbers in international format, or PSIDs/IGSIDs of known customers; one per line or comma-separated")),
      el("textarea#recipients-input", { name: "recipients", rows: "4" }),
    ),
    el("button", { type: "submit" }, "Add recipients"),
    el("div#recipients-result", { role: "status" }),
  );
  fill(box, 
    el("div.row", {}, el("h2#detail-title", { tabindex: "-1" }, campaign.name), pill(campaign.status)),
    el("p.muted.small", {}, campaign.channel ? `${campaign.channel.name} · ` : "", campaign.scheduledAt ? `scheduled for ${fullTime(campaign.scheduledAt)}` : "no schedule", campaign.startedAt ? ` · started ${fullTime(campaign.startedAt)}` : "", campaign.completedAt ? ` · completed ${fullTime(campaign.completedAt)}` : ""),
    el("blockquote.card.small", {}, campaign.messageTemplate),
    statsBlock(stats),
    el(
      "div.row",
      {},
      campaign.status === "DRAFT" || campaign.status === "SCHEDULED"
        ? el("button.btn-primary#start-campaign", { type: "button", disabled: !stats.totalRecipients, onclick: () => start(campaign) }, campaign.status === "SCHEDULED" ? "Start now" : "Start campaign")
        : null,
      el("button.btn-small", { type: "button", onclick: () => renderDetail() }, "Refresh"),
    ),
    editable ? recipientsForm : null,
    el("h3", {}, "Recipients"),
    el("div#recipient-table"),
  );
  box.hidden = false;
  loadRecipients();
  schedulePoll(campaign.status);
  if (focus) $("#detail-title").focus();
}

async function loadRecipients() {
  const box = $("#recipient-table");
  if (!box) return;
  try {
    const { items, total } = await getPage(orgPath(`/campaigns/${selected}/recipients`), { limit: 50 });
    fill(box, 
      table(
        [
          { label: "Contact", render: (r) => el("span.mono", {}, r.recipientContact) },
          { label: "Status", render: (r) => pill(r.status) },
          { label: "Sent", render: (r) => (r.sentAt ? fullTime(r.sentAt) : "—") },
          { label: "Error", render: (r) => (r.error ? el("span.field-error", {}, r.error) : "") },
          { label: "Conversation", render: (r) => (r.ticketId ? el("a", { href: `/inbox/${r.ticketId}` }, "Open") : "") },
        ],
        items,
        { empty: "No recipients yet." },
      ),
      total > items.length ? el("p.small.muted", {}, `Showing ${items.length} of ${total}.`) : null,
    );
  } catch (err) {
    fill(box, el("p.alert.alert-error", {}, `Could not load recipients: ${err.message}`));
  }
}

async function addRecipients(e) {
  e.preventDefault();
  const form = e.target;
  clearErrors(form);
  const recipients = $("#recipients-input").value.split(/[\s,;]+/).map((s) => s.trim()).filter(Boolean);
  const out = $("#recipients-result");
  if (!recipients.length) {
    showError(form, new ApiError(400, { message: "Enter at least one recipient", details: { recipients: "empty" } }));
    return;
  }
  try {
    const r = await post(orgPath(`/campaigns/${selected}/recipients`), { recipients });
    const invalid = r.invalid || [];
    fill(out, 
      el("p.alert.alert-ok", {}, r.message || "Recipients added", r.added !== undefined ? ` (${r.added} added, ${r.duplicates || 0} duplicates ignored)` : ""),
      invalid.length ? el("div.alert.alert-error", {}, el("strong", {}, `${invalid.length} rejected:`), el("ul", {}, invalid.map((i) => el("li", {}, `${i.recipient}: ${i.reason}`)))) : null,
    );
    $("#recipients-input").value = "";
    await refreshStats();
    loadRecipients();
  } catch (err) {
    showError(form, err);
  }
}

async function start(campaign) {
  if (!confirm(`Start “${campaign.name}” now? Messages go out to every recipient.`)) return;
  try {
    await post(orgPath(`/campaigns/${campaign.id}/start`));
    toast(`Started ${campaign.name}`);
    await Promise.all([loadList(), renderDetail()]);
  } catch (err) {
    toast(`Could not start: ${err.message}`, { error: true });
  }
}

async function refreshStats(stats) {
  if (!selected) return;
  const s = stats || (await get(orgPath(`/campaigns/${selected}/stats`)));
  const box = $("#campaign-stats");
  if (box) box.replaceWith(statsBlock(s));
  const startBtn = $("#start-campaign");
  if (startBtn) startBtn.disabled = !s.totalRecipients;
}

function schedulePoll(status) {
  clearTimeout(pollTimer);
  // Live events drive the page; polling only covers a socket that is down.
  if (status === "SENDING" || status === "SCHEDULED") {
    pollTimer = setTimeout(async () => {
      if (rt.state !== "live") await renderDetail().catch(() => {});
      else schedulePoll(status);
    }, 3000);
  }
}

const latest = new Map(); // campaign id -> newest event data (with stats)

const redraw = throttle(() => {
  renderList();
  const data = latest.get(selected);
  if (!data) return;
  const statusPill = $("#campaign-detail .pill");
  if (statusPill && statusPill.textContent !== data.status) {
    renderDetail();
    return;
  }
  if (data.stats) refreshStats(data.stats);
  loadRecipients();
}, 500);

function onProgress(data) {
  latest.set(data.id, data);
  const { stats, ...campaign } = data;
  const i = campaigns.findIndex((c) => c.id === data.id);
  if (i >= 0) campaigns[i] = { ...campaigns[i], ...campaign };
  else campaigns.unshift(campaign);
  redraw();
}

for (const name of ["campaign.started", "campaign.updated", "campaign.completed"]) {
  rt.on(name, (data) => {
    onProgress(data);
    if (name === "campaign.completed") toast(`Campaign “${data.name}” completed`);
  });
}
rt.on("resync.required", () => {
  loadList();
  renderDetail();
});

$("#new-campaign").addEventListener("click", openEditor);
$("#camp-cancel").addEventListener("click", closeEditor);
$("#campaign-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = e.target;
  clearErrors(form);
  const body = formData(form);
  if (body.scheduledAt) body.scheduledAt = new Date(body.scheduledAt).toISOString();
  else delete body.scheduledAt;
  if (!body.subject) delete body.subject; // only e-mail campaigns have one
  try {
    const created = await post(orgPath("/campaigns"), body);
    toast(`Created ${created.name}: now add recipients`);
    closeEditor();
    await loadList();
    await select(created.id);
    $("#recipients-input").focus();
  } catch (err) {
    showError(form, err);
  }
});

loadList().then(() => {
  const id = new URLSearchParams(location.search).get("campaign");
  if (id) select(id, { focus: false });
});
