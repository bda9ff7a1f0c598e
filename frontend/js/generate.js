// Training settings (catalogue defaults, plain-language help, each field checked as you type against the
// server's own bounds) → generate → download, Colab, and what went into the notebook.
import { $, el, clear, show, asArray, formatBytes, formatDate, formatNumber, whileBusy } from "./dom.js";
import { ApiError, getJson, postJson } from "./api.js";
import { trainHereButton } from "./training.js"; // training (issue 13)

// Each knob: [name, label, help, optional]. Only knobs the catalogue has a default for are shown, plus
// the optional ones, so the form never offers a setting the server ignores.
const FIELDS = [
  ["num_epochs", "Epochs", "How many times training reads the whole dataset. 1–3 is usual; more risks memorising it."],
  ["learning_rate", "Learning rate", "How big each training step is. 0.0002 is the usual LoRA start; lower it if the loss jumps around."],
  ["lora_rank", "LoRA rank", "Size of the trainable adapter. 8–32 is typical; higher learns more but needs more memory."],
  ["lora_alpha", "LoRA alpha", "How strongly the adapter's changes count; usually the rank or twice it."],
  ["batch_size", "Batch size", "Examples per step on the GPU. Lower it if Colab runs out of memory."],
  ["grad_accum", "Gradient accumulation", "Steps added up before each update; effective batch = batch size × this."],
  ["max_seq_length", "Maximum length (tokens)", "Longer examples are cut to this length; the analysis shows how many would be."],
  ["max_steps", "Maximum steps (optional)", "Stop after this many steps; leave empty to train for the full epochs.", true],
  ["eval_share", "Evaluation share (optional)", "Share of examples held out to measure progress, e.g. 0.1.", true],
  ["seed", "Random seed (optional)", "Fixes the shuffling so a rerun gives the same result.", true],
];

const state = { sessionId: null, model: null, limits: {}, onError: () => {}, onClear: () => {}, onGenerated: () => {} };

function defaultsOf(entry) {
  return entry?.defaults ?? entry?.training_defaults ?? {};
}

function rangeText(limit) {
  const low = limit.exclusiveMinimum !== undefined ? `more than ${limit.exclusiveMinimum}` : limit.minimum !== undefined ? `at least ${formatNumber(limit.minimum, 6)}` : "";
  const high = limit.maximum !== undefined ? `at most ${formatNumber(limit.maximum, 6)}` : "";
  return [low, high].filter(Boolean).join(" and ");
}

// Why a field's value would be refused, in words, or "" when it is fine. Mirrors the server's bounds.
function problemOf(input) {
  const label = input.dataset.label;
  const limit = state.limits[input.name] ?? {};
  const raw = input.value.trim();
  if (raw === "") return input.required ? `${label}: enter a value (${rangeText(limit) || "a number"}).` : "";
  const value = Number(raw);
  const range = rangeText(limit);
  const wanted = `${label} must be ${limit.type === "integer" ? "a whole number " : ""}${range}`.trim();
  if (!Number.isFinite(value)) return `${wanted}; “${raw}” is not a number.`;
  if (limit.type === "integer" && !Number.isInteger(value)) return `${wanted}; you entered ${raw}.`;
  const tooLow = (limit.minimum !== undefined && value < limit.minimum) || (limit.exclusiveMinimum !== undefined && value <= limit.exclusiveMinimum);
  if (tooLow || (limit.maximum !== undefined && value > limit.maximum)) return `${wanted}; you entered ${raw}.`;
  if (asArray(limit.forbidden).includes(value)) {
    return `${label} cannot be ${raw}: that would train nothing. Use -1 to train for the epochs, or a number of steps from 1.`;
  }
  return "";
}

function markField(input, message) {
  const box = $(`${input.id}-error`);
  box.textContent = message;
  show(box, Boolean(message));
  if (message) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
}

function fieldRow([name, label, help, optional], value) {
  const id = `train-${name}`;
  const limit = state.limits[name] ?? {};
  const input = el("input", {
    id, name, type: "number", value: value ?? "", inputmode: "decimal", required: !optional,
    step: limit.type === "integer" ? "1" : "any", min: limit.minimum, max: limit.maximum,
    "aria-describedby": `${id}-error ${id}-help`, dataset: { label },
  });
  input.addEventListener("input", () => markField(input, problemOf(input)));
  return el(
    "div",
    { class: "field" },
    el("label", { for: id, text: label }),
    input,
    el("p", { class: "field-error", id: `${id}-error`, hidden: true }),
    el("p", { class: "hint", id: `${id}-help`, text: `${help}${rangeText(limit) ? ` Allowed: ${rangeText(limit)}.` : ""}` }),
  );
}

// overrides: values to start from instead of the defaults (a suggested max_seq_length, a job's settings).
export async function startTraining(sessionId, recommendation, { overrides = {}, job = null } = {}) {
  state.sessionId = sessionId;
  $("train-model-name").textContent = recommendation.model_name ?? recommendation.model_id;
  clear($("generate-result"));
  $("generate-status").textContent = "";
  let entry = {};
  try {
    ({ data: entry } = await getJson(`/models/${encodeURIComponent(recommendation.model_id)}`));
  } catch (error) {
    state.onError(error);
  }
  state.model = { ...entry, model_id: recommendation.model_id };
  const defaults = defaultsOf(entry);
  const values = { ...defaults, ...overrides };
  const fields = FIELDS.filter(([name, , , optional]) => optional || defaults[name] !== undefined);
  clear($("train-fields")).append(...fields.map((f) => fieldRow(f, values[f[0]])));
  const suggested = recommendation.suggested_max_seq_length;
  if (suggested && $("train-max_seq_length-help")) {
    $("train-max_seq_length-help").append(` For your data the recommender suggests ${formatNumber(suggested)}.`);
  }
  if (job?.download_url) renderResult(resultOfJob(job), { reopened: true });
  return state.model;
}

function readConfig() {
  const config = {};
  for (const input of $("train-fields").querySelectorAll("input")) {
    if (input.value.trim() === "") continue;
    config[input.name] = Number(input.value);
  }
  return config;
}

// Marks every refused field; focus goes to the first, which is scrolled into view (the page stays put).
function showProblems(problems) {
  for (const input of $("train-fields").querySelectorAll("input")) markField(input, problems.get(input) ?? "");
  const first = [...problems.keys()][0];
  if (!first) return false;
  first.scrollIntoView({ block: "center" });
  first.focus({ preventScroll: true });
  $("generate-status").textContent = `Correct the marked setting${problems.size > 1 ? "s" : ""}: ${[...problems.values()][0]}`;
  return true;
}

function serverProblems(error) {
  const problems = new Map();
  for (const field of asArray(error.fields)) {
    const name = String(field.field ?? "").split(".").pop();
    const input = $(`train-${name}`);
    if (input) problems.set(input, `${input.dataset.label}: ${field.message ?? "refused by the server"}.`);
  }
  return problems;
}

const COLAB = "https://colab.research.google.com/";

function colabSteps(result) {
  const reason = typeof result.colab_instructions === "string" && result.colab_instructions.startsWith("No Colab link")
    ? result.colab_instructions.split(" Download the notebook")[0] : "";
  return el("section", { class: "colab-steps" },
    el("h3", { text: "Open it in Colab" }),
    reason ? el("p", { text: reason }) : null,
    el("ol", {},
      el("li", { text: "Download the notebook with the button above." }),
      el("li", {}, "Open ", el("a", { href: COLAB, target: "_blank", rel: "noopener noreferrer", text: "colab.research.google.com" }),
        ", choose File → Upload notebook and pick the downloaded file."),
      el("li", { text: "Choose Runtime → Change runtime type → T4 GPU, then Runtime → Run all." })));
}

function contentsNote(result) {
  if (typeof result.examples_included !== "number") return null;
  const lines = [`The notebook trains on ${formatNumber(result.examples_included)} examples.`];
  const leftOut = Number(result.examples_left_out ?? 0);
  if (leftOut) {
    const named = asArray(result.left_out).map((x) => `#${x.index} (${x.reason})`).join("; ");
    lines.push(`${formatNumber(leftOut)} usable example${leftOut > 1 ? "s were" : " was"} left out: ${named}${asArray(result.left_out).length < leftOut ? "; …" : ""}.`);
  }
  const unusable = Number(result.records_unusable ?? 0);
  if (unusable) lines.push(`${formatNumber(unusable)} record${unusable > 1 ? "s" : ""} of the file could not be used at all (see Issues above).`);
  return el("p", { class: "notebook-contents", text: lines.join(" ") });
}

function resultOfJob(job) {
  return {
    download_url: job.download_url, colab_url: job.colab_url, expires_at: job.notebook_expires_at,
    examples_included: job.notebook_examples, examples_left_out: job.notebook_examples_left_out,
    records_unusable: job.notebook_records_unusable, left_out: [],
  };
}

function renderResult(result, { reopened = false } = {}) {
  const links = [];
  if (result.download_url) {
    links.push(el("a", { class: "button primary", href: result.download_url, download: "", id: "download-link", text: "Download notebook (.ipynb)" }));
  }
  if (result.download_url && state.sessionId && state.model) {
    links.push(trainHereButton(state.sessionId, state.model.model_id, readConfig)); // training (issue 13)
  }
  if (result.colab_url) {
    links.push(el("a", { class: "button", href: result.colab_url, target: "_blank", rel: "noopener noreferrer", id: "colab-link", text: "Open in Colab" }));
  }
  const size = result.size_bytes ?? result.notebook_size_bytes;
  const expiry = result.expires_at
    ? el("p", { class: "hint expiry", text: `The download link works for anyone who has it until ${formatDate(result.expires_at)}; signed in, you can download it from History after that.` })
    : null;
  clear($("generate-result")).append(
    el("h3", { text: reopened ? "The notebook generated for this job" : "Your notebook is ready" }),
    size ? el("p", { class: "hint", text: `${formatBytes(size)}, with your data embedded.` }) : null,
    contentsNote(result),
    el("div", { class: "actions" }, links),
    expiry,
    result.colab_url ? el("p", { class: "hint", text: "Open in Colab opens a secret gist of the notebook." }) : colabSteps(result),
  );
}

async function submit(event) {
  event.preventDefault();
  const button = $("generate-button");
  const problems = new Map();
  for (const input of $("train-fields").querySelectorAll("input")) {
    const problem = problemOf(input);
    if (problem) problems.set(input, problem);
  }
  if (showProblems(problems)) return;
  await whileBusy(button, async () => {
    button.textContent = "Generating…";
    $("generate-status").textContent = "Generating the notebook…";
    try {
      const { data } = await postJson("/generate", { session_id: state.sessionId, model_id: state.model.model_id, training_config: readConfig() });
      state.onClear();
      renderResult(data ?? {});
      $("generate-status").textContent = "Your notebook is ready to download.";
      state.onGenerated(data ?? {});
    } catch (error) {
      const fields = error instanceof ApiError ? serverProblems(error) : new Map();
      if (!showProblems(fields)) {
        $("generate-status").textContent = "The notebook could not be generated.";
        state.onError(error);
      }
    } finally {
      button.textContent = "Generate notebook";
    }
  });
}

export function initGenerate({ onError, onClear, onGenerated, limits }) {
  state.onError = onError;
  state.onClear = onClear;
  state.onGenerated = onGenerated ?? (() => {});
  state.limits = limits && typeof limits === "object" ? limits : {};
  $("train-form").addEventListener("submit", submit);
}
