// Talking to the SLMGen API: one error type, friendly descriptions, upload progress.

export class ApiError extends Error {
  constructor({ status = 0, code = "", detail = "", fields = [], kind = "http", data = null }) {
    super(detail || `Request failed (${status})`);
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.fields = Array.isArray(fields) ? fields : [];
    this.kind = kind; // "http" | "network" | "client"
    this.data = data;
  }
}

const hooks = { getToken: () => null, onUnauthorized: () => {} };

export function configureApi({ getToken, onUnauthorized }) {
  if (getToken) hooks.getToken = getToken;
  if (onUnauthorized) hooks.onUnauthorized = onUnauthorized;
}

function authHeaders() {
  const token = hooks.getToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

function parseBody(text) {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return { detail: text.slice(0, 300) };
  }
}

function errorFrom(status, data, usedToken) {
  const body = data && typeof data === "object" ? data : {};
  const detail = typeof body.detail === "string" ? body.detail : `The server answered ${status}.`;
  const error = new ApiError({ status, code: body.error ?? "", detail, fields: body.fields, data: body });
  if (status === 401 && usedToken) hooks.onUnauthorized(error);
  return error;
}

export async function requestJson(method, path, { body, query } = {}) {
  const url = query ? `${path}?${new URLSearchParams(query)}` : path;
  const headers = { Accept: "application/json", ...authHeaders() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (cause) {
    throw new ApiError({ kind: "network", detail: String(cause?.message ?? cause) });
  }
  const data = parseBody(await response.text());
  if (!response.ok) throw errorFrom(response.status, data, Boolean(headers.Authorization));
  return { status: response.status, data };
}

export const getJson = (path, query) => requestJson("GET", path, { query });
export const postJson = (path, body) => requestJson("POST", path, { body });

// XMLHttpRequest rather than fetch: fetch cannot report upload progress.
export function uploadFile(file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const headers = authHeaders();
    xhr.open("POST", "/upload");
    xhr.setRequestHeader("Accept", "application/json");
    if (headers.Authorization) xhr.setRequestHeader("Authorization", headers.Authorization);
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener("load", () => {
      const data = parseBody(xhr.responseText);
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else reject(errorFrom(xhr.status, data, Boolean(headers.Authorization)));
    });
    xhr.addEventListener("error", () => reject(new ApiError({ kind: "network", detail: "upload failed" })));
    const form = new FormData();
    form.append("file", file, file.name);
    xhr.send(form);
  });
}

const ADVICE_BY_CODE = {
  not_a_dataset: "Upload the dataset itself: a JSONL, JSON, CSV or Parquet file of chat examples.",
  unsupported_encoding: "Save the file as UTF-8 (or UTF-16 with a byte-order mark) and upload it again.",
  payload_too_large: "Upload a smaller file: split it, or remove records you do not need.",
  expired: "Upload the file again to start a new session.",
  not_ready: "Wait for the analysis to finish, then try again.",
  rate_limited: "Wait a little, then try again.",
};

// Turns any error into {message, next}: what happened, and what the person can do about it.
export function describeError(error) {
  if (!(error instanceof ApiError)) {
    return { message: `Something went wrong in the page: ${error?.message ?? error}`, next: "Reload the page and try again." };
  }
  if (error.kind === "network") {
    return {
      message: "Could not reach the SLMGen server (network error).",
      next: "Check your connection and that the server is running, then try again.",
    };
  }
  const advice = error.data?.advice || ADVICE_BY_CODE[error.code];
  if (error.status === 401) {
    return { message: `Your session has expired or is not valid: ${error.detail}`, next: "Sign in again to continue." };
  }
  if (error.status === 404) {
    return { message: error.detail, next: advice || "Upload the file again: anonymous uploads are kept for a limited time." };
  }
  if (error.status === 413) return { message: error.detail, next: advice || ADVICE_BY_CODE.payload_too_large };
  if (error.status >= 500) {
    return { message: error.detail, next: "Try again in a moment; if it keeps failing, the server log says why." };
  }
  return { message: error.detail, next: advice || "Check the values you entered and try again." };
}
