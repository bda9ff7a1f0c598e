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

export function authHeaders() {
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
  // A provider's key or a Hub token refused is not the person's session: they stay signed in.
  if (status === 401 && usedToken && !NOT_ABOUT_SIGN_IN.has(error.code) && !isHubError(error)) {
    hooks.onUnauthorized(error);
  }
  return error;
}

// GET with the sign-in header; a failed answer becomes an ApiError, a good one is returned to be read.
async function signedGet(path, query) {
  const url = query ? `${path}?${new URLSearchParams(query)}` : path;
  const headers = authHeaders();
  let response;
  try {
    response = await fetch(url, { headers });
  } catch (cause) {
    throw new ApiError({ kind: "network", detail: String(cause?.message ?? cause) });
  }
  if (!response.ok) throw errorFrom(response.status, parseBody(await response.text()), Boolean(headers.Authorization));
  return response;
}

// --- generation (issue 11): 401s about a provider's or the Hub's key, not the sign-in; text answers; advice ---
const NOT_ABOUT_SIGN_IN = new Set(["provider_key_missing", "provider_key_invalid", "provider_key_rejected",
  "hub_token_missing", "hub_token_invalid"]);

export async function getText(path, query) {
  return (await signedGet(path, query)).text();
}

export function addAdvice(codes) {
  Object.assign(ADVICE_BY_CODE, codes);
}
// --- end generation ---

export async function requestJson(method, path, { body, query, headers: extra = {} } = {}) {
  const url = query ? `${path}?${new URLSearchParams(query)}` : path;
  const headers = { Accept: "application/json", ...authHeaders(), ...extra };
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
export const postJson = (path, body, headers) => requestJson("POST", path, { body, headers });

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

// What to do next, per error code: each failure gets its own advice, never a generic line.
const ADVICE_BY_CODE = {
  empty_file: "Choose the file that holds your examples: this one has no content (an export that did not finish?).",
  missing_file: "Choose a file first, then upload it.",
  not_a_dataset: "Upload the dataset itself: a JSONL, JSON, CSV or Parquet file of chat examples.",
  unsupported_encoding: "Save the file as UTF-8 (or UTF-16 with a byte-order mark) and upload it again.",
  payload_too_large: "Upload a smaller file: split it, or remove records you do not need.",
  decompressed_too_large: "The file unpacks past this server's limit: upload an uncompressed part of it, or fewer records.",
  not_multipart: "Upload the file again from this page: the request did not carry a file.",
  malformed_upload: "Upload the file again: it arrived incomplete or damaged.",
  expired: "Upload the file again to start a new session; sign in to keep your datasets.",
  session_not_found: "Upload the file again. If this analysis is yours and you were signed in, sign in again as its owner.",
  upload_missing: "Upload the file again: the server no longer has the original.",
  store_not_found: "Run the analysis again: upload the file once more.",
  not_ready: "Wait for the analysis to finish, then try again.",
  analysis_not_ready: "Wait for the analysis to finish, then try again.",
  analysis_running: "Wait for the running analysis to finish (the progress bar above), then try again.",
  analysis_queue_full: "The server is busy with other analyses: try again in a minute.",
  analysis_crashed: "Upload the file again; if it keeps happening the file may be too large for this server.",
  analysis_failed: "Upload the file again; if it keeps failing, the server log says why.",
  storage_unavailable: "Try again later: the server could not write its files (ask whoever runs it).",
  rate_limited: "Wait a little, then try again.",
  unknown_tokenizer: "Leave the tokenizer at the server's default, or choose one the server knows.",
  tokenizer_unavailable: "Leave the tokenizer at the server's default, or choose one the server knows.",
  empty_dataset: "Fix the issues listed in the analysis so that some examples are usable, then upload again.",
  no_trainable_examples: "Each example needs an assistant reply to learn from: fix the listed issues and upload again.",
  dataset_too_large_to_embed: "Split the dataset, or generate the notebook through the API with a URL or Hub data source.",
  model_not_found: "Choose one of the recommended models.",
  job_not_found: "Open the history again: this job was deleted (perhaps in another tab).",
  notebook_not_found: "Generate the notebook again from its dataset.",
  link_expired: "Generate the notebook again, or sign in as its owner to download it.",
  gist_failed: "Download the notebook and open it in Colab yourself (the steps are below).",
  github_token_rejected: "Download the notebook and open it in Colab yourself; the server's GitHub token needs renewing.",
  record_unusable: "Look at the records that could not be used, under Issues, for what to fix in the file.",
  record_out_of_range: "Enter a record number from 0 up to the last record of the file.",
  record_filtered_out: "Clear the filters, then go to the record again.",
  route_missing: "Update the server: this page needs a newer version of it.",
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
  if (error.status === 401 && !isHubError(error)) {
    return { message: `Your session has expired or is not valid: ${error.detail}`, next: "Sign in again to continue." };
  }
  if (advice) return { message: error.detail, next: advice };
  if (error.status === 404) return { message: error.detail, next: "Upload the file again: anonymous uploads are kept for a limited time." };
  if (error.status === 413) return { message: error.detail, next: ADVICE_BY_CODE.payload_too_large };
  if (error.status >= 500) {
    return { message: error.detail, next: "Try again in a moment; if it keeps failing, the server log says why." };
  }
  if (error.fields.length) return { message: error.detail, next: "Correct the marked fields, then try again." };
  return { message: error.detail, next: "Try again; if it keeps failing, reload the page." };
}

// --- datasets out (issue 12): Hub errors are about the Hub token or repo, not the sign-in; advice per code ---
function isHubError(error) {
  return String(error.code ?? "").startsWith("hub_");
}

Object.assign(ADVICE_BY_CODE, {
  hub_token_missing: "Paste a Hugging Face access token with write access (huggingface.co → Settings → Access Tokens).",
  hub_token_invalid: "Create a new access token in your Hugging Face settings and paste it again.",
  hub_token_required: "Check the repo id; if the dataset is private or gated, paste a token of an account that can read it.",
  hub_forbidden: "Use a token with write access to the repo's owner (your user or an organization you write to).",
  hub_gated: "Accept the dataset's conditions on its Hub page with your account, then use that account's token.",
  hub_repo_not_found: "Check the repo id (owner/name) and that the token's account can see it.",
  hub_revision_not_found: "Check the branch, tag or commit, or leave the revision empty for the main branch.",
  hub_repo_is_public: "Untick “Private”, or make the repo private on the Hub first.",
  hub_repo_other_type: "Choose another repo name: this one is a model or a Space.",
  hub_repo_changed: "Someone changed the repo meanwhile: run it again.",
  hub_repo_not_appendable: "Push to this repo first (with splits), then add rows to it.",
  hub_schema_mismatch: "Push these examples to a new repo instead: the existing one cannot hold all of their fields.",
  hub_quota_exceeded: "Free space on your Hub account, or push a smaller dataset.",
  hub_rate_limited: "Wait a minute, then try again.",
  hub_unreachable: "Try again in a few minutes: the Hub could not be reached.",
  hub_unavailable: "Try again in a few minutes: the Hub failed while answering.",
  hub_dataset_unreadable: "Check the split and config names (the message lists the ones the repo has).",
  hub_dataset_too_large: "Import one split or config of it, or a smaller dataset.",
  hub_import_cancelled: "Import it again.",
  fix_cancelled: "Make the fixed version again.",
  format_cannot_carry: "Choose canonical or OpenAI messages: they carry every example.",
  unusable_records_need_dropping: "Tick “records that could not be read” too, or fix those records in the file.",
  nothing_to_push: "Fix the listed issues so that some examples are usable, then push again.",
});

// --- trust (issue 15): what the analysis's own refusals ask of the person ---
Object.assign(ADVICE_BY_CODE, {
  preference_data: "Train it with DPO or KTO (see “Preference data” above the analysis), or keep only the good answers as plain chat records and upload that file.",
  analysis_cancelled: "Open the dataset's address and press “Analyse again” to start the analysis from the beginning.",
  mapping_invalid: "Name keys that the records have (the mapping step lists them) and roles among system, user, assistant and tool.",
});

// A file from the API (an export) with the sign-in header: its bytes and the name the server gives it.
export async function fetchFile(path, query) {
  const response = await signedGet(path, query);
  const named = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") ?? "");
  return { blob: await response.blob(), filename: named ? named[1] : "dataset.jsonl" };
}
