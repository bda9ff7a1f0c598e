// Task and deployment target → ranked model cards with reasons, warnings and facts (the top 5, the rest on
// request), ties explained, a suggested max_seq_length one click away; excluded models with why-not.
import { $, el, clear, show, asArray, formatNumber, humanize, whileBusy } from "./dom.js";
import { postJson } from "./api.js";
import { modelDefaults } from "./catalog.js";

const SHOWN_FIRST = 5;

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

const state = { sessionId: null, onChoose: () => {}, onError: () => {}, onClear: () => {}, onRanked: () => {} };

export function taskLabel(value) {
  return TASKS.find(([key]) => key === value)?.[1] ?? humanize(value);
}

export function targetLabel(value) {
  return TARGETS.find(([key]) => key === value)?.[1] ?? humanize(value);
}

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

// Cards that show the same score out of 100 say why one ranks above the other: the score before rounding
// (the ranking compares it to 3 decimals), then the smaller model, then the model id (the server's tie_break).
const shownScore = (score) => Math.round(Number(score) * 100);
const exactScore = (score) => Math.round(Number(score) * 1000);

function tieReason(upper, lower) {
  if (exactScore(upper.score) !== exactScore(lower.score)) {
    return `its score is higher before rounding (${formatNumber(upper.score * 100, 1)} against ${formatNumber(lower.score * 100, 1)})`;
  }
  if (upper.params_b !== lower.params_b) return `equal score, and ${upper.model_name} is smaller (${upper.size} against ${lower.size})`;
  return `equal score and size, so the ids in alphabetical order (${upper.model_id} first)`;
}

function tieNote(rec, recs) {
  const tied = recs.filter((other) => other !== rec && shownScore(other.score) === shownScore(rec.score));
  if (!tied.length) return null;
  const parts = tied.map((other) => (other.rank > rec.rank
    ? `above ${other.model_name} (#${other.rank}): ${tieReason(rec, other)}`
    : `below ${other.model_name} (#${other.rank}): ${tieReason(other, rec)}`));
  return el("p", { class: "tie-note", text: `Same score shown as ${formatScore(rec.score)}. Ranked ${parts.join("; ")}.` });
}

function maxLengthOffer(rec) {
  const suggested = Number(rec.suggested_max_seq_length);
  const current = Number(modelDefaults(rec.model_id).max_seq_length);
  if (!suggested || !current || suggested <= current) return null;
  const apply = el("button", { type: "button", class: "apply-length", text: `Apply max_seq_length ${formatNumber(suggested)} and use this model` });
  apply.addEventListener("click", () => state.onChoose(rec, { max_seq_length: suggested }));
  return el("p", { class: "offer" }, `Its default max_seq_length is ${formatNumber(current)}; ${formatNumber(suggested)} keeps your long examples whole. `, apply);
}

function modelCard(rec, rank, recs) {
  const warnings = asArray(rec.warnings);
  const choose = el("button", { type: "button", class: "primary", text: `Use ${rec.model_name ?? rec.model_id}` });
  choose.addEventListener("click", () => state.onChoose(rec, {}));
  return el(
    "li",
    { class: "model-card", dataset: { modelId: rec.model_id ?? "" } },
    el("header", {}, el("span", { class: "rank", text: `#${rank}` }), el("h3", { text: rec.model_name ?? rec.model_id }), el("span", { class: "score", text: formatScore(rec.score) })),
    el("p", { class: "hint", text: rec.model_id }),
    asArray(rec.reasons).length ? el("ul", { class: "reasons", "aria-label": "Reasons" }, asArray(rec.reasons).map((r) => el("li", { text: r }))) : null,
    warnings.length ? el("ul", { class: "warnings", "aria-label": "Warnings" }, warnings.map((w) => el("li", { text: typeof w === "string" ? w : w.message ?? w.reason ?? JSON.stringify(w) }))) : null,
    maxLengthOffer(rec),
    tieNote(rec, recs),
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

function currentChoice() {
  return {
    task: $("task-type").value,
    target: $("deployment-target").value,
    commercial: $("commercial-only").checked,
    noGated: $("no-gated").checked,
  };
}

function renderRanking(data) {
  const box = $("recommendations");
  const recs = asArray(data?.recommendations);
  clear(box);
  const warnings = asArray(data?.warnings);
  if (warnings.length) box.append(el("ul", { class: "warnings", "aria-label": "About your data" }, warnings.map((w) => el("li", { text: w }))));
  if (!recs.length) {
    box.append(el("p", { text: "No model fits these constraints. Loosen a constraint or pick another target." }));
  } else {
    const cards = recs.map((r, i) => modelCard(r, r.rank ?? i + 1, recs));
    cards.forEach((card, i) => { card.hidden = i >= SHOWN_FIRST; });
    box.append(el("ol", { class: "model-cards" }, cards));
    if (recs.length > SHOWN_FIRST) {
      const more = el("button", { type: "button", id: "show-all-models", "aria-expanded": "false", text: `Show all ${recs.length} ranked models` });
      more.addEventListener("click", () => {
        const open = more.getAttribute("aria-expanded") !== "true";
        cards.forEach((card, i) => { card.hidden = !open && i >= SHOWN_FIRST; });
        more.setAttribute("aria-expanded", String(open));
        more.textContent = open ? `Show the top ${SHOWN_FIRST} only` : `Show all ${recs.length} ranked models`;
        if (open) cards[SHOWN_FIRST].querySelector("button.primary")?.focus();
      });
      box.append(more);
    }
  }
  if (data?.tie_break) box.append(el("p", { class: "hint", text: `Scores are out of 100. ${data.tie_break}` }));
  const excluded = excludedList(asArray(data?.excluded));
  if (excluded) box.append(excluded);
  const best = recs[0];
  $("recommend-status").textContent = recs.length
    ? `${recs.length} models ranked for ${taskLabel($("task-type").value).toLowerCase()}; #1 is ${best.model_name} (${formatScore(best.score)}).`
    : "No model fits these constraints.";
  return recs;
}

// Ranks the models for the form's choices; the Recommend button keeps the focus while it works.
export async function recommend() {
  return whileBusy($("recommend-button"), async () => {
    const choice = currentChoice();
    $("recommend-status").textContent = "Ranking models…";
    try {
      const { data } = await postJson("/recommend", {
        session_id: state.sessionId, task_type: choice.task, deployment_target: choice.target,
        commercial_only: choice.commercial, no_gated: choice.noGated,
      });
      state.onClear();
      const recs = renderRanking(data);
      state.onRanked(choice);
      return recs;
    } catch (error) {
      $("recommend-status").textContent = "The models could not be ranked.";
      state.onError(error);
      return [];
    }
  });
}

// Sets the form to a saved choice (a URL, a job of the history).
export function setChoice({ task, target, commercial = false, noGated = false }) {
  if (task && TASKS.some(([key]) => key === task)) $("task-type").value = task;
  if (target && TARGETS.some(([key]) => key === target)) $("deployment-target").value = target;
  $("commercial-only").checked = Boolean(commercial);
  $("no-gated").checked = Boolean(noGated);
}

export function initRecommend({ onChoose, onError, onClear, onRanked }) {
  state.onChoose = onChoose;
  state.onClear = onClear;
  state.onError = onError;
  state.onRanked = onRanked;
  $("task-type").append(...TASKS.map(([value, label]) => el("option", { value, text: label })));
  $("deployment-target").append(...TARGETS.map(([value, label]) => el("option", { value, text: label })));
  $("recommend-form").addEventListener("submit", (event) => {
    event.preventDefault();
    recommend();
  });
}

export function startRecommend(sessionId) {
  state.sessionId = sessionId;
  clear($("recommendations"));
  $("recommend-status").textContent = "";
  show($("recommend-section"), true);
}
