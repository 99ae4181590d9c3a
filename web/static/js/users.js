// Users and invites. An invite's token is shown once, right after it is created.

import { currentUser, getAll, orgPath, post } from "./api.js";
import { boot } from "./shell.js";
import { $, clear, clearErrors, copyable, el, formData, fullTime, pill, showError, table, toast, fill } from "./ui.js";

await boot({ adminOnly: true });
const me = currentUser();

async function deactivate(u) {
  if (!confirm(`Deactivate ${u.name} (${u.email})? They are logged out everywhere and cannot log in again.`)) return;
  try {
    await post(orgPath(`/users/${u.id}/deactivate`));
    toast(`${u.name} is deactivated`);
    loadUsers();
  } catch (err) {
    toast(`Could not deactivate: ${err.message}`, { error: true });
  }
}

async function loadUsers() {
  const box = $("#user-list");
  try {
    const users = await getAll(orgPath("/users"));
    fill(box, 
      table(
        [
          { label: "Name", render: (u) => (u.id === me.id ? `${u.name} (you)` : u.name) },
          { label: "Email", key: "email" },
          { label: "Role", render: (u) => pill(u.role) },
          { label: "Status", render: (u) => (u.isActive ? el("span.pill.pill-OPEN", {}, "active") : el("span.pill.pill-CLOSED", {}, "deactivated")) },
          { label: "Joined", render: (u) => fullTime(u.createdAt) },
          {
            label: "Actions",
            render: (u) =>
              u.isActive && u.id !== me.id
                ? el("button.btn-small.btn-danger", { type: "button", "aria-label": `Deactivate ${u.name}`, onclick: () => deactivate(u) }, "Deactivate")
                : "",
          },
        ],
        users,
      ),
    );
  } catch (err) {
    fill(box, el("p.alert.alert-error", {}, `Could not load users: ${err.message}`));
  } finally {
    box.setAttribute("aria-busy", "false");
  }
}

async function loadInvites() {
  const box = $("#invite-list");
  try {
    const invites = await getAll(orgPath("/users/invites/list"));
    const now = new Date().toISOString();
    fill(box, 
      table(
        [
          { label: "Email", key: "email" },
          { label: "Role", render: (i) => pill(i.role) },
          { label: "State", render: (i) => (i.accepted ? "accepted" : i.expiresAt < now ? "expired" : "waiting") },
          { label: "Expires", render: (i) => fullTime(i.expiresAt) },
        ],
        invites,
        { empty: "No invites yet." },
      ),
    );
  } catch (err) {
    fill(box, el("p.alert.alert-error", {}, `Could not load invites: ${err.message}`));
  } finally {
    box.setAttribute("aria-busy", "false");
  }
}

$("#invite-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = e.target;
  clearErrors(form);
  try {
    const invite = await post(orgPath("/users/invites"), formData(form));
    const link = `${location.origin}/login?invite=${encodeURIComponent(invite.token)}`;
    const box = $("#invite-result");
    fill(box, 
      el("p", {}, el("strong", {}, `Invite for ${invite.email} created.`), " Send them this link. It is shown only now, and works until ", fullTime(invite.expiresAt), "."),
      el("p", {}, copyable(link, "Invite link")),
      el("p.small", {}, "Token: ", copyable(invite.token, "Invite token")),
    );
    box.hidden = false;
    box.focus();
    form.reset();
    loadInvites();
  } catch (err) {
    showError(form, err);
  }
});

loadUsers();
loadInvites();
