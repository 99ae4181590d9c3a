// The session (tokens in localStorage, shared by every tab) and the JSON API client.
//
// Refresh tokens rotate on every use and presenting a rotated one revokes the whole family,
// so two tabs must never refresh with the same token at once: refreshing takes a Web Lock and
// re-reads storage inside it, using another tab's fresh token when one appeared meanwhile.

const KEY = "inbox.session";

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `Request failed (${status})`);
    this.status = status;
    this.body = body || {};
    this.code = this.body.code;
    this.details = this.body.details || {};
  }
}

export function session() {
  try {
    return JSON.parse(localStorage.getItem(KEY) || "null");
  } catch {
    return null;
  }
}

export function saveSession(data) {
  const old = session() || {};
  const next = {
    user: data.user || old.user,
    accessToken: data.accessToken || old.accessToken,
    refreshToken: data.refreshToken || old.refreshToken,
  };
  localStorage.setItem(KEY, JSON.stringify(next));
  return next;
}

export function clearSession() {
  localStorage.removeItem(KEY);
}

export function currentUser() {
  const s = session();
  return s && s.user;
}

export function orgPath(path = "") {
  return `/orgs/${encodeURIComponent(currentUser().orgId)}${path}`;
}

function tokenExpiry(token) {
  try {
    const payload = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    return (payload.exp || 0) * 1000;
  } catch {
    return 0;
  }
}

/** Seconds the current access token still has (negative once expired). */
export function accessTokenTtl() {
  const s = session();
  return s ? (tokenExpiry(s.accessToken) - Date.now()) / 1000 : -1;
}

export function goToLogin() {
  const next = location.pathname + location.search;
  location.assign(`/login?next=${encodeURIComponent(next)}`);
}

async function doRefresh(staleAccess) {
  const s = session();
  if (!s || !s.refreshToken) throw new ApiError(401, { message: "Not logged in" });
  if (s.accessToken !== staleAccess && tokenExpiry(s.accessToken) - Date.now() > 30_000) {
    return s.accessToken; // another tab refreshed while we waited for the lock
  }
  const resp = await fetch("/auth/refresh", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ refreshToken: s.refreshToken }),
  });
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    if (resp.status === 401) clearSession();
    throw new ApiError(resp.status, body);
  }
  return saveSession(body).accessToken;
}

let refreshing = null;

/** A fresh access token; one refresh at a time per tab, and per browser via Web Locks. */
export function refreshAccessToken() {
  const stale = (session() || {}).accessToken;
  if (!refreshing) {
    const run = () => doRefresh(stale);
    refreshing = (navigator.locks ? navigator.locks.request("inbox-refresh", run) : run()).finally(
      () => {
        refreshing = null;
      },
    );
  }
  return refreshing;
}

/** An access token good for at least `minSeconds` more. */
export async function freshToken(minSeconds = 30) {
  if (accessTokenTtl() > minSeconds) return session().accessToken;
  return refreshAccessToken();
}

/**
 * Call the JSON API. Resolves `{data, headers, status}`; throws ApiError on non-2xx.
 * A 401 refreshes the token once and retries; a failed refresh sends the user to /login.
 */
export async function api(method, path, body, { retry = true, auth = true } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (auth) {
    let token;
    try {
      token = await freshToken();
    } catch {
      goToLogin();
      throw new ApiError(401, { message: "Session expired" });
    }
    headers.Authorization = `Bearer ${token}`;
  }
  const resp = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await resp.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (resp.status === 401 && auth && retry) {
    try {
      await refreshAccessToken();
    } catch {
      goToLogin();
      throw new ApiError(401, data);
    }
    return api(method, path, body, { retry: false, auth });
  }
  if (resp.status === 429 && retry) {
    // Rate limited: wait as told when that is short, then try once more.
    const wait = Number(resp.headers.get("Retry-After") || "1");
    if (wait <= 10) {
      await new Promise((r) => setTimeout(r, Math.max(0.2, wait) * 1000));
      return api(method, path, body, { retry: false, auth });
    }
  }
  if (!resp.ok) throw new ApiError(resp.status, data);
  return { data, headers: resp.headers, status: resp.status };
}

export const get = (path) => api("GET", path).then((r) => r.data);
export const post = (path, body = {}) => api("POST", path, body).then((r) => r.data);
export const put = (path, body) => api("PUT", path, body).then((r) => r.data);
export const patch = (path, body = {}) => api("PATCH", path, body).then((r) => r.data);
export const del = (path) => api("DELETE", path).then((r) => r.data);

/** A list endpoint's page plus its total (X-Total-Count). */
export async function getPage(path, params = {}) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") qs.set(k, v);
  }
  const url = qs.toString() ? `${path}?${qs}` : path;
  const r = await api("GET", url);
  const total = Number(r.headers.get("X-Total-Count"));
  return { items: r.data || [], total: Number.isFinite(total) ? total : (r.data || []).length };
}

/** Every page of a list (for small lists: users, channels, macros). */
export async function getAll(path, params = {}, cap = 1000) {
  const out = [];
  for (let page = 1; out.length < cap; page++) {
    const { items, total } = await getPage(path, { ...params, page, limit: 100 });
    out.push(...items);
    if (!items.length || out.length >= total) break;
  }
  return out;
}

export async function logout() {
  const s = session();
  clearSession();
  if (s && s.refreshToken) {
    await fetch("/auth/logout", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refreshToken: s.refreshToken }),
    }).catch(() => {});
  }
  location.assign("/login");
}
