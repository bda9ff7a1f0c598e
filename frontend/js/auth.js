// Signing in: a Supabase email + password login when the server has Supabase configured, and in
// development a token pasted from `slmgen token`. The token lives in sessionStorage only.
import { $, show } from "./dom.js";
import { ApiError, getJson } from "./api.js";

const STORAGE_KEY = "slmgen.token";
const listeners = new Set();
let authConfig = {};

export function getToken() {
  return sessionStorage.getItem(STORAGE_KEY);
}

export function isSignedIn() {
  return Boolean(getToken());
}

export function onAuthChange(listener) {
  listeners.add(listener);
}

function setToken(token) {
  if (token) sessionStorage.setItem(STORAGE_KEY, token);
  else sessionStorage.removeItem(STORAGE_KEY);
  renderAccount();
  for (const listener of listeners) listener(isSignedIn());
}

export function signOut() {
  setToken(null);
}

// The payload is decoded for display only: the server verifies every token it receives.
export function readClaims(token) {
  try {
    const part = token.split(".")[1].replaceAll("-", "+").replaceAll("_", "/");
    const padded = part + "=".repeat((4 - (part.length % 4)) % 4);
    const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return null;
  }
}

function renderAccount() {
  const token = getToken();
  const claims = token ? readClaims(token) : null;
  $("account-status").textContent = token
    ? `Signed in as ${claims?.email || claims?.sub || "unknown user"}`
    : "Not signed in";
  show($("sign-in-button"), !token);
  show($("sign-out-button"), Boolean(token));
}

function showDialogError(message) {
  const box = $("sign-in-error");
  box.textContent = message;
  show(box, Boolean(message));
}

export function openSignIn(reason = "") {
  showDialogError(reason);
  const dialog = $("sign-in-dialog");
  if (!dialog.open) dialog.showModal();
  const first = authConfig.supabaseEnabled ? $("email") : $("dev-token");
  first.focus();
}

function closeSignIn() {
  $("sign-in-dialog").close();
  showDialogError("");
}

function isExpired(claims) {
  return typeof claims?.exp === "number" && claims.exp * 1000 <= Date.now();
}

// Asks the server whether it accepts the token, so a wrong token fails here and not later.
async function acceptToken(token) {
  const claims = readClaims(token);
  if (!claims) throw new Error("This is not a token: paste the whole output of `slmgen token`.");
  if (isExpired(claims)) throw new Error("This token has expired. Create a new one and paste it again.");
  sessionStorage.setItem(STORAGE_KEY, token);
  try {
    await getJson("/jobs", { limit: 1 });
  } catch (error) {
    sessionStorage.removeItem(STORAGE_KEY);
    if (error instanceof ApiError && error.status === 401) throw new Error(`The server refused this token: ${error.detail}`);
    if (!(error instanceof ApiError) || error.kind === "network") throw new Error("Could not reach the server to check the token.");
  }
  setToken(token);
}

async function passwordLogin(email, password) {
  const url = `${authConfig.supabaseUrl.replace(/\/$/, "")}/auth/v1/token?grant_type=password`;
  let response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { apikey: authConfig.anonKey, "Content-Type": "application/json" },
      body: JSON.stringify({ email, password }),
    });
  } catch {
    throw new Error("Could not reach the sign-in service. Check your connection and try again.");
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok || !data.access_token) {
    const reason = data.error_description || data.msg || data.message || `sign-in failed (${response.status})`;
    throw new Error(`Sign-in failed: ${reason}. Check your email and password.`);
  }
  return data.access_token;
}

async function handleSubmit(event, obtainToken) {
  event.preventDefault();
  const button = event.target.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    await acceptToken(await obtainToken());
    event.target.reset();
    closeSignIn();
  } catch (error) {
    showDialogError(error.message);
  } finally {
    button.disabled = false;
  }
}

export function initAuth(config) {
  const supabaseEnabled = Boolean(config.supabase_anon_key && config.supabase_url);
  authConfig = {
    supabaseEnabled,
    supabaseUrl: config.supabase_url,
    anonKey: config.supabase_anon_key,
    devTokens: !supabaseEnabled || ["development", "dev"].includes(config.auth_mode ?? config.environment),
  };
  show($("password-form"), supabaseEnabled);
  show($("token-form"), authConfig.devTokens);
  $("password-form").addEventListener("submit", (event) =>
    handleSubmit(event, () => passwordLogin($("email").value.trim(), $("password").value)),
  );
  $("token-form").addEventListener("submit", (event) => handleSubmit(event, async () => $("dev-token").value.trim()));
  $("sign-in-button").addEventListener("click", () => openSignIn());
  $("sign-in-cancel").addEventListener("click", closeSignIn);
  $("sign-out-button").addEventListener("click", signOut);
  renderAccount();
}

// Called by the API layer when the server refuses the stored token.
export function handleUnauthorized(error) {
  setToken(null);
  openSignIn(`Your session has expired or is no longer valid (${error.detail}). Sign in again to continue.`);
}
