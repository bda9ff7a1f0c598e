// Page addresses: #/ (a new upload), #/history, #/generate (synthetic data), and #/dataset/<session id>?task=…&target=…&model=…&job=…
// for one analysis and how far it went. Reloading or sharing the address opens the same place.

export function datasetUrl(sessionId, params = {}) {
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== "" && v !== false)
    .map(([k, v]) => [k, v === true ? "1" : String(v)]));
  const tail = query.toString();
  return `#/dataset/${encodeURIComponent(sessionId)}${tail ? `?${tail}` : ""}`;
}

// {view: "flow" | "history" | "generate" | "dataset" | "none", sessionId?, params?}; "none" is an in-page anchor.
export function parseRoute(hash = location.hash) {
  if (hash.startsWith("#/history")) return { view: "history" };
  if (hash.startsWith("#/generate")) return { view: "generate" }; // the "Generate data" page
  // training (issue 13): a run's page and the Models page
  const run = /^#\/run\/([^?]+)$/.exec(hash);
  if (run) return { view: "run", taskId: decodeURIComponent(run[1]) };
  if (hash.startsWith("#/models")) return { view: "models" };
  const match = /^#\/dataset\/([^?]+)(?:\?(.*))?$/.exec(hash);
  if (!match) return hash === "" || hash === "#" || hash.startsWith("#/") ? { view: "flow" } : { view: "none" };
  const params = Object.fromEntries(new URLSearchParams(match[2] ?? ""));
  return { view: "dataset", sessionId: decodeURIComponent(match[1]), params };
}

let routed = null; // the address last acted on

// Whether this address is new to the page: following a link fires both popstate and hashchange, and
// the page must act on it once (twice would, for one, redraw the history under the person's focus).
export function isNewAddress() {
  if (location.hash === routed) return false;
  routed = location.hash;
  return true;
}

// Records where the person is without reloading anything (a new history entry only for a new dataset).
export function setAddress(url, { replace = false } = {}) {
  routed = url;
  if (location.hash === url) return;
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
}
