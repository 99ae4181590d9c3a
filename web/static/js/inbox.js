// The inbox: ticket list, conversation, reply box, customer panel, presence. All live.

import { ApiError, api, get, getAll, getPage, orgPath, post, put } from "./api.js";
import { boot } from "./shell.js";
import {
  $,
  clear,
  el,
  fullTime,
  initials,
  pill,
  platformBadge,
  shortTime,
  timeEl,
  toast,
  fill,
} from "./ui.js";

const { user, rt } = await boot();
const PAGE_SIZE = 30;
const TYPING_IDLE_MS = 4000;

const state = {
  filters: loadFilters(),
  tickets: new Map(), // id -> ticket view
  total: 0,
  page: 1,
  channels: new Map(),
  users: [],
  macros: null,
  current: null, // the open ticket
  messages: new Map(), // id -> message of the open ticket
  olderPage: null, // next older page of messages to load, when the first load was partial
  customer: null,
  presence: [],
  seen: loadSeen(),
  unread: new Set(), // tickets with a customer message that arrived live and is not read yet
  loadSeq: 0,
  // Ticket copies applied from events and answers, numbered, so that a list page asked for
  // before them does not undo them when it answers after them.
  changes: new Map(), // id -> { seq, ticket }
  changeSeq: 0,
};

// ---- persistence ------------------------------------------------------------------------

function loadFilters() {
  try {
    return { status: "OPEN", assignee: "all", channel: "", ...JSON.parse(localStorage.getItem("inbox.filters") || "{}") };
  } catch {
    return { status: "OPEN", assignee: "all", channel: "" };
  }
}

function seenKey() {
  return `inbox.seen.${user.id}`;
}

function loadSeen() {
  // First visit in this browser: everything older than now counts as read.
  try {
    const s = JSON.parse(localStorage.getItem(`inbox.seen.${user.id}`) || "null");
    if (s && s.baseline) return s;
  } catch {
    /* fall through */
  }
  return { baseline: new Date().toISOString(), t: {} };
}

function saveSeen() {
  // Bound the map: the oldest entries go first.
  const entries = Object.entries(state.seen.t);
  if (entries.length > 2000) {
    entries.sort((a, b) => (a[1] < b[1] ? -1 : 1));
    state.seen.t = Object.fromEntries(entries.slice(-1500));
  }
  localStorage.setItem(seenKey(), JSON.stringify(state.seen));
}

function markSeen(ticket) {
  if (!ticket) return;
  state.unread.delete(ticket.id);
  const at = ticket.lastMessageAt || ticket.updatedAt || new Date().toISOString();
  if ((state.seen.t[ticket.id] || "") < at) {
    state.seen.t[ticket.id] = at;
    saveSeen();
  }
}

function isUnread(t) {
  if (state.current && state.current.id === t.id) return false;
  if (state.unread.has(t.id)) return true;
  if (!t.lastMessageAt) return false;
  return t.lastMessageAt > (state.seen.t[t.id] || state.seen.baseline);
}

// ---- ticket list ------------------------------------------------------------------------

const list = $("#ticket-list");

function activity(t) {
  const a = t.updatedAt || "";
  const b = t.lastMessageAt || "";
  return a > b ? a : b;
}

function matches(t) {
  const f = state.filters;
  if (f.status && t.status !== f.status) return false;
  if (f.assignee === "mine" && t.assigneeId !== user.id) return false;
  if (f.assignee === "unassigned" && t.assigneeId) return false;
  if (f.channel && t.channelId !== f.channel) return false;
  return true;
}

function queryParams(page) {
  const f = state.filters;
  const assigneeId = f.assignee === "mine" ? user.id : f.assignee === "unassigned" ? "unassigned" : "";
  return { status: f.status, assigneeId, channelId: f.channel, page, limit: PAGE_SIZE };
}

async function loadTickets({ more = false } = {}) {
  const seq = ++state.loadSeq;
  list.setAttribute("aria-busy", "true");
  const page = more ? state.page + 1 : 1;
  const asked = state.changeSeq;
  try {
    const { items, total } = await getPage(orgPath("/tickets"), queryParams(page));
    if (seq !== state.loadSeq) return; // a newer filter change won
    if (!more) state.tickets.clear();
    for (const t of items) state.tickets.set(t.id, t);
    state.total = total + keepChangesSince(asked);
    state.page = page;
    renderList();
  } catch (err) {
    if (seq === state.loadSeq) {
      fill(list, el("li.empty", { role: "alert" }, `Could not load tickets: ${err.message}`));
    }
  } finally {
    if (seq === state.loadSeq) list.setAttribute("aria-busy", "false");
  }
}

function viewersOf(ticketId) {
  return state.presence.filter((p) => p.userId !== user.id && (p.viewing === ticketId || p.typing === ticketId));
}

function ticketItem(t) {
  const current = state.current && state.current.id === t.id;
  const unread = isUnread(t);
  const name = (t.customer && t.customer.name) || t.subject || "Unknown customer";
  const viewers = viewersOf(t.id);
  const label = [
    name,
    unread ? "unread" : null,
    t.status.toLowerCase(),
    t.priority === "HIGH" ? "high priority" : null,
    t.assignee ? `assigned to ${t.assignee.name}` : "unassigned",
    viewers.length ? `${viewers.map((v) => v.name).join(", ")} viewing` : null,
  ]
    .filter(Boolean)
    .join(", ");
  return el(
    "li",
    { dataset: { id: t.id } },
    el(
      `a.ticket-item${unread ? ".unread" : ""}`,
      {
        href: `/inbox/${t.id}`,
        "aria-current": current ? "true" : undefined,
        "aria-label": label,
        dataset: { id: t.id },
        onclick: (e) => {
          if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
          e.preventDefault();
          openTicket(t.id, { push: true });
        },
      },
      el("span.t-name", {}, name),
      el("span.t-time", {}, timeEl(activity(t))),
      el("span.t-preview", {}, t.lastMessagePreview || t.subject || ""),
      el(
        "span.t-meta",
        {},
        t.channel ? platformBadge(t.channel.type) : null,
        t.channel ? el("span", {}, t.channel.name) : null,
        t.status !== "OPEN" ? pill(t.status) : null,
        t.priority !== "MEDIUM" ? pill(t.priority) : null,
        el("span", {}, t.assignee ? `→ ${t.assignee.id === user.id ? "me" : t.assignee.name}` : "unassigned"),
        viewers.length
          ? el(
              "span.t-viewers",
              { "aria-hidden": "true" },
              viewers.map((v) => el(`span.avatar${v.typing === t.id ? ".typing" : ""}`, { title: `${v.name} ${v.typing === t.id ? "is typing" : "is viewing"}` }, initials(v.name))),
            )
          : null,
      ),
    ),
  );
}

function sortedTickets() {
  return [...state.tickets.values()].sort((a, b) => (activity(a) < activity(b) ? 1 : activity(a) > activity(b) ? -1 : a.id < b.id ? 1 : -1));
}

function renderList() {
  const focusedId = document.activeElement && document.activeElement.closest && document.activeElement.closest(".ticket-item") ? document.activeElement.dataset.id : null;
  const tickets = sortedTickets();
  clear(list);
  if (!tickets.length) list.append(el("li.empty", {}, "No tickets match these filters."));
  for (const t of tickets) list.append(ticketItem(t));
  if (focusedId) {
    const again = list.querySelector(`.ticket-item[data-id="${CSS.escape(focusedId)}"]`);
    if (again) again.focus();
  }
  const shown = tickets.length;
  $("#ticket-count").textContent = state.total > shown ? `${shown} of ${state.total}` : `${shown} ticket${shown === 1 ? "" : "s"}`;
  $("#load-more").hidden = !(state.total > shown);
  const unread = tickets.filter(isUnread).length;
  document.title = `${unread ? `(${unread}) ` : ""}Inbox · Omni Inbox`;
}

// Answers and events can arrive out of order (an assign's answer after the priority change
// that followed it): a copy older than the one held would undo what the agent just saw.
function olderThan(copy, held) {
  return Boolean(held && held.updatedAt && copy.updatedAt && held.updatedAt > copy.updatedAt);
}

/** Re-applies the ticket changes seen after `asked` over a page that was asked for before
 * them (a ticket.created that came before the first page's answer); returns how many
 * tickets that adds to the page's total. */
function keepChangesSince(asked) {
  let added = 0;
  for (const [id, { seq, ticket }] of state.changes) {
    if (seq <= asked || olderThan(ticket, state.tickets.get(id))) continue;
    const had = state.tickets.has(id);
    if (matches(ticket)) {
      if (!had) added += 1;
      state.tickets.set(id, ticket);
    } else if (had) {
      state.tickets.delete(id);
      added -= 1;
    }
  }
  return added;
}

/** A ticket view from an event or a response: keep, move or drop it in the list. */
function applyTicket(t) {
  if (olderThan(t, state.current && state.current.id === t.id ? state.current : state.tickets.get(t.id))) return;
  state.changes.delete(t.id);
  state.changes.set(t.id, { seq: ++state.changeSeq, ticket: t });
  if (state.changes.size > 500) state.changes.delete(state.changes.keys().next().value);
  const had = state.tickets.has(t.id);
  if (matches(t)) {
    if (!had) state.total += 1;
    state.tickets.set(t.id, t);
  } else if (had) {
    state.tickets.delete(t.id);
    state.total = Math.max(0, state.total - 1);
  }
  if (state.current && state.current.id === t.id) {
    state.current = t;
    renderHeader();
  }
  renderList();
}

// ---- filters ----------------------------------------------------------------------------

function setupFilters() {
  const form = $("#filters");
  $("#f-status").value = state.filters.status;
  $("#f-assignee").value = state.filters.assignee;
  form.addEventListener("change", () => {
    state.filters = { status: $("#f-status").value, assignee: $("#f-assignee").value, channel: $("#f-channel").value };
    localStorage.setItem("inbox.filters", JSON.stringify(state.filters));
    loadTickets();
  });
  $("#load-more").addEventListener("click", () => loadTickets({ more: true }));
}

async function loadChannels() {
  try {
    const channels = await getAll(orgPath("/channels"));
    const select = $("#f-channel");
    for (const c of channels) {
      state.channels.set(c.id, c);
      select.append(el("option", { value: c.id }, `${c.name} (${c.type.toLowerCase()})`));
    }
    select.value = state.channels.has(state.filters.channel) ? state.filters.channel : "";
    state.filters.channel = select.value;
  } catch (err) {
    toast(`Could not load channels: ${err.message}`, { error: true });
  }
}

async function loadUsers() {
  try {
    state.users = (await getAll(orgPath("/users"))).filter((u) => u.isActive !== false);
  } catch {
    state.users = [{ id: user.id, name: user.name }];
  }
}

// ---- conversation -----------------------------------------------------------------------

const conv = $("#conv");
let typingTimer = null;

async function openTicket(id, { push = false } = {}) {
  if (push && location.pathname !== `/inbox/${id}`) history.pushState({ ticketId: id }, "", `/inbox/${id}`);
  let data;
  try {
    data = await get(orgPath(`/tickets/${encodeURIComponent(id)}`));
  } catch (err) {
    toast(err.status === 404 ? "That ticket does not exist (or belongs to another organisation)." : `Could not open the ticket: ${err.message}`, { error: true });
    closeConversation({ push: push || location.pathname !== "/inbox" });
    return;
  }
  const { messages = [], ...ticket } = data;
  state.current = ticket;
  state.messages = new Map(messages.map((m) => [m.id, m]));
  state.olderPage = null;
  state.customer = null;
  if (messages.length >= 200) await loadLatestMessages(ticket.id);
  markSeen(ticket);
  $("#inbox").classList.add("has-ticket");
  $("#no-ticket").hidden = true;
  conv.hidden = false;
  renderConversation();
  renderList();
  rt.setPresence(ticket.id, null);
  loadCustomer(ticket);
  const heading = $("#conv-title");
  if (heading && push) heading.focus();
}

async function loadLatestMessages(ticketId) {
  // Long conversations: the ticket endpoint gives the oldest 200; show the newest instead.
  const path = orgPath(`/tickets/${encodeURIComponent(ticketId)}/messages`);
  const { total } = await getPage(path, { limit: 1 });
  const last = Math.max(1, Math.ceil(total / 100));
  const { items } = await getPage(path, { page: last, limit: 100 });
  state.messages = new Map(items.map((m) => [m.id, m]));
  state.olderPage = last > 1 ? last - 1 : null;
}

async function loadOlder() {
  if (!state.current || !state.olderPage) return;
  const path = orgPath(`/tickets/${encodeURIComponent(state.current.id)}/messages`);
  const { items } = await getPage(path, { page: state.olderPage, limit: 100 });
  for (const m of items) state.messages.set(m.id, m);
  state.olderPage = state.olderPage > 1 ? state.olderPage - 1 : null;
  renderMessages({ keepScroll: true });
}

function closeConversation({ push = true } = {}) {
  if (push) history.pushState({}, "", "/inbox");
  state.current = null;
  state.messages = new Map();
  $("#inbox").classList.remove("has-ticket");
  conv.hidden = true;
  $("#no-ticket").hidden = false;
  fill($("#customer-body"), el("p.muted", {}, "Select a conversation to see the customer."));
  rt.setPresence(null, null);
  renderList();
}

function renderConversation() {
  clear(conv);
  conv.append(
    el("div.conv-head", { id: "conv-head" }),
    el("ol.messages", { id: "messages", "aria-label": "Messages", tabindex: "0" }),
    replyForm(),
  );
  renderHeader();
  renderMessages({ scrollToEnd: true });
}

function option(value, label, selected) {
  return el("option", { value, selected: selected || undefined }, label);
}

function renderHeader() {
  const head = $("#conv-head");
  const t = state.current;
  if (!head || !t) return;
  const name = (t.customer && t.customer.name) || "Unknown customer";
  const assignees = [...state.users];
  if (t.assignee && !assignees.some((u) => u.id === t.assignee.id)) assignees.push(t.assignee);
  fill(head, 
    el(
      "div.conv-title",
      {},
      el("button.back-btn.btn-small", { type: "button", onclick: () => closeConversation() }, "← Back"),
      el("h2#conv-title", { tabindex: "-1" }, name),
      t.channel ? platformBadge(t.channel.type) : null,
      pill(t.status),
      t.priority !== "MEDIUM" ? pill(t.priority) : null,
      el("span.muted.small.hide-narrow", {}, t.subject && t.subject !== name ? t.subject : ""),
      el(
        "button.btn-small.customer-toggle",
        {
          type: "button",
          "aria-controls": "customer",
          "aria-expanded": String($("#inbox").classList.contains("show-customer")),
          onclick: (e) => {
            const on = $("#inbox").classList.toggle("show-customer");
            e.currentTarget.setAttribute("aria-expanded", String(on));
          },
        },
        "Customer",
      ),
    ),
    el(
      "div.conv-controls",
      {},
      el(
        "div.field",
        {},
        el("label", { for: "c-assignee" }, "Assignee"),
        el(
          "select#c-assignee",
          { onchange: (e) => assign(e.target.value || null) },
          option("", "Unassigned", !t.assigneeId),
          assignees.map((u) => option(u.id, u.id === user.id ? `${u.name} (me)` : u.name, u.id === t.assigneeId)),
        ),
      ),
      t.assigneeId !== user.id ? el("button.btn-small", { type: "button", onclick: () => assign(user.id) }, "Assign to me") : null,
      el(
        "div.field",
        {},
        el("label", { for: "c-priority" }, "Priority"),
        el(
          "select#c-priority",
          { onchange: (e) => update({ priority: e.target.value }) },
          ["LOW", "MEDIUM", "HIGH"].map((p) => option(p, p[0] + p.slice(1).toLowerCase(), p === t.priority)),
        ),
      ),
      el(
        "div.field",
        {},
        el("label", { for: "c-status" }, "Status"),
        el(
          "select#c-status",
          { onchange: (e) => (e.target.value === "CLOSED" ? closeTicket() : update({ status: e.target.value })) },
          ["OPEN", "PENDING", "CLOSED"].map((s) => option(s, s[0] + s.slice(1).toLowerCase(), s === t.status)),
        ),
      ),
      t.status === "CLOSED"
        ? el("button.btn-small", { type: "button", onclick: () => update({ status: "OPEN" }) }, "Reopen")
        : el("button.btn-small", { type: "button", id: "close-ticket", onclick: () => closeTicket() }, "Close ticket"),
    ),
    el("div.presence-line#presence-line", { role: "status", "aria-live": "polite" }),
  );
  renderPresenceLine();
}

async function assign(assigneeId) {
  const t = state.current;
  try {
    applyTicket(await post(orgPath(`/tickets/${t.id}/assign`), { assigneeId }));
    const who = assigneeId ? (assigneeId === user.id ? "you" : (state.users.find((u) => u.id === assigneeId) || {}).name || "agent") : "nobody";
    toast(`Assigned to ${who}`);
  } catch (err) {
    toast(`Could not assign: ${err.message}`, { error: true });
    renderHeader();
  }
}

async function update(changes) {
  const t = state.current;
  try {
    applyTicket(await put(orgPath(`/tickets/${t.id}`), changes));
  } catch (err) {
    toast(`Could not update the ticket: ${err.message}`, { error: true });
    renderHeader();
  }
}

async function closeTicket() {
  const t = state.current;
  try {
    applyTicket(await post(orgPath(`/tickets/${t.id}/close`)));
    toast("Ticket closed");
  } catch (err) {
    toast(`Could not close: ${err.message}`, { error: true });
    renderHeader();
  }
}

const STATUS_TEXT = {
  QUEUED: "Queued",
  SENDING: "Sending…",
  SENT: "Sent ✓",
  DELIVERED: "Delivered ✓✓",
  READ: "Read ✓✓",
  FAILED: "Failed",
};

function mapLink(loc) {
  const lat = Number(loc.latitude);
  const lon = Number(loc.longitude);
  if (!Number.isFinite(lat) || !Number.isFinite(lon)) return null;
  const href = `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=16/${lat}/${lon}`;
  const place = [loc.name, loc.address].filter(Boolean).join(", ") || `${lat.toFixed(5)}, ${lon.toFixed(5)}`;
  return el(
    "div.attachment",
    {},
    el("span.pill", {}, "Location"),
    el("a", { href, target: "_blank", rel: "noopener noreferrer" }, `${place} (open map)`),
  );
}

function safeUrl(url) {
  if (!url) return null;
  try {
    const u = new URL(url, location.href);
    return u.protocol === "https:" || u.protocol === "http:" ? u.href : null;
  } catch {
    return null;
  }
}

function mediaEl(media) {
  const url = safeUrl(media.url || media.link || "");
  const kind = media.type || (media.mimeType || "").split("/")[0] || "file";
  const label = media.filename || media.caption || kind;
  if (!url) {
    // WhatsApp gives only a media id, fetchable with the channel's token: say what it is.
    return el(
      "span.attachment",
      { title: media.id ? `Media id ${media.id}` : undefined },
      el("span.pill", {}, kind),
      el("span.muted.small", {}, `${media.filename || media.mimeType || kind}, kept on the platform`),
    );
  }
  if (kind === "image" || kind === "sticker" || (media.mimeType || "").startsWith("image/")) {
    return el("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, el("img.thumb", { src: url, alt: media.caption || `Image from customer${media.filename ? `: ${media.filename}` : ""}`, loading: "lazy" }));
  }
  return el("a.attachment", { href: url, target: "_blank", rel: "noopener noreferrer" }, el("span.pill", {}, kind), label);
}

function messageEl(m) {
  const md = m.metadata || {};
  const who = m.direction === "INBOUND" ? m.senderName || "Customer" : (m.senderUser && m.senderUser.name) || m.senderName || "Business";
  const failed = m.status === "FAILED";
  const errText = failed && m.error ? m.error.message || JSON.stringify(m.error) : null;
  const body = [];
  const media = md.media && typeof md.media === "object" ? md.media : null;
  const location = md.location && typeof md.location === "object" ? md.location : null;
  // The connector's one-line summaries ("[image]", "📍 place") repeat what we render richly.
  const isSummary = (media && /^\[.*\]$/.test(m.content || "")) || (location && /^📍/u.test(m.content || ""));
  if (m.content && !isSummary) body.push(el("div.m-body", {}, m.content));
  if (media) body.push(mediaEl(media));
  if (location) body.push(mapLink(location));
  if (md.reaction && md.reaction.emoji && !m.content) body.push(el("div.m-body", {}, `Reacted ${md.reaction.emoji}`));
  if (!body.length) body.push(el("div.m-body.muted", {}, m.content || `[${m.type}]`));
  return el(
    `li.msg.${m.direction}${failed ? ".failed" : ""}`,
    { dataset: { id: m.id, status: m.status }, "aria-label": `${m.direction === "INBOUND" ? "From" : "Sent by"} ${who} at ${fullTime(m.timestamp || m.createdAt)}` },
    el("div.m-head", {}, el("span", {}, who), timeEl(m.timestamp || m.createdAt)),
    md.replyTo || md.context ? el("div.small.muted", {}, "↩ reply to an earlier message") : null,
    body,
    m.direction === "OUTBOUND"
      ? el(
          `div.m-status.${m.status}`,
          { "data-status": m.status },
          STATUS_TEXT[m.status] || m.status,
          errText ? `: ${errText}` : "",
          failed ? " " : null,
          failed ? el("button.btn-link.small", { type: "button", onclick: () => sendReply({ content: m.content, metadata: md }) }, "Send again") : null,
        )
      : null,
  );
}

function orderedMessages() {
  return [...state.messages.values()].sort((a, b) => {
    const ta = a.timestamp || a.createdAt;
    const tb = b.timestamp || b.createdAt;
    return ta < tb ? -1 : ta > tb ? 1 : (a.createdAt || "") < (b.createdAt || "") ? -1 : 1;
  });
}

function renderMessages({ scrollToEnd = false, keepScroll = false } = {}) {
  const ol = $("#messages");
  if (!ol) return;
  const nearEnd = ol.scrollHeight - ol.scrollTop - ol.clientHeight < 80;
  const fromBottom = ol.scrollHeight - ol.scrollTop;
  clear(ol);
  if (state.olderPage) ol.append(el("li.load-earlier", {}, el("button.btn-small", { type: "button", onclick: loadOlder }, "Load earlier messages")));
  const msgs = orderedMessages();
  if (!msgs.length) ol.append(el("li.empty", {}, "No messages yet."));
  for (const m of msgs) ol.append(messageEl(m));
  if (keepScroll) ol.scrollTop = ol.scrollHeight - fromBottom;
  else if (scrollToEnd || nearEnd) ol.scrollTop = ol.scrollHeight;
}

function upsertMessage(m) {
  if (!state.current || m.ticketId !== state.current.id) return false;
  const old = state.messages.get(m.id);
  // Statuses only move forward; an older copy arriving late must not undo a newer one.
  if (olderThan(m, old)) return true;
  state.messages.set(m.id, { ...old, ...m, senderUser: m.senderUser || (old && old.senderUser) || null });
  renderMessages();
  return true;
}

// ---- reply box and macros ---------------------------------------------------------------

function replyForm() {
  const textarea = el("textarea#reply-text", {
    name: "content",
    rows: "3",
    maxlength: "4096",
    placeholder: "Write a reply… (Enter sends, Shift+Enter for a new line)",
    "aria-describedby": "reply-hint",
    oninput: onTyping,
    onkeydown: (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        e.target.form.requestSubmit();
      }
    },
  });
  const form = el(
    "form.reply#reply-form",
    {
      "aria-label": "Reply",
      onsubmit: (e) => {
        e.preventDefault();
        const content = textarea.value.trim();
        if (content) sendReply({ content });
      },
    },
    el("label.visually-hidden", { for: "reply-text" }, "Reply to the customer"),
    el("div.alert.alert-warn#collision", { hidden: true, role: "status" }),
    textarea,
    el(
      "div.row",
      {},
      el("div.macro-picker", {}, el("button#macro-button.btn-small", { type: "button", "aria-haspopup": "true", "aria-expanded": "false", "aria-controls": "macro-menu", onclick: toggleMacros }, "Macros ▾"), el("div.macro-menu#macro-menu", { hidden: true })),
      el("span.muted.small#reply-hint", {}, "Enter sends · Shift+Enter new line"),
      el("button.btn-primary#send-button", { type: "submit" }, "Send"),
    ),
  );
  return form;
}

function onTyping() {
  if (!state.current) return;
  rt.setPresence(state.current.id, state.current.id);
  clearTimeout(typingTimer);
  typingTimer = setTimeout(() => {
    if (state.current) rt.setPresence(state.current.id, null);
  }, TYPING_IDLE_MS);
}

async function sendReply(body) {
  const t = state.current;
  if (!t) return;
  const button = $("#send-button");
  const textarea = $("#reply-text");
  button.disabled = true;
  try {
    const message = await post(orgPath(`/tickets/${t.id}/messages`), body);
    if (body.content !== undefined && textarea && textarea.value.trim() === body.content) textarea.value = "";
    clearTimeout(typingTimer);
    rt.setPresence(t.id, null);
    upsertMessage(message);
    $("#messages").scrollTop = $("#messages").scrollHeight;
  } catch (err) {
    toast(`Not sent: ${err.message}${err.details && Object.keys(err.details).length ? ` (${Object.values(err.details).join("; ")})` : ""}`, { error: true });
  } finally {
    button.disabled = false;
    if (textarea) textarea.focus();
  }
}

/** Client-side preview of `{{ customer.name }}`-style placeholders for "Insert". */
function renderTemplate(text) {
  const c = state.customer || (state.current && state.current.customer) || {};
  const ctx = { customer: c, agent: { name: user.name }, ticket: state.current || {} };
  return text.replace(/\{\{\s*([a-zA-Z_][\w.]*)\s*\}\}/g, (whole, path) => {
    let v = ctx;
    for (const part of path.split(".")) v = v && typeof v === "object" ? v[part] : undefined;
    return v === undefined || v === null || typeof v === "object" ? whole : String(v);
  });
}

async function toggleMacros() {
  const menu = $("#macro-menu");
  const button = $("#macro-button");
  if (!menu.hidden) return closeMacros();
  menu.hidden = false;
  button.setAttribute("aria-expanded", "true");
  fill(menu, el("p.muted.small", {}, "Loading macros…"));
  if (!state.macros) {
    try {
      state.macros = await getAll(`/orgs/macros/${encodeURIComponent(user.orgId)}`);
    } catch (err) {
      fill(menu, el("p.field-error", {}, `Could not load macros: ${err.message}`));
      return;
    }
  }
  const filter = el("input", { type: "search", placeholder: "Filter macros", "aria-label": "Filter macros" });
  const ul = el("ul", { "aria-label": "Macros" });
  const draw = () => {
    const q = filter.value.toLowerCase();
    clear(ul);
    const shown = state.macros.filter((m) => !q || m.name.toLowerCase().includes(q) || m.content.toLowerCase().includes(q));
    if (!shown.length) ul.append(el("li.muted.small", {}, state.macros.length ? "No macro matches." : "No macros yet: create them under Macros."));
    for (const m of shown) {
      ul.append(
        el(
          "li",
          {},
          el("span.m-name", {}, m.name, el("span.m-content", {}, m.content)),
          el("button.btn-small", { type: "button", "aria-label": `Insert macro ${m.name}`, onclick: () => insertMacro(m) }, "Insert"),
          el("button.btn-small", { type: "button", "aria-label": `Send macro ${m.name} now`, onclick: () => { closeMacros(); sendReply({ macroId: m.id }); } }, "Send"),
        ),
      );
    }
  };
  filter.addEventListener("input", draw);
  menu.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      e.stopPropagation();
      closeMacros();
      button.focus();
    }
  });
  fill(menu, filter, ul);
  draw();
  filter.focus();
}

function closeMacros() {
  const menu = $("#macro-menu");
  if (!menu) return;
  menu.hidden = true;
  $("#macro-button").setAttribute("aria-expanded", "false");
}

function insertMacro(m) {
  const ta = $("#reply-text");
  const text = renderTemplate(m.content);
  const start = ta.selectionStart ?? ta.value.length;
  const end = ta.selectionEnd ?? ta.value.length;
  ta.value = ta.value.slice(0, start) + text + ta.value.slice(end);
  closeMacros();
  ta.focus();
  ta.selectionStart = ta.selectionEnd = start + text.length;
  onTyping();
}

// ---- customer panel ---------------------------------------------------------------------

const moneyFormat = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const money = (n) => moneyFormat.format(Number(n) || 0);

async function loadCustomer(ticket) {
  const body = $("#customer-body");
  const ref = ticket.customer;
  if (!ref) {
    fill(body, el("p.muted", {}, "No customer on this ticket."));
    return;
  }
  fill(body, el("p.muted", {}, "Loading…"));
  let customer = ref;
  try {
    customer = await get(orgPath(`/customers/${encodeURIComponent(ref.id)}`));
  } catch {
    /* the ticket's summary of the customer is enough to go on */
  }
  let others = [];
  try {
    others = (await getPage(orgPath(`/customers/${encodeURIComponent(ref.id)}/tickets`), { limit: 20 })).items;
  } catch {
    try {
      others = (await getPage(orgPath("/tickets"), { customerId: ref.id, limit: 20 })).items;
    } catch {
      others = [];
    }
  }
  if (!state.current || state.current.id !== ticket.id) return;
  state.customer = customer;
  const meta = customer.metadata && typeof customer.metadata === "object" ? Object.entries(customer.metadata).filter(([, v]) => v !== null && typeof v !== "object") : [];
  fill(body, 
    el(
      "dl",
      {},
      el("dt", {}, "Name"),
      el("dd", {}, customer.name || "—"),
      el("dt", {}, "Platform"),
      el("dd", {}, platformBadge(customer.platform)),
      customer.externalId ? [el("dt", {}, "Contact"), el("dd.mono", {}, customer.externalId)] : null,
      customer.email ? [el("dt", {}, "E-mail"), el("dd", {}, el("a", { href: `mailto:${customer.email}` }, customer.email))] : null,
      customer.phone ? [el("dt", {}, "Phone"), el("dd.mono", {}, customer.phone)] : null,
      customer.tags && customer.tags.length ? [el("dt", {}, "Tags"), el("dd", {}, customer.tags.map((t) => [el("span.pill", {}, t), " "]))] : null,
      customer.totalOrders !== undefined
        ? [
            el("dt", {}, "Lifetime value"),
            el("dd", {}, `${money(customer.totalRevenue)} · ${customer.totalOrders} order${customer.totalOrders === 1 ? "" : "s"}`),
          ]
        : null,
      customer.lastMessageAt ? [el("dt", {}, "Last message"), el("dd", {}, fullTime(customer.lastMessageAt))] : null,
      customer.createdAt ? [el("dt", {}, "First seen"), el("dd", {}, fullTime(customer.createdAt))] : null,
      meta.map(([k, v]) => [el("dt", {}, k), el("dd", {}, String(v))]),
    ),
    el("h3", {}, "Recent orders"),
    customer.recentOrders && customer.recentOrders.length
      ? el(
          "ul.orders",
          {},
          customer.recentOrders.map((o) =>
            el(
              "li",
              {},
              el("span.mono", {}, o.orderNumber),
              " ",
              money(o.total),
              " ",
              pill(o.status),
              el("div.muted.small", {}, `${o.items.length} item${o.items.length === 1 ? "" : "s"} · ${shortTime(o.createdAt)}`),
            ),
          ),
        )
      : el("p.muted", {}, "No orders yet."),
    el("h3", {}, "Tickets"),
    others.length
      ? el(
          "ul",
          {},
          others.map((o) =>
            el(
              "li",
              {},
              o.id === ticket.id
                ? el("strong", {}, "This conversation")
                : el("a", { href: `/inbox/${o.id}`, onclick: (e) => { e.preventDefault(); openTicket(o.id, { push: true }); } }, o.subject || o.lastMessagePreview || "Ticket"),
              " ",
              pill(o.status),
              el("div.muted.small", {}, `${o.channel ? o.channel.name : ""} · ${shortTime(o.updatedAt)}`),
            ),
          ),
        )
      : el("p.muted", {}, "No other tickets."),
  );
}

// ---- presence ---------------------------------------------------------------------------

function renderOnline() {
  const box = $("#online-list");
  clear(box);
  const online = state.presence;
  if (!online.length) box.append("just you");
  for (const p of online) {
    const label = p.userId === user.id ? `${p.name} (you)` : p.name;
    box.append(el(`span.avatar${p.typing ? ".typing" : ""}`, { title: label, "aria-label": label, role: "img" }, initials(p.name)), " ");
  }
}

function renderPresenceLine() {
  const line = $("#presence-line");
  const t = state.current;
  if (!line || !t) return;
  const others = viewersOf(t.id);
  const typing = others.filter((p) => p.typing === t.id).map((p) => p.name);
  const viewing = others.filter((p) => p.typing !== t.id).map((p) => p.name);
  const parts = [];
  if (typing.length) parts.push(`${typing.join(", ")} ${typing.length > 1 ? "are" : "is"} typing a reply…`);
  if (viewing.length) parts.push(`${viewing.join(", ")} ${viewing.length > 1 ? "are" : "is"} also viewing`);
  line.textContent = parts.join(" · ");
  const warn = $("#collision");
  if (warn) {
    warn.hidden = !typing.length;
    warn.textContent = typing.length ? `Careful: ${typing.join(", ")} ${typing.length > 1 ? "are" : "is"} replying to this customer right now.` : "";
  }
}

// ---- live events ------------------------------------------------------------------------

function announce(text) {
  const a = $("#announcer");
  a.textContent = "";
  setTimeout(() => {
    a.textContent = text;
  }, 50);
}

rt.on("ticket.created", (t) => {
  applyTicket(t);
  if (matches(t)) announce(`New conversation from ${(t.customer && t.customer.name) || "a customer"}`);
});
rt.on("ticket.updated", applyTicket);
rt.on("message.created", (m) => {
  const isOpen = upsertMessage(m);
  const t = state.tickets.get(m.ticketId);
  if (t) {
    // Keep the list fresh even before the ticket.updated event lands.
    const at = m.timestamp || m.createdAt;
    state.tickets.set(t.id, { ...t, lastMessagePreview: (m.content || "").slice(0, 200), lastMessageAt: at > (t.lastMessageAt || "") ? at : t.lastMessageAt });
  }
  if (isOpen) {
    if (document.visibilityState === "visible") markSeen({ id: m.ticketId, lastMessageAt: m.timestamp || m.createdAt });
    if (m.direction === "INBOUND") announce(`New message from ${m.senderName || "the customer"}: ${m.content}`);
  } else if (m.direction === "INBOUND") {
    state.unread.add(m.ticketId);
    const name = (t && t.customer && t.customer.name) || m.senderName || "a customer";
    announce(`New message from ${name}`);
  }
  renderList();
});
rt.on("message.updated", (m) => upsertMessage(m));
rt.on("message.deleted", (m) => {
  if (state.current && m && state.messages.has(m.id)) {
    state.messages.delete(m.id);
    renderMessages();
  }
});
rt.on("presence.update", (data) => {
  state.presence = (data && data.users) || [];
  renderOnline();
  renderPresenceLine();
  renderList();
});
rt.on("resync.required", () => {
  // Too long away: reload what is on screen instead of trusting a partial replay.
  toast("Reconnected after a long break: reloading the inbox.");
  loadTickets();
  if (state.current) openTicket(state.current.id);
});

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible" && state.current) {
    markSeen(state.current);
    renderList();
  }
});
window.addEventListener("popstate", () => {
  const m = location.pathname.match(/^\/inbox\/([^/]+)$/);
  if (m) openTicket(decodeURIComponent(m[1]));
  else closeConversation({ push: false });
});
document.addEventListener("keydown", (e) => {
  if (e.key === "Escape" && $("#macro-menu") && !$("#macro-menu").hidden) closeMacros();
});
document.addEventListener("click", (e) => {
  const menu = $("#macro-menu");
  if (menu && !menu.hidden && !e.target.closest(".macro-picker")) closeMacros();
});

// ---- start ------------------------------------------------------------------------------

(async () => {
  setupFilters();
  renderOnline();
  await Promise.all([loadChannels(), loadUsers()]);
  await loadTickets();
  const m = location.pathname.match(/^\/inbox\/([^/]+)$/);
  if (m) openTicket(decodeURIComponent(m[1]));
})();

// Exposed for the browser tests and for debugging in the console.
window.inboxState = state;
export { ApiError, api };
