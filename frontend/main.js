// Entry point: loads the page's config, wires the sections together, routes between the flow and
// the history. Every failure goes through showError, which says what happened and what to do next.
import { $, show } from "./js/dom.js";
import { configureApi, describeError, getJson } from "./js/api.js";
import { getToken, handleUnauthorized, initAuth, onAuthChange } from "./js/auth.js";
import { renderDashboard } from "./js/dashboard.js";
import { initGenerate, startTraining } from "./js/generate.js";
import { initHistory, showHistory } from "./js/history.js";
import { chooseTemplate, initPreview, setModels, startPreview } from "./js/preview.js";
import { initRecommend, startRecommend } from "./js/recommend.js";
import { initUpload } from "./js/upload.js";

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
    setModels(models);
  } catch {
    // The template preview is optional; the rest of the page works without the catalogue.
  }
}

async function onAnalysis({ sessionId, filename, analysis }) {
  $("dataset-name").textContent = filename;
  document.body.dataset.sessionId = sessionId; // for scripts and tests that follow up through the API
  const report = renderDashboard(analysis);
  show($("dashboard"), true);
  show($("recommend-section"), true);
  show($("train-section"), false);
  startRecommend(sessionId);
  const total = Number(analysis.total_examples ?? report.total_examples ?? 0);
  await startPreview(sessionId, total);
  $("dashboard-heading").scrollIntoView({ block: "start" });
}

async function onChoose(sessionId, recommendation) {
  show($("train-section"), true);
  await startTraining(sessionId, recommendation);
  chooseTemplate(recommendation.model_id);
  $("train-heading").scrollIntoView({ block: "start" });
  $("train-heading").focus?.();
}

function route() {
  const isHistory = location.hash.startsWith("#/history");
  show($("view-flow"), !isHistory);
  show($("view-history"), isHistory);
  $("nav-flow").toggleAttribute("aria-current", !isHistory);
  $("nav-history").toggleAttribute("aria-current", isHistory);
  if (isHistory) showHistory();
}

async function start() {
  configureApi({ getToken, onUnauthorized: handleUnauthorized });
  $("notice-close").addEventListener("click", clearError);
  const config = await loadConfig();
  initAuth(config);
  onAuthChange(() => {
    if (location.hash.startsWith("#/history")) showHistory();
  });
  let sessionId = null;
  initUpload(config, {
    onStart: clearError,
    onError: showError,
    onAnalysis: async (result) => {
      sessionId = result.sessionId;
      await onAnalysis(result);
    },
  });
  initPreview(showError);
  initRecommend({ onError: showError, onClear: clearError, onChoose: (rec) => onChoose(sessionId, rec) });
  initGenerate({ onError: showError, onClear: clearError });
  initHistory({ onError: showError });
  window.addEventListener("hashchange", route);
  route();
  await loadModels();
  document.body.dataset.ready = "true"; // lets tests (and scripts) know the page is wired up
}

start().catch(showError);
