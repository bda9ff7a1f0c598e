// The "Fix it" panel: choose fix actions, see each one's before/after counts (POST …/fixes/plan, nothing is
// written), then make the fixed version (POST …/fixes): a new dataset, opened at its own address and analysed
// like an upload. The original stays as it is.
import { $, el, clear, show, formatNumber, pick, whileBusy } from "./dom.js";
import { postJson } from "./api.js";
import { say, sayProblem } from "./panel.js";

// [action, label, short label for the counts, what its count means]: in the order the server applies them.
const ACTIONS = [
  ["drop_unusable", "Drop records that could not be read or converted", "Unreadable records", "removed"],
  ["drop_missing_assistant", "Drop examples with no assistant reply", "No assistant reply", "removed"],
  ["drop_over_length", "Drop examples longer than the maximum length", "Too long", "removed"],
  ["drop_exact_duplicates", "Drop exact duplicates (keep the first of each group)", "Exact duplicates", "removed"],
  ["drop_near_duplicates", "Drop near-duplicates (keep one of each group)", "Near-duplicates", "removed"],
  ["mask_pii", "Mask e-mails, phone numbers and keys with placeholders", "Personal data", "masked"],
  ["flag_over_length", "Keep but list examples longer than the maximum length", "Too long (listed)", "listed"],
];
const LENGTH_ACTIONS = new Set(["drop_over_length", "flag_over_length"]);

const panel = { sessionId: null, name: "", planned: "", busy: false, onError: () => {}, openVersion: () => {} };

function chosen() {
  return ACTIONS.map(([action]) => action).filter((action) => $(`fix-${action}`).checked);
}

function request() {
  const body = { actions: chosen() };
  const length = Number($("fix-max-length").value);
  if (body.actions.some((a) => LENGTH_ACTIONS.has(a)) && Number.isInteger(length) && length > 0) body.max_seq_length = length;
  return body;
}

function setStatus(text) {
  say("fix-status", text);
}

function showProblem(error) {
  sayProblem("fix-status", error);
}

// Apply waits for counts of exactly the current choice: a person sees what each fix does before applying it.
function choiceChanged() {
  const current = JSON.stringify(request());
  const ready = current === panel.planned;
  $("fix-apply").setAttribute("aria-disabled", ready ? "false" : "true");
  $("fix-apply-hint").textContent = ready ? "" : "Count first: the counts of this choice are shown before anything is made.";
  show($("fix-max-length-field"), chosen().some((a) => LENGTH_ACTIONS.has(a)));
  if (!ready) clear($("fix-plan"));
}

function renderPlan(plan) {
  const rows = (plan.outcomes ?? []).map((o) => {
    const [, , short, effect] = ACTIONS.find(([a]) => a === o.action) ?? [o.action, o.action, o.action, "removed"];
    return el("tr", { dataset: { action: o.action } },
      el("th", { scope: "row", text: short }),
      el("td", { text: formatNumber(o.before) }),
      el("td", { text: formatNumber(o.after) }),
      el("td", { text: `${formatNumber(effect === "removed" ? o.removed : o.changed)} ${effect}` }));
  });
  clear($("fix-plan")).append(
    el("table", { class: "plan-table" },
      el("caption", { text: `${formatNumber(plan.examples_before)} examples now, ${formatNumber(plan.examples_after)} in the fixed version` }),
      el("thead", {}, el("tr", {}, ...["Fix", "Before", "After", "Effect"].map((t) => el("th", { scope: "col", text: t })))),
      el("tbody", {}, rows)));
}

async function count() {
  const body = request();
  setStatus("Counting…");
  try {
    const { data } = await postJson(`/datasets/${encodeURIComponent(panel.sessionId)}/fixes/plan`, body);
    panel.planned = JSON.stringify(body);
    renderPlan(data);
    choiceChanged();
    setStatus(`Counted: ${formatNumber(data.examples_before)} → ${formatNumber(data.examples_after)} examples.`);
  } catch (error) {
    showProblem(error);
  }
}

function fixedName(name) {
  const stem = name.includes(".") ? name.slice(0, name.lastIndexOf(".")) : name;
  return `${stem}.fixed.jsonl`;
}

async function apply() {
  if (panel.busy || JSON.stringify(request()) !== panel.planned) return; // the hint says to count first
  panel.busy = true;
  $("fix-apply").setAttribute("aria-busy", "true");
  setStatus("Making the fixed version…");
  try {
    const { data } = await postJson(`/datasets/${encodeURIComponent(panel.sessionId)}/fixes`, request());
    await panel.openVersion(data.session_id, fixedName(panel.name));
  } catch (error) {
    showProblem(error);
  } finally {
    panel.busy = false;
    $("fix-apply")?.removeAttribute("aria-busy");
  }
}

function actionRow([action, label], report) {
  const checked = (action === "drop_unusable" && Number(report.records_unusable ?? 0) > 0)
    || (action === "drop_exact_duplicates" && Number(pick(report, "duplicates", "exact", "count") ?? 0) > 0);
  const input = el("input", { type: "checkbox", id: `fix-${action}`, name: "actions", value: action, checked, onchange: choiceChanged });
  return el("li", {}, el("label", { for: input.id }, input, ` ${label}`));
}

export function renderFixes(sessionId, report, name) {
  Object.assign(panel, { sessionId, name, planned: "" });
  const length = Number(pick(report, "truncation", "max_seq_length") ?? 2048);
  const lengthInput = el("input", { type: "number", id: "fix-max-length", min: "16", step: "1", inputmode: "numeric", value: String(length), onchange: choiceChanged });
  const countButton = el("button", { type: "button", id: "fix-plan-button" }, "Count");
  countButton.addEventListener("click", () => whileBusy(countButton, count));
  const applyButton = el("button", { type: "button", class: "primary", id: "fix-apply", "aria-disabled": "true", "aria-describedby": "fix-apply-hint" }, "Make the fixed version");
  applyButton.addEventListener("click", apply);
  clear($("fix-panel")).append(
    el("h4", { id: "fix-heading", text: "Fix it" }),
    el("p", { class: "hint", text: "Choose fixes, count what each does, then make a new version: the original stays as it is." }),
    el("fieldset", { class: "checks" }, el("legend", { text: "Fixes" }), el("ul", { class: "fix-actions" }, ACTIONS.map((a) => actionRow(a, report)))),
    el("div", { class: "field", id: "fix-max-length-field" }, el("label", { for: "fix-max-length", text: "Maximum length (tokens)" }), lengthInput),
    el("div", { class: "actions" }, countButton, applyButton),
    el("p", { class: "hint", id: "fix-apply-hint" }),
    el("p", { class: "status", id: "fix-status", role: "status" }),
    el("div", { id: "fix-plan" }));
  choiceChanged();
}

export function initFixes({ onError, openVersion }) {
  panel.onError = onError;
  panel.openVersion = openVersion;
}
