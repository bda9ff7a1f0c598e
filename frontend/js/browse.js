// The data browser: search text, filter by role, issue, language and length, sort by tokens, page with a
// pager above and below the list, go to a record by number. The server does the searching (GET /preview
// with query parameters); issue filters read the complete paged list of an issue when the server has it.
import { $, el, clear, show, asArray, formatNumber, humanize } from "./dom.js";
import { describeError, getJson } from "./api.js";
import { renderExample } from "./preview.js";
import { familyLabel, templateFamily } from "./chat_template.js";
import { issueRecords } from "./records.js";

const EMPTY_FILTERS = { q: "", role: "", issue: "", language: "", min_tokens: "", max_tokens: "", sort: "file" };
const state = {
  sessionId: null, report: null, page: 1, pageSize: 5, total: 0, totalExamples: 0,
  filters: { ...EMPTY_FILTERS }, template: null, onError: () => {},
};
const modelsById = new Map();
let latestLoad = 0; // answers to older requests (the person clicked on) are dropped

function readForm() {
  const form = $("browse-form");
  const value = (name) => String(form.elements[name]?.value ?? "").trim();
  return {
    q: value("q"), role: value("role"), issue: value("issue"), language: value("language"),
    min_tokens: value("min_tokens"), max_tokens: value("max_tokens"), sort: value("sort") || "file",
  };
}

function writeForm(filters) {
  const form = $("browse-form");
  for (const [name, value] of Object.entries(filters)) if (form.elements[name]) form.elements[name].value = value;
}

function unusableNote(index) {
  const found = asArray(state.report?.unusable).find((u) => u.index === index);
  return found ? `#${index}${found.line ? ` (line ${found.line})` : ""}: ${found.message}` : `#${index}: not among the usable examples`;
}

async function queryFor(page, extra = {}) {
  const { q, role, language, min_tokens: min, max_tokens: max, sort, issue } = state.filters;
  const query = { page, page_size: state.pageSize, sort, ...extra };
  if (q) query.q = q;
  if (role) query.role = role;
  if (language) query.language = language;
  if (min !== "") query.min_tokens = min;
  if (max !== "") query.max_tokens = max;
  let note = "";
  if (issue) {
    const listed = await issueRecords(state.sessionId, state.report, issue);
    if (!listed.records.length) return { query, note: "This issue lists no record numbers.", empty: true };
    query.records = listed.records.join(",");
    note = listed.note;
  }
  return { query, note, empty: false };
}

function pageText(page, pages, total) {
  const filtered = total !== state.totalExamples;
  const counted = filtered ? `${formatNumber(total)} of ${formatNumber(state.totalExamples)} examples match` : `${formatNumber(total)} examples`;
  return `Page ${page} of ${pages} (${counted})`;
}

function renderPager(page, pages, total) {
  for (const id of ["page-status", "page-status-top"]) $(id).textContent = pageText(page, pages, total);
  for (const button of document.querySelectorAll(".page-prev")) button.disabled = page <= 1;
  for (const button of document.querySelectorAll(".page-next")) button.disabled = page >= pages;
}

function renderMissing(list, missing) {
  if (!missing.length) return;
  list.append(el("section", { class: "missing-records" },
    el("h4", { text: `Records of this list that could not be used (${formatNumber(missing.length)})` }),
    el("ul", {}, missing.map((index) => el("li", { text: unusableNote(index) })))));
}

// Loads a page and puts it on screen. focus: "first" (the first record), a record number, or none.
async function loadPage(page, { focus = null, atRecord = null } = {}) {
  const list = $("preview-list");
  const load = ++latestLoad;
  const { query, note, empty } = await queryFor(page, atRecord === null ? {} : { at_record: atRecord });
  const data = empty
    ? { examples: [], total_count: 0, page: 1, total_pages: 1, total_examples: state.totalExamples }
    : (await getJson(`/preview/${encodeURIComponent(state.sessionId)}`, query)).data;
  if (load !== latestLoad) return false;
  const examples = asArray(data?.examples);
  state.page = Number(data?.page ?? page);
  state.total = Number(data?.total_count ?? 0);
  state.totalExamples = Number(data?.total_examples ?? state.total);
  clear(list);
  renderMissing(list, asArray(data?.missing_records));
  list.append(...examples.map((e) => renderExample(e, state.template)));
  if (!examples.length) list.append(el("p", { class: "hint", text: state.total ? "No examples on this page." : "No example matches these filters." }));
  list.dataset.template = state.template?.modelId ?? ""; // which layout is on screen
  $("browse-note").textContent = note;
  show($("browse-note"), Boolean(note));
  const pages = Math.max(1, Number(data?.total_pages ?? 1));
  renderPager(state.page, pages, state.total);
  const first = (state.page - 1) * state.pageSize + 1;
  $("browse-status").textContent = examples.length
    ? `Showing examples ${formatNumber(first)}–${formatNumber(first + examples.length - 1)} of ${formatNumber(state.total)}.`
    : "No examples to show.";
  const target = focus === "first" ? list.querySelector("article.example") : focus !== null ? $(`record-${focus}`) : null;
  if (target) {
    target.focus({ preventScroll: true });
  }
  return true;
}

async function turnPage(delta, fromBottom) {
  try {
    if (await loadPage(state.page + delta, { focus: fromBottom ? "first" : null })) {
      // the new page starts at the top of the list, with the upper pager in view
      $("pager-top").scrollIntoView({ block: "start" });
    }
  } catch (error) {
    state.onError(error);
  }
}

function applyFilters(event) {
  event?.preventDefault();
  state.filters = readForm();
  state.pageSize = Number($("page-size").value);
  loadPage(1).catch(state.onError);
}

function gotoError(error) {
  const { message, next } = describeError(error);
  const box = $("goto-error");
  box.textContent = `${message} ${next}`;
  show(box, true);
  $("goto-record").setAttribute("aria-invalid", "true");
}

// Jumps to the page holding a record and focuses it; with filters that hide it, they are cleared first.
export async function showRecord(index, { fromGoto = false } = {}) {
  show($("goto-error"), false);
  $("goto-record").removeAttribute("aria-invalid");
  try {
    try {
      await loadPage(1, { atRecord: index, focus: index });
    } catch (error) {
      if (error.code !== "record_filtered_out") throw error;
      state.filters = { ...EMPTY_FILTERS, sort: state.filters.sort };
      writeForm(state.filters);
      await loadPage(1, { atRecord: index, focus: index });
      $("browse-note").textContent = `Filters cleared to show record #${index}.`;
      show($("browse-note"), true);
    }
    const card = $(`record-${index}`);
    if (card) {
      card.classList.add("highlighted");
      card.scrollIntoView({ block: "start" });
    }
  } catch (error) {
    if (fromGoto) gotoError(error);
    else state.onError(error);
  }
}

// The records with these numbers, as GET /preview examples (in file order); unusable ones are left out.
export async function fetchRecords(indexes) {
  if (!indexes.length) return [];
  const { data } = await getJson(`/preview/${encodeURIComponent(state.sessionId)}`, {
    records: indexes.join(","), page: 1, page_size: Math.min(100, indexes.length),
  });
  return asArray(data?.examples);
}

export function currentTemplate() {
  return state.template;
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
  if (state.sessionId) loadPage(state.page).catch(state.onError);
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

// Filters by length from elsewhere on the page (a bar of the token histogram).
export function filterByLength(low, high) {
  writeForm({ ...readForm(), min_tokens: String(low), max_tokens: String(high) });
  applyFilters();
  $("preview-heading").scrollIntoView({ block: "start" });
  $("preview-heading").focus({ preventScroll: true });
}

// Lists an issue's records in the examples (from the "List all" button of an issue).
export function filterByIssue(code) {
  writeForm({ ...EMPTY_FILTERS, issue: code });
  applyFilters();
  $("preview-heading").scrollIntoView({ block: "start" });
  $("preview-heading").focus({ preventScroll: true });
}

function fillChoices(report) {
  // only issues that name records: the others (too few examples, mixed formats…) concern the whole file
  const issues = asArray(report.issues).filter((i) => Number(i.count) > 0 && asArray(i.examples).length > 0);
  $("browse-issue").replaceChildren(el("option", { value: "", text: "any" }),
    ...issues.map((i) => el("option", { value: i.code, text: `${i.title ?? humanize(i.code)} (${formatNumber(Number(i.count))})` })));
  const languages = Object.entries(report.languages?.counts ?? {}).sort((a, b) => b[1] - a[1]);
  const label = (code) => (code === "und" ? "undetermined" : code);
  $("browse-language").replaceChildren(el("option", { value: "", text: "any" }),
    ...languages.map(([code, count]) => el("option", { value: code, text: `${label(code)} (${formatNumber(count)})` })));
}

export function initBrowse(onError) {
  state.onError = onError;
  $("browse-form").addEventListener("submit", applyFilters);
  for (const id of ["browse-role", "browse-issue", "browse-language", "browse-sort", "page-size"]) {
    $(id).addEventListener("change", applyFilters);
  }
  $("browse-clear").addEventListener("click", () => {
    writeForm(EMPTY_FILTERS);
    applyFilters();
  });
  for (const [id, delta, fromBottom] of [["page-prev-top", -1, false], ["page-next-top", 1, false], ["page-prev", -1, true], ["page-next", 1, true]]) {
    $(id).addEventListener("click", () => turnPage(delta, fromBottom));
  }
  const goto = $("goto-form");
  goto.append(el("p", { class: "field-error", id: "goto-error", hidden: true }));
  $("goto-record").setAttribute("aria-describedby", "goto-error");
  goto.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = Number($("goto-record").value);
    if (Number.isInteger(value) && value >= 0) showRecord(value, { fromGoto: true });
  });
  $("template-select").addEventListener("change", (event) => chooseTemplate(event.target.value));
}

export async function startBrowse(sessionId, report) {
  state.sessionId = sessionId;
  state.report = report;
  state.filters = { ...EMPTY_FILTERS };
  writeForm(state.filters);
  fillChoices(report);
  show($("goto-error"), false);
  await loadPage(1);
}
