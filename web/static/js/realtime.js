// The org's live events over /ws, surviving sleep, network loss and token expiry.
//
// Every event with an id advances `lastId`; a reconnect asks for `since=lastId`, so the server
// replays what was missed. When the gap is older than the server keeps, it sends
// `resync.required` and listeners reload their data. Presence is re-sent after every
// reconnect because the server forgets a socket's presence when it closes.

import { freshToken, refreshAccessToken } from "./api.js";

const CLOSE_TOKEN_EXPIRED = 4001;
const PING_EVERY_MS = 25_000;
const PONG_TIMEOUT_MS = 10_000;

export class Realtime {
  constructor() {
    this.handlers = new Map();
    this.lastId = null;
    this.ws = null;
    this.state = "connecting";
    this.attempt = 0;
    this.presence = { viewing: null, typing: null };
    this.retryTimer = null;
    this.pingTimer = null;
    this.pongTimer = null;
    this.stopped = false;
    window.addEventListener("online", () => this.wake());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.wake();
    });
  }

  /** on("message.created", fn), on("*", fn), on("status", fn) for connection state. */
  on(name, fn) {
    if (!this.handlers.has(name)) this.handlers.set(name, new Set());
    this.handlers.get(name).add(fn);
    return () => this.handlers.get(name).delete(fn);
  }

  emit(name, payload) {
    for (const fn of this.handlers.get(name) || []) {
      try {
        fn(payload);
      } catch (err) {
        console.error("realtime handler failed", name, err);
      }
    }
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.emit("status", state);
  }

  async connect() {
    clearTimeout(this.retryTimer);
    if (this.stopped) return;
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) return;
    this.setState("connecting");
    let token;
    try {
      token = await freshToken(20);
    } catch {
      this.scheduleRetry();
      return;
    }
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    let url = `${proto}//${location.host}/ws?token=${encodeURIComponent(token)}`;
    if (this.lastId) url += `&since=${encodeURIComponent(this.lastId)}`;
    const ws = new WebSocket(url);
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.attempt = 0;
      this.setState("live");
      this.sendPresence();
      this.startPing();
      this.emit("open", { resumed: Boolean(this.lastId) });
    };
    ws.onmessage = (msg) => this.receive(msg.data);
    ws.onclose = async (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.stopPing();
      this.setState("offline");
      if (this.stopped) return;
      if (ev.code === CLOSE_TOKEN_EXPIRED || !opened) {
        // Expired token (or a refused handshake, often the same thing): refresh first.
        try {
          await refreshAccessToken();
        } catch {
          /* api.js sends the user to /login when the refresh token is gone too */
        }
      }
      this.scheduleRetry(ev.code === CLOSE_TOKEN_EXPIRED ? 0 : undefined);
    };
  }

  receive(raw) {
    let ev;
    try {
      ev = JSON.parse(raw);
    } catch {
      return;
    }
    if (ev.event === "pong") {
      clearTimeout(this.pongTimer);
      return;
    }
    if (ev.event === "resync.required") {
      // What we missed is gone from the log: start from now and let pages reload.
      this.lastId = null;
      this.emit("resync.required", ev.data);
      return;
    }
    if (ev.id) this.lastId = ev.id;
    this.emit(ev.event, ev.data);
    this.emit("*", ev);
  }

  scheduleRetry(delay) {
    clearTimeout(this.retryTimer);
    const wait = delay ?? Math.min(30_000, 1000 * 2 ** this.attempt) * (0.75 + Math.random() / 2);
    this.attempt += 1;
    this.retryTimer = setTimeout(() => this.connect(), wait);
  }

  /** After sleep or a network change: check the socket now instead of at the next ping. */
  wake() {
    if (this.stopped) return;
    if (!this.ws) {
      this.attempt = 0;
      this.connect();
    } else if (this.ws.readyState === WebSocket.OPEN) {
      this.ping();
    }
  }

  startPing() {
    this.stopPing();
    this.pingTimer = setInterval(() => this.ping(), PING_EVERY_MS);
  }

  stopPing() {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
  }

  ping() {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send("ping");
    clearTimeout(this.pongTimer);
    const ws = this.ws;
    // No pong: the connection died silently (laptop lid, Wi-Fi switch). Drop and reconnect.
    this.pongTimer = setTimeout(() => ws.close(), PONG_TIMEOUT_MS);
  }

  setPresence(viewing, typing) {
    if (viewing === this.presence.viewing && typing === this.presence.typing) return;
    this.presence = { viewing, typing };
    this.sendPresence();
  }

  sendPresence() {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify({ type: "presence", ...this.presence }));
    }
  }

  /** For tests and debugging: drop the socket as a network loss would. */
  simulateDrop() {
    if (this.ws) this.ws.close();
  }
}
