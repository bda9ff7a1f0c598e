// The paged list of examples, optionally laid out in a model's chat template, and record look-up
// by record number (for links from issues and duplicate groups).
import { $, el, clear, show, asArray, formatNumber } from "./dom.js";
import { getJson } from "./api.js";
import { familyLabel, renderTemplate, templateFamily } from "./chat_template.js";

const state = { sessionId: null, page: 1, pageSize: 5, total: 0, template: null, highlight: null, onError: () => {} };
const modelsById = new Map();

async function fetchPage(page, pageSize) {
  const { data } = await getJson(`/preview/${encodeURIComponent(state.sessionId)}`, { page, page_size: pageSize });
  return { examples: asArray(data?.examples), total: Number(data?.total_count ?? 0) };
}

// Preview pages count usable examples; a record number can be larger than its position when
// earlier records could not be used, so search positions for the record's number.
export async function findRecord(index) {
  let lo = 0;
  let hi = Math.min(index, Math.max(state.total - 1, 0));
  let guess = hi;
  while (lo <= hi) {
    const { examples } = await fetchPage(guess + 1, 1);
    const found = examples[0];
    if (!found) return null;
    if (found.index === index) return { example: found, position: guess };
    if (found.index > index) hi = guess - 1;
    else lo = guess + 1;
    guess = Math.floor((lo + hi) / 2);
  }
  return null;
}

function renderMessages(messages) {
  return el(
    "ol",
    { class: "messages" },
    asArray(messages).map((m) =>
      el(
        "li",
        { class: `message role-${String(m.role).replace(/[^a-z_]/gi, "")}` },
        el("span", { class: "role", text: m.role }),
        el("div", { class: "content", text: typeof m.content === "string" ? m.content : JSON.stringify(m.content) }),
        Array.isArray(m.tool_calls) ? el("pre", { class: "tool-calls", text: JSON.stringify(m.tool_calls, null, 2) }) : null,
      ),
    ),
  );
}

function renderTemplated(messages) {
  const segments = renderTemplate(messages, state.template.family);
  return el(
    "pre",
    { class: "templated" },
    segments.map((s) => {
      if (s.kind === "trained") return el("mark", { class: "trained", text: s.text });
      if (s.kind === "trained-marker") return el("mark", { class: "trained marker", text: s.text });
      if (s.kind === "marker") return el("span", { class: "marker", text: s.text });
      return s.text;
    }),
  );
}

export function renderExample(example) {
  const heading = `Record #${example.index}`;
  return el(
    "article",
    { class: "example", id: `record-${example.index}`, tabindex: "-1", "aria-label": heading },
    el(
      "header",
      {},
      el("h4", { text: heading }),
      el("span", { class: "hint", text: `${formatNumber(example.token_count)} tokens` }),
    ),
    state.template ? renderTemplated(example.messages) : renderMessages(example.messages),
  );
}

let latestLoad = 0; // answers to older requests (the person clicked on) are dropped

async function loadPage(page) {
  const list = $("preview-list");
  const load = ++latestLoad;
  try {
    const { examples, total } = await fetchPage(page, state.pageSize);
    if (load !== latestLoad) return;
    state.page = page;
    state.total = total;
    clear(list).append(...examples.map(renderExample));
    if (!examples.length) list.append(el("p", { class: "hint", text: "No usable examples to show." }));
    list.dataset.template = state.template?.modelId ?? ""; // which layout is on screen
    const pages = Math.max(1, Math.ceil(total / state.pageSize));
    $("page-status").textContent = `Page ${page} of ${pages} (${formatNumber(total)} examples)`;
    $("page-prev").disabled = page <= 1;
    $("page-next").disabled = page >= pages;
  } catch (error) {
    state.onError(error);
  }
}

// Jumps to the page holding a record and focuses it.
export async function showRecord(index) {
  try {
    const found = await findRecord(index);
    if (!found) {
      state.onError(new Error(`Record #${index} is not among the usable examples (see the issues above for why).`));
      return;
    }
    await loadPage(Math.floor(found.position / state.pageSize) + 1);
    const card = $(`record-${index}`);
    if (card) {
      card.classList.add("highlighted");
      card.scrollIntoView({ block: "start" });
      card.focus({ preventScroll: true });
    }
  } catch (error) {
    state.onError(error);
  }
}

function describeTemplate(model) {
  const note = $("template-note");
  if (!state.template) {
    show(note, false);
    return;
  }
  note.textContent =
    `Preview of the ${familyLabel(state.template.family)} template markers (${model.chat_template}) used by ${model.name ?? model.model_id}. ` +
    "Highlighted text is what training learns from: the assistant turns. Exact token boundaries come from the model's tokenizer.";
  show(note, true);
}

export function chooseTemplate(modelId) {
  const model = modelsById.get(modelId);
  const family = model ? templateFamily(model.chat_template, model.response_marker) : null;
  state.template = family ? { family, modelId } : null;
  $("template-select").value = state.template ? modelId : "";
  describeTemplate(model);
  if (state.sessionId) loadPage(state.page);
}

export function setModels(models) {
  const select = $("template-select");
  select.replaceChildren(el("option", { value: "", text: "Plain messages" }));
  for (const model of models) {
    if (!templateFamily(model.chat_template, model.response_marker)) continue;
    modelsById.set(model.model_id, model);
    select.append(el("option", { value: model.model_id, text: `${model.name ?? model.model_id} template` }));
  }
}

export function initPreview(onError) {
  state.onError = onError;
  $("page-prev").addEventListener("click", () => loadPage(state.page - 1));
  $("page-next").addEventListener("click", () => loadPage(state.page + 1));
  $("page-size").addEventListener("change", (event) => {
    state.pageSize = Number(event.target.value);
    loadPage(1);
  });
  $("template-select").addEventListener("change", (event) => chooseTemplate(event.target.value));
}

export async function startPreview(sessionId, total) {
  state.sessionId = sessionId;
  state.total = total;
  await loadPage(1);
}
