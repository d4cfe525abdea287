"use strict";
// Descent playground: draws a loss surface and the paths the server's optimizers take on it.
// State lives in the URL hash so a view can be shared.
const colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
const $ = (id) => document.getElementById(id);
let landscapes = [], catalog = {}, surface = null, result = null, animation = null;
const state = { f: "rosenbrock", x: -1.5, y: 2, n: 300, opts: [{ o: "sgd", h: { lr: 0.001, momentum: 0.9 } }, { o: "adam", h: { lr: 0.05 } }] };

async function api(path, body) {
  const r = await fetch(path, body ? { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) } : undefined);
  const data = await r.json();
  if (!r.ok) { const e = new Error(data.error || r.statusText); e.position = data.position; throw e; }
  return data;
}

function readHash() {
  try {
    if (location.hash.length > 1) Object.assign(state, JSON.parse(decodeURIComponent(location.hash.slice(1))));
  } catch { /* a hand-edited hash that does not parse: keep the defaults */ }
}
function writeHash() { history.replaceState(null, "", "#" + encodeURIComponent(JSON.stringify(state))); }

function view() {
  const named = landscapes.find((l) => l.name === state.f);
  return named ? named.view : [-3, 3, -3, 3];
}

function renderControls() {
  const sel = $("landscape");
  sel.innerHTML = landscapes.map((l) => `<option value="${l.name}">${l.name}</option>`).join("") + `<option value="">custom formula</option>`;
  const named = landscapes.find((l) => l.name === state.f);
  sel.value = named ? named.name : "";
  $("expression").value = named ? named.formula : state.f;
  $("start-x").value = state.x; $("start-y").value = state.y; $("steps").value = state.n;
  const box = $("optimizers");
  box.innerHTML = "";
  state.opts.forEach((spec, i) => box.appendChild(optimizerCard(spec, i)));
}

function optimizerCard(spec, i) {
  const card = document.createElement("div");
  card.className = "optimizer";
  const names = Object.keys(catalog);
  card.innerHTML = `<div class="head"><span class="swatch" style="background:${colors[i % colors.length]}"></span>
    <label class="sr" for="opt-${i}">Optimizer ${i + 1}</label>
    <select id="opt-${i}" data-role="name">${names.map((n) => `<option>${n}</option>`).join("")}</select>
    <button type="button" data-role="remove" aria-label="Remove optimizer ${i + 1}">Remove</button></div><div class="hp"></div>`;
  const select = card.querySelector("select");
  select.value = spec.o;
  select.addEventListener("change", () => { spec.o = select.value; spec.h = { lr: defaultOf(spec.o, "lr") }; renderControls(); run(); });
  card.querySelector("[data-role=remove]").addEventListener("click", () => { state.opts.splice(i, 1); renderControls(); run(); });
  const grid = card.querySelector(".hp");
  for (const h of catalog[spec.o]) {
    const value = spec.h[h.name] ?? h.value;
    const id = `opt-${i}-${h.name}`;
    if (h.kind === "flag") {
      grid.insertAdjacentHTML("beforeend", `<label for="${id}">${h.name}</label><input id="${id}" type="checkbox" ${value ? "checked" : ""}><span></span>`);
      grid.querySelector(`#${CSS.escape(id)}`).addEventListener("change", (e) => { spec.h[h.name] = e.target.checked; run(); });
      continue;
    }
    const log = h.name === "lr";
    const [lo, hi] = log ? [-5, 1] : [h.min ?? 0, Math.min(h.max ?? 1, 1)];
    const sliderValue = log ? Math.log10(Math.max(value, 1e-5)) : value;
    grid.insertAdjacentHTML("beforeend", `<label for="${id}">${h.name}${log ? " (log)" : ""}</label>
      <input id="${id}-slider" type="range" min="${lo}" max="${hi}" step="${log ? 0.05 : (hi - lo) / 100}" value="${sliderValue}" aria-label="${h.name} slider">
      <input id="${id}" type="number" step="any" value="${value}">`);
    const slider = grid.querySelector(`#${CSS.escape(id)}-slider`), field = grid.querySelector(`#${CSS.escape(id)}`);
    slider.addEventListener("input", () => { const v = log ? +(10 ** +slider.value).toPrecision(3) : +slider.value; field.value = v; spec.h[h.name] = v; });
    slider.addEventListener("change", run);
    field.addEventListener("change", () => { spec.h[h.name] = +field.value; if (log && +field.value > 0) slider.value = Math.log10(+field.value); run(); });
  }
  return card;
}

function defaultOf(name, hp) { return catalog[name].find((h) => h.name === hp).value; }

async function run() {
  const formula = $("landscape").value || $("expression").value.trim();
  state.f = formula; state.x = +$("start-x").value; state.y = +$("start-y").value; state.n = +$("steps").value;
  writeHash();
  const error = $("expression-error");
  if (!formula) {
    error.hidden = false;
    error.textContent = "Type a formula in x and y, for example x^2 + 10*y^2, or choose a surface.";
    return;
  }
  $("status").textContent = "computing...";
  try {
    surface = await api("/api/surface", { function: formula, view: view(), resolution: 120 });
    result = await api("/api/trajectory", {
      function: formula, start: [state.x, state.y], steps: state.n,
      optimizers: state.opts.map((s) => ({ optimizer: s.o, hyperparameters: s.h, label: label(s) })),
    });
    error.hidden = true;
    $("status").textContent = `${result.runs.length} optimizer(s), ${state.n} updates`;
    animate();
  } catch (e) {
    $("status").textContent = "";
    error.hidden = false;
    const text = $("expression").value;
    error.textContent = e.position != null ? `${e.message}\n${text}\n${" ".repeat(e.position)}^` : e.message;
  }
}

function label(s) { return `${s.o} lr ${s.h.lr ?? defaultOf(s.o, "lr")}`; }

function animate() {
  cancelAnimationFrame(animation);
  const started = performance.now();
  const frame = (now) => {
    const t = Math.min(1, (now - started) / 1500);
    draw(t);
    if (t < 1) animation = requestAnimationFrame(frame);
  };
  animation = requestAnimationFrame(frame);
}

function toCanvas(canvas, v, x, y) {
  return [(x - v[0]) / (v[1] - v[0]) * canvas.width, (v[3] - y) / (v[3] - v[2]) * canvas.height];
}

function draw(t) {
  const c = $("surface"), g = c.getContext("2d"), v = surface.view, n = surface.resolution;
  const finite = surface.values.filter((z) => z !== null);
  const lo = Math.min(...finite), hi = Math.max(...finite);
  const scale = (z) => Math.log1p(z - lo) / Math.log1p(hi - lo || 1);
  const image = g.createImageData(n, n);
  surface.values.forEach((z, i) => {
    const s = z === null ? 1 : scale(z);
    image.data.set([Math.round(68 + 185 * s), Math.round(1 + 230 * s), Math.round(84 + 30 * s * (1 - s) * 4), 255], 4 * i);
  });
  const tmp = document.createElement("canvas");
  tmp.width = n; tmp.height = n;
  tmp.getContext("2d").putImageData(image, 0, 0);
  g.imageSmoothingEnabled = true;
  g.drawImage(tmp, 0, 0, c.width, c.height);
  const legend = [];
  result.runs.forEach((run, i) => {
    const color = colors[i % colors.length];
    const count = Math.max(1, Math.round(t * run.path.length));
    g.strokeStyle = color; g.lineWidth = 2; g.beginPath();
    run.path.slice(0, count).forEach(([x, y], k) => { const [px, py] = toCanvas(c, v, x, y); k ? g.lineTo(px, py) : g.moveTo(px, py); });
    g.stroke();
    const [ex, ey] = toCanvas(c, v, run.path[count - 1][0], run.path[count - 1][1]);
    g.fillStyle = color; g.beginPath(); g.arc(ex, ey, 5, 0, 2 * Math.PI); g.fill();
    legend.push(`<span><span class="swatch" style="background:${color}"></span> ${run.label}${run.diverged != null ? ` (diverged at update ${run.diverged})` : ""}</span>`);
  });
  const [sx, sy] = toCanvas(c, v, state.x, state.y);
  g.strokeStyle = "black"; g.lineWidth = 2; g.strokeRect(sx - 5, sy - 5, 10, 10);
  $("legend").innerHTML = legend.join("");
  drawLoss(t);
  $("results").tBodies[0].innerHTML = result.runs.map((r) => { const p = r.path[r.path.length - 1]; return `<tr><td>${r.label}</td><td>${p[0].toPrecision(6)}</td><td>${p[1].toPrecision(6)}</td><td>${p[2].toPrecision(6)}</td></tr>`; }).join("");
}

function drawLoss(t) {
  const c = $("loss"), g = c.getContext("2d");
  g.clearRect(0, 0, c.width, c.height);
  const all = result.runs.flatMap((r) => r.path.map((p) => p[2]));
  const lo = Math.min(...all), hi = Math.max(...all), steps = Math.max(1, ...result.runs.map((r) => r.path.length - 1));
  const y = (z) => c.height - 20 - (z - lo) / ((hi - lo) || 1) * (c.height - 40);
  g.fillStyle = "#333"; g.font = "12px sans-serif";
  g.fillText(`loss ${hi.toPrecision(3)}`, 4, 14); g.fillText(`${lo.toPrecision(3)}`, 4, c.height - 4); g.fillText(`update ${steps}`, c.width - 80, c.height - 4);
  result.runs.forEach((run, i) => {
    const count = Math.max(1, Math.round(t * run.path.length));
    g.strokeStyle = colors[i % colors.length]; g.lineWidth = 2; g.beginPath();
    run.path.slice(0, count).forEach((p, k) => { const px = 50 + k / steps * (c.width - 60); k ? g.lineTo(px, y(p[2])) : g.moveTo(px, y(p[2])); });
    g.stroke();
  });
}

async function main() {
  readHash();
  landscapes = await api("/api/landscapes");
  for (const o of await api("/api/optimizers")) catalog[o.name] = o.hyperparameters;
  renderControls();
  $("landscape").addEventListener("change", () => {
    const l = landscapes.find((x) => x.name === $("landscape").value);
    if (l) $("expression").value = l.formula;
    run();
  });
  $("expression").addEventListener("change", () => { $("landscape").value = ""; run(); });
  for (const id of ["start-x", "start-y", "steps"]) $(id).addEventListener("change", run);
  $("add-optimizer").addEventListener("click", () => { state.opts.push({ o: "rmsprop", h: { lr: 0.01 } }); renderControls(); run(); });
  $("run").addEventListener("click", run);
  $("surface").addEventListener("click", (e) => {
    const c = $("surface"), r = c.getBoundingClientRect(), v = surface.view;
    $("start-x").value = +(v[0] + (e.clientX - r.left) / r.width * (v[1] - v[0])).toPrecision(4);
    $("start-y").value = +(v[3] - (e.clientY - r.top) / r.height * (v[3] - v[2])).toPrecision(4);
    run();
  });
  await run();
}
// ---- Training view: two moons trained live on the server, a chunk of steps at a time. ----
const training = { id: null, running: false, generation: 0, points: [], history: [] };

function trainConfig() {
  const v = (id) => +$(id).value;
  return {
    n: v("t-n"), noise: v("t-noise"), flip: v("t-flip"), stretch: [v("t-sx"), v("t-sy")],
    hidden: Array(v("t-depth")).fill(v("t-width")), activation: $("t-activation").value,
    optimizer: $("t-optimizer").value, hyperparameters: { lr: v("t-lr") }, schedule: $("t-schedule").value, batch: v("t-batch"), seed: 1,
  };
}

async function trainStart() {
  $("t-error").hidden = true;
  if (training.running) return;
  training.running = true;
  try {
    if (!training.id) {
      const started = await api("/api/train", trainConfig());
      Object.assign(training, { id: started.id, points: started.points, history: [started.state] });
      drawTraining(started.state);
    }
    // One loop at a time: pausing or resetting bumps the generation, and an older loop stops.
    const id = training.id, generation = ++training.generation;
    while (training.running && training.generation === generation) {
      const state = await api(`/api/train/${id}/step`, { steps: 25 });
      if (training.id !== id) return; // reset while this chunk was computing: drop it
      training.history.push(state);
      drawTraining(state);
    }
  } catch (e) {
    training.running = false;
    $("t-error").hidden = false;
    $("t-error").textContent = e.message;
  }
}

async function trainReset() {
  training.running = false;
  training.generation++;
  const id = training.id;
  Object.assign(training, { id: null, points: [], history: [] });
  for (const canvas of ["boundary", "curves"]) { const c = $(canvas); c.getContext("2d").clearRect(0, 0, c.width, c.height); }
  $("t-status").textContent = "reset";
  if (id) await fetch(`/api/train/${id}`, { method: "DELETE" });
}

function drawTraining(s) {
  const c = $("boundary"), g = c.getContext("2d"), n = s.grid, v = s.view;
  const image = g.createImageData(n, n);
  s.probability.forEach((p, i) => image.data.set([Math.round(60 + 195 * p), Math.round(110 + 40 * (1 - Math.abs(2 * p - 1))), Math.round(255 - 195 * p), 255], 4 * i));
  const tmp = document.createElement("canvas");
  tmp.width = n; tmp.height = n;
  tmp.getContext("2d").putImageData(image, 0, 0);
  g.imageSmoothingEnabled = true;
  g.drawImage(tmp, 0, 0, c.width, c.height);
  for (const [x, y, label] of training.points) {
    const [px, py] = toCanvas(c, v, x, y);
    g.fillStyle = label ? "#8b0000" : "#00008b";
    g.beginPath(); g.arc(px, py, 2.5, 0, 2 * Math.PI); g.fill();
  }
  const k = $("curves"), h = k.getContext("2d"), hist = training.history;
  h.clearRect(0, 0, k.width, k.height);
  const last = Math.max(1, hist[hist.length - 1].step), maxLoss = Math.max(...hist.map((q) => q.trainLoss), 1e-9);
  const line = (color, f, scale) => {
    h.strokeStyle = color; h.lineWidth = 2; h.beginPath();
    hist.forEach((q, i) => { const px = 40 + q.step / last * (k.width - 50), py = k.height - 20 - f(q) / scale * (k.height - 40); i ? h.lineTo(px, py) : h.moveTo(px, py); });
    h.stroke();
  };
  line("#d62728", (q) => q.trainLoss, maxLoss);
  line("#1f77b4", (q) => q.trainAccuracy, 1);
  line("#2ca02c", (q) => q.testAccuracy, 1);
  h.fillStyle = "#333"; h.font = "12px sans-serif";
  h.fillText(`train loss (red, max ${maxLoss.toPrecision(3)}), train accuracy (blue), test accuracy (green); step ${s.step}`, 8, 14);
  $("t-status").textContent = `step ${s.step}: loss ${s.trainLoss.toFixed(4)}, train accuracy ${(100 * s.trainAccuracy).toFixed(1)}%, test accuracy ${(100 * s.testAccuracy).toFixed(1)}%` + (training.running ? "" : " (paused)");
}

function showTab(train) {
  $("surface-view").hidden = train; $("train-view").hidden = !train;
  $("tab-surface").setAttribute("aria-pressed", String(!train)); $("tab-train").setAttribute("aria-pressed", String(train));
}

function wireTraining() {
  $("t-optimizer").innerHTML = Object.keys(catalog).map((n) => `<option${n === "adam" ? " selected" : ""}>${n}</option>`).join("");
  for (const [slider, field, log] of [["t-noise-slider", "t-noise", false], ["t-flip-slider", "t-flip", false], ["t-lr-slider", "t-lr", true]]) {
    $(slider).addEventListener("input", () => { $(field).value = log ? +(10 ** +$(slider).value).toPrecision(3) : $(slider).value; });
    $(field).addEventListener("change", () => { $(slider).value = log ? Math.log10(+$(field).value) : $(field).value; });
  }
  $("t-start").addEventListener("click", trainStart);
  $("t-pause").addEventListener("click", () => { training.running = false; training.generation++; if (!$("t-status").textContent.endsWith("(paused)")) $("t-status").textContent += " (paused)"; });
  $("t-reset").addEventListener("click", trainReset);
  $("tab-surface").addEventListener("click", () => showTab(false));
  $("tab-train").addEventListener("click", () => showTab(true));
}

main().then(wireTraining);
