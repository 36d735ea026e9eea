// llmrig's page: every number comes from the same API the command line answers (/api/v1/*);
// nothing here computes an estimate. Text from the API is set with textContent, never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const GIB = 1024 ** 3;
const PARTS = [
  ["weights_bytes", "weights", "--w"],
  ["kv_cache_bytes", "KV cache", "--kv"],
  ["compute_bytes", "compute", "--c"],
  ["other_bytes", "other", "--o"],
];

async function api(path, params) {
  const q = new URLSearchParams(params);
  const r = await fetch(`/api/v1/${path}?${q}`);
  const body = await r.json();
  if (!r.ok) throw body;
  return body;
}

function el(tag, text, attrs) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

function svg(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

const gib = (b) => `${(b / GIB).toFixed(2)} GiB`;
const tps = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const ctx = () => 2 ** Number($("ctx").value);

// The request for the controls: every key is the command line's long flag.
function params() {
  const p = [["model", $("model").value.trim()], ["quant", $("quant").value], ["ctx-size", String(ctx())],
    ["launch", "llama.cpp"]];
  // One `gpu` key per row (the flag is repeatable); "none" anywhere means CPU only.
  const rows = [...document.querySelectorAll(".gpu-row")];
  const picked = rows.map((r) => [r.querySelector("select").value,
    Math.max(1, Math.min(8, Number(r.querySelector("input").value) || 1))]);
  if (picked.some(([g]) => g === "none")) p.push(["no-gpu", "true"]);
  else for (const [g, n] of picked) if (g) p.push(["gpu", n > 1 ? `${n}x ${g}` : g]);
  if ($("cpu").value) p.push(["cpu", $("cpu").value]);
  if ($("ram").value) p.push(["ram", `${$("ram").value}GiB`]);
  return p;
}

function bar(d) {
  const wrap = el("div", undefined, { class: "bar", "data-device": d.name });
  const used = d.total_bytes;
  const scale = Math.max(d.capacity_bytes, used) || 1;
  wrap.append(el("p", `${d.name}: ${gib(used)} of ${gib(d.capacity_bytes)}`, { "data-total": String(used) }));
  const s = svg("svg", { viewBox: "0 0 1000 28", role: "img", "aria-label": `${d.name} memory` });
  s.append(svg("rect", { x: 0, y: 0, width: 1000, height: 28, rx: 4, fill: "var(--free)" }));
  let x = 0;
  for (const [key, label, color] of PARTS) {
    const w = (1000 * (d[key] || 0)) / scale;
    if (w <= 0) continue;
    const r = svg("rect", { x, y: 0, width: w, height: 28, fill: `var(${color})`, "data-part": key,
      "data-bytes": String(d[key]) });
    const t = svg("title", {});
    t.textContent = `${label}: ${gib(d[key])}`;
    r.append(t);
    s.append(r);
    x += w;
  }
  const cap = (1000 * d.capacity_bytes) / scale;
  s.append(svg("line", { x1: cap, x2: cap, y1: 0, y2: 28, stroke: "var(--fg)", "stroke-width": 2 }));
  wrap.append(s);
  const legend = el("div", undefined, { class: "legend" });
  for (const [key, label, color] of PARTS) {
    const item = el("span", `${label} ${gib(d[key] || 0)}`);
    const swatch = el("i");
    swatch.style.background = `var(${color})`;
    item.prepend(swatch);
    legend.append(item);
  }
  wrap.append(legend);
  return wrap;
}

function depthChart(points, key, low, high, mid, label) {
  const W = 600, H = 220, L = 96, B = 30;
  const s = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": label });
  if (!points.length) return s;
  const ratio = (high || mid) / (mid || 1);
  const maxY = Math.max(...points.map((p) => p[key])) * Math.max(ratio, 1) * 1.05 || 1;
  const maxX = Math.max(...points.map((p) => p.depth)) || 1;
  const X = (d) => L + ((W - L - 10) * d) / maxX;
  const Y = (v) => H - B - ((H - B - 10) * v) / maxY;
  s.append(svg("line", { x1: L, x2: W - 10, y1: H - B, y2: H - B, stroke: "var(--line)" }));
  s.append(svg("line", { x1: L, x2: L, y1: 10, y2: H - B, stroke: "var(--line)" }));
  if (low && high && mid) {
    const up = points.map((p) => `${X(p.depth)},${Y((p[key] * high) / mid)}`);
    const down = points.map((p) => `${X(p.depth)},${Y((p[key] * low) / mid)}`).reverse();
    s.append(svg("polygon", { points: up.concat(down).join(" "), fill: "var(--w)", opacity: 0.15 }));
  }
  s.append(svg("polyline", { points: points.map((p) => `${X(p.depth)},${Y(p[key])}`).join(" "),
    fill: "none", stroke: "var(--w)", "stroke-width": 3 }));
  for (const [v, y] of [[maxY, 10], [0, H - B]]) {
    const t = svg("text", { x: L - 6, y: y + 4, "text-anchor": "end", "font-size": 16, fill: "var(--muted)" });
    t.textContent = `${tps(v)} tok/s`;
    s.append(t);
  }
  for (const [p, anchor] of [[points[0], "start"], [points[points.length - 1], "end"]]) {
    const t = svg("text", { x: X(p.depth), y: H - 8, "text-anchor": anchor, "font-size": 16, fill: "var(--muted)" });
    t.textContent = `${p.depth} tokens`;
    s.append(t);
  }
  return s;
}

function render(v) {
  const verdict = $("verdict");
  verdict.textContent = `${v.model.name} ${v.quant.name}: ${v.verdict.replace("-", " ")}`;
  verdict.className = v.verdict === "does-not-fit" ? "no" : "";
  verdict.dataset.verdict = v.verdict;
  const perf = v.performance || {};
  const dl = $("numbers");
  dl.replaceChildren();
  const rows = [
    ["decode", perf.decode_tokens_per_s !== undefined
      ? `${tps(perf.decode_tokens_per_s)} tok/s (${tps(perf.decode_low)}–${tps(perf.decode_high)})` : "–", "decode"],
    ["prefill", perf.prefill_tokens_per_s !== undefined ? `${tps(perf.prefill_tokens_per_s)} tok/s` : "–", "prefill"],
    ["first token", perf.time_to_first_token_s !== undefined ? `${perf.time_to_first_token_s.toFixed(2)} s` : "–", "ttft"],
    ["memory", gib(v.memory.total_bytes), "memory"],
    ["layers on GPU", `${v.offload.gpu_layers} of ${v.offload.total_layers}`, "layers"],
    ["largest context", String(v.max_context), "max-context"],
  ];
  for (const [k, val, id] of rows) {
    const pair = el("div");
    pair.append(el("dt", k), el("dd", val, { "data-field": id }));
    dl.append(pair);
  }
  $("bars").replaceChildren(...v.memory.devices.map(bar));
  const pts = perf.decode_by_depth || [];
  $("depth").replaceChildren(depthChart(pts, "decode_tokens_per_s", perf.decode_low, perf.decode_high,
    perf.decode_tokens_per_s, "decode speed by depth"));
  $("prefill-depth").replaceChildren(depthChart(pts, "prefill_tokens_per_s", perf.prefill_low, perf.prefill_high,
    perf.prefill_tokens_per_s, "prompt speed by depth"));
  $("launch").textContent = v.launch ? v.launch.command : "";
  $("warnings").replaceChildren(...(v.warnings || []).map((w) => el("li", w.message)));
}

function showError(e) {
  $("verdict").textContent = e && e.error ? e.error : "no answer";
  $("verdict").className = "no";
  $("verdict").dataset.verdict = "error";
  $("numbers").replaceChildren();
  $("bars").replaceChildren();
  $("depth").replaceChildren();
  $("prefill-depth").replaceChildren();
  $("launch").textContent = "";
  $("warnings").replaceChildren();
}

let seq = 0;
async function update() {
  $("ctx-out").textContent = String(ctx());
  const mine = ++seq;
  const t0 = performance.now();
  document.body.dataset.busy = "1";
  try {
    const v = await api("estimate", params());
    if (mine === seq) {
      render(v);
      // Input to redrawn page, ms (the browser test reads it).
      document.body.dataset.ms = (performance.now() - t0).toFixed(1);
    }
  } catch (e) {
    if (mine === seq) showError(e);
  }
  if (mine === seq) {
    document.body.dataset.busy = "";
    document.body.dataset.seq = String(mine);
  }
}

let recSeq = 0;
async function recommend() {
  const mine = ++recSeq;
  const p = params().filter(([k]) => ["gpu", "no-gpu", "cpu", "ram"].includes(k));
  p.push(["top", "5"]);
  try {
    const v = await api("recommend", p);
    if (mine !== recSeq) return;
    $("recommend").replaceChildren(...v.recommendations.map((r) =>
      el("li", `${r.name} ${r.quant}: ${tps(r.decode_tokens_per_s)} tok/s, ${r.verdict.replace("-", " ")}`)));
  } catch (e) {
    if (mine === recSeq) $("recommend").replaceChildren(el("li", e && e.error ? e.error : "no answer"));
  }
}

let gpuOptions = [];

// Another GPU row: its own kind and count, and a button that removes it.
function addGpuRow() {
  const row = el("div", undefined, { class: "gpu-row" });
  const sel = el("select", undefined, { "aria-label": "GPU" });
  sel.append(...gpuOptions.map(([id, name]) => el("option", name, { value: id })));
  const n = el("input", undefined, { type: "number", min: "1", max: "8", value: "1", "aria-label": "how many" });
  const rm = el("button", "Remove", { type: "button" });
  rm.addEventListener("click", () => {
    row.remove();
    changed();
  });
  sel.addEventListener("change", changed);
  n.addEventListener("input", changed);
  row.append(sel, n, rm);
  $("add-gpu").before(row);
  sel.focus();
  changed();
}

function changed() {
  update();
  recommend();
  slow();
}

// `need` and `plan` take longer than an estimate: asked once the controls rest for 400 ms.
let slowTimer;
function slow() {
  clearTimeout(slowTimer);
  slowTimer = setTimeout(() => {
    need();
    plan();
  }, 400);
}

let needSeq = 0;
async function need() {
  const mine = ++needSeq;
  const p = params().filter(([k]) => ["model", "quant", "ctx-size"].includes(k));
  p.push(["top", "5"]);
  try {
    const v = await api("need", p);
    if (mine !== needSeq) return;
    $("need").replaceChildren(...v.options.map((o) => {
      const hw = o.hardware.map((h) => `${h.count}× ${h.device}`).join(" + ") || o.cpu || o.kind;
      const price = o.price_usd ? `, $${Math.round(o.price_usd)}` : "";
      return el("li", `${hw}: ${gib(o.memory_bytes)}, ${tps(o.decode_tokens_per_s)} tok/s, ${o.verdict.replace("-", " ")}${price}`);
    }));
  } catch (e) {
    if (mine === needSeq) $("need").replaceChildren(el("li", e && e.error ? e.error : "no answer"));
  }
}

let planSeq = 0;
async function plan() {
  const mine = ++planSeq;
  // vLLM plans identical GPUs: the first row's.
  const g = params().find(([k]) => k === "gpu");
  if (!g) {
    $("plan").textContent = "Pick a GPU to plan a vLLM server on it.";
    $("plan-command").textContent = "";
    return;
  }
  const p = params().filter(([k]) => k === "model");
  p.push(g);
  try {
    const v = await api("plan", p);
    if (mine !== planSeq) return;
    const perf = v.performance || {};
    $("plan").textContent = `${v.fit.replace(/-/g, " ")}: TP ${v.plan.tp} × PP ${v.plan.pp} × DP ${v.plan.dp}, ` +
      `${v.max_concurrent_seqs} sequences of ${v.settings.max_model_len} tokens, ` +
      `${tps(perf.per_user_decode_tokens_per_s || 0)} tok/s per user` +
      (v.warnings && v.warnings.length ? ` (${v.warnings[0].message})` : "");
    $("plan-command").textContent = v.command || "";
  } catch (e) {
    if (mine === planSeq) {
      $("plan").textContent = e && e.error ? e.error : "no answer";
      $("plan-command").textContent = "";
    }
  }
}

async function init() {
  try {
    const hw = await api("hw", []);
    const m = hw.machine;
    const gpus = (m.gpus || []).map((g) => g.name).join(", ") || "no GPU";
    $("machine").textContent = `This machine: ${m.cpu.name}, ${gib(m.cpu.ram_bytes)} RAM, ${gpus}`;
  } catch (e) {
    $("machine").textContent = "This machine could not be detected; pick a GPU and RAM.";
  }
  try {
    const [models, devices] = await Promise.all([api("models", []), api("devices", [])]);
    $("models").replaceChildren(...models.models.map((m) => el("option", undefined, { value: m.id, label: m.name })));
    gpuOptions = devices.devices.filter((d) => d.kind === "gpu" || d.kind === "unified")
      .map((d) => [d.id, d.name]);
    $("gpu").append(...gpuOptions.map(([id, name]) => el("option", name, { value: id })));
    $("cpu").append(...devices.devices.filter((d) => d.kind === "cpu" || d.kind === "memory")
      .map((d) => el("option", d.name, { value: d.id })));
  } catch (e) {
    // The controls still work with typed names.
  }
  try {
    // Installed models (their files) when the server may read files.
    const index = await api("", []);
    if (index.allow_files) {
      const inst = await api("models", [["installed", "true"]]);
      $("models").append(...inst.installed.map((m) =>
        el("option", undefined, { value: m.path, label: `${m.program}: ${m.name}${m.quant ? ` (${m.quant})` : ""}` })));
    }
  } catch (e) {
    // Nothing installed to offer.
  }
  $("controls").addEventListener("submit", (e) => e.preventDefault());
  // Text, number and range fields report every keystroke as `input`; a select reports a choice
  // as `change` (also when chosen by script), so each control is listened to on one event.
  for (const id of ["model", "ctx", "gpus", "ram"]) $(id).addEventListener("input", update);
  for (const id of ["quant", "gpu", "cpu"]) $(id).addEventListener("change", update);
  for (const id of ["gpu", "gpus", "cpu", "ram"]) $(id).addEventListener("change", recommend);
  $("add-gpu").addEventListener("click", addGpuRow);
  for (const id of ["model", "ctx", "gpus"]) $(id).addEventListener("input", slow);
  for (const id of ["quant", "gpu"]) $(id).addEventListener("change", slow);
  $("copy").addEventListener("click", () => navigator.clipboard && navigator.clipboard.writeText($("launch").textContent));
  await Promise.all([update(), recommend()]);
  slow();
}

init();
