// Duplicate groups, complete and paged: every member of a group is listed, and any two members can be
// compared side by side, with a word-level diff for near-duplicates and same-prompt groups.
import { el, clear, show, asArray, formatNumber, rovingGroup } from "./dom.js";
import { describeError } from "./api.js";
import { duplicateGroups } from "./records.js";
import { fetchRecords, showRecord } from "./browse.js";
import { renderExample } from "./preview.js";
import { diffWords } from "./diff.js";

const GROUPS_PER_PAGE = 20;
const KINDS = [
  { key: "exact", title: "Exact duplicates", note: "Records whose conversation repeats another one exactly (extra keys ignored)." },
  { key: "near", title: "Near-duplicates", note: "" },
  { key: "prompt", title: "Same prompt, different answers", note: "Records that share their user turns." },
];

let context = { sessionId: null, report: null, onError: () => {} };

function recordChip(member) {
  const line = member.line ? ` (line ${member.line})` : "";
  return el("button", { type: "button", class: "record-link", onclick: () => showRecord(member.index) }, `#${member.index}${line}`);
}

function messageText(message) {
  const calls = asArray(message.tool_calls).map((c) => `${c?.function?.name ?? "tool"}(${c?.function?.arguments ?? ""})`);
  return [typeof message.content === "string" ? message.content : JSON.stringify(message.content ?? ""), ...calls]
    .filter(Boolean).join("\n");
}

function diffSide(example, ops, keep, side) {
  return el("li", { class: "message" },
    el("span", { class: "role", text: example ? side.role : "" }),
    el("div", { class: "content diff" }, ops.filter((op) => op.type === "same" || op.type === keep).map((op) =>
      op.type === "same" ? op.text : el(keep === "del" ? "del" : "ins", { text: op.text }))));
}

// Two examples next to each other, message by message, the words only one of them has marked.
function diffView(left, right) {
  const a = asArray(left.messages);
  const b = asArray(right.messages);
  const leftItems = [];
  const rightItems = [];
  let changed = 0;
  for (let i = 0; i < Math.max(a.length, b.length); i += 1) {
    const ops = diffWords(a[i] ? messageText(a[i]) : "", b[i] ? messageText(b[i]) : "");
    changed += ops.filter((op) => op.type !== "same").length;
    leftItems.push(diffSide(a[i], ops, "del", { role: a[i]?.role ?? "" }));
    rightItems.push(diffSide(b[i], ops, "ins", { role: b[i]?.role ?? "" }));
  }
  const column = (example, items, label) => el("article", { class: "example diff-side", "aria-label": `Record #${example.index}` },
    el("header", {}, el("h4", { text: `Record #${example.index}` }), el("span", { class: "hint", text: label })),
    el("ol", { class: "messages" }, items));
  return [
    el("p", { class: "hint", text: changed ? "Words only in the left record are struck through; words only in the right one are underlined." : "These two records have the same text." }),
    el("div", { class: "side-by-side" }, column(left, leftItems, "struck: only here"), column(right, rightItems, "underlined: only here")),
  ];
}

const MEMBERS_PER_PAGE = 5;

// A similarity rounded down (3 decimals): "at least 0.719" is then true of the figure it stands for.
function lowerBound(value) {
  return String(Math.floor(Number(value) * 1000) / 1000);
}

function picker(id, label, members, chosen) {
  return el("span", { class: "field" },
    el("label", { for: id, text: label }),
    el("select", { id }, members.map((m) => el("option", { value: String(m.index), selected: m.index === chosen, text: `#${m.index}` }))));
}

// Any two members side by side (exact: as they are; near and same prompt: the word-level diff).
async function drawPair(kind, panel, id, view) {
  const chosen = [panel.querySelector(`#${id}-a`).value, panel.querySelector(`#${id}-b`).value].map(Number);
  const examples = await fetchRecords([...new Set(chosen)]);
  const [left, right] = chosen.map((index) => examples.find((e) => e.index === index));
  const missing = chosen.filter((index, i) => ![left, right][i]);
  if (missing.length) {
    clear(view).append(el("p", { class: "hint", text: `Record #${missing[0]} is not a usable example, so it cannot be shown; choose another.` }));
    return;
  }
  clear(view).append(...(kind === "exact"
    ? [el("div", { class: "side-by-side" }, renderExample(left, null, { copy: true }), renderExample(right, null, { copy: true }))]
    : diffView(left, right)));
}

// Every member of the group, a page at a time: none is left out silently.
async function drawMembers(box, members, page) {
  const pages = Math.max(1, Math.ceil(members.length / MEMBERS_PER_PAGE));
  const slice = members.slice((page - 1) * MEMBERS_PER_PAGE, page * MEMBERS_PER_PAGE);
  const examples = await fetchRecords(slice.map((m) => m.index));
  const first = (page - 1) * MEMBERS_PER_PAGE + 1;
  const shown = slice.map((m) => examples.find((e) => e.index === m.index)
    ?? el("p", { class: "hint", dataset: { index: String(m.index) }, text: `Record #${m.index}: not a usable example, so it cannot be shown.` }));
  const parts = [
    el("p", { class: "hint member-range", text: `Records ${formatNumber(first)}–${formatNumber(first + slice.length - 1)} of the group's ${formatNumber(members.length)}` }),
    el("div", { class: "members" }, shown.map((item) => (item instanceof Node ? item : renderExample(item, null, { copy: true })))),
  ];
  if (pages > 1) {
    const prev = el("button", { type: "button", text: "Previous records", disabled: page <= 1 });
    const next = el("button", { type: "button", text: "Next records", disabled: page >= pages });
    prev.addEventListener("click", () => drawMembers(box, members, page - 1).catch(context.onError));
    next.addEventListener("click", () => drawMembers(box, members, page + 1).catch(context.onError));
    parts.push(el("nav", { class: "pager", "aria-label": "Records of this group" }, prev, el("span", { text: `Page ${page} of ${pages}` }), next));
  }
  clear(box).append(...parts);
}

async function openCompare(kind, group, panel, button) {
  button.setAttribute("aria-expanded", "true");
  const members = asArray(group.members);
  clear(panel);
  show(panel, true);
  const id = `cmp-${kind}-${group.group}`;
  const view = el("div", { class: "compare-view" });
  const all = el("div", { class: "compare-members" });
  panel.append(
    el("p", { class: "hint", text: `Choose any two of the group's ${formatNumber(members.length)} records to compare; every record of the group is shown below.` }),
    el("div", { class: "compare-pickers" }, picker(`${id}-a`, "Left", members, members[0]?.index), picker(`${id}-b`, "Right", members, members[1]?.index)),
    view,
    el("h5", { text: `All ${formatNumber(members.length)} records of group ${group.group}` }),
    all,
  );
  const redraw = () => drawPair(kind, panel, id, view).catch((error) => clear(view).append(el("p", { class: "field-error", text: describeError(error).message })));
  for (const select of panel.querySelectorAll("select")) select.addEventListener("change", redraw);
  await redraw();
  await drawMembers(all, members, 1).catch((error) => clear(all).append(el("p", { class: "field-error", text: describeError(error).message })));
}

function groupItem(kind, group) {
  const members = asArray(group.members);
  const size = Number(group.size ?? members.length);
  const panel = el("div", { class: "compare", hidden: true });
  const button = el("button", { type: "button", "aria-expanded": "false", text: "Compare side by side" });
  button.addEventListener("click", () => openCompare(kind, group, panel, button));
  // verified: the lowest true Jaccard similarity of a member to its closest group-mate (report.duplicates.near)
  const similarity = typeof group.similarity === "number" ? `, similarity at least ${lowerBound(group.similarity)}` : "";
  const chips = rovingGroup(el("span", { class: "chips" }, members.map(recordChip)), `Records of group ${group.group}`);
  const listedAll = members.length >= size ? "" : ` (first ${formatNumber(members.length)} listed)`;
  return el("li", { class: "dup-group", dataset: { size: String(size) } },
    el("p", {}, `Group ${group.group} (${formatNumber(size)} records${similarity})${listedAll}: `, chips, " ", size >= 2 ? button : null),
    panel);
}

async function showGroups(kind, box, page) {
  const found = await duplicateGroups(context.sessionId, context.report, kind, page, GROUPS_PER_PAGE);
  const list = el("ol", { class: "dup-groups", start: String((found.page - 1) * GROUPS_PER_PAGE + 1) },
    found.groups.map((g) => groupItem(kind, g)));
  const parts = [list];
  if (found.note) parts.unshift(el("p", { class: "hint", text: found.note }));
  if (found.totalPages > 1) {
    const prev = el("button", { type: "button", text: "Previous groups", disabled: found.page <= 1 });
    const next = el("button", { type: "button", text: "Next groups", disabled: found.page >= found.totalPages });
    prev.addEventListener("click", () => showGroups(kind, box, found.page - 1).catch(context.onError));
    next.addEventListener("click", () => showGroups(kind, box, found.page + 1).catch(context.onError));
    parts.push(el("nav", { class: "pager", "aria-label": `${kind} duplicate group pages` }, prev,
      el("span", { text: `Groups page ${found.page} of ${found.totalPages} (${formatNumber(found.totalGroups)} groups)` }), next));
  }
  clear(box).append(...parts);
}

export async function renderDuplicates(sessionId, report, box, onError) {
  context = { sessionId, report, onError };
  clear(box);
  const duplicates = report.duplicates ?? {};
  let shown = 0;
  for (const kind of KINDS) {
    const section = duplicates[kind.key];
    if (!section) continue;
    let note = kind.note;
    if (kind.key === "near" && section.threshold !== undefined) {
      const checked = typeof section.verified_pairs === "number" && typeof section.candidate_pairs === "number"
        ? ` ${formatNumber(section.verified_pairs)} of ${formatNumber(section.candidate_pairs)} candidate pairs were verified at or above it.` : "";
      note = `Similarity ≥ ${lowerBound(section.threshold)} (true Jaccard similarity, each pair checked).${checked} Each group shows its lowest figure.`;
    }
    const meaning = kind.key === "near" && (section.meaning || section.method)
      ? el("details", { class: "near-meaning" }, el("summary", { text: "What the similarity means" }),
          section.meaning ? el("p", { class: "meaning", text: section.meaning }) : null,
          section.method ? el("p", { class: "hint", text: `How: ${section.method}.` }) : null,
          section.hashed_text ? el("p", { class: "hint", text: `Compared: ${section.hashed_text}.` }) : null)
      : null;
    const groupsBox = el("div", { class: "dup-list" });
    box.append(el("section", { class: "dup-kind", dataset: { kind: kind.key } },
      el("h4", { text: `${kind.title}: ${formatNumber(section.count ?? 0)} records in ${formatNumber(section.groups_count ?? 0)} groups` }),
      note ? el("p", { class: "hint", text: note }) : null,
      meaning,
      groupsBox));
    shown += 1;
    if (Number(section.groups_count ?? 0) > 0) await showGroups(kind.key, groupsBox, 1);
  }
  if (!shown) box.append(el("p", { text: "No duplicate information in this report." }));
}
