// Macros: canned replies, at the document's /orgs/macros/{orgId} paths.

import { currentUser, del, getAll, post, put } from "./api.js";
import { boot } from "./shell.js";
import { $, clear, clearErrors, el, formData, fullTime, showError, table, toast, fill } from "./ui.js";

await boot();
const base = `/orgs/macros/${encodeURIComponent(currentUser().orgId)}`;
let editing = null;

function openEditor(macro = null) {
  editing = macro;
  const form = $("#macro-form");
  clearErrors(form);
  $("#macro-editor").hidden = false;
  $("#macro-editor-title").textContent = macro ? `Edit “${macro.name}”` : "New macro";
  $("#macro-name").value = macro ? macro.name : "";
  $("#macro-content").value = macro ? macro.content : "";
  $("#macro-name").focus();
}

function closeEditor() {
  $("#macro-editor").hidden = true;
  editing = null;
  $("#new-macro").focus();
}

async function remove(m) {
  if (!confirm(`Delete the macro “${m.name}”?`)) return;
  try {
    await del(`${base}/${m.id}`);
    toast(`Deleted ${m.name}`);
    load();
  } catch (err) {
    toast(`Could not delete: ${err.message}`, { error: true });
  }
}

async function load() {
  const box = $("#macro-list");
  try {
    const macros = await getAll(base);
    fill(box, 
      table(
        [
          { label: "Name", key: "name" },
          { label: "Text", render: (m) => el("span.small", {}, m.content.length > 140 ? `${m.content.slice(0, 140)}…` : m.content) },
          { label: "By", render: (m) => (m.createdByUser ? m.createdByUser.name : "") },
          { label: "Created", render: (m) => fullTime(m.createdAt) },
          {
            label: "Actions",
            render: (m) =>
              el(
                "div.row",
                {},
                el("button.btn-small", { type: "button", "aria-label": `Edit ${m.name}`, onclick: () => openEditor(m) }, "Edit"),
                el("button.btn-small.btn-danger", { type: "button", "aria-label": `Delete ${m.name}`, onclick: () => remove(m) }, "Delete"),
              ),
          },
        ],
        macros,
        { empty: "No macros yet." },
      ),
    );
  } catch (err) {
    fill(box, el("p.alert.alert-error", {}, `Could not load macros: ${err.message}`));
  } finally {
    box.setAttribute("aria-busy", "false");
  }
}

$("#new-macro").addEventListener("click", () => openEditor());
$("#macro-cancel").addEventListener("click", closeEditor);
$("#macro-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = e.target;
  clearErrors(form);
  const body = formData(form);
  try {
    const saved = editing ? await put(`${base}/${editing.id}`, body) : await post(base, body);
    toast(`Saved ${saved.name}`);
    closeEditor();
    load();
  } catch (err) {
    showError(form, err);
  }
});
load();
