// "Push to the Hub": push this version in leak-free splits with a dataset card (POST …/push), or add its examples
// to one split of an existing repo (POST …/append); then follow the task to the repo's link. The token field's
// value goes into that one request's X-HuggingFace-Key header and is cleared at once: the page never keeps it.
import { $, el, clear, show, formatNumber, whileBusy } from "./dom.js";
import { ApiError, getJson, requestJson } from "./api.js";
import { say, sayProblem } from "./panel.js";
import { isSignedIn } from "./auth.js";
import { followTask, fractionOf, latestStep } from "./task_follow.js";

const SPLIT_NAMES = ["train", "validation", "test"];
let current = null; // the session the panel is for: a task of another one no longer updates it

function field(id, label, control, hint) {
  return el("div", { class: "field" }, el("label", { for: id, text: label }), control,
    hint ? el("p", { class: "hint", id: `${id}-hint`, text: hint }) : null);
}

function mode() {
  return $("push-mode-append").checked ? "append" : "push";
}

// "80,10,10" → [80, 10, 10]; "train" → "train"; anything else → null (said at the field).
function parseSplit(text) {
  const value = text.trim().toLowerCase();
  if (SPLIT_NAMES.includes(value)) return value;
  const parts = value.split(/[\s,/]+/).filter(Boolean).map(Number);
  return parts.length && parts.every((n) => Number.isInteger(n) && n >= 0) ? parts : null;
}


function describeSplits(splits) {
  return Object.entries(splits ?? {}).map(([name, n]) => `${name} ${formatNumber(n)}`).join(" · ");
}

function showResult(task) {
  const result = task.result ?? {};
  const link = el("a", { href: result.url, target: "_blank", rel: "noopener", id: "push-repo-link" }, `Open ${result.repo_id} on the Hub`);
  const said = task.kind === "hub_append"
    ? `Added ${formatNumber(result.added)} examples to ${result.split} of ${result.repo_id}` +
      (result.left_out_duplicates ? ` (${formatNumber(result.left_out_duplicates)} left out: the repo already had them)` : "") +
      `. The repo now holds ${describeSplits(result.splits)}.`
    : `Pushed ${formatNumber(Object.values(result.splits ?? {}).reduce((a, b) => a + b, 0))} examples to ` +
      `${result.repo_id} (${describeSplits(result.splits)}), ${result.private ? "private" : "public"}, with a dataset card.`;
  clear($("push-result")).append(el("p", { text: said }), el("p", {}, link));
}

function onTask(task) {
  const fraction = fractionOf(task);
  if (fraction !== null && fraction > 0) $("push-progress").value = fraction;
  else $("push-progress").removeAttribute("value");
  say("push-status", latestStep(task) || "Waiting for a worker…");
}

// A field's mistake, said in the panel, with the focus on that field.
function sayAtField(text, id) {
  say("push-status", text, { error: true });
  $(id).focus();
}

function requestFor(repo) {
  if (mode() === "append") return { path: "append", body: { repo, split: $("append-split").value } };
  const split = parseSplit($("push-split").value);
  return split === null ? null : { path: "push", body: { repo, split, private: $("push-private").checked } };
}

async function send(sessionId) {
  say("push-status", "");
  clear($("push-result"));
  const repo = $("push-repo").value.trim();
  if (!repo) return sayAtField("Repo: write the Hub dataset as owner/name (or a name in your own account).", "push-repo");
  const asked = requestFor(repo);
  if (!asked) return sayAtField("Splits: write train, validation and test percentages such as 80,10,10, or one split name.", "push-split");
  const token = $("push-token").value.trim();
  $("push-token").value = ""; // used for this one request only
  try {
    const headers = token ? { "X-HuggingFace-Key": token } : {};
    const { data } = await requestJson("POST", `/datasets/${encodeURIComponent(sessionId)}/${asked.path}`, { body: asked.body, headers });
    show($("push-progress-block"), true);
    const task = await followTask(data.task_id, onTask, () => current === sessionId);
    if (!task) return undefined;
    show($("push-progress-block"), false);
    if (task.state === "DONE") {
      say("push-status", asked.path === "append" ? "Rows added." : "Pushed.");
      showResult(task);
    } else {
      sayProblem("push-status", new ApiError({ code: task.error?.code ?? "", detail: task.error?.message ?? "The task was stopped before it finished." }));
    }
  } catch (error) {
    show($("push-progress-block"), false);
    sayProblem("push-status", error);
  }
  return undefined;
}

function onMode() {
  const append = mode() === "append";
  show($("push-split-field"), !append);
  show($("push-private-field"), !append);
  show($("append-split-field"), append);
  $("push-button").textContent = append ? "Add to the repo" : "Push to the Hub";
}

async function savedTokenHint() {
  if (!isSignedIn()) return;
  try {
    const { data } = await getJson("/settings/hub-token");
    if (data?.saved) $("push-token-hint").textContent = `Leave it empty to use the token saved for ${data.username ?? "your account"}.`;
  } catch {
    // no saved token to mention
  }
}

export function renderPush(sessionId) {
  current = sessionId;
  const radio = (id, value, label, checked) =>
    el("label", { for: id }, el("input", { type: "radio", id, name: "push-mode", value, checked, onchange: onMode }), ` ${label}`);
  const button = el("button", { type: "submit", class: "primary", id: "push-button" }, "Push to the Hub");
  const form = el("form", { id: "push-form", class: "push-form", novalidate: true },
    el("fieldset", { class: "checks" }, el("legend", { text: "What to do" }),
      radio("push-mode-push", "push", "Push this version (train/validation/test splits; replaces the repo's data)", true),
      radio("push-mode-append", "append", "Add its examples to one split of an existing repo", false)),
    field("push-repo", "Repo", el("input", { type: "text", id: "push-repo", autocomplete: "off", spellcheck: "false", placeholder: "you/my-dataset" }),
      "owner/name, or a name in the token's own account"),
    el("div", { id: "push-split-field" }, field("push-split", "Splits (%)", el("input", { type: "text", id: "push-split", value: "80,10,10", autocomplete: "off" }),
      "train, validation, test percentages; duplicates and examples sharing a prompt stay in one split. Or one split name.")),
    el("div", { id: "append-split-field", hidden: true }, field("append-split", "Split", el("select", { id: "append-split" },
      SPLIT_NAMES.map((name) => el("option", { value: name, text: name }))))),
    el("div", { id: "push-private-field" }, el("label", { for: "push-private" }, el("input", { type: "checkbox", id: "push-private", checked: true }), " Private")),
    field("push-token", "Hugging Face token (write access)", el("input", { type: "password", id: "push-token", autocomplete: "off", spellcheck: "false" }),
      "Sent with this request only; the page does not keep it."),
    button);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    whileBusy(button, () => send(sessionId));
  });
  clear($("push-panel")).append(
    el("h4", { text: "Push to the Hugging Face Hub" }), form,
    el("div", { class: "progress-block", id: "push-progress-block", hidden: true },
      el("label", { for: "push-progress", text: "On the Hub" }), el("progress", { id: "push-progress", max: "1" })),
    el("p", { class: "status", id: "push-status", role: "status" }),
    el("div", { id: "push-result" }));
  savedTokenHint();
}
