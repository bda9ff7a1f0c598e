// The "Generate data" page (#/generate): describe a task, give seeds (typed, or one of your datasets), pick a
// provider and an exploration mode, see the estimate, start, watch the rows arrive, cancel, then open the
// generated dataset's analysis. The form is built here; the run is followed in generate_data_run.js.
import { $, el, clear, show, whileBusy, formatNumber } from "./dom.js";
import { addAdvice, getJson, postJson } from "./api.js";
import { isSignedIn } from "./auth.js";
import { followRun } from "./generate_data_run.js";

const NAMES_KEY = "slmgen.names"; // the page's recent uploads (main.js keeps them): seeds can come from one
const MODES = [
  ["CONSERVATIVE", "Conservative: close to the seeds"],
  ["BALANCED", "Balanced (default)"],
  ["CREATIVE", "Creative: new topics and phrasings"],
  ["ADVENTUROUS", "Adventurous: unusual and hard cases"],
];
const KINDS = {
  inputs: { label: "Inputs: prompts a user of the application would send", seedHint: "One example input per line." },
  examples: {
    label: "Training examples: a prompt and its answer",
    seedHint: "One example per line: the prompt, then =>, then the answer. Or take seeds from a dataset below.",
  },
};

addAdvice({
  provider_key_missing: "Enter your API key for this provider in the form, then start again.",
  provider_key_rejected: "Check the API key you entered (it was refused by the provider), then start again.",
  unknown_provider: "Pick one of the providers in the list.",
  invalid_generation_request: "Correct the field named above, then start again.",
  generation_empty: "Describe the task more precisely, give better seeds, or pick a larger model.",
  generation_error_rate: "Try again later, or pick another provider.",
  local_model_unavailable: "Pick another provider, or install torch and transformers on the server.",
  no_usable_seeds: "Pick a dataset with chat examples (user and assistant turns), or type seeds instead.",
  job_not_found: "Start the generation again.",
});

let handlers = { onError: () => {}, onClear: () => {}, remember: () => {} };
let providers = [];
let built = false;

function field(id, labelText, control, hint) {
  const hintNode = hint ? el("p", { class: "hint", id: `${id}-hint`, text: hint }) : null;
  if (hintNode) control.setAttribute("aria-describedby", `${id}-hint`);
  return el("div", { class: "field gen-field", id: `${id}-field` }, el("label", { for: id, text: labelText }), control,
    hintNode, el("p", { class: "field-error", id: `${id}-error`, hidden: true }));
}

function buildForm() {
  const kind = el("fieldset", { class: "checks gen-kind" }, el("legend", { text: "What to generate" }),
    ...Object.entries(KINDS).map(([value, { label }], i) => el("label", {},
      el("input", { type: "radio", name: "gen-kind", value, checked: i === 0 }), ` ${label}`)));
  const form = el("form", { id: "gen-form", class: "gen-form", novalidate: true },
    kind,
    field("gen-description", "Describe the task", el("textarea", { id: "gen-description", rows: 3, maxlength: 4000, required: true }),
      "What the application does, or what the trained model should do, in a sentence or two."),
    field("gen-seeds", "Seeds", el("textarea", { id: "gen-seeds", rows: 5, spellcheck: "false" }), KINDS.inputs.seedHint),
    field("gen-dataset", "Seeds from one of your datasets", el("select", { id: "gen-dataset" }),
      "Examples are sampled from its usable records, and nothing generated repeats one of them."),
    field("gen-provider", "Provider", el("select", { id: "gen-provider" })),
    field("gen-key", "Your API key for this provider", el("input", { id: "gen-key", type: "password", autocomplete: "off", spellcheck: "false" }),
      "Sent once with this request and kept encrypted until the job ends; never stored or shown."),
    field("gen-mode", "Exploration mode", el("select", { id: "gen-mode" },
      ...MODES.map(([value, text]) => el("option", { value, text, selected: value === "BALANCED" })))),
    field("gen-count", "Rows to generate", el("input", { id: "gen-count", type: "number", min: 1, max: 10000, step: 1, value: 20, inputmode: "numeric" })),
    field("gen-batch", "Rows per request", el("input", { id: "gen-batch", type: "number", min: 1, max: 10, step: 1, value: 5, inputmode: "numeric" })),
    el("p", { class: "status gen-estimate", id: "gen-estimate", role: "status" }),
    el("div", { class: "actions" }, el("button", { type: "submit", class: "primary", id: "gen-start", text: "Start generating" })));
  const run = el("section", { id: "gen-run", "aria-labelledby": "gen-run-heading", hidden: true },
    el("h2", { id: "gen-run-heading", tabindex: "-1", text: "Generating" }),
    el("label", { for: "gen-progress", text: "Rows written" }),
    el("progress", { id: "gen-progress", max: 1 }),
    el("p", { class: "status", id: "gen-status", role: "status" }),
    el("p", { class: "hint", id: "gen-usage" }),
    el("div", { class: "actions" },
      el("button", { type: "button", class: "danger", id: "gen-cancel", text: "Cancel" }),
      el("a", { class: "button primary", id: "gen-analyse", hidden: true, text: "Analyse the generated dataset" })),
    el("ol", { class: "gen-rows", id: "gen-rows", "aria-label": "Generated rows" }));
  $("view-generate").append(
    el("h1", { id: "gen-heading", tabindex: "-1", text: "Generate data" }),
    el("p", { class: "lead", text: "Grow a dataset from a description and a few seeds with an LLM provider. Every row passes quality gates (structure, length, duplicates, novelty); the result is analysed like an upload." }),
    form, run);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    whileBusy($("gen-start"), start).catch(handlers.onError);
  });
  form.addEventListener("input", scheduleEstimate);
  form.addEventListener("change", (event) => {
    if (event.target.name === "gen-kind") showKind();
    if (event.target.id === "gen-provider") showProvider();
  });
}

const selectedKind = () => document.querySelector("input[name=gen-kind]:checked")?.value ?? "inputs";
const provider = () => providers.find((p) => p.name === $("gen-provider").value);

function showKind() {
  const kind = selectedKind();
  $("gen-seeds-hint").textContent = KINDS[kind].seedHint;
  show($("gen-dataset-field"), kind === "examples");
  scheduleEstimate();
}

function showProvider() {
  const chosen = provider();
  const needsKey = Boolean(chosen?.needs_request_key);
  show($("gen-key-field"), needsKey);
  const note = chosen?.note ?? "";
  const hint = $("gen-provider-field").querySelector(".provider-note") ?? el("p", { class: "hint provider-note", id: "gen-provider-note" });
  hint.textContent = [chosen?.tiny ? `Tiny model. ${note}` : note, chosen?.unavailable_reason ? `Unavailable: ${chosen.unavailable_reason}.` : ""]
    .filter(Boolean).join(" ");
  show(hint, Boolean(hint.textContent));
  if (!hint.parentNode) $("gen-provider").after(hint);
  $("gen-provider").setAttribute("aria-describedby", "gen-provider-note");
  scheduleEstimate();
}

function recentDatasets() {
  let names = {};
  try {
    names = JSON.parse(localStorage.getItem(NAMES_KEY) ?? "{}");
  } catch {
    names = {};
  }
  return Object.entries(names).reverse();
}

async function fillDatasets() {
  const options = new Map(recentDatasets());
  if (isSignedIn()) {
    try {
      const { data } = await getJson("/jobs", { limit: 100 });
      for (const job of Array.isArray(data) ? data : []) if (job.session_id) options.set(job.session_id, job.dataset_filename ?? job.session_id);
    } catch {
      // the recent uploads of this browser are still offered
    }
  }
  const select = clear($("gen-dataset"));
  select.append(el("option", { value: "", text: "None: use the seeds typed above" }));
  for (const [id, name] of options) select.append(el("option", { value: id, text: name }));
}

async function fillProviders() {
  const { data } = await getJson("/data/providers");
  providers = Array.isArray(data?.providers) ? data.providers : [];
  const select = clear($("gen-provider"));
  for (const p of providers) {
    const label = p.tiny ? `${p.label} (tiny: for trying the flow)` : p.label;
    select.append(el("option", { value: p.name, text: p.available ? label : `${label} (unavailable here)`, disabled: !p.available }));
  }
  const usable = providers.find((p) => p.available);
  if (usable) select.value = usable.name;
  showProvider();
}

function setFieldError(id, message) {
  const error = $(`${id}-error`);
  error.textContent = message ?? "";
  show(error, Boolean(message));
  const control = $(id);
  if (message) {
    control.setAttribute("aria-invalid", "true");
    control.setAttribute("aria-errormessage", `${id}-error`);
  } else {
    control.removeAttribute("aria-invalid");
  }
}

function clearFieldErrors() {
  for (const node of document.querySelectorAll("#gen-form .field-error")) show(node, false);
  for (const node of document.querySelectorAll("#gen-form [aria-invalid]")) node.removeAttribute("aria-invalid");
}

function parseSeeds(kind) {
  const lines = $("gen-seeds").value.split("\n").map((line) => line.trim()).filter(Boolean);
  if (kind === "inputs") return { seeds: lines };
  const examples = [];
  for (const [n, line] of lines.entries()) {
    const at = line.indexOf("=>");
    if (at < 1 || !line.slice(at + 2).trim()) throw Object.assign(new Error(`Line ${n + 1} has no "=>" between the prompt and its answer.`), { field: "gen-seeds" });
    examples.push({ messages: [{ role: "user", content: line.slice(0, at).trim() }, { role: "assistant", content: line.slice(at + 2).trim() }] });
  }
  return { seed_examples: examples };
}

// The request the form describes: [route, body, estimate kind, session id]; a field error is thrown with its id.
function readForm() {
  clearFieldErrors();
  const kind = selectedKind();
  const description = $("gen-description").value.trim();
  if (!description) throw Object.assign(new Error("Describe the task first."), { field: "gen-description" });
  const count = Number($("gen-count").value);
  if (!Number.isInteger(count) || count < 1 || count > 10000) throw Object.assign(new Error("Enter a whole number from 1 to 10,000."), { field: "gen-count" });
  const batch = Number($("gen-batch").value);
  if (!Number.isInteger(batch) || batch < 1 || batch > 10) throw Object.assign(new Error("Enter a whole number from 1 to 10."), { field: "gen-batch" });
  const common = { provider: $("gen-provider").value || undefined, exploration_mode: $("gen-mode").value, batch_size: batch };
  const seeds = parseSeeds(kind);
  const sessionId = kind === "examples" ? $("gen-dataset").value || null : null;
  if (kind === "inputs") {
    if (!seeds.seeds.length) throw Object.assign(new Error("Give at least one example input, one per line."), { field: "gen-seeds" });
    return { route: "/data/generate", kind, sessionId, request: { ...common, application_description: description, num_inputs_to_generate: count, ...seeds } };
  }
  return { route: "/data/examples", kind, sessionId, request: { ...common, task_description: description, num_examples: count, ...seeds } };
}

let estimateTimer = null;
let estimateSeq = 0;

function scheduleEstimate() {
  clearTimeout(estimateTimer);
  estimateTimer = setTimeout(() => estimate().catch(() => {}), 400);
}

async function estimate() {
  const seq = ++estimateSeq;
  const out = $("gen-estimate");
  let form;
  try {
    form = readForm();
  } catch {
    out.textContent = "The estimate appears once the description and seeds are filled in.";
    return;
  }
  clearFieldErrors();
  try {
    const { data } = await postJson("/data/estimate", { kind: form.kind, request: form.request, session_id: form.sessionId ?? undefined });
    if (seq !== estimateSeq) return;
    const cost = data.cost_usd === null || data.cost_usd === undefined ? "no price for this provider" : `about $${data.cost_usd.toFixed(4)}`;
    out.textContent = `Estimate: ${formatNumber(data.batches)} requests, ${formatNumber(data.prompt_tokens)} prompt and ${formatNumber(data.completion_tokens)} completion tokens, ${cost}.`;
  } catch (error) {
    if (seq === estimateSeq) out.textContent = `No estimate: ${error.detail || error.message}`;
  }
}

async function start() {
  handlers.onClear();
  let form;
  try {
    form = readForm();
  } catch (error) {
    if (!error.field) throw error;
    setFieldError(error.field, error.message);
    $(error.field).focus();
    return;
  }
  const chosen = provider();
  const key = $("gen-key").value.trim();
  if (chosen?.needs_request_key && !key) {
    setFieldError("gen-key", "This provider needs your API key.");
    $("gen-key").focus();
    return;
  }
  const body = form.sessionId ? { ...form.request, session_id: form.sessionId } : form.request;
  const { data } = await postWithKey(form.route, body, key);
  $("gen-key").value = ""; // sent once; the task carries it encrypted
  const taskId = data.job_id ?? data.task_id;
  followRun(taskId, { kind: form.kind, target: Number(form.request.num_inputs_to_generate ?? form.request.num_examples), ...handlers });
}

async function postWithKey(route, body, key) {
  return key ? postJson(route, body, { "X-OpenAI-Key": key }) : postJson(route, body);
}

export function initGenerateData(options) {
  handlers = { ...handlers, ...options };
}

// Called by the router when #/generate is opened.
export async function showGenerateData() {
  if (!built) {
    buildForm();
    built = true;
    showKind();
    try {
      await fillProviders();
    } catch (error) {
      handlers.onError(error);
    }
  }
  await fillDatasets();
  $("gen-heading").focus({ preventScroll: true });
}
