// A word-level diff of two texts: what two near-duplicates (or two answers to one prompt) do not share.
// Common start and end are trimmed first (near-duplicates differ in a small middle); the middle is an
// exact longest-common-subsequence up to a size where that stays fast, and "all different" beyond it.

const MAX_CELLS = 4_000_000; // 16 MB of table: well under a second in a browser

export function words(text) {
  return String(text ?? "").match(/\s+|[^\s]+/g) ?? [];
}

// ops: [{type: "same" | "del" | "ins", text}] turning a into b.
export function diffWords(a, b) {
  const x = words(a);
  const y = words(b);
  let start = 0;
  while (start < x.length && start < y.length && x[start] === y[start]) start += 1;
  let endX = x.length;
  let endY = y.length;
  while (endX > start && endY > start && x[endX - 1] === y[endY - 1]) {
    endX -= 1;
    endY -= 1;
  }
  const ops = [];
  const push = (type, text) => {
    if (!text) return;
    const last = ops[ops.length - 1];
    if (last && last.type === type) last.text += text;
    else ops.push({ type, text });
  };
  push("same", x.slice(0, start).join(""));
  const mx = x.slice(start, endX);
  const my = y.slice(start, endY);
  if ((mx.length + 1) * (my.length + 1) > MAX_CELLS) {
    push("del", mx.join(""));
    push("ins", my.join(""));
  } else {
    for (const op of lcsOps(mx, my)) push(op.type, op.text);
  }
  push("same", x.slice(endX).join(""));
  return ops;
}

function lcsOps(x, y) {
  const n = x.length;
  const m = y.length;
  const width = m + 1;
  const table = new Int32Array((n + 1) * width); // table[i][j]: LCS length of x[i:] and y[j:]
  for (let i = n - 1; i >= 0; i -= 1) {
    for (let j = m - 1; j >= 0; j -= 1) {
      table[i * width + j] = x[i] === y[j]
        ? table[(i + 1) * width + j + 1] + 1
        : Math.max(table[(i + 1) * width + j], table[i * width + j + 1]);
    }
  }
  const ops = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (x[i] === y[j]) {
      ops.push({ type: "same", text: x[i] });
      i += 1;
      j += 1;
    } else if (table[(i + 1) * width + j] >= table[i * width + j + 1]) {
      ops.push({ type: "del", text: x[i] });
      i += 1;
    } else {
      ops.push({ type: "ins", text: y[j] });
      j += 1;
    }
  }
  while (i < n) ops.push({ type: "del", text: x[i++] });
  while (j < m) ops.push({ type: "ins", text: y[j++] });
  return ops;
}
