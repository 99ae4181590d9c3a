// The analytics dashboard: /orgs/analytics/{tickets,channels,agents,campaigns}, drawn with
// hand-made SVG charts and tables of the exact numbers.

import { ApiError, get } from "./api.js";
import { barChart, lineChart } from "./charts.js";
import { boot } from "./shell.js";
import { $, clear, duration, el, pill, platformBadge, table, fill } from "./ui.js";

await boot();

const STATUS_COLORS = { OPEN: "#15803d", PENDING: "#b45309", CLOSED: "#4b5563" };
const PALETTE = ["#1d4ed8", "#9d174d", "#166534", "#b45309", "#6d28d9", "#0e7490"];

function isoDate(d) {
  return d.toISOString().slice(0, 10);
}

function period() {
  return { from: $("#p-from").value, to: $("#p-to").value };
}

function pct(rate) {
  return rate === null || rate === undefined ? "—" : `${Math.round(rate * 1000) / 10}%`;
}

async function fetchReport(name) {
  const qs = new URLSearchParams(Object.entries(period()).filter(([, v]) => v));
  return get(`/orgs/analytics/${name}${qs.toString() ? `?${qs}` : ""}`);
}

function failed(box, err) {
  box.setAttribute("aria-busy", "false");
  fill(box, el("p.alert.alert-error", {}, `Could not load: ${err.message}`));
}

let channelNames = new Map();

async function loadTickets() {
  const cards = $("#ticket-cards");
  let r;
  try {
    r = await fetchReport("tickets");
  } catch (err) {
    if (err instanceof ApiError && err.status === 400) {
      const box = $("#period-error");
      box.textContent = `${err.message}${Object.keys(err.details).length ? `: ${Object.values(err.details).join("; ")}` : ""}`;
      box.hidden = false;
    }
    failed(cards, err);
    return;
  }
  $("#period-error").hidden = true;
  fill(cards, 
    [
      ["Total tickets", r.totalTickets],
      ["Open", r.openTickets],
      ["Closed", r.closedTickets],
      ["Avg. first response", duration(r.avgResponseTime)],
    ].map(([label, value]) => el("div.stat", {}, el("div.label", {}, label), el("div.value", {}, String(value ?? 0)))),
  );
  cards.setAttribute("aria-busy", "false");

  const days = r.dailyStats || [];
  const labels = days.map((d) => d.date.slice(5));
  fill($("#daily-chart"), 
    lineChart(
      {
        labels,
        series: [
          { name: "Created", color: "#1d4ed8", values: days.map((d) => d.created) },
          { name: "Closed", color: "#15803d", values: days.map((d) => d.closed) },
        ],
      },
      { label: `Tickets per day: ${days.reduce((a, d) => a + d.created, 0)} created and ${days.reduce((a, d) => a + d.closed, 0)} closed over ${days.length} days` },
    ),
    el(
      "details",
      {},
      el("summary", {}, "Daily numbers"),
      table(
        [
          { label: "Day", key: "date" },
          { label: "Created", key: "created" },
          { label: "Closed", key: "closed" },
        ],
        days,
      ),
    ),
  );
  const statuses = Object.entries(r.ticketsByStatus || {}).map(([k, v]) => ({ label: k, value: v, color: STATUS_COLORS[k] }));
  fill($("#status-chart"), barChart(statuses, { label: `Tickets by status: ${statuses.map((s) => `${s.label} ${s.value}`).join(", ")}` }));
  const byChannel = Object.entries(r.ticketsByChannel || {}).map(([id, v], i) => ({ label: channelNames.get(id) || id.slice(0, 8), value: v, color: PALETTE[i % PALETTE.length] }));
  fill($("#channel-chart"), barChart(byChannel, { label: `Tickets by channel: ${byChannel.map((s) => `${s.label} ${s.value}`).join(", ")}` }));
}

async function loadChannels() {
  const box = $("#channel-table");
  try {
    const r = await fetchReport("channels");
    channelNames = new Map((r.channels || []).map((c) => [c.channelId, c.name]));
    fill(box, 
      el("p.muted", {}, `${r.totalMessagesIn} messages in, ${r.totalMessagesOut} out, ${r.totalTickets} tickets, ${r.totalCustomers} customers.`),
      table(
        [
          { label: "Channel", render: (c) => [platformBadge(c.type), " ", c.name] },
          { label: "Messages in", key: "messagesIn" },
          { label: "Messages out", key: "messagesOut" },
          { label: "Tickets", key: "tickets" },
          { label: "Open", key: "openTickets" },
          { label: "Customers", key: "customers" },
        ],
        r.channels || [],
        { empty: "No channels." },
      ),
    );
    box.setAttribute("aria-busy", "false");
  } catch (err) {
    failed(box, err);
  }
}

async function loadAgents() {
  const box = $("#agent-table");
  try {
    const r = await fetchReport("agents");
    fill(box, 
      table(
        [
          { label: "Agent", render: (a) => [a.name, a.isActive ? "" : " (deactivated)"] },
          { label: "Assigned now", key: "assigned" },
          { label: "Open", key: "open" },
          { label: "Closed", key: "closed" },
          { label: "Replies", key: "replies" },
          { label: "Avg. first response", render: (a) => duration(a.avgFirstResponseTime) },
          { label: "Avg. resolution", render: (a) => duration(a.avgResolutionTime) },
        ],
        r.agents || [],
        { empty: "No agents." },
      ),
    );
    box.setAttribute("aria-busy", "false");
  } catch (err) {
    failed(box, err);
  }
}

async function loadCampaigns() {
  const box = $("#campaign-table");
  try {
    const r = await fetchReport("campaigns");
    fill(box, 
      el("p.muted", {}, `${r.totalCampaigns} campaigns, ${r.totalSent} of ${r.totalRecipients} messages sent, ${r.totalFailed} failed, ${r.totalDelivered} delivered, ${r.totalRead} read.`),
      table(
        [
          { label: "Campaign", key: "name" },
          { label: "Status", render: (c) => pill(c.status) },
          { label: "Recipients", key: "recipients" },
          { label: "Sent", key: "sent" },
          { label: "Failed", key: "failed" },
          { label: "Delivery rate", render: (c) => pct(c.deliveryRate) },
          { label: "Read rate", render: (c) => pct(c.readRate) },
        ],
        r.campaigns || [],
        { empty: "No campaigns in this period." },
      ),
    );
    box.setAttribute("aria-busy", "false");
  } catch (err) {
    failed(box, err);
  }
}

async function loadAll() {
  await loadChannels(); // names for the by-channel chart
  await Promise.all([loadTickets(), loadAgents(), loadCampaigns()]);
}

const today = new Date();
$("#p-to").value = isoDate(today);
$("#p-from").value = isoDate(new Date(today.getTime() - 29 * 86400_000));
$("#period-form").addEventListener("submit", (e) => {
  e.preventDefault();
  loadAll();
});
loadAll();
