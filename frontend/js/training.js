// Training in the page (issue 13): "Train here" beside the notebook download, the run page (#/run/<task id>)
// with a live loss chart, stop and downloads, and the Models page (#/models, the registry).
// The loss curve is the run's metrics history (GET /tasks/{id}/metrics: the metrics events it recorded), read
// again every second while the run goes on (an EventSource cannot send the sign-in header).
import { $, el, clear, svg, formatBytes, formatDate, formatNumber, whileBusy } from "./dom.js";
import { fetchFile, getJson, postJson, requestJson } from "./api.js";
import { isSignedIn, openSignIn } from "./auth.js";

const FINAL = new Set(["DONE", "ERROR", "CANCELLED"]);
const POLL_MS = 1000;
const STATE_WORDS = { QUEUED: "Waiting for a worker", RUNNING: "Training", CANCELLING: "Stopping at the end of this step",
  DONE: "Finished", ERROR: "Failed", CANCELLED: "Stopped" };
const DOWNLOAD_WORDS = { adapter: "LoRA adapter (.zip)", merged: "Merged model (.zip)", model: "Model (.zip)",
  checkpoint: "Last checkpoint (.zip)", results: "Results (.json)" };
const ctx = { onError: () => {}, shown: null };

export function initTraining({ onError }) {
  ctx.onError = onError;
}

// The button beside the notebook download: trains the same model on the same data and settings here.
export function trainHereButton(sessionId, modelId, readConfig) {
  const button = el("button", { type: "button", class: "button", id: "train-here", text: "Train here" });
  button.addEventListener("click", () => whileBusy(button, async () => {
    if (!isSignedIn()) {
      openSignIn("Sign in to train here: a run and its model belong to you.");
      return;
    }
    try {
      const { data } = await postJson("/training/runs", { session_id: sessionId, model: modelId, training_config: readConfig() });
      location.hash = `#/run/${encodeURIComponent(data.task_id)}`;
    } catch (error) {
      ctx.onError(error);
    }
  }));
  return button;
}

// --- the run page -------------------------------------------------------------------------------------------

export async function showRun(taskId) {
  const view = $("view-run");
  const token = {};
  ctx.shown = token;
  const status = el("p", { class: "status", id: "run-status", role: "status" });
  const figures = el("dl", { class: "run-figures", id: "run-figures" });
  const chart = el("figure", { class: "loss-chart", id: "loss-chart" });
  const stop = el("button", { type: "button", id: "run-stop", text: "Stop training" });
  const downloads = el("div", { class: "actions", id: "run-downloads" });
  const heading = el("h1", { id: "run-heading", tabindex: "-1", text: "Training run" });
  clear(view).append(heading, status, figures, chart, el("div", { class: "actions" }, stop), el("h2", { text: "Downloads" }), downloads);
  heading.focus({ preventScroll: true });
  stop.addEventListener("click", () => whileBusy(stop, async () => {
    try {
      await requestJson("DELETE", `/tasks/${encodeURIComponent(taskId)}`);
      status.textContent = "Stopping at the end of the current step; a checkpoint is saved.";
    } catch (error) {
      ctx.onError(error);
    }
  }));
  let shownDownloads = "";
  while (ctx.shown === token) {
    let run, history;
    try {
      ({ data: run } = await getJson(`/training/runs/${encodeURIComponent(taskId)}`));
      ({ data: { history } } = await getJson(`/tasks/${encodeURIComponent(taskId)}/metrics`));
    } catch (error) {
      if (ctx.shown === token) ctx.onError(error);
      return;
    }
    if (ctx.shown !== token) return;
    const task = run.run ?? {};
    heading.textContent = `Training ${run.model?.user_name ?? run.base_model ?? "a model"}`;
    const steps = Array.isArray(task.detailed_status) ? task.detailed_status : [];
    const error = task.error ? ` ${task.error.message}` : "";
    status.textContent = `${STATE_WORDS[task.state] ?? task.state}.${error}`;
    view.dataset.state = task.state;
    renderFigures(figures, task, steps);
    drawLoss(chart, history ?? []);
    stop.hidden = FINAL.has(task.state);
    const key = JSON.stringify(run.downloads);
    if (key !== shownDownloads) {
      shownDownloads = key;
      renderDownloads(downloads, run.downloads ?? []);
    }
    if (FINAL.has(task.state)) return;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

export function leaveRun() {
  ctx.shown = null;
}

function renderFigures(figures, task, steps) {
  const metrics = task.metrics ?? {};
  const rows = [
    ["Step", metrics.step !== undefined ? `${formatNumber(metrics.step)}${metrics.max_steps ? ` of ${formatNumber(metrics.max_steps)}` : ""}` : "–"],
    ["Training loss", formatNumber(metrics.loss, 4)],
    ["Evaluation loss", formatNumber(metrics.eval_loss, 4)],
    ["Learning rate", metrics.learning_rate !== undefined ? metrics.learning_rate.toExponential(2) : "–"],
    ["Tokens per second", formatNumber(metrics.tokens_per_second, 1)],
    ["Time left", metrics.eta_seconds !== undefined && !FINAL.has(task.state) ? `${formatNumber(metrics.eta_seconds)} s` : "–"],
    ["Latest step", steps.length ? steps[steps.length - 1] : "–"],
  ];
  clear(figures).append(...rows.flatMap(([name, value]) => [el("dt", { text: name }), el("dd", { text: value })]));
}

// The loss per step as a line (and evaluation losses as dots), in SVG drawn by the page.
function drawLoss(figure, history) {
  const train = history.filter((p) => Number.isFinite(p.loss)).map((p) => [p.step, p.loss]);
  const evals = history.filter((p) => Number.isFinite(p.eval_loss)).map((p) => [p.step, p.eval_loss]);
  const all = [...train, ...evals];
  const caption = el("figcaption", { text: train.length ? `Training loss over ${train.length} logged steps` : "The loss appears after the first step." });
  if (!all.length) {
    clear(figure).append(caption);
    return;
  }
  const [w, h, pad] = [600, 220, 36];
  const maxStep = Math.max(1, ...all.map(([s]) => s));
  const minStep = Math.min(maxStep, ...all.map(([s]) => s));
  const lo = Math.min(...all.map(([, v]) => v));
  const hi = Math.max(...all.map(([, v]) => v));
  const span = hi - lo || 1;
  const x = (s) => pad + ((w - 2 * pad) * (s - minStep)) / (maxStep - minStep || 1);
  const y = (v) => h - pad - ((h - 2 * pad) * (v - lo)) / span;
  const path = train.map(([s, v], i) => `${i ? "L" : "M"}${x(s).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
  const chart = svg("svg", { viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": `Loss from ${lo.toFixed(3)} to ${hi.toFixed(3)} over ${maxStep} steps` },
    svg("line", { x1: pad, y1: h - pad, x2: w - pad, y2: h - pad, class: "axis" }),
    svg("line", { x1: pad, y1: pad, x2: pad, y2: h - pad, class: "axis" }),
    svg("text", { x: pad, y: pad - 8, class: "tick" }, hi.toFixed(3)),
    svg("text", { x: pad, y: h - 8, class: "tick" }, lo.toFixed(3)),
    svg("text", { x: pad + 60, y: h - 8, class: "tick" }, `step ${minStep}`),
    svg("text", { x: w - pad, y: h - 8, class: "tick", "text-anchor": "end" }, `step ${maxStep}`),
    train.length ? svg("path", { d: path, class: "loss-line", id: "loss-line", "data-points": train.length }) : null,
    ...evals.map(([s, v]) => svg("circle", { cx: x(s), cy: y(v), r: 4, class: "eval-point" })));
  clear(figure).append(chart, caption);
}

function renderDownloads(container, downloads) {
  if (!downloads.length) {
    clear(container).append(el("p", { class: "hint", text: "Files appear here as the run saves them." }));
    return;
  }
  clear(container).append(...downloads.map((d) => {
    const button = el("button", { type: "button", class: "button", dataset: { download: d.name }, text: `${DOWNLOAD_WORDS[d.name] ?? d.name}, ${formatBytes(d.bytes)}` });
    button.addEventListener("click", () => whileBusy(button, async () => {
      try {
        const { blob, filename } = await fetchFile(d.url);
        save(blob, filename);
      } catch (error) {
        ctx.onError(error);
      }
    }));
    return button;
  }));
}

function save(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// --- the Models page -----------------------------------------------------------------------------------------

export async function showModels() {
  leaveRun();
  const view = $("view-models");
  const status = el("p", { class: "status", id: "models-status", role: "status" });
  const list = el("ul", { class: "model-list", id: "model-list" });
  const heading = el("h1", { id: "models-heading", tabindex: "-1", text: "Your models" });
  clear(view).append(heading, status, list);
  if (!isSignedIn()) {
    status.textContent = "Sign in to see your models.";
    return;
  }
  try {
    const { data } = await getJson("/v0/models");
    const models = data?.models ?? [];
    status.textContent = models.length ? `${models.length} model${models.length === 1 ? "" : "s"}.` : "No models yet: train one with “Train here”.";
    list.append(...models.map((m) => modelItem(m, status)));
  } catch (error) {
    ctx.onError(error);
  }
}

function modelItem(model, status) {
  const facts = [model.model_type, model.status, model.base_model, `updated ${formatDate(model.last_updated_time.replace(" ", "T") + "Z")}`].filter(Boolean);
  const remove = el("button", { type: "button", text: "Delete" });
  const item = el("li", { class: "model-item", dataset: { model: model.model_name, status: model.status } },
    el("h2", { text: model.user_name }),
    el("p", { class: "hint", text: facts.join(" · ") }),
    model.status_detail ? el("p", { class: "hint", text: model.status_detail }) : null,
    el("div", { class: "actions" },
      model.lineage?.training_task_id ? el("a", { class: "button", href: `#/run/${encodeURIComponent(model.lineage.training_task_id)}`, text: "Open its run" }) : null,
      remove));
  remove.addEventListener("click", () => whileBusy(remove, async () => {
    if (remove.dataset.confirm !== "1") {
      remove.dataset.confirm = "1";
      remove.textContent = "Press again to delete it and its files";
      return;
    }
    try {
      await requestJson("DELETE", `/v0/models/${encodeURIComponent(model.model_name)}/delete`);
      const next = item.nextElementSibling?.querySelector("button, a");
      item.remove();
      status.textContent = `Deleted ${model.user_name}.`;
      next?.focus();
    } catch (error) {
      ctx.onError(error);
    }
  }));
  return item;
}
