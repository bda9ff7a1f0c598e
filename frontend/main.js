// Entry point: loads the page's config, wires the sections together, routes between a new upload, one
// dataset's analysis (#/dataset/<id>, which survives a reload) and the history. Every failure goes through
// showError, which says what happened and what to do next.
import { $, show } from "./js/dom.js";
import { configureApi, describeError, getJson } from "./js/api.js";
import { getToken, handleUnauthorized, initAuth, isSignedIn, onAuthChange, openSignIn } from "./js/auth.js";
import { chooseTemplate, initBrowse, setModels, startBrowse } from "./js/browse.js";
import { modelName, setCatalog } from "./js/catalog.js";
import { renderDashboard } from "./js/dashboard.js";
import { renderTrainingNote } from "./js/banners.js";
import { renderMapping } from "./js/mapping.js";
import { initGenerate, startTraining } from "./js/generate.js";
import { findJob, initHistory, showHistory } from "./js/history.js";
import { forgetLists } from "./js/records.js";
import { initRecommend, recommend, setChoice, startRecommend } from "./js/recommend.js";
import { datasetUrl, isNewAddress, parseRoute, setAddress } from "./js/router.js";
import { followAnalysis, initUpload, offerRestart, resetProgress, stopFollowing } from "./js/upload.js";
import { initGenerateData, showGenerateData } from "./js/generate_data.js";
// datasets out (issue 12): fix, download and push panels on the dashboard; import beside the upload
import { initDatasetsOut, renderDatasetsOut } from "./js/datasets_out.js";
import { initHubImport } from "./js/hub_import.js";
// training (issue 13): "Train here", the run page and the Models page
import { initTraining, leaveRun, showModels, showRun } from "./js/training.js";

const current = { sessionId: null, ready: false, applied: "", recs: [], choice: null, report: null };
// Names this tab gave a dataset (a generated one's "Generated inputs (12 rows)"); otherwise the heading uses the
// `filename` GET /analyze answers, so a reload or a shared address shows the file's name without local storage.
const givenNames = new Map();

function showError(error) {
  const { message, next } = describeError(error);
  $("notice-message").textContent = message;
  $("notice-next").textContent = next;
  show($("notice"), true);
  $("notice").scrollIntoView({ block: "nearest" });
}

function clearError() {
  show($("notice"), false);
}

// This browser's recent uploads (session id -> name), which the Generate data page offers as seed datasets.
// The heading does not read it: after a reload it shows the server's `filename`.
const RECENT_KEY = "slmgen.names";

function rememberName(sessionId, filename) {
  if (!filename) return;
  givenNames.set(sessionId, filename);
  try {
    const names = JSON.parse(localStorage.getItem(RECENT_KEY) ?? "{}");
    names[sessionId] = filename;
    const kept = Object.entries(names).slice(-50); // the most recent uploads only
    localStorage.setItem(RECENT_KEY, JSON.stringify(Object.fromEntries(kept)));
  } catch {
    // storage full or disabled: the Generate data page then offers the signed-in history only
  }
}

// Nothing of a previous dataset stays on screen once another one is asked for (or fails).
function hideDataset() {
  for (const id of ["dashboard", "recommend-section", "train-section", "skip-to-model"]) show($(id), false);
  current.sessionId = null;
  current.ready = false;
  current.applied = "";
  current.recs = [];
  current.report = null;
  delete document.body.dataset.sessionId;
  delete document.body.dataset.analysis;
}

async function showAnalysis(sessionId, given, { fresh }) {
  const analysis = await followAnalysis(sessionId, given);
  if (!analysis || current.sessionId !== sessionId) return false;
  const name = given ?? analysis.filename ?? "your dataset";
  let distribution = null;
  try {
    ({ data: distribution } = await getJson(`/preview/${encodeURIComponent(sessionId)}/distribution`));
  } catch {
    distribution = null; // the charts then use the report's own histogram
  }
  $("dataset-name").textContent = name;
  $("dataset-link").textContent = "This page's address reopens this analysis (for you, or for anyone if you uploaded it without signing in).";
  document.body.dataset.sessionId = sessionId; // for scripts and tests that follow up through the API
  forgetLists();
  show($("dashboard"), true);
  current.report = analysis.report ?? analysis;
  await renderDashboard(sessionId, analysis, distribution, showError);
  renderMapping(sessionId, current.report, { onReanalyse: reanalyse });
  renderDatasetsOut(sessionId, analysis.report ?? analysis, name);
  startRecommend(sessionId);
  show($("skip-to-model"), true);
  await startBrowse(sessionId, analysis.report ?? analysis);
  current.ready = true;
  document.body.dataset.analysis = "ready";
  if (fresh) {
    $("dashboard-heading").scrollIntoView({ block: "start" });
    $("dashboard-heading").focus({ preventScroll: true });
  }
  return true;
}

async function openDataset(sessionId, params, { fresh = false, name = null } = {}) {
  if (current.sessionId !== sessionId) {
    hideDataset();
    if (!fresh) clearError(); // an error about another dataset is not about this one
    current.sessionId = sessionId;
    if (!fresh) resetProgress({ uploading: false });
    const given = name ?? givenNames.get(sessionId) ?? null;
    try {
      if (!(await showAnalysis(sessionId, given, { fresh: fresh || !params.task }))) return;
    } catch (error) {
      if (current.sessionId !== sessionId) return;
      if (error.code === "analysis_cancelled") { // stopped: say so, and offer to start it again
        hideDataset();
        current.sessionId = sessionId;
        offerRestart(sessionId, given ?? "this dataset", reanalyse);
        return;
      }
      $("progress-status").textContent = `${given ?? error.data?.filename ?? "The dataset"} could not be analysed.`;
      hideDataset();
      showError(error);
      if (error.code === "session_not_found" && !isSignedIn()) {
        openSignIn("If this analysis is yours, sign in as its owner to open it.");
      }
      return;
    }
  }
  await applyStep(sessionId, params);
}

// Brings a ready analysis to the step its address names: a ranking (task, target), a chosen model.
async function applyStep(sessionId, params) {
  const key = JSON.stringify(params);
  if (!current.ready || current.applied === key) return;
  current.applied = key;
  if (params.task || params.target) {
    setChoice({ task: params.task, target: params.target, commercial: params.commercial === "1", noGated: params.no_gated === "1" });
    current.recs = (await recommend()) ?? [];
  }
  if (params.model && current.sessionId === sessionId) {
    const rec = current.recs.find((r) => r.model_id === params.model) ?? { model_id: params.model, model_name: modelName(params.model) };
    const job = params.job ? await findJob(sessionId, params.job) : null;
    const overrides = job?.training_config ?? (params.max_seq_length ? { max_seq_length: Number(params.max_seq_length) } : {});
    await chooseModel(rec, overrides, job, { focus: false });
  }
  if (current.sessionId === sessionId) recordStep(params); // ranking rewrote it without the model
}

function stepParams(extra = {}) {
  const choice = current.choice;
  const base = choice ? { task: choice.task, target: choice.target, commercial: choice.commercial, no_gated: choice.noGated } : {};
  return { ...base, ...extra };
}

async function chooseModel(rec, overrides, job = null, { focus = true } = {}) {
  show($("train-section"), true);
  await startTraining(current.sessionId, rec, { overrides, job });
  renderTrainingNote(current.report);
  chooseTemplate(rec.model_id);
  if (focus) {
    $("train-heading").scrollIntoView({ block: "start" });
    $("train-heading").focus({ preventScroll: true });
  }
}

// Puts the step reached in the address (no new history entry), as applyStep would read it back.
function recordStep(params) {
  const url = datasetUrl(current.sessionId, params);
  setAddress(url, { replace: true });
  current.applied = JSON.stringify(parseRoute(url).params);
}

// The same dataset analysed again (with a field / role mapping): its progress, then its new report.
async function reanalyse(sessionId) {
  hideDataset();
  resetProgress({ uploading: false });
  await openDataset(sessionId, {}, { fresh: true });
}

// A version a task makes (a fixed one, a Hub import) opens at its own address, as a fresh upload does.
async function openVersion(sessionId, name) {
  clearError();
  rememberName(sessionId, name);
  setAddress(datasetUrl(sessionId));
  await openDataset(sessionId, {}, { fresh: true, name });
}

function onRanked(choice) {
  current.choice = choice;
  recordStep(stepParams());
}

function onChoose(rec, overrides) {
  recordStep(stepParams({ model: rec.model_id, max_seq_length: overrides.max_seq_length }));
  chooseModel(rec, overrides).catch(showError);
}

function route({ force = false } = {}) {
  if (!isNewAddress() && !force) return;
  const where = parseRoute();
  if (where.view === "none") return; // an in-page anchor, not a place
  const isHistory = where.view === "history";
  const isGenerate = where.view === "generate"; // the "Generate data" page
  const isRun = where.view === "run"; // training (issue 13)
  const isModels = where.view === "models";
  show($("view-run"), isRun);
  show($("view-models"), isModels);
  $("nav-models").toggleAttribute("aria-current", isModels);
  if (!isRun) leaveRun();
  if (isRun || isModels) {
    show($("view-flow"), false);
    show($("view-history"), false);
    show($("view-generate"), false);
    for (const id of ["nav-flow", "nav-history", "nav-generate"]) $(id).removeAttribute("aria-current");
    (isRun ? showRun(where.taskId) : showModels()).catch(showError);
    return;
  }
  show($("view-flow"), !isHistory && !isGenerate);
  show($("view-history"), isHistory);
  show($("view-generate"), isGenerate);
  $("nav-flow").toggleAttribute("aria-current", !isHistory && !isGenerate);
  $("nav-history").toggleAttribute("aria-current", isHistory);
  $("nav-generate").toggleAttribute("aria-current", isGenerate);
  if (isGenerate) showGenerateData().catch(showError);
  else if (isHistory) showHistory();
  else if (where.view === "dataset") openDataset(where.sessionId, where.params).catch(showError);
  else {
    stopFollowing();
    hideDataset();
    show($("progress-block"), false);
  }
}

function wireSkipLinks() {
  // Skip links move the focus; they must not change the address (which names the page's place).
  for (const link of document.querySelectorAll(".skip-link")) {
    link.addEventListener("click", (event) => {
      event.preventDefault();
      const target = $(link.getAttribute("href").slice(1));
      target?.scrollIntoView({ block: "start" });
      target?.focus();
    });
  }
}

async function loadConfig() {
  try {
    const { data } = await getJson("/config");
    return data ?? {};
  } catch {
    return {}; // an older server without /config: development sign-in only
  }
}

async function loadModels() {
  try {
    const { data } = await getJson("/models");
    const models = Array.isArray(data) ? data : data?.models ?? [];
    setCatalog(models);
    setModels(models);
  } catch {
    // The template preview and model names are extras; the rest of the page works without the catalogue.
  }
}

async function start() {
  configureApi({ getToken, onUnauthorized: handleUnauthorized });
  $("notice-close").addEventListener("click", clearError);
  wireSkipLinks();
  const config = await loadConfig();
  initAuth(config);
  onAuthChange(() => {
    const where = parseRoute();
    if (where.view === "history") showHistory();
    if (where.view === "dataset" && !current.ready) route({ force: true }); // opened before signing in
  });
  initUpload(config, {
    onStart: () => {
      clearError();
      hideDataset();
      setAddress("#/", { replace: true });
    },
    onError: showError,
    onUploaded: async ({ sessionId, filename }) => {
      rememberName(sessionId, filename);
      setAddress(datasetUrl(sessionId));
      await openDataset(sessionId, {}, { fresh: true, name: filename });
    },
  });
  initBrowse(showError);
  initRecommend({ onError: showError, onClear: clearError, onChoose, onRanked });
  initGenerate({ onError: showError, onClear: clearError, limits: config.training_limits });
  initHistory({ onError: showError });
  initGenerateData({ onError: showError, onClear: clearError, remember: rememberName });
  initDatasetsOut({ onError: showError, openVersion });
  initHubImport({ openVersion });
  initTraining({ onError: showError });
  await loadModels();
  window.addEventListener("hashchange", () => route());
  window.addEventListener("popstate", () => route());
  route();
  document.body.dataset.ready = "true"; // lets tests (and scripts) know the page is wired up
}

start().catch(showError);
