// The mapping step (issue 15) for records whose field or role names the analysis does not know: the first records'
// own keys (POST /preview/{id}/mapping), a field and role mapping chosen from them, a preview of what the mapping
// reads, then the analysis run again with it (POST /analyze/{id} with field_mapping / role_mapping).
import { $, el, clear, show, formatNumber, whileBusy } from "./dom.js";
import { postJson } from "./api.js";
import { say, sayProblem } from "./panel.js";

// The canonical fields a person most often has under other names; the server accepts more (the API lists them).
const FIELDS = [
  ["prompt", "Prompt (the question)"],
  ["completion", "Completion (the answer)"],
  ["instruction", "Instruction"],
  ["input", "Input"],
  ["output", "Output"],
  ["system", "System prompt"],
  ["messages", "Messages (a list of turns)"],
  ["role", "Role, inside each turn"],
  ["content", "Content, inside each turn"],
];
const PREVIEW_COUNT = 5;
const mapping = { sessionId: null, onReanalyse: async () => {} };

function sessionPath() {
  return `/preview/${encodeURIComponent(mapping.sessionId)}/mapping`;
}

// "bot=assistant, human=user" -> {bot: "assistant", human: "user"}; the server says what is wrong with it.
function parseRoles(text) {
  const pairs = text.split(",").map((part) => part.split("=").map((s) => s.trim())).filter(([name]) => name);
  return pairs.length ? Object.fromEntries(pairs.map(([name, role]) => [name, role ?? ""])) : null;
}

function chosenMapping() {
  const fields = {};
  for (const select of $("mapping-fields").querySelectorAll("select")) {
    if (select.value) fields[select.name] = select.value;
  }
  return {
    field_mapping: Object.keys(fields).length ? fields : null,
    role_mapping: parseRoles($("mapping-roles").value),
  };
}

function fieldRow([name, label], keys) {
  const id = `mapping-field-${name}`;
  return el("div", { class: "field" },
    el("label", { for: id, text: label }),
    el("select", { id, name }, el("option", { value: "", text: "(not in my records)" }), keys.map((key) => el("option", { value: key, text: key }))));
}

function turnText(message) {
  const content = typeof message.content === "string" ? message.content : JSON.stringify(message.content ?? "");
  return el("li", { class: `message role-${String(message.role ?? "").replace(/[^a-z_]/gi, "")}`, dataset: { role: String(message.role ?? "") } },
    el("span", { class: "role", text: String(message.role ?? "") }), el("div", { class: "body" }, el("div", { class: "content", text: content })));
}

function renderPreview(body) {
  const records = Array.isArray(body.records) ? body.records : [];
  const first = records.find((r) => r.example) ?? null;
  const problems = records.filter((r) => !r.example).flatMap((r) => (r.issues ?? []).map((i) => `#${r.index}: ${i.message ?? i.code}`));
  clear($("mapping-preview")).append(
    el("p", { id: "mapping-usable", text: `${formatNumber(body.usable)} of the first ${formatNumber(records.length)} records read as examples with this mapping${first?.format ? ` (format: ${first.format})` : ""}.` }),
    first ? el("ol", { class: "messages", "aria-label": `Record #${first.index} as the analysis would read it` }, (first.example.messages ?? []).map(turnText)) : null,
    problems.length ? el("p", { class: "hint", text: `Not read: ${problems.slice(0, 3).join("; ")}` }) : null,
  );
}

async function preview(button) {
  await whileBusy(button, async () => {
    try {
      const { data } = await postJson(sessionPath(), { ...chosenMapping(), count: PREVIEW_COUNT });
      renderPreview(data ?? {});
      say("mapping-status", "Preview shown below.");
      show($("mapping-apply"), Number(data?.usable ?? 0) > 0);
    } catch (error) {
      sayProblem("mapping-status", error);
    }
  });
}

async function reanalyse(button) {
  await whileBusy(button, async () => {
    try {
      await postJson(`/analyze/${encodeURIComponent(mapping.sessionId)}`, chosenMapping());
      say("mapping-status", "Analysing again with this mapping…");
      await mapping.onReanalyse(mapping.sessionId);
    } catch (error) {
      sayProblem("mapping-status", error);
    }
  });
}

async function openStep() {
  if ($("mapping-fields").childElementCount) return; // the keys are read once per analysis shown
  try {
    const { data } = await postJson(sessionPath(), { count: PREVIEW_COUNT });
    const keys = [...new Set((data?.records ?? []).flatMap((r) => r.keys ?? []))];
    $("mapping-keys").textContent = keys.length
      ? `Keys in the first records: ${keys.join(", ")}.`
      : "The first records have no keys to map (they are not JSON objects).";
    clear($("mapping-fields")).append(...FIELDS.map((field) => fieldRow(field, keys)));
  } catch (error) {
    sayProblem("mapping-status", error);
  }
}

// Drawn with each analysis: open at once when nothing in the file could be used, folded otherwise.
export function renderMapping(sessionId, report, { onReanalyse }) {
  mapping.sessionId = sessionId;
  mapping.onReanalyse = onReanalyse;
  const nothingUsable = Number(report.total_examples ?? 0) === 0 && Number(report.records_total ?? 0) > 0;
  const box = clear($("mapping-step"));
  const details = el("details", { class: "mapping", id: "mapping-details" },
    el("summary", { text: nothingUsable ? "No record could be read as an example: map your records' field names" : "Records with field names of their own? Map them to the fields the analysis reads" }),
    el("p", { class: "hint", text: "Pick which of your keys holds each field (and, for lists of turns, which key holds the role and the text), and rename your role names. Preview reads the first records with it; nothing changes until you analyse again." }),
    el("p", { id: "mapping-keys" }),
    el("div", { class: "train-fields", id: "mapping-fields" }),
    el("div", { class: "field" },
      el("label", { for: "mapping-roles", text: "Role names (yours=role, comma-separated)" }),
      el("input", { id: "mapping-roles", type: "text", placeholder: "bot=assistant, human=user", autocomplete: "off" })),
    el("div", { class: "actions" },
      el("button", { type: "button", id: "mapping-preview-button", onclick: (e) => preview(e.currentTarget) }, "Preview the mapping"),
      el("button", { type: "button", class: "primary", id: "mapping-apply", hidden: true, onclick: (e) => reanalyse(e.currentTarget) }, "Analyse again with this mapping")),
    el("p", { class: "status", id: "mapping-status", role: "status" }),
    el("div", { id: "mapping-preview" }));
  details.addEventListener("toggle", () => { if (details.open) openStep(); });
  box.append(details);
  if (nothingUsable) details.open = true;
}
