"use strict";
// Offsets are counted in Unicode code points, as the vault counts them.
let items = [];
let at = 0;
const state = new Map(); // index -> {added: [[s,e]], released: Set("s:e")}

const $ = (id) => document.getElementById(id);
const cps = (s) => Array.from(s);

function itemState(i) {
  if (!state.has(i)) state.set(i, { added: [], released: new Set() });
  return state.get(i);
}

function segments(item, st) {
  // Machine spans (possibly released) and added spans, merged into marks.
  const marks = [];
  for (const [s, e, kind] of item.spans) {
    marks.push({ s, e, kind, cls: st.released.has(s + ":" + e) ? "released" : "machine" });
  }
  for (const [s, e] of st.added) marks.push({ s, e, kind: "REDACTED", cls: "added" });
  marks.sort((a, b) => a.s - b.s || b.e - a.e);
  return marks;
}

function show() {
  const item = items[at];
  $("summary").textContent = items.length
    ? `${items.filter((x) => x.status === "reviewed").length} of ${items.length} reviewed`
    : "Nothing waits for review.";
  if (!item) { $("text").textContent = ""; $("rendered").textContent = ""; return; }
  const st = itemState(at);
  $("item-title").textContent = `${at + 1} / ${items.length} — record ${item.record_id}, ${item.field} (${item.status})`;
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
  for (const m of segments(item, st)) {
    if (m.s < pos) continue;
    plain(pos, m.s);
    const el = document.createElement("mark");
    el.className = m.cls; el.dataset.s = String(m.s); el.dataset.e = String(m.e);
    el.dataset.kind = m.kind; el.title = m.kind;
    el.textContent = chars.slice(m.s, m.e).join("");
    el.addEventListener("click", () => toggle(m));
    text.appendChild(el);
    pos = m.e;
  }
  plain(pos, chars.length);
  // As it will leave: every mark but the released ones becomes its token.
  let out = ""; pos = 0;
  for (const m of segments(item, st)) {
    if (m.s < pos || m.cls === "released") continue;
    out += chars.slice(pos, m.s).join("") + "[" + m.kind + "]";
    pos = m.e;
  }
  $("rendered").textContent = out + chars.slice(pos).join("");
}

function toggle(m) {
  const st = itemState(at);
  const key = m.s + ":" + m.e;
  if (m.cls === "added") st.added = st.added.filter(([s, e]) => s !== m.s || e !== m.e);
  else if (st.released.has(key)) st.released.delete(key);
  else st.released.add(key);
  show();
}

function offsetOf(node, offset) {
  const el = node.nodeType === Node.TEXT_NODE ? node.parentElement : node;
  if (!el || el.dataset.s === undefined) return null;
  const before = node.nodeType === Node.TEXT_NODE ? node.textContent.slice(0, offset) : "";
  return Number(el.dataset.s) + cps(before).length;
}

function mark() {
  const sel = window.getSelection();
  if (!sel || sel.isCollapsed) { $("status").textContent = "Select the words to redact first."; return; }
  let s = offsetOf(sel.anchorNode, sel.anchorOffset);
  let e = offsetOf(sel.focusNode, sel.focusOffset);
  if (s === null || e === null) return;
  if (s > e) [s, e] = [e, s];
  if (s === e) return;
  itemState(at).added.push([s, e]);
  sel.removeAllRanges();
  $("status").textContent = "Marked.";
  show();
}

async function post(path, body) {
  const r = await fetch(path, {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-Evault-Review": "1" },
    body: JSON.stringify(body),
  });
  const data = await r.json();
  if (!r.ok) throw new Error(data.error || r.statusText);
  return data;
}

async function accept() {
  const item = items[at];
  if (!item) return;
  const st = itemState(at);
  const release = [...st.released].map((k) => k.split(":").map(Number));
  try {
    await post("/decide", { index: at, redact: st.added, release });
    item.status = "reviewed";
    $("status").textContent = `Record ${item.record_id}: decision sealed.`;
    move(1);
  } catch (err) {
    $("status").textContent = "Not saved: " + err.message;
  }
}

function move(step) {
  if (!items.length) return;
  at = Math.min(items.length - 1, Math.max(0, at + step));
  show();
}

async function done() {
  const data = await post("/done", {});
  $("status").textContent = `Review finished: ${data.decided} decisions sealed. You may close this page.`;
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
  const r = await fetch("/items", { credentials: "same-origin" });
  const data = await r.json();
  items = data.items || [];
  document.title = `Review — ${data.policy}`;
  show();
});
