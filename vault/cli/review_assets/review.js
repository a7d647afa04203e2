"use strict";
// Offsets are counted in Unicode code points, as the vault counts them.
//
// Redactions that overlap are shown, and leave, as one (their union), and a
// redaction takes along the combining marks right after it: the same rules as the
// vault's renderer, so "As it will leave" is what an export sends. Decisions are
// posted in the background, one after another, so the next text is shown at once;
// "done" waits for every one of them before it ends the review.
let items = [];
let at = 0;
let finished = false;
let queue = Promise.resolve();
const state = new Map(); // index -> {added: [[s,e]], released: Set("s:e")}

const $ = (id) => document.getElementById(id);
const cps = (s) => Array.from(s);
const spanKey = (s, e) => s + ":" + e;
// "[WORKER-3] [WORKER-3]" (given and family name matched apart) reads as one.
const REPEATED = /(\[[A-Z]+(?:-\d+)?\])(?:\s+\1)+/g;
// The machine never names a span REDACTED: such a span is a reviewer's own.
const ADDED = "REDACTED";

function itemState(i) {
  if (!state.has(i)) {
    // A text reviewed before comes with that decision's redactions applied: they
    // stay the reviewer's, so accepting it again keeps them.
    const added = items[i].spans.filter((x) => x[2] === ADDED).map(([s, e]) => [s, e]);
    state.set(i, { added, released: new Set() });
  }
  return state.get(i);
}

function allMarks(item, st) {
  const out = [];
  for (const [s, e, kind] of item.spans) {
    if (kind === ADDED) continue;
    out.push({ s, e, kind, machine: true, released: st.released.has(spanKey(s, e)) });
  }
  for (const [s, e] of st.added) out.push({ s, e, kind: ADDED, machine: false, released: false });
  return out;
}

function groups(item, marks) {
  // Sorted by start, longest first; each group is the union of overlapping marks,
  // extended over the combining marks that follow it.
  if (!item.joinSet) item.joinSet = new Set(item.joins || []);
  // As the vault orders them: leftmost, longest, and [NUMBER] after a more telling token.
  const sorted = [...marks].sort(
    (a, b) => a.s - b.s || b.e - a.e || (a.kind === "NUMBER") - (b.kind === "NUMBER"),
  );
  const out = [];
  for (const m of sorted) {
    let end = m.e;
    while (item.joinSet.has(end)) end += 1;
    const last = out[out.length - 1];
    if (last && m.s < last.e) {
      last.e = Math.max(last.e, end);
      last.members.push(m);
    } else {
      out.push({ s: m.s, e: end, members: [m] });
    }
  }
  return out;
}

function groupClass(g) {
  if (g.members.some((m) => !m.machine)) return "added";
  return g.members.some((m) => !m.released) ? "machine" : "released";
}

function leaving(item, st) {
  const chars = cps(item.text);
  const active = allMarks(item, st).filter((m) => !m.released);
  let out = "";
  let pos = 0;
  for (const g of groups(item, active)) {
    out += chars.slice(pos, g.s).join("") + "[" + g.members[0].kind + "]";
    pos = g.e;
  }
  return (out + chars.slice(pos).join("")).replace(REPEATED, "$1");
}

function summary() {
  const reviewed = items.filter((x) => x.status === "reviewed").length;
  const failed = items.filter((x) => x.error).length;
  let text = items.length
    ? `${reviewed} of ${items.length} reviewed`
    : "Nothing waits for review.";
  if (failed) text += ` — ${failed} not saved (j/k to find them)`;
  $("summary").textContent = text;
}

function show() {
  summary();
  const item = items[at];
  if (!item) { $("text").textContent = ""; $("rendered").textContent = ""; return; }
  const st = itemState(at);
  const shown = item.error ? `not saved: ${item.error}` : item.status;
  $("item-title").textContent = `${at + 1} / ${items.length} — record ${item.record_id}, ${item.field} (${shown})`;
  const flags = $("flags");
  flags.textContent = "";
  for (const f of item.flags) {
    const el = document.createElement("span");
    el.className = "flag"; el.textContent = "risk: " + f; flags.appendChild(el);
  }
  const chars = cps(item.text);
  const text = $("text");
  text.textContent = "";
  let pos = 0;
  const plain = (s, e) => {
    if (e <= s) return;
    const el = document.createElement("span");
    el.dataset.s = String(s); el.textContent = chars.slice(s, e).join("");
    text.appendChild(el);
  };
  for (const g of groups(item, allMarks(item, st))) {
    plain(pos, g.s);
    const el = document.createElement("mark");
    el.className = groupClass(g); el.dataset.s = String(g.s); el.dataset.e = String(g.e);
    el.title = [...new Set(g.members.map((m) => m.kind))].join(", ");
    el.textContent = chars.slice(g.s, g.e).join("");
    el.addEventListener("click", () => toggle(g));
    text.appendChild(el);
    pos = g.e;
  }
  plain(pos, chars.length);
  $("rendered").textContent = leaving(item, st);
}

function toggle(g) {
  // A click that ends a selection is not a toggle.
  const sel = window.getSelection();
  if (sel && !sel.isCollapsed) return;
  const st = itemState(at);
  const added = g.members.filter((m) => !m.machine);
  const machine = g.members.filter((m) => m.machine);
  if (added.length) {
    // Take back the reviewer's own redaction.
    st.added = st.added.filter(([s, e]) => !added.some((m) => m.s === s && m.e === e));
  } else if (machine.some((m) => !m.released)) {
    for (const m of machine) st.released.add(spanKey(m.s, m.e));
  } else {
    for (const m of machine) st.released.delete(spanKey(m.s, m.e));
  }
  show();
}

function offsetOf(node, offset) {
  // Code points from the start of the text to (node, offset), whatever the markup.
  const text = $("text");
  if (!text.contains(node)) return null;
  const r = document.createRange();
  r.setStart(text, 0);
  r.setEnd(node, offset);
  return cps(r.toString()).length;
}

function status(message) {
  $("status").textContent = message;
}

function mark() {
  if (finished) return;
  const sel = window.getSelection();
  if (!sel || sel.isCollapsed || !sel.rangeCount) { status("Select the words to redact first."); return; }
  const r = sel.getRangeAt(0);
  const s = offsetOf(r.startContainer, r.startOffset);
  const e = offsetOf(r.endContainer, r.endOffset);
  if (s === null || e === null || s >= e) { status("Select words inside the text."); return; }
  itemState(at).added.push([s, e]);
  sel.removeAllRanges();
  status("Marked.");
  show();
}

async function post(path, body) {
  const r = await fetch(path, {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-Evault-Review": "1" },
    body: JSON.stringify(body),
  });
  let data = {};
  try { data = await r.json(); } catch (_err) { /* the message below says enough */ }
  if (!r.ok) throw new Error(data.error || `${r.status} ${r.statusText}`);
  return data;
}

function accept() {
  const item = items[at];
  if (!item || finished) return;
  const index = at;
  const st = itemState(index);
  const body = {
    index,
    redact: st.added.map(([s, e]) => [s, e]),
    release: [...st.released].map((k) => k.split(":").map(Number)),
  };
  const before = item.status;
  item.status = "saving";
  item.error = null;
  queue = queue
    .then(() => post("/decide", body))
    .then(
      () => {
        item.status = "reviewed";
        status(`Record ${item.record_id}: decision sealed.`);
      },
      (err) => {
        item.status = before;
        item.error = err.message;
        status(`Not saved (record ${item.record_id}, ${item.field}): ${err.message}`);
      },
    )
    .finally(() => { if (items[at] === item) show(); else summary(); });
  move(1);
}

function move(step) {
  if (!items.length) return;
  at = Math.min(items.length - 1, Math.max(0, at + step));
  show();
}

async function done() {
  if (finished) return;
  finished = true; // no decision is taken after this
  status("Finishing: saving the last decisions…");
  await queue;
  try {
    const data = await post("/done", {});
    status(`Review finished: ${data.decided} decisions sealed. You may close this page.`);
  } catch (err) {
    finished = false;
    status("Not finished: " + err.message);
  }
}

document.addEventListener("keydown", (ev) => {
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const k = ev.key;
  if (k === "j") move(1);
  else if (k === "k") move(-1);
  else if (k === "m") mark();
  else if (k === "a") accept();
  else if (k === "d") done();
  else return;
  ev.preventDefault();
});

window.addEventListener("DOMContentLoaded", async () => {
  $("prev").addEventListener("click", () => move(-1));
  $("next").addEventListener("click", () => move(1));
  $("mark").addEventListener("click", mark);
  $("accept").addEventListener("click", accept);
  $("done").addEventListener("click", done);
  try {
    const r = await fetch("/items", { credentials: "same-origin" });
    const data = await r.json();
    if (!r.ok) throw new Error(data.error || r.statusText);
    items = data.items || [];
    document.title = `Review — ${data.policy}`;
  } catch (err) {
    $("summary").textContent = "Could not load the texts: " + err.message;
    return;
  }
  show();
});
