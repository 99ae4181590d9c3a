// What every logged-in page shares: the session check, the header (user, admin links,
// connection state, notifications, log out) and one live connection.

import { ApiError, api, currentUser, get, goToLogin, logout, orgPath, patch, session } from "./api.js";
import { Realtime } from "./realtime.js";
import { $, clear, el, shortTime, toast } from "./ui.js";

const STATE_TEXT = { live: "Live", connecting: "Connecting…", offline: "Offline — reconnecting" };

/** Resolves with {user, rt}; never resolves while the browser is sent elsewhere. */
export async function boot({ adminOnly = false } = {}) {
  const s = session();
  if (!s || !s.user || !s.refreshToken) {
    goToLogin();
    return new Promise(() => {});
  }
  const user = currentUser();
  if (adminOnly && user.role !== "ADMIN") {
    location.replace("/inbox");
    return new Promise(() => {});
  }
  const chip = $("#user-chip");
  if (chip) chip.textContent = `${user.name} · ${user.role === "ADMIN" ? "Admin" : "Agent"}`;
  if (user.role === "ADMIN") {
    for (const a of document.querySelectorAll("[data-admin-only]")) a.hidden = false;
  }
  const out = $("#logout");
  if (out) out.addEventListener("click", () => logout());

  const rt = new Realtime();
  window.inboxRealtime = rt; // for debugging and the browser tests
  const status = $("#conn-status");
  rt.on("status", (state) => {
    if (!status) return;
    status.dataset.state = state;
    status.textContent = STATE_TEXT[state] || state;
  });
  setupNotifications(rt);
  // Keep the user's name and role current (an admin may have changed them).
  get("/auth/me")
    .then((me) => {
      const cur = session();
      if (cur && me && me.id) localStorage.setItem("inbox.session", JSON.stringify({ ...cur, user: { ...cur.user, ...me } }));
    })
    .catch(() => {});
  rt.connect();
  return { user, rt };
}

function setupNotifications(rt) {
  const bell = $("#bell");
  const panel = $("#notif-panel");
  const list = $("#notif-list");
  const count = $("#bell-count");
  if (!bell || !panel) return;
  let unread = 0;

  const setCount = (n) => {
    unread = Math.max(0, n);
    count.textContent = String(unread);
    count.hidden = unread === 0;
    bell.setAttribute("aria-label", `Notifications, ${unread} unread`);
  };

  const render = (items) => {
    clear(list);
    if (!items.length) list.append(el("li.muted", {}, "No notifications."));
    for (const n of items) {
      const item = el(
        `li${n.isRead ? "" : ".unread"}`,
        {},
        el("div.notif-title", {}, n.title || n.type),
        el("div", {}, n.message || ""),
        el("div.notif-time", {}, shortTime(n.createdAt)),
      );
      const ticketId = n.data && n.data.ticketId;
      if (ticketId) item.append(el("a", { href: `/inbox/${ticketId}` }, "Open conversation"));
      if (!n.isRead) {
        item.append(
          " ",
          el(
            "button.btn-link.small",
            {
              type: "button",
              onclick: async () => {
                await patch(orgPath(`/notifications/${n.id}/read`));
                item.classList.remove("unread");
                setCount(unread - 1);
              },
            },
            "Mark read",
          ),
        );
      }
      list.append(item);
    }
  };

  const load = async () => {
    const r = await api("GET", `${orgPath("/notifications")}?limit=20`);
    render(r.data || []);
    const un = await api("GET", `${orgPath("/notifications")}?unreadOnly=true&limit=1`);
    setCount(Number(un.headers.get("X-Total-Count") || (un.data || []).length));
  };

  load()
    .then(() => {
      bell.hidden = false;
    })
    .catch((err) => {
      // No notifications API on this server (yet): keep the bell hidden.
      if (!(err instanceof ApiError)) console.warn(err);
    });

  bell.addEventListener("click", () => {
    const open = panel.hidden;
    panel.hidden = !open;
    bell.setAttribute("aria-expanded", String(open));
    if (open) load().catch(() => {});
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !panel.hidden) {
      panel.hidden = true;
      bell.setAttribute("aria-expanded", "false");
      bell.focus();
    }
  });
  $("#notif-read-all").addEventListener("click", async () => {
    await patch(orgPath("/notifications/mark-all-read"));
    setCount(0);
    load().catch(() => {});
  });
  rt.on("notification.created", (data) => {
    // Org events reach every member: show only the ones addressed to this user.
    if (!data || data.userId !== currentUser().id) return;
    const n = data.notification || {};
    bell.hidden = false;
    setCount(unread + 1);
    toast(n.title ? `${n.title}${n.message ? `: ${n.message}` : ""}` : "New notification");
  });
}
