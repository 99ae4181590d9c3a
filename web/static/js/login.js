// Log in, create an organisation, or accept an invite (/login?invite=<token>).

import { ApiError, api, saveSession, session } from "./api.js";
import { $, $$, clearErrors, formData, showError } from "./ui.js";

function nextUrl() {
  const next = new URLSearchParams(location.search).get("next") || "/inbox";
  // Only our own paths: never an open redirect to another site.
  return next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/login") ? next : "/inbox";
}

async function submit(form, path, body) {
  clearErrors(form);
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const { data } = await api("POST", path, body, { auth: false });
    saveSession(data);
    location.assign(nextUrl());
  } catch (err) {
    showError(form, err instanceof ApiError ? err : new Error("Network error: is the server running?"));
    const bad = form.querySelector("[aria-invalid=true]") || form.querySelector("input:not([type=hidden])");
    if (bad) bad.focus();
  } finally {
    button.disabled = false;
  }
}

function selectTab(tab) {
  for (const t of $$("[role=tab]")) {
    const on = t === tab;
    t.setAttribute("aria-selected", String(on));
    t.tabIndex = on ? 0 : -1;
    $(`#${t.getAttribute("aria-controls")}`).hidden = !on;
  }
}

for (const tab of $$("[role=tab]")) {
  tab.addEventListener("click", () => selectTab(tab));
  tab.addEventListener("keydown", (e) => {
    if (e.key !== "ArrowRight" && e.key !== "ArrowLeft") return;
    const tabs = $$("[role=tab]");
    const next = tabs[(tabs.indexOf(tab) + (e.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
    selectTab(next);
    next.focus();
  });
}

$("#login-form").addEventListener("submit", (e) => {
  e.preventDefault();
  submit(e.target, "/auth/login", formData(e.target));
});
$("#signup-form").addEventListener("submit", (e) => {
  e.preventDefault();
  submit(e.target, "/auth/signup", formData(e.target));
});
$("#invite-form").addEventListener("submit", (e) => {
  e.preventDefault();
  submit(e.target, "/auth/accept-invite", formData(e.target));
});

const invite = new URLSearchParams(location.search).get("invite");
if (invite) {
  $("#auth-tabs").hidden = true;
  $("#panel-login").hidden = true;
  $("#panel-invite").hidden = false;
  $("#invite-token").value = invite;
  $("#invite-name").focus();
} else if (session() && session().refreshToken && !new URLSearchParams(location.search).get("next")) {
  location.replace("/inbox"); // already logged in
}
