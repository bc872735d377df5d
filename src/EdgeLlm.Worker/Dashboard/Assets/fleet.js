// The fleet page: every node from the server's event stream (/api/events), drawn with the DOM alone (no
// library, no other origin), redrawn when a node's status changes and every second for "last seen".
"use strict";

const nodes = new Map();
const cards = new Map();
let commands = false;

// A node whose status has not been refreshed for this long (three default status intervals) is marked silent.
const SILENT_MS = 15000;

function text(el, value) { el.textContent = value; return el; }
function tag(name, className, content) { const el = document.createElement(name); if (className) el.className = className; if (content !== undefined) el.textContent = content; return el; }
function size(bytes) {
  if (bytes == null) return "–";
  const mb = bytes / 1048576;
  return mb < 1 ? `${Math.round(bytes / 1024)} KB` : mb < 10 ? `${mb.toFixed(1)} MB` : mb < 1024 ? `${Math.round(mb)} MB` : `${(mb / 1024).toFixed(1)} GB`;
}
function ago(ms) { const s = Math.max(0, Math.round(ms / 1000)); return s < 60 ? `${s} s ago` : s < 3600 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`; }
function sum(counts) { return Object.values(counts || {}).reduce((a, b) => a + b, 0); }

function card(id) {
  let el = cards.get(id);
  if (!el) {
    el = document.getElementById("node-card").content.firstElementChild.cloneNode(true);
    el.dataset.node = id;
    el.querySelector(".head").addEventListener("click", () => toggle(el));
    el.querySelector(".command").addEventListener("submit", e => { e.preventDefault(); send(id, e.submitter.value, el); });
    cards.set(id, el);
    const list = document.getElementById("nodes");
    const after = [...cards.keys()].sort().find(other => other > id);
    list.insertBefore(el, after ? cards.get(after) : null);
  }
  return el;
}

function toggle(el) {
  const detail = el.querySelector(".detail");
  detail.hidden = !detail.hidden;
  el.querySelector(".head").setAttribute("aria-expanded", String(!detail.hidden));
}

function draw(node) {
  const el = card(node.id);
  const s = node.status || {};
  const r = s.resources || {};
  const silent = node.online && Date.now() - Date.parse(node.lastSeen) > SILENT_MS;
  el.classList.toggle("offline", !node.online);
  el.classList.toggle("silent", silent);
  text(el.querySelector(".name"), node.id);
  text(el.querySelector(".tier"), `tier ${s.tier ?? "?"}`);
  text(el.querySelector(".state"), !node.online ? "offline" : silent ? "silent" : "online");
  text(el.querySelector(".seen"), `${node.online ? "seen" : "last seen"} ${ago(Date.now() - Date.parse(node.lastSeen))}`);

  const hottest = r.hottestCelsius;
  text(el.querySelector(".temperature"), hottest == null ? "–" : `${hottest.toFixed(1)} °C`);
  const power = r.power || {};
  text(el.querySelector(".power"), power.onBattery == null ? (power.meter ? `${power.meter.watts.toFixed(1)} W` : "–")
    : power.onBattery ? `battery${power.batteryPercent == null ? "" : ` ${power.batteryPercent}%`}` : "mains");
  text(el.querySelector(".memory"), size(r.usableMemoryBytes));
  const cpu = (r.cpu || {}).utilisationPercent;
  text(el.querySelector(".cpu"), cpu == null ? "–" : `${Math.round(cpu)}%`);
  text(el.querySelector(".queue"), s.queueDepth ?? "–");
  text(el.querySelector(".rate"), s.tokensPerSecond == null ? "–" : s.tokensPerSecond.toFixed(1));

  const throttling = (r.thermal || {}).throttling;
  const flags = el.querySelector(".flags");
  flags.replaceChildren();
  if (throttling) {
    for (const [now, past, name] of [["underVoltageNow", "underVoltageOccurred", "under-voltage"], ["throttledNow", "throttledOccurred", "throttled"], ["frequencyCappedNow", "frequencyCappedOccurred", "frequency capped"]]) {
      if (throttling[now]) flags.append(tag("span", "now", name));
      else if (throttling[past]) flags.append(tag("span", "past", `${name} since boot`));
    }
  }
  if (power.onBattery) flags.append(tag("span", "now", "on battery"));

  const loaded = new Set(s.loaded || []);
  const models = el.querySelector(".models");
  models.replaceChildren(...(s.models || []).map(m => tag("span", loaded.has(m.id) ? "loaded" : "present", m.id)));

  const pulls = el.querySelector(".pulls");
  pulls.replaceChildren(...(s.pulls || []).map(p => {
    const row = tag("div", "pull");
    row.dataset.model = p.model;
    const bar = tag("progress");
    bar.max = p.totalBytes || 1;
    if (p.totalBytes) bar.value = p.bytes; else bar.removeAttribute("value");
    row.append(tag("span", "label", `pulling ${p.model}: ${size(p.bytes)}${p.totalBytes ? ` of ${size(p.totalBytes)} (${Math.floor(100 * p.bytes / p.totalBytes)}%)` : ""}`), bar);
    return row;
  }));

  const counters = s.counters || {};
  const decisions = counters.decisions || {};
  const total = sum(decisions);
  const share = k => total ? 100 * (decisions[k] || 0) / total : 0;
  for (const k of ["local", "escalated", "refused"]) el.querySelector(`.bar .${k}`).style.width = `${share(k)}%`;
  text(el.querySelector(".split"), total ? `${Math.round(share("local"))}% local, ${Math.round(share("escalated"))}% escalated, ${Math.round(share("refused"))}% refused of ${total}` : "no requests yet");
  const reasons = Object.entries(counters.reasons || {}).sort((a, b) => b[1] - a[1]).slice(0, 4);
  text(el.querySelector(".reasons"), reasons.length ? `why: ${reasons.map(([k, v]) => `${k} ${v}`).join(", ")}` : "");
  const errors = Object.entries(counters.errors || {});
  const errorsEl = text(el.querySelector(".errors"), errors.length ? `errors: ${errors.map(([k, v]) => `${k} ${v}`).join(", ")}` : "no errors");
  errorsEl.classList.toggle("some", errors.length > 0);

  el.querySelector(".recent tbody").replaceChildren(...(s.recent || []).map(d => {
    const row = tag("tr");
    row.append(tag("td", "", new Date(d.at).toLocaleTimeString()), tag("td", "", d.id || "–"),
      tag("td", "", d.error ? `${d.decision}: ${d.error}` : d.decision + (d.degraded ? " (degraded)" : "")),
      tag("td", "", d.reasons || "–"), tag("td", "", d.model || "–"), tag("td", "", d.ms ?? "–"), tag("td", "", d.tokens ?? "–"));
    return row;
  }));
  el.querySelector(".command").hidden = !commands || !node.online;
}

function summarize() {
  const all = [...nodes.values()];
  text(document.getElementById("summary"), `${all.filter(n => n.online).length} of ${all.length} nodes online`);
}

async function send(id, command, el) {
  const out = el.querySelector(".result");
  const model = el.querySelector(".command .model").value.trim();
  const name = document.getElementById("operator-name").value;
  const password = document.getElementById("operator-password").value;
  if (!name || !password) { text(out, "enter the operator's name and password above"); return; }
  text(out, `${command} ${model}…`);
  try {
    const bytes = new TextEncoder().encode(`${name}:${password}`);
    const response = await fetch(`api/nodes/${encodeURIComponent(id)}/commands`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Authorization": `Basic ${btoa(String.fromCharCode(...bytes))}` },
      body: JSON.stringify({ command, model }),
    });
    const reply = await response.json();
    text(out, reply.error ? `${reply.error.code}: ${reply.error.message}` : reply.result);
  } catch (e) {
    text(out, `not sent: ${e.message}`);
  }
}

function connect() {
  const live = document.getElementById("live");
  const events = new EventSource("api/events");
  events.addEventListener("open", () => { live.className = "live on"; text(live, "live"); });
  events.addEventListener("error", () => { live.className = "live off"; text(live, "reconnecting…"); });
  events.addEventListener("hello", e => {
    commands = JSON.parse(e.data).commands;
    document.getElementById("operator").hidden = !commands;
  });
  events.addEventListener("node", e => { const node = JSON.parse(e.data); nodes.set(node.id, node); draw(node); summarize(); });
  events.addEventListener("gone", e => {
    const id = JSON.parse(e.data).id;
    nodes.delete(id);
    cards.get(id)?.remove();
    cards.delete(id);
    summarize();
  });
}

connect();
setInterval(() => nodes.forEach(draw), 1000);
