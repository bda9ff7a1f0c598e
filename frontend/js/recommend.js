// Task and deployment target → ranked model cards with reasons, warnings and facts; excluded
// models with why-not on request.
import { $, el, clear, asArray, formatNumber, humanize } from "./dom.js";
import { postJson } from "./api.js";

const TASKS = [
  ["instruction_following", "Follow instructions"],
  ["conversation", "Conversation / chat assistant"],
  ["qa", "Question answering"],
  ["classification", "Classification"],
  ["extraction", "Information extraction"],
  ["generation", "Text generation"],
  ["summarization", "Summarization"],
  ["tool_calling", "Tool / function calling"],
];

const TARGETS = [
  ["cloud", "Cloud GPU"],
  ["server", "Own server"],
  ["desktop", "Desktop or laptop"],
  ["edge", "Edge device"],
  ["mobile", "Phone"],
  ["browser", "In the browser"],
];

// Facts shown on a card when the recommendation carries them (first matching key wins).
const FACTS = [
  ["Parameters", ["size", "size_label", "params", "parameters"]],
  ["Context", ["context_length", "context_window", "max_context"]],
  ["Licence", ["license", "licence"]],
  ["Commercial use", ["commercial_use", "commercial"]],
  ["Gated on Hugging Face", ["is_gated", "gated"]],
  ["Training memory (4-bit QLoRA)", ["training_memory_gb", "vram_gb_qlora_train"]],
  ["Memory to serve it", ["inference_memory_gb"]],
  ["Suggested max length", ["suggested_max_seq_length"]],
  ["Template", ["chat_template"]],
];

const state = { sessionId: null, onChoose: () => {}, onError: () => {}, onClear: () => {} };

function formatFact(key, value) {
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (key === "context_length" || key === "context_window") return `${formatNumber(value)} tokens`;
  if (key.endsWith("_gb")) return `${formatNumber(value, 1)} GB`;
  if (key === "suggested_max_seq_length") return `${formatNumber(value)} tokens`;
  return String(value);
}

function factList(rec) {
  const source = { ...(rec.facts ?? {}), ...rec };
  const items = [];
  for (const [label, keys] of FACTS) {
    const key = keys.find((k) => source[k] !== undefined && source[k] !== null);
    if (key) items.push(el("dt", { text: label }), el("dd", { text: formatFact(key, source[key]) }));
  }
  return items.length ? el("dl", { class: "facts" }, items) : null;
}

function formatScore(score) {
  if (typeof score !== "number") return "–";
  return score <= 1 ? `${Math.round(score * 100)} / 100` : `${formatNumber(score, 1)} / 100`;
}

function breakdownList(rec) {
  const breakdown = rec.score_breakdown ?? rec.breakdown;
  if (!breakdown) return null;
  const entries = Array.isArray(breakdown)
    ? breakdown.map((b) => [humanize(b.component ?? b.name ?? b.code), b.points ?? b.value, b.reason])
    : Object.entries(breakdown).map(([k, v]) => [humanize(k), v, ""]);
  const points = (value) => (typeof value === "number" ? `+${formatNumber(value * 100, 1)}` : String(value ?? ""));
  return el(
    "details",
    { class: "breakdown" },
    el("summary", { text: "How the score is made" }),
    el("ul", {}, entries.map(([label, value, reason]) => el("li", {}, el("strong", { text: `${label} ${points(value)}` }), reason ? ` ${reason}` : ""))),
  );
}

function modelCard(rec, rank) {
  const warnings = asArray(rec.warnings);
  const choose = el("button", { type: "button", class: "primary", text: `Use ${rec.model_name ?? rec.model_id}` });
  choose.addEventListener("click", () => state.onChoose(rec));
  return el(
    "li",
    { class: "model-card", dataset: { modelId: rec.model_id ?? "" } },
    el("header", {}, el("span", { class: "rank", text: `#${rank}` }), el("h3", { text: rec.model_name ?? rec.model_id }), el("span", { class: "score", text: formatScore(rec.score) })),
    el("p", { class: "hint", text: rec.model_id }),
    asArray(rec.reasons).length ? el("ul", { class: "reasons", "aria-label": "Reasons" }, asArray(rec.reasons).map((r) => el("li", { text: r }))) : null,
    warnings.length ? el("ul", { class: "warnings", "aria-label": "Warnings" }, warnings.map((w) => el("li", { text: typeof w === "string" ? w : w.message ?? w.reason ?? JSON.stringify(w) }))) : null,
    factList(rec),
    breakdownList(rec),
    rec.model_card ? el("a", { href: rec.model_card, target: "_blank", rel: "noopener noreferrer", text: "Model card" }) : null,
    choose,
  );
}

function excludedList(excluded) {
  if (!excluded.length) return null;
  return el(
    "details",
    { class: "excluded" },
    el("summary", { text: `Show ${excluded.length} excluded models and why` }),
    el(
      "ul",
      {},
      excluded.map((x) => {
        const reasons = asArray(x.reasons ?? x.why_not ?? (x.reason ? [x.reason] : []));
        return el("li", {}, el("strong", { text: x.model_name ?? x.model_id }), `: ${reasons.map((r) => (typeof r === "string" ? r : r.reason ?? r.message)).join("; ") || "excluded"}`);
      }),
    ),
  );
}

async function submit(event) {
  event.preventDefault();
  const button = $("recommend-button");
  button.disabled = true;
  const box = $("recommendations");
  try {
    const body = {
      session_id: state.sessionId,
      task_type: $("task-type").value,
      deployment_target: $("deployment-target").value,
      commercial_only: $("commercial-only").checked,
      no_gated: $("no-gated").checked,
    };
    const { data } = await postJson("/recommend", body);
    state.onClear();
    const recs = asArray(data?.recommendations);
    clear(box);
    const warnings = asArray(data?.warnings);
    if (warnings.length) box.append(el("ul", { class: "warnings", "aria-label": "About your data" }, warnings.map((w) => el("li", { text: w }))));
    box.append(
      recs.length
        ? el("ol", { class: "model-cards" }, recs.map((r, i) => modelCard(r, r.rank ?? i + 1)))
        : el("p", { text: "No model fits these constraints. Loosen a constraint or pick another target." }),
    );
    if (data?.tie_break) box.append(el("p", { class: "hint", text: `Scores are out of 100. ${data.tie_break}` }));
    const excluded = excludedList(asArray(data?.excluded));
    if (excluded) box.append(excluded);
  } catch (error) {
    state.onError(error);
  } finally {
    button.disabled = false;
  }
}

export function initRecommend({ onChoose, onError, onClear }) {
  state.onChoose = onChoose;
  state.onClear = onClear;
  state.onError = onError;
  $("task-type").append(...TASKS.map(([value, label]) => el("option", { value, text: label })));
  $("deployment-target").append(...TARGETS.map(([value, label]) => el("option", { value, text: label })));
  $("recommend-form").addEventListener("submit", submit);
}

export function startRecommend(sessionId) {
  state.sessionId = sessionId;
  clear($("recommendations"));
}
