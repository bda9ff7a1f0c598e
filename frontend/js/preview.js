// One example on screen: its messages (tool calls inside the assistant turn that makes them, tool results
// with their call), the tools it offers, or its layout in a model's chat template. Long messages are cut
// to a few lines with a button to show them whole: no scroll box inside the page, so no extra tab stop.
import { el, asArray, formatNumber } from "./dom.js";
import { renderTemplate } from "./chat_template.js";

const LONG_CHARS = 1200;
const LONG_LINES = 24;

function prettyJson(text) {
  if (typeof text !== "string") return JSON.stringify(text ?? null, null, 2);
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text; // not JSON (some datasets write arguments as prose): shown as written
  }
}

function isLong(text) {
  return text.length > LONG_CHARS || text.split("\n").length > LONG_LINES;
}

// Wraps a block that may be long: clamped with a toggle button when it is.
function clampable(node, text) {
  if (!isLong(text)) return node;
  node.classList.add("clamped");
  const button = el("button", { type: "button", class: "show-all", "aria-expanded": "false", text: `Show all ${formatNumber(text.length)} characters` });
  button.addEventListener("click", () => {
    const open = node.classList.toggle("clamped");
    button.setAttribute("aria-expanded", String(!open));
    button.textContent = open ? `Show all ${formatNumber(text.length)} characters` : "Show less";
  });
  return [node, button];
}

function toolCall(call) {
  const fn = call?.function ?? {};
  const name = fn.name ?? call?.name ?? "(unnamed)";
  const args = prettyJson(fn.arguments ?? call?.arguments ?? "");
  return el(
    "div",
    { class: "tool-call" },
    el("p", { class: "tool-call-name" }, "Calls ", el("code", { text: name }), call?.id ? el("span", { class: "hint", text: ` (call ${call.id})` }) : null),
    clampable(el("pre", { class: "tool-args", "aria-label": `Arguments of ${name}`, text: args }), args),
  );
}

function messageItem(message, language) {
  const role = String(message.role ?? "");
  const content = typeof message.content === "string" ? message.content : JSON.stringify(message.content ?? "");
  const calls = asArray(message.tool_calls);
  const body = el("div", { class: "body" });
  if (role === "tool") {
    const shown = prettyJson(content);
    body.append(
      message.tool_call_id ? el("p", { class: "hint", text: `Result of call ${message.tool_call_id}` }) : null,
      clampable(el("pre", { class: "tool-result", text: shown }), shown),
    );
  } else if (content || !calls.length) {
    body.append(clampable(el("div", { class: "content", lang: language, text: content }), content));
  }
  body.append(...calls.map(toolCall));
  return el(
    "li",
    { class: `message role-${role.replace(/[^a-z_]/gi, "")}`, dataset: { role } },
    el("span", { class: "role", text: message.name ? `${role} (${message.name})` : role }),
    body,
  );
}

function toolsSchema(tools) {
  if (tools === undefined || tools === null || tools === "") return null;
  let parsed = tools;
  if (typeof tools === "string") {
    try {
      parsed = JSON.parse(tools);
    } catch {
      parsed = null;
    }
  }
  if (Array.isArray(parsed) && parsed.length === 0) return null; // "[]": the example offers no tools
  const list = Array.isArray(parsed) ? parsed : [];
  const names = list.map((t) => t?.name ?? t?.function?.name).filter(Boolean);
  const text = prettyJson(tools);
  return el(
    "details",
    { class: "tools" },
    el("summary", { text: names.length ? `Tools offered (${names.length}): ${names.join(", ")}` : "Tools offered (schema)" }),
    el("pre", { class: "tools-schema", text }),
  );
}

function templated(messages, family, language) {
  const segments = renderTemplate(messages, family);
  const text = segments.map((s) => s.text).join("");
  const pre = el(
    "pre",
    { class: "templated", lang: language },
    segments.map((s) => {
      if (s.kind === "trained") return el("mark", { class: "trained", text: s.text });
      if (s.kind === "trained-marker") return el("mark", { class: "trained marker", text: s.text });
      if (s.kind === "marker") return el("span", { class: "marker", text: s.text });
      return s.text;
    }),
  );
  return clampable(pre, text);
}

// Preference data (issue 15): the prompt's messages, then the chosen and the rejected answer, or the one answer
// and its label (good: to learn; bad: an answer not to learn).
function preferenceAnswers(example, language) {
  const answer = (key, title, messages, tone) => el(
    "section", { class: `preference-answer answer-${tone}`, dataset: { answer: key } },
    el("h5", { text: title }),
    el("ol", { class: "messages" }, asArray(messages).map((m) => messageItem(m, language))),
  );
  if (Array.isArray(example.chosen) || Array.isArray(example.rejected)) {
    return [answer("chosen", "Chosen answer (preferred)", example.chosen, "good"), answer("rejected", "Rejected answer", example.rejected, "bad")];
  }
  if (Array.isArray(example.completion)) {
    const good = example.label === true;
    const label = example.label === undefined || example.label === null ? "no label" : good ? "label: good (learn it)" : "label: bad (an answer not to learn)";
    return [answer("completion", `Answer, ${label}`, example.completion, good ? "good" : "bad")];
  }
  return [];
}

// example: a GET /preview example. template: {family} or null.
// copy: shown again elsewhere (a duplicate group's records): no id, so #record-N stays the data browser's.
export function renderExample(example, template = null, { copy = false } = {}) {
  const heading = `Record #${example.index}`;
  const where = example.line ? `line ${formatNumber(example.line)} · ` : "";
  // lang on the dataset's own text (not on the page's labels), so screen readers pronounce it right
  const language = example.language && example.language !== "und" ? example.language : null;
  return el(
    "article",
    { class: "example", id: copy ? null : `record-${example.index}`, tabindex: copy ? null : "-1", "aria-label": heading, dataset: { index: String(example.index), language: example.language ?? "" } },
    el(
      "header",
      {},
      el("h4", { text: heading }),
      el("span", { class: "hint", text: `${where}${formatNumber(example.token_count)} tokens` }),
    ),
    toolsSchema(example.tools),
    template
      ? templated(example.messages, template.family, language)
      : el("ol", { class: "messages" }, asArray(example.messages).map((m) => messageItem(m, language))),
    ...preferenceAnswers(example, language),
  );
}
