// "Import from the Hub", beside the upload: one split of a Hub dataset becomes a new dataset (POST /upload/hub),
// opened at its own address, where the page follows the import and then the analysis as after an upload.
// The optional token goes into that one request's X-HuggingFace-Key header and is cleared at once.
import { $, el, clear, whileBusy } from "./dom.js";
import { requestJson } from "./api.js";
import { say, sayProblem } from "./panel.js";

const handlers = { openVersion: async () => {} };

function field(id, label, attrs, hint) {
  return el("div", { class: "field" }, el("label", { for: id, text: label }),
    el("input", { type: "text", id, autocomplete: "off", spellcheck: "false", ...attrs }),
    hint ? el("p", { class: "hint", text: hint }) : null);
}


async function start() {
  say("hub-import-status", "");
  const repo = $("import-repo").value.trim();
  if (!repo.includes("/")) {
    say("hub-import-status", "Repo: write the Hub dataset as owner/name, for example HuggingFaceH4/no_robots.", { error: true });
    $("import-repo").focus();
    return;
  }
  const body = { repo, split: $("import-split").value.trim() || "train" };
  for (const [key, id] of [["config", "import-config"], ["revision", "import-revision"]]) {
    const value = $(id).value.trim();
    if (value) body[key] = value;
  }
  const token = $("import-token").value.trim();
  $("import-token").value = ""; // used for this one request only
  try {
    const { data } = await requestJson("POST", "/upload/hub", { body, headers: token ? { "X-HuggingFace-Key": token } : {} });
    await handlers.openVersion(data.session_id, `${repo} (${body.split})`);
  } catch (error) {
    sayProblem("hub-import-status", error);
  }
}

export function initHubImport({ openVersion }) {
  handlers.openVersion = openVersion;
  const button = el("button", { type: "submit", class: "primary", id: "import-button" }, "Import");
  const form = el("form", { id: "hub-import-form", class: "hub-import-form", novalidate: true },
    field("import-repo", "Hub dataset", { placeholder: "owner/name" }),
    field("import-split", "Split", { value: "train" }),
    field("import-config", "Config (optional)", {}),
    field("import-revision", "Revision (optional)", {}, "A branch, tag or commit; empty: the main branch."),
    field("import-token", "Hugging Face token (only for private or gated datasets)", { type: "password" },
      "Sent with this request only; the page does not keep it."),
    el("div", { class: "actions" }, button));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    whileBusy(button, start);
  });
  clear($("hub-import-body")).append(
    el("p", { class: "hint", text: "Analyse one split of a dataset on the Hugging Face Hub as if you had uploaded it." }),
    form, el("p", { class: "status", id: "hub-import-status", role: "status" }));
}
