// Datasets out on the dashboard: fix it (a new version), download it in each format, push it to the Hub.
// The dashboard calls renderDatasetsOut once an analysis is shown; each panel is its own module.
import { renderExports } from "./exports.js";
import { initFixes, renderFixes } from "./fixes.js";
import { renderPush } from "./hub_push.js";

export function initDatasetsOut({ onError, openVersion }) {
  initFixes({ onError, openVersion });
}

export function renderDatasetsOut(sessionId, report, name) {
  renderFixes(sessionId, report, name);
  renderExports(sessionId);
  renderPush(sessionId);
}
