// Upload with a progress bar, then follow the analysis: the engine's progress fraction as it comes,
// its running figures (records, examples, tokens, issues so far) and its latest step.
import { $, el, clear, show, formatBytes, formatNumber, formatPercent, humanize } from "./dom.js";
import { ApiError, getJson, requestJson, uploadFile } from "./api.js";
import { followTaskEvents } from "./task_events.js";

const POLL_FIRST_MS = 300;
const POLL_MAX_MS = 1500;
let currentRun = 0; // a newer upload or dataset makes older polling loops stop
let uploadRun = 0; // a newer upload makes an older one's answer be ignored
let limits = { maxBytes: null };

function setStatus(text) {
  $("progress-status").textContent = text;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function clientError(detail, code) {
  return new ApiError({ kind: "client", status: 400, code, detail });
}

function checkFile(file) {
  if (file.size === 0) {
    throw clientError(`"${file.name}" is empty (0 bytes).`, "empty_file");
  }
  if (limits.maxBytes && file.size > limits.maxBytes) {
    throw new ApiError({
      kind: "client", status: 413, code: "payload_too_large",
      detail: `"${file.name}" is ${formatBytes(file.size)}, over this server's upload limit of ${formatBytes(limits.maxBytes)}.`,
    });
  }
}

// A bar with no value is "working, amount unknown": honest while queued or before the first chunk is done,
// where a bar stuck at 0% looks broken and then jumps.
function setBar(bar, fraction) {
  if (typeof fraction === "number" && fraction > 0) bar.value = Math.min(1, fraction);
  else bar.removeAttribute("value");
}

const PARTIAL_FIGURES = [
  ["chunks", "Parts of the file done"],
  ["records", "Records read"],
  ["examples", "Usable examples"],
  ["tokens", "Tokens"],
  ["assistant_tokens", "Assistant tokens"],
  ["unusable", "Records that cannot be used"],
];

function renderPartial(partial) {
  const box = $("partial-figures");
  if (!partial || typeof partial !== "object") {
    show(box, false);
    show($("partial-label"), false);
    return;
  }
  const rows = PARTIAL_FIGURES.filter(([key]) => typeof partial[key] === "number")
    .flatMap(([key, label]) => [el("dt", { text: label }), el("dd", { dataset: { figure: key }, text: formatNumber(partial[key]) })]);
  const issues = Object.entries(partial.issues ?? {}).filter(([, count]) => Number(count) > 0);
  if (issues.length) {
    rows.push(el("dt", { text: "Issues so far" }),
      el("dd", { dataset: { figure: "issues" }, text: issues.map(([code, count]) => `${humanize(code)}: ${formatNumber(Number(count))}`).join(" · ") }));
  }
  clear(box).append(...rows);
  show(box, rows.length > 0);
  show($("partial-label"), rows.length > 0);
}

function describeProgress(name, data) {
  const steps = Array.isArray(data?.detailed_status) ? data.detailed_status : [];
  const step = steps.length ? steps[steps.length - 1] : "";
  const fraction = Number(data?.progress ?? 0);
  if (data?.status === "cancelling") return `Stopping the analysis of ${name}…`;
  if (data?.status === "queued") return `${name}: waiting for a worker…${step ? ` ${step}` : ""}`;
  // datasets out: a version a task is still making (GET /analyze answers for it before it has a row)
  if (data?.status === "importing") return `Importing ${name} from the Hub…${step ? ` (${step})` : ""}`;
  if (data?.status === "fixing") return `Making ${name}…${step ? ` (${step})` : ""}`;
  const parts = data?.parts ? `, ${formatNumber(data.parts.done)} of ${formatNumber(data.parts.total)} parts` : "";
  const done = fraction > 0 ? ` ${formatPercent(fraction)} done${parts}` : "";
  return `Analysing ${name}…${done}${step ? ` (${step})` : ""}`;
}

export function resetProgress({ uploading }) {
  show($("progress-block"), true);
  show($("upload-progress"), uploading);
  show($("upload-progress-label"), uploading);
  $("upload-progress").value = 0;
  setBar($("analysis-progress"), 0);
  renderPartial(null);
  showStop(null);
  show($("analysis-restart"), false);
}

let streamStop = null; // closes the events stream of the analysis being followed

export function stopFollowing() {
  currentRun += 1;
  streamStop?.abort();
  streamStop = null;
}

// --- the Stop button: DELETE /tasks/{id}; the analysis then ends CANCELLED and the page says how to restart ---
let stopTask = null;

function showStop(taskId) {
  stopTask = taskId;
  show($("analysis-stop"), Boolean(taskId));
}

async function stopAnalysis() {
  if (!stopTask) return;
  const button = $("analysis-stop");
  button.setAttribute("aria-disabled", "true");
  try {
    await requestJson("DELETE", `/tasks/${encodeURIComponent(stopTask)}`);
    setStatus("Stopping the analysis…");
  } catch (error) {
    if (error.status !== 409) throw error; // 409: it had just finished; its report follows
  } finally {
    button.removeAttribute("aria-disabled");
  }
}

// After a stop: says so, and offers to start it again (POST /analyze/{id}), which onRestart follows.
export function offerRestart(sessionId, name, onRestart) {
  showStop(null);
  setBar($("analysis-progress"), 0);
  renderPartial(null);
  setStatus(`The analysis of ${name} was stopped before it finished. Press “Analyse again” to start it from the beginning.`);
  const button = $("analysis-restart");
  show(button, true);
  button.onclick = async () => {
    show(button, false);
    await requestJson("POST", `/analyze/${encodeURIComponent(sessionId)}`, { body: {} });
    await onRestart(sessionId);
  };
}

const TASK_STATUS = { QUEUED: "queued", RUNNING: "analyzing", CANCELLING: "cancelling" };

function showView(name, view) {
  setBar($("analysis-progress"), Number(view.progress ?? 0));
  renderPartial(view.partial);
  setStatus(describeProgress(name, view));
}

// Follows one task's events into `view` (the same shape as a 202 body); true when the task ended.
async function followEvents(view, name, run) {
  document.body.dataset.progressSource = "events";
  streamStop = new AbortController();
  const ended = await followTaskEvents(view.task_id, (kind, data) => {
    if (kind === "progress" && typeof data.fraction === "number") view.progress = Math.min(0.99, data.fraction);
    else if (kind === "progress" && data.total) view.progress = Math.min(0.99, data.done / data.total);
    else if (kind === "partial") view.partial = { ...data, task_id: undefined, attempt: undefined, at: undefined };
    else if (kind === "status" && Array.isArray(data.detailed_status)) view.detailed_status = data.detailed_status;
    else if (kind === "state" && TASK_STATUS[data.state] && view.status !== "fixing" && view.status !== "importing") view.status = TASK_STATUS[data.state];
    else return;
    if (kind === "progress" && typeof data.done === "number" && data.total) view.parts = { done: data.done, total: data.total };
    showView(name, view);
  }, { isCurrent: () => run === currentRun, signal: streamStop.signal });
  if (!ended && run === currentRun) document.body.dataset.progressSource = "polling";
  return ended;
}

// Follows GET /analyze/{id} until the report is ready; null when a newer upload or dataset took over. While
// a task runs, its events (SSE) move the bar and the running figures as each part ends; when they cannot be
// read, polling does. `given` is a name the page already has; otherwise the server's `filename` names the file.
export async function followAnalysis(sessionId, given) {
  stopFollowing();
  const run = currentRun;
  let delay = POLL_FIRST_MS;
  const streamed = new Set(); // tasks whose events were followed (once each)
  for (;;) {
    const { status, data } = await getJson(`/analyze/${encodeURIComponent(sessionId)}`);
    if (run !== currentRun) return null;
    const name = given ?? data?.filename ?? "your dataset";
    if (status === 200 && data?.status !== "failed") {
      $("analysis-progress").value = 1;
      renderPartial(null);
      showStop(null);
      setStatus(`Analysis of ${name} is ready.`);
      return data;
    }
    if (data?.status === "failed") {
      throw new ApiError({ status: 422, code: data.error ?? "analysis_failed", detail: data.detail ?? "The analysis failed.", data });
    }
    const view = { ...data };
    showView(name, view);
    // a stop is for the analysis; a version still being made (fixing, importing) is stopped in its own panel
    showStop(view.task_id && !["fixing", "importing", "cancelling"].includes(view.status) ? view.task_id : null);
    if (view.task_id && !streamed.has(view.task_id) && typeof ReadableStream !== "undefined") {
      streamed.add(view.task_id);
      if (await followEvents(view, name, run)) continue; // ended: GET /analyze now answers its outcome
      if (run !== currentRun) return null;
    }
    await sleep(delay);
    delay = Math.min(POLL_MAX_MS, delay * 1.5);
  }
}

async function handleFile(file, { onError, onStart, onUploaded }) {
  stopFollowing();
  const run = ++uploadRun;
  onStart();
  resetProgress({ uploading: true });
  try {
    checkFile(file);
    setStatus(`Uploading ${file.name} (${formatBytes(file.size)})…`);
    const uploaded = await uploadFile(file, (share) => {
      $("upload-progress").value = share;
      setStatus(`Uploading ${file.name}… ${formatPercent(share)}`);
    });
    if (run !== uploadRun) return;
    $("upload-progress").value = 1;
    setStatus("Upload complete; analysing…");
    await onUploaded({ sessionId: uploaded.session_id, filename: uploaded.filename ?? file.name });
  } catch (error) {
    if (run !== uploadRun) return;
    setBar($("analysis-progress"), 0);
    setStatus(`${file.name} could not be analysed.`);
    onError(error);
  }
}

export function initUpload(config, handlers) {
  const maxBytes = Number(config.max_upload_bytes);
  limits = { maxBytes: Number.isFinite(maxBytes) && maxBytes > 0 ? maxBytes : null };
  if (limits.maxBytes) $("upload-limit").textContent = `Up to ${formatBytes(limits.maxBytes)}.`;
  $("analysis-stop").addEventListener("click", () => stopAnalysis().catch(handlers.onError));
  const input = $("file-input");
  $("choose-file").addEventListener("click", () => input.click());
  input.addEventListener("change", () => {
    if (input.files?.length) handleFile(input.files[0], handlers);
    input.value = "";
  });
  const zone = $("dropzone");
  for (const type of ["dragenter", "dragover"]) {
    zone.addEventListener(type, (event) => {
      event.preventDefault();
      zone.classList.add("dragging");
    });
  }
  for (const type of ["dragleave", "drop"]) zone.addEventListener(type, () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    const file = event.dataTransfer?.files?.[0];
    if (file) handleFile(file, handlers);
  });
  // A file dropped outside the zone would make the browser navigate away from the page.
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => event.preventDefault());
}
