// Training settings (catalogue defaults, plain-language help) → generate → download / Colab.
import { $, el, clear, asArray, formatBytes } from "./dom.js";
import { ApiError, getJson, postJson } from "./api.js";

// Each knob: [name, label, help, step]. Only knobs the catalogue has a default for are shown, plus
// the optional ones (marked optional), so the form never offers a setting the server ignores.
const FIELDS = [
  ["num_epochs", "Epochs", "How many times training reads the whole dataset. 1–3 is usual; more risks memorising it.", "any"],
  ["learning_rate", "Learning rate", "How big each training step is. 0.0002 is the usual LoRA start; lower it if the loss jumps around.", "any"],
  ["lora_rank", "LoRA rank", "Size of the trainable adapter. 8–32 is typical; higher learns more but needs more memory.", "1"],
  ["lora_alpha", "LoRA alpha", "How strongly the adapter's changes count; usually the rank or twice it.", "1"],
  ["batch_size", "Batch size", "Examples per step on the GPU. Lower it if Colab runs out of memory.", "1"],
  ["grad_accum", "Gradient accumulation", "Steps added up before each update; effective batch = batch size × this.", "1"],
  ["max_seq_length", "Maximum length (tokens)", "Longer examples are cut to this length; the analysis shows how many would be.", "1"],
  ["max_steps", "Maximum steps (optional)", "Stop after this many steps; leave empty to train for the full epochs.", "1", true],
  ["eval_share", "Evaluation share (optional)", "Share of examples held out to measure progress, e.g. 0.1.", "any", true],
  ["seed", "Random seed (optional)", "Fixes the shuffling so a rerun gives the same result.", "1", true],
];

const state = { sessionId: null, model: null, onError: () => {}, onClear: () => {} };

function defaultsOf(entry) {
  return entry?.defaults ?? entry?.training_defaults ?? {};
}

function fieldRow([name, label, help, step, optional], value) {
  const id = `train-${name}`;
  return el(
    "div",
    { class: "field" },
    el("label", { for: id, text: label }),
    el("input", { id, name, type: "number", step, min: "0", value: value ?? "", inputmode: "decimal", "aria-describedby": `${id}-help ${id}-error`, required: !optional }),
    el("p", { class: "hint", id: `${id}-help`, text: help }),
    el("p", { class: "field-error", id: `${id}-error`, "aria-live": "polite" }),
  );
}

export async function startTraining(sessionId, recommendation) {
  state.sessionId = sessionId;
  $("train-model-name").textContent = recommendation.model_name ?? recommendation.model_id;
  clear($("generate-result"));
  let entry = {};
  try {
    ({ data: entry } = await getJson(`/models/${encodeURIComponent(recommendation.model_id)}`));
  } catch (error) {
    state.onError(error);
  }
  state.model = { ...entry, model_id: recommendation.model_id };
  const defaults = defaultsOf(entry);
  const fields = FIELDS.filter(([name, , , , optional]) => optional || defaults[name] !== undefined);
  clear($("train-fields")).append(...fields.map((f) => fieldRow(f, defaults[f[0]])));
  const suggested = recommendation.suggested_max_seq_length;
  if (suggested && $("train-max_seq_length-help")) {
    $("train-max_seq_length-help").append(` For your data the recommender suggests ${suggested}.`);
  }
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

function showFieldErrors(error) {
  for (const node of $("train-fields").querySelectorAll(".field-error")) node.textContent = "";
  for (const input of $("train-fields").querySelectorAll("input")) input.removeAttribute("aria-invalid");
  for (const field of asArray(error.fields)) {
    const name = String(field.field ?? "").split(".").pop();
    const input = $(`train-${name}`);
    if (!input) continue;
    input.setAttribute("aria-invalid", "true");
    $(`train-${name}-error`).textContent = field.message ?? "invalid value";
  }
}

const COLAB_STEPS = [
  "Download the notebook with the button above.",
  "Open colab.research.google.com and choose File → Upload notebook, then pick the downloaded file.",
  "Choose Runtime → Change runtime type → T4 GPU, then Runtime → Run all.",
];

function renderResult(result) {
  const links = [];
  if (result.download_url) {
    links.push(el("a", { class: "button primary", href: result.download_url, download: "", id: "download-link", text: "Download notebook (.ipynb)" }));
  }
  if (result.colab_url) {
    links.push(el("a", { class: "button", href: result.colab_url, target: "_blank", rel: "noopener noreferrer", id: "colab-link", text: "Open in Colab" }));
  }
  const steps = result.colab_url
    ? null
    : el("section", { class: "colab-steps" },
        el("h3", { text: "Open it in Colab" }),
        result.colab_instructions ? el("p", { text: result.colab_instructions }) : null,
        el("ol", {}, COLAB_STEPS.map((s) => el("li", { text: s }))));
  const size = result.size_bytes ?? result.notebook_size_bytes;
  clear($("generate-result")).append(
    el("h3", { text: "Your notebook is ready" }),
    size ? el("p", { class: "hint", text: `${formatBytes(size)}, with your data embedded.` }) : null,
    el("div", { class: "actions" }, links),
    steps,
  );
}

async function submit(event) {
  event.preventDefault();
  const button = $("generate-button");
  button.disabled = true;
  button.textContent = "Generating…";
  try {
    const { data } = await postJson("/generate", { session_id: state.sessionId, model_id: state.model.model_id, training_config: readConfig() });
    showFieldErrors(new ApiError({}));
    state.onClear();
    renderResult(data ?? {});
  } catch (error) {
    if (error instanceof ApiError) showFieldErrors(error);
    state.onError(error);
  } finally {
    button.disabled = false;
    button.textContent = "Generate notebook";
  }
}

export function initGenerate({ onError, onClear }) {
  state.onError = onError;
  state.onClear = onClear;
  $("train-form").addEventListener("submit", submit);
}
