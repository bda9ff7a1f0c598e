// Complete lists from the server when it has them: an issue's records (GET /preview/{id}/issues/{code})
// and duplicate groups (GET /preview/{id}/duplicates/{kind}), both paged. A server without these routes
// answers 404 "not_found"; the page then uses the report's own lists (the first records of each) and says so.
import { ApiError, getJson } from "./api.js";
import { asArray, formatNumber } from "./dom.js";

const MAX_ISSUE_RECORDS = 1000; // what one GET /preview?records=… may ask for
const ISSUE_PAGE_SIZE = 50;
const missingRoutes = new Set();
const issueCache = new Map();

function isMissingRoute(error) {
  return error instanceof ApiError && error.status === 404 && error.code === "not_found";
}

async function fullIssueList(sessionId, code) {
  const records = [];
  let page = 1;
  let count = 0;
  for (;;) {
    const { data } = await getJson(`/preview/${encodeURIComponent(sessionId)}/issues/${encodeURIComponent(code)}`, { page, page_size: ISSUE_PAGE_SIZE });
    count = Number(data?.count ?? 0);
    records.push(...asArray(data?.records).map((r) => r.index));
    if (page >= Number(data?.total_pages ?? 1) || records.length >= MAX_ISSUE_RECORDS) break;
    page += 1;
  }
  const kept = records.slice(0, MAX_ISSUE_RECORDS);
  const note = kept.length < count ? `Showing the first ${formatNumber(kept.length)} of the ${formatNumber(count)} records with this issue.` : "";
  return { records: kept, note, complete: kept.length >= count };
}

function reportIssueList(report, code) {
  const issue = asArray(report?.issues).find((i) => i.code === code);
  const records = asArray(issue?.examples).map((r) => r.index);
  const count = Number(issue?.count ?? records.length);
  const note = records.length < count
    ? `This server lists only the first ${formatNumber(records.length)} of the ${formatNumber(count)} records with this issue; these are shown.`
    : "";
  return { records, note, complete: records.length >= count };
}

// {records: [record numbers], note: what is missing from the list, or ""}
export async function issueRecords(sessionId, report, code) {
  const key = `${sessionId}\u0000${code}`;
  if (issueCache.has(key)) return issueCache.get(key);
  let listed = null;
  if (!missingRoutes.has("issues")) {
    try {
      listed = await fullIssueList(sessionId, code);
    } catch (error) {
      if (!isMissingRoute(error)) throw error;
      missingRoutes.add("issues");
    }
  }
  listed ??= reportIssueList(report, code);
  issueCache.set(key, listed);
  return listed;
}

function reportGroups(report, kind, page, pageSize) {
  const section = report?.duplicates?.[kind] ?? {};
  const all = asArray(section.groups);
  const totalGroups = Number(section.groups_count ?? all.length);
  const groups = all.slice((page - 1) * pageSize, page * pageSize).map((members, i) => ({
    group: (page - 1) * pageSize + i + 1, size: members.length, similarity: null, members,
  }));
  const capped = all.some((g) => g.length >= 20);
  const parts = [];
  if (all.length < totalGroups) parts.push(`only the first ${formatNumber(all.length)} of ${formatNumber(totalGroups)} groups`);
  if (capped) parts.push("at most 20 records per group");
  return {
    groups, totalGroups, totalPages: Math.max(1, Math.ceil(all.length / pageSize)), page,
    note: parts.length ? `This server lists ${parts.join(" and ")}.` : "",
  };
}

// One page of duplicate groups: {groups: [{group, size, similarity, members: [{index, line}]}], totalGroups,
// totalPages, page, note}.
export async function duplicateGroups(sessionId, report, kind, page, pageSize = 20) {
  if (!missingRoutes.has("duplicates")) {
    try {
      const { data } = await getJson(`/preview/${encodeURIComponent(sessionId)}/duplicates/${encodeURIComponent(kind)}`, { page, page_size: pageSize });
      return {
        // the server numbers groups from 0; the page counts them from 1, as the report's lists are shown
        groups: asArray(data?.groups).map((g) => ({ ...g, group: Number(g.group) + 1 })),
        totalGroups: Number(data?.total_groups ?? 0),
        totalPages: Math.max(1, Number(data?.total_pages ?? 1)), page: Number(data?.page ?? page), note: "",
      };
    } catch (error) {
      if (!isMissingRoute(error)) throw error;
      missingRoutes.add("duplicates");
    }
  }
  return reportGroups(report, kind, page, pageSize);
}

export function forgetLists() {
  issueCache.clear();
}
