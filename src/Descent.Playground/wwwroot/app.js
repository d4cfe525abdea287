"use strict";
// Descent playground: draws a loss surface and the paths the server's optimizers take on it, and trains
// a small network live. State lives in the URL hash so a view can be shared; because a link can come from
// anyone, the hash is validated as a whole and the page is built with DOM properties and textContent,
// never by pasting data into HTML.
const colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
const undefinedColor = [200, 200, 200]; // where the formula has no finite value: not a colour of the map
const $ = (id) => document.getElementById(id);
let landscapes = [], catalog = Object.create(null), limits = null, surface = null, result = null;
const defaults = () => ({ f: "rosenbrock", x: -1.5, y: 2, n: 300, opts: [{ o: "sgd", h: { lr: 0.001, momentum: 0.9 } }, { o: "adam", h: { lr: 0.05 } }] });
let state = defaults();

/** Creates an element, setting properties (attributes for aria-*), and appends children. */
function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k.startsWith("aria-")) e.setAttribute(k, v);
    else if (k === "style") Object.assign(e.style, v);
    else e[k] = v;
  }
  e.append(...children);
  return e;
}

async function api(path, body) {
  const r = await fetch(path, body ? { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) } : undefined);
  const data = await r.json();
  if (!r.ok) { const e = new Error(data.error || r.statusText); e.position = data.position; throw e; }
  return data;
}

// ---- The shareable link ----

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const isNumber = (v) => typeof v === "number" && Number.isFinite(v);

/** The state a hash describes, or the first thing wrong with it. */
function parseHash(text) {
  let raw;
  try { raw = JSON.parse(decodeURIComponent(text)); } catch { return { problem: "it is not valid JSON" }; }
  if (!isObject(raw)) return { problem: "it is not a JSON object" };
  const s = defaults();
  for (const [key, value] of Object.entries(raw)) {
    if (key === "f") {
      if (typeof value !== "string" || value.length > limits.maxExpressionLength) return { problem: `f must be a surface name or a formula of at most ${limits.maxExpressionLength} characters` };
    } else if (key === "x" || key === "y") {
      if (!isNumber(value) || Math.abs(value) > limits.maxCoordinate) return { problem: `${key} must be a number within ±${limits.maxCoordinate}` };
    } else if (key === "n") {
      if (!Number.isInteger(value) || value < 0 || value > limits.maxSteps) return { problem: `n must be a whole number of updates from 0 to ${limits.maxSteps}` };
    } else if (key === "opts") {
      if (!Array.isArray(value) || value.length < 1 || value.length > limits.maxOptimizers) return { problem: `opts must list 1 to ${limits.maxOptimizers} optimizers` };
      for (const spec of value) {
        if (!isObject(spec) || typeof spec.o !== "string") return { problem: "each optimizer must be an object {o, h}" };
        if (!Object.hasOwn(catalog, spec.o)) return { problem: `unknown optimizer '${spec.o}' (this server has ${Object.keys(catalog).join(", ")})` };
        if (spec.h !== undefined && !isObject(spec.h)) return { problem: `the settings of ${spec.o} must be an object` };
        for (const [name, v] of Object.entries(spec.h ?? {})) {
          const h = catalog[spec.o].find((q) => q.name === name);
          if (!h) return { problem: `${spec.o} has no hyperparameter '${name}'` };
          if (h.kind === "flag" ? typeof v !== "boolean" : !isNumber(v)) return { problem: `${spec.o} ${name} must be ${h.kind === "flag" ? "true or false" : "a number"}` };
        }
        for (const k of Object.keys(spec)) if (k !== "o" && k !== "h") return { problem: `unknown optimizer setting '${k}'` };
      }
      if (value.length * (raw.n ?? s.n) > limits.maxTrajectoryUpdates) return { problem: `updates x optimizers must be at most ${limits.maxTrajectoryUpdates}` };
    } else {
      return { problem: `unknown setting '${key}'` };
    }
    s[key] = key === "opts" ? value.map((o) => ({ o: o.o, h: { ...(o.h ?? {}) } })) : value;
  }
  return { state: s };
}

function readHash() {
  const message = $("link-error");
  message.hidden = true;
  if (location.hash.length <= 1) return;
  const parsed = parseHash(location.hash.slice(1));
  if (parsed.state) { state = parsed.state; return; }
  state = defaults();
  message.hidden = false;
  message.textContent = `This link's settings could not be used (${parsed.problem}); showing the default view instead.`;
}
function writeHash() { history.replaceState(null, "", "#" + encodeURIComponent(JSON.stringify(state))); }

// ---- Controls ----

function namedLandscape() { return landscapes.find((l) => l.name === state.f); }
function view() { const named = namedLandscape(); return named ? named.view : [-3, 3, -3, 3]; }

function renderControls() {
  const sel = $("landscape");
  sel.replaceChildren(...landscapes.map((l) => el("option", { value: l.name, textContent: l.name })), el("option", { value: "", textContent: "custom formula" }));
  const named = namedLandscape();
  sel.value = named ? named.name : "";
  $("expression").value = named ? named.formula : state.f;
  $("start-x").value = state.x; $("start-y").value = state.y; $("steps").value = state.n;
  $("optimizers").replaceChildren(...state.opts.map((spec, i) => optimizerCard(spec, i)));
  const full = state.opts.length >= limits.maxOptimizers;
  $("add-optimizer").disabled = full;
  $("add-optimizer").textContent = full ? `Add optimizer (at most ${limits.maxOptimizers})` : "Add optimizer";
}

/**
 * A log slider's range of exponents; its leftmost position stands for 0. A count (h.whole) starts at 1, with one
 * position to its left for its lowest value when that is 0 or less (L-BFGS's max_eval 0: automatic).
 */
function logRange(h) {
  if (h.whole) return [(h.min ?? 1) <= 0 ? -0.05 : 0, Math.log10(h.max ?? Math.max(10, 10 * (h.value > 0 ? h.value : 1)))];
  const low = Math.min(-6, Math.floor(Math.log10(h.value > 0 ? h.value : 1)) - 2);
  return [low, h.max != null ? Math.log10(h.max) : 1];
}

function optimizerCard(spec, i) {
  const names = Object.keys(catalog);
  const select = el("select", { id: `opt-${i}` }, ...names.map((n) => el("option", { value: n, textContent: n })));
  select.value = spec.o;
  select.addEventListener("change", () => { spec.o = select.value; spec.h = { lr: defaultOf(spec.o, "lr") }; renderControls(); run(); });
  const remove = el("button", { type: "button", textContent: "Remove", "aria-label": `Remove optimizer ${i + 1}`, disabled: state.opts.length === 1 });
  remove.addEventListener("click", () => { state.opts.splice(i, 1); renderControls(); run(); });
  const grid = el("div", { className: "hp" });
  for (const h of catalog[spec.o]) {
    const value = spec.h[h.name] ?? h.value;
    const id = `opt-${i}-${h.name}`;
    if (h.kind === "flag") {
      const box = el("input", { id, type: "checkbox", checked: Boolean(value) });
      box.addEventListener("change", () => { spec.h[h.name] = box.checked; run(); });
      grid.append(el("label", { htmlFor: id, textContent: h.name, title: h.description }), el("span"), box);
      continue;
    }
    const log = h.scale === "log";
    const [lo, hi] = log ? logRange(h) : [h.min ?? Math.min(0, (h.max ?? 1) - 1), Math.min(h.max ?? 1, 1)];   // no lower bound: one unit below the top (beta2_decay)
    const toSlider = (v) => log ? (v > 0 ? Math.log10(v) : lo) : v;
    const fromSlider = (p) => {
      if (h.whole) return +p < 0 ? h.min : Math.min(Math.round(log ? 10 ** +p : +p), h.max ?? Infinity);   // counts take whole numbers only
      return log ? (+p <= lo && (h.min ?? 0) <= 0 ? 0 : +(10 ** +p).toPrecision(3)) : +p;
    };
    const slider = el("input", { id: `${id}-slider`, type: "range", min: lo, max: hi, step: log ? 0.05 : (hi - lo) / 100, "aria-label": `${h.name} slider` });
    slider.value = toSlider(value);
    const field = el("input", { id, type: "number", step: h.whole ? "1" : "any" });
    field.value = value;
    slider.addEventListener("input", () => { const v = fromSlider(slider.value); field.value = v; spec.h[h.name] = v; });
    slider.addEventListener("change", run);
    field.addEventListener("change", () => {
      if (h.whole) field.value = Math.round(+field.value);
      spec.h[h.name] = +field.value; slider.value = toSlider(+field.value); run();
    });
    grid.append(el("label", { htmlFor: id, textContent: h.name + (log ? " (log)" : ""), title: h.description }), slider, field);
  }
  const swatch = el("span", { className: "swatch", style: { background: colors[i % colors.length] } });
  const head = el("div", { className: "head" }, swatch, el("label", { className: "sr", htmlFor: `opt-${i}`, textContent: `Optimizer ${i + 1}` }), select, remove);
  return el("div", { className: "optimizer" }, head, grid);
}

function defaultOf(name, hp) { return catalog[name].find((h) => h.name === hp)?.value; }

/** The optimizer and every setting that differs from its default (lr always). */
function label(s) {
  const parts = [s.o, `lr ${s.h.lr ?? defaultOf(s.o, "lr")}`];
  for (const h of catalog[s.o]) {
    const v = s.h[h.name];
    if (h.name === "lr" || v === undefined || +v === +h.value) continue;
    parts.push(h.kind === "flag" ? (v ? h.name : `no ${h.name}`) : `${h.name} ${v}`);
  }
  return parts.join(" ");
}

// ---- Running ----

let runGeneration = 0;
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
  const generation = ++runGeneration;
  $("status").textContent = "computing...";
  try {
    const s = await api("/api/surface", { function: formula, view: view(), resolution: 120 });
    const r = await api("/api/trajectory", {
      function: formula, start: [state.x, state.y], steps: state.n,
      optimizers: state.opts.map((o) => ({ optimizer: o.o, hyperparameters: o.h, label: label(o) })),
    });
    if (generation !== runGeneration) return; // a newer run started meanwhile
    surface = prepareSurface(s); result = r;
    error.hidden = true;
    $("status").textContent = `${result.runs.length} optimizer(s), ${state.n} updates`;
    renderLegend();
    startReplay();
  } catch (e) {
    if (generation !== runGeneration) return;
    $("status").textContent = "not run: see the message above";
    error.hidden = false;
    const text = $("expression").value;
    error.textContent = e.position != null ? `${e.message}\n${text}\n${" ".repeat(e.position)}^` : e.message;
  }
}

function renderLegend() {
  $("legend").replaceChildren(...result.runs.map((r, i) => el("span", {},
    el("span", { className: "swatch", style: { background: colors[i % colors.length] } }),
    ` ${r.label}` + (r.diverged != null ? ` (diverged at update ${r.diverged})` : ""))));
  $("results").tBodies[0].replaceChildren(...result.runs.map((r) => {
    const p = r.path.at(-1);
    return el("tr", {}, el("td", { textContent: r.label }), ...(p ? p.map((q) => el("td", { textContent: q.toPrecision(6) })) : [el("td", { textContent: "no finite point", colSpan: 3 })]));
  }));
}

// ---- Replay: one update index moves every path's marker ----

const replay = { index: 0, playing: false, frame: 0 };
function replayEnd() { return Math.max(0, ...result.runs.map((r) => r.path.length - 1)); }

function startReplay() {
  const s = $("replay");
  s.max = replayEnd();
  replay.index = 0;
  setPlaying(true);
}

function setPlaying(on) {
  replay.playing = on;
  $("play").textContent = on ? "Pause" : "Play";
  cancelAnimationFrame(replay.frame);
  if (!on) { drawAll(); return; }
  if (replay.index >= replayEnd()) replay.index = 0;
  const speed = Math.max(1, replayEnd() / 90); // about 1.5 s at 60 frames a second
  const tick = () => {
    replay.index = Math.min(replayEnd(), replay.index + speed);
    drawAll();
    if (replay.index < replayEnd()) replay.frame = requestAnimationFrame(tick);
    else { replay.playing = false; $("play").textContent = "Play"; }
  };
  replay.frame = requestAnimationFrame(tick);
}

function drawAll() {
  const k = Math.round(replay.index);
  $("replay").value = k;
  $("replay-index").textContent = String(k);
  drawSurface(k);
  drawLoss(k);
}

// ---- Plot geometry shared by every chart ----

/** Ticks at 1, 2 or 5 times a power of ten covering [lo, hi]. */
function ticks(lo, hi, count = 6) {
  const raw = (hi - lo) / count, power = 10 ** Math.floor(Math.log10(raw)), f = raw / power;
  const step = (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * power;
  const out = [];
  for (let i = Math.ceil(lo / step - 1e-9); i * step <= hi + step * 1e-9; i++) out.push(+(i * step).toPrecision(12));
  return out;
}

/** Ticks of a log10 axis over [lo, hi] (in decades), labelled with the values: each decade, with 2 and 5 when there are few. */
function logTicks(lo, hi) {
  const out = [];
  for (let e = Math.floor(lo); e <= Math.ceil(hi); e++)
    for (const m of hi - lo < 2.5 ? [1, 2, 5] : [1]) { const t = e + Math.log10(m); if (t >= lo - 1e-9 && t <= hi + 1e-9) out.push([t, format(m * 10 ** e)]); }
  return out;
}
const format = (v) => Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(0) : String(+v.toPrecision(4));

/** Maps data to pixels inside a plot box {left, top, right, bottom} of a canvas. */
function frame(box, xr, yr) {
  return {
    box, xr, yr,
    x: (x) => box.left + (x - xr[0]) / (xr[1] - xr[0]) * (box.right - box.left),
    y: (y) => box.bottom - (y - yr[0]) / (yr[1] - yr[0]) * (box.bottom - box.top),
    fromX: (px) => xr[0] + (px - box.left) / (box.right - box.left) * (xr[1] - xr[0]),
    fromY: (py) => yr[0] + (box.bottom - py) / (box.bottom - box.top) * (yr[1] - yr[0]),
  };
}

/** Axes with ticks and labels; yTicks may carry their own labels. */
function axes(g, f, xLabel, yLabel, xTicks = ticks(...f.xr), yTicks = ticks(...f.yr).map((t) => [t, format(t)])) {
  const b = f.box;
  g.strokeStyle = "#333"; g.lineWidth = 1; g.fillStyle = "#222"; g.font = "12px DejaVu Sans, sans-serif";
  g.strokeRect(b.left, b.top, b.right - b.left, b.bottom - b.top);
  g.textAlign = "center"; g.textBaseline = "top";
  for (const t of xTicks) { const px = f.x(t); g.beginPath(); g.moveTo(px, b.bottom); g.lineTo(px, b.bottom + 5); g.stroke(); g.fillText(format(t), px, b.bottom + 7); }
  g.fillText(xLabel, (b.left + b.right) / 2, b.bottom + 22);
  g.textAlign = "right"; g.textBaseline = "middle";
  for (const [t, text] of yTicks) { const py = f.y(t); g.beginPath(); g.moveTo(b.left - 5, py); g.lineTo(b.left, py); g.stroke(); g.fillText(text, b.left - 7, py); }
  g.save(); g.translate(12, (b.top + b.bottom) / 2); g.rotate(-Math.PI / 2); g.textAlign = "center"; g.fillText(yLabel, 0, 0); g.restore();
}

/** Draws a grid of values (rows top to bottom over the frame) as an image through colour(value) -> [r, g, b]. */
function drawGrid(g, f, values, n, colour) {
  const image = new ImageData(n, n);
  values.forEach((z, i) => { const [r, gr, b] = colour(z); image.data.set([r, gr, b, 255], 4 * i); });
  const tmp = el("canvas", { width: n, height: n });
  tmp.getContext("2d").putImageData(image, 0, 0);
  const b = f.box;
  g.imageSmoothingEnabled = true;
  g.drawImage(tmp, b.left, b.top, b.right - b.left, b.bottom - b.top);
}

/** Contour lines of a grid at each level (marching squares; cells with an undefined corner are skipped). */
function contours(g, f, values, n, levels, style) {
  const v = f.xr, w = f.yr;
  const px = (c) => f.x(v[0] + (v[1] - v[0]) * c / (n - 1)), py = (r) => f.y(w[1] - (w[1] - w[0]) * r / (n - 1));
  g.strokeStyle = style; g.lineWidth = 1; g.beginPath();
  for (let r = 0; r + 1 < n; r++) {
    for (let c = 0; c + 1 < n; c++) {
      const a = values[r * n + c], b = values[r * n + c + 1], d = values[(r + 1) * n + c], e = values[(r + 1) * n + c + 1];
      if (a === null || b === null || d === null || e === null) continue;
      for (const L of levels) {
        const points = [];
        const edge = (z1, z2, x1, y1, x2, y2) => { if ((z1 - L) * (z2 - L) < 0) { const t = (L - z1) / (z2 - z1); points.push([x1 + t * (x2 - x1), y1 + t * (y2 - y1)]); } };
        edge(a, b, c, r, c + 1, r); edge(b, e, c + 1, r, c + 1, r + 1); edge(e, d, c + 1, r + 1, c, r + 1); edge(d, a, c, r + 1, c, r);
        for (let k = 0; k + 1 < points.length; k += 2) { g.moveTo(px(points[k][0]), py(points[k][1])); g.lineTo(px(points[k + 1][0]), py(points[k + 1][1])); }
      }
    }
  }
  g.stroke();
}

// Viridis, sampled at ten evenly spaced points and interpolated: perceptually uniform and readable in grey.
const viridis = [[68, 1, 84], [72, 40, 120], [62, 74, 137], [49, 104, 142], [38, 130, 142], [31, 158, 137], [53, 183, 121], [110, 206, 88], [181, 222, 43], [253, 231, 37]];
function colormap(t) {
  const s = Math.min(1, Math.max(0, t)) * (viridis.length - 1), i = Math.min(viridis.length - 2, Math.floor(s)), u = s - i;
  return viridis[i].map((c, k) => Math.round(c + u * (viridis[i + 1][k] - c)));
}

// ---- Surface view ----

const surfaceBox = { left: 58, top: 10, right: 548, bottom: 436 };

/**
 * Adds the colour scale to a surface: colour is log10(1 + (z - lowest) / unit), with unit the power of ten
 * nearest a ten-thousandth of the range, so both the floor of a valley and its walls show; contours at
 * lowest + 1, 3, 10, 30 ... units, round numbers above the lowest value.
 */
function prepareSurface(s) {
  const finite = s.values.filter((z) => z !== null);
  const lo = finite.length ? finite.reduce((a, b) => Math.min(a, b)) : 0, hi = finite.length ? finite.reduce((a, b) => Math.max(a, b)) : 1;
  const unit = 10 ** Math.round(Math.log10(Math.max((hi - lo) * 1e-4, 1e-300))), top = Math.log10(1 + (hi - lo) / unit) || 1;
  const levels = [];
  for (let e = 0; 10 ** e * unit <= hi - lo; e++) for (const m of [1, 3]) if (m * 10 ** e * unit <= hi - lo) levels.push(lo + m * 10 ** e * unit);
  return { ...s, lo, hi, unit, levels, defined: finite.length > 0, scale: (z) => Math.log10(1 + (z - lo) / unit) / top };
}

function surfaceFrame() { const v = surface.view; return frame(surfaceBox, [v[0], v[1]], [v[2], v[3]]); }

function drawSurface(k) {
  const c = $("surface"), g = c.getContext("2d"), f = surfaceFrame();
  g.clearRect(0, 0, c.width, c.height);
  drawGrid(g, f, surface.values, surface.resolution, (z) => z === null ? undefinedColor : colormap(surface.scale(z)));
  contours(g, f, surface.values, surface.resolution, surface.levels, "rgba(255, 255, 255, 0.35)");
  axes(g, f, "x", "y");
  colourBar(g);
  g.save();
  g.beginPath(); g.rect(f.box.left, f.box.top, f.box.right - f.box.left, f.box.bottom - f.box.top); g.clip();
  const min = namedLandscape()?.minimum;
  if (min) {
    const [mx, my] = [f.x(min[0]), f.y(min[1])];
    for (const [colour, width] of [["black", 4], ["white", 2]]) {
      g.strokeStyle = colour; g.lineWidth = width; g.beginPath();
      g.moveTo(mx - 7, my - 7); g.lineTo(mx + 7, my + 7); g.moveTo(mx + 7, my - 7); g.lineTo(mx - 7, my + 7); g.stroke();
    }
  }
  result.runs.forEach((r, i) => {
    if (!r.path.length) return;
    const color = colors[i % colors.length], end = Math.min(k, r.path.length - 1);
    g.strokeStyle = color; g.lineWidth = 2; g.beginPath();
    for (let j = 0; j <= end; j++) { const p = r.path[j]; j ? g.lineTo(f.x(p[0]), f.y(p[1])) : g.moveTo(f.x(p[0]), f.y(p[1])); }
    g.stroke();
    const p = r.path[end];
    g.fillStyle = color; g.beginPath(); g.arc(f.x(p[0]), f.y(p[1]), 5, 0, 2 * Math.PI); g.fill();
  });
  g.strokeStyle = "black"; g.lineWidth = 2; g.strokeRect(f.x(state.x) - 5, f.y(state.y) - 5, 10, 10);
  g.restore();
}

function colourBar(g) {
  const b = surfaceBox, left = b.right + 14, width = 14, height = b.bottom - b.top;
  for (let py = 0; py < height; py++) { const [r, gr, bl] = colormap(1 - py / (height - 1)); g.fillStyle = `rgb(${r},${gr},${bl})`; g.fillRect(left, b.top + py, width, 1); }
  g.strokeStyle = "#333"; g.lineWidth = 1; g.strokeRect(left, b.top, width, height);
  g.fillStyle = "#222"; g.font = "11px DejaVu Sans, sans-serif"; g.textAlign = "left"; g.textBaseline = "middle";
  if (!surface.defined) { g.fillText("no finite value", left - 10, b.top + height / 2); return; }
  // Labelled as loss above the lowest value ("min" at the bottom), so the labels are round numbers.
  for (const z of [surface.lo, ...surface.levels.filter((_, i) => i % 2 === 0)]) {
    const py = b.bottom - surface.scale(z) * height;
    g.beginPath(); g.moveTo(left + width, py); g.lineTo(left + width + 4, py); g.stroke();
    g.fillText(z === surface.lo ? "min" : `+${format(+(z - surface.lo).toPrecision(1))}`, left + width + 6, py);
  }
  g.fillStyle = `rgb(${undefinedColor})`; g.fillRect(left, b.bottom + 12, width, 10);
  g.fillStyle = "#222"; g.fillText("undefined", left - 40, b.bottom + 30);
}

// ---- Loss plot ----

const lossBox = { left: 66, top: 10, right: 628, bottom: 200 };
let lossFrame = null;

/** The loss axis: log10 of the loss when asked and every loss is positive; clipped a decade above the start. */
function lossScale() {
  const all = result.runs.flatMap((r) => r.path.map((p) => p[2]));
  const log = $("loss-log").checked && all.length > 0 && all.every((z) => z > 0);
  const t = (z) => log ? Math.log10(z) : z;
  const start = Math.max(...result.runs.filter((r) => r.path.length).map((r) => t(r.path[0][2])));
  const lo = Math.min(...all.map(t));
  const hi = log ? start + 1 : start + 0.25 * Math.max(start - lo, 1e-12);
  return { log, t, lo: lo === hi ? lo - 1 : lo, hi };
}

function drawLoss(k) {
  const c = $("loss"), g = c.getContext("2d");
  g.clearRect(0, 0, c.width, c.height);
  if (!result.runs.some((r) => r.path.length)) return;
  const s = lossScale(), steps = Math.max(1, replayEnd());
  const f = frame(lossBox, [0, steps], [s.lo, s.hi]);
  lossFrame = { f, s };
  const yTicks = s.log ? logTicks(s.lo, s.hi) : ticks(s.lo, s.hi).map((t) => [t, format(t)]);
  axes(g, f, "update", s.log ? "loss (log scale)" : "loss", ticks(0, steps), yTicks);
  g.save(); g.beginPath(); g.rect(f.box.left, f.box.top - 4, f.box.right - f.box.left, f.box.bottom - f.box.top + 4); g.clip();
  result.runs.forEach((r, i) => {
    g.strokeStyle = colors[i % colors.length]; g.fillStyle = g.strokeStyle; g.lineWidth = 2; g.beginPath();
    let clipped = -1;
    r.path.forEach((p, j) => {
      const y = s.t(p[2]);
      if (y > s.hi && clipped < 0) clipped = j;
      const py = f.y(Math.min(y, s.hi));
      j ? g.lineTo(f.x(j), py) : g.moveTo(f.x(j), py);
    });
    g.stroke();
    const mark = clipped >= 0 ? clipped : r.diverged != null ? r.path.length - 1 : -1;
    if (mark >= 0) { // an upward triangle where the run leaves the plot or diverges
      const px = f.x(mark), py = f.y(Math.min(s.t(r.path[mark][2]), s.hi));
      g.beginPath(); g.moveTo(px, py - 2); g.lineTo(px - 6, py + 8); g.lineTo(px + 6, py + 8); g.closePath(); g.fill();
    }
  });
  g.restore();
  g.strokeStyle = "rgba(0, 0, 0, 0.5)"; g.lineWidth = 1; g.beginPath(); g.moveTo(f.x(k), f.box.top); g.lineTo(f.x(k), f.box.bottom); g.stroke();
}

function readout(e) {
  if (!lossFrame || !result) return;
  const c = $("loss"), r = c.getBoundingClientRect();
  const px = (e.clientX - r.left) * c.width / r.width;
  const k = Math.round(Math.min(replayEnd(), Math.max(0, lossFrame.f.fromX(px))));
  $("readout").textContent = `update ${k}: ` + result.runs.map((run) => {
    const p = run.path[Math.min(k, run.path.length - 1)];
    return p ? `${run.label}: loss ${p[2].toPrecision(5)} at (${p[0].toPrecision(4)}, ${p[1].toPrecision(4)})` : `${run.label}: no finite point`;
  }).join("; ");
}

// ---- Start point ----

/** Keeps the start inside the current view (a named surface's view may not contain the old start). */
function keepStartInView() {
  const v = view(), m = 0.05;
  const clamp = (a, lo, hi) => Math.min(hi - m * (hi - lo), Math.max(lo + m * (hi - lo), a));
  $("start-x").value = +clamp(+$("start-x").value, v[0], v[1]).toPrecision(4);
  $("start-y").value = +clamp(+$("start-y").value, v[2], v[3]).toPrecision(4);
}

let keyTimer = 0;
function moveStart(e) {
  const d = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] }[e.key];
  if (!d || !surface) return;
  e.preventDefault();
  const v = surface.view;
  $("start-x").value = +(+$("start-x").value + d[0] * (v[1] - v[0]) / 40).toPrecision(4);
  $("start-y").value = +(+$("start-y").value + d[1] * (v[3] - v[2]) / 40).toPrecision(4);
  state.x = +$("start-x").value; state.y = +$("start-y").value;
  drawSurface(Math.round(replay.index));
  clearTimeout(keyTimer);
  keyTimer = setTimeout(run, 250);
}

async function main() {
  [landscapes, limits] = await Promise.all([api("/api/landscapes"), api("/api/limits")]);
  for (const o of await api("/api/optimizers")) catalog[o.name] = o.hyperparameters;
  $("steps").max = limits.maxSteps;
  readHash();
  renderControls();
  $("landscape").addEventListener("change", () => {
    const l = landscapes.find((x) => x.name === $("landscape").value);
    if (l) { $("expression").value = l.formula; state.f = l.name; keepStartInView(); }
    run();
  });
  $("expression").addEventListener("change", () => { $("landscape").value = ""; run(); });
  for (const id of ["start-x", "start-y", "steps"]) $(id).addEventListener("change", run);
  $("add-optimizer").addEventListener("click", () => {
    if (state.opts.length >= limits.maxOptimizers) return;
    const used = new Set(state.opts.map((o) => o.o)), next = Object.keys(catalog).find((n) => !used.has(n)) ?? "adam";
    state.opts.push({ o: next, h: { lr: defaultOf(next, "lr") } }); renderControls(); run();
  });
  $("run").addEventListener("click", run);
  $("surface").addEventListener("click", (e) => {
    if (!surface) return;
    const c = $("surface"), r = c.getBoundingClientRect(), f = surfaceFrame();
    const px = (e.clientX - r.left) * c.width / r.width, py = (e.clientY - r.top) * c.height / r.height;
    $("start-x").value = +f.fromX(px).toPrecision(4);
    $("start-y").value = +f.fromY(py).toPrecision(4);
    run();
  });
  $("surface").addEventListener("keydown", moveStart);
  $("replay").addEventListener("input", () => { replay.index = +$("replay").value; setPlaying(false); });
  $("play").addEventListener("click", () => setPlaying(!replay.playing));
  $("loss-log").addEventListener("change", () => result && drawAll());
  $("loss").addEventListener("mousemove", readout);
  await run();
}

// ---- Training view: two moons trained live on the server, a chunk of steps at a time. ----
const training = { id: null, running: false, generation: 0, points: [], history: [], maxSteps: 25, wrappers: [], last: null };
const maxHistory = 400; // points kept for the curves; older ones are thinned, so a long run does not grow the page

function trainConfig() {
  const v = (id) => +$(id).value;
  return {
    n: v("t-n"), noise: v("t-noise"), flip: v("t-flip"), stretch: [v("t-sx"), v("t-sy")],
    hidden: Array(v("t-depth")).fill(v("t-width")), activation: $("t-activation").value,
    optimizer: $("t-optimizer").value, hyperparameters: { lr: v("t-lr") }, schedule: $("t-schedule").value, batch: v("t-batch"), seed: 1,
    wrappers: trainWrappers(),
  };
}

/** The wrappers around the optimizer: a blank field is left out (off); the server checks the ranges and combinations. */
function trainWrappers() {
  const given = (id) => ($(id).value.trim() === "" ? undefined : +$(id).value);
  return {
    accumulate: given("t-accumulate"), sam: given("t-sam"), samAdaptive: $("t-sam-adaptive").checked,
    lookahead: given("t-lookahead"), lookaheadAlpha: given("t-lookahead-alpha"),
    ema: given("t-ema"), emaWarmup: $("t-ema-warmup").checked, swaStart: given("t-swa"), swaLr: given("t-swa-lr"),
    // SWALR's anneal shapes the way to the SWA lr, so it is sent only with one.
    ...(given("t-swa-lr") === undefined ? {} : { swaAnnealSteps: given("t-swa-anneal-steps"), swaAnneal: $("t-swa-anneal").value }),
  };
}

function trainError(message) {
  $("t-error").hidden = !message;
  $("t-error").textContent = message ?? "";
}

function deleteSession(id) { fetch(`/api/train/${id}`, { method: "DELETE" }).catch(() => {}); }

function endSession() {
  if (training.id) deleteSession(training.id);
  training.id = null;
}

function remember(s) {
  training.last = s;
  training.history.push({ step: s.step, trainLoss: s.trainLoss, trainAccuracy: s.trainAccuracy, testAccuracy: s.testAccuracy });
  if (training.history.length > maxHistory) training.history = training.history.filter((_, i) => i % 2 === 0 || i === training.history.length - 1);
}

/** Starts a fresh session with the current settings and draws its data and untrained boundary. */
async function trainPrepare() {
  training.running = false;
  const generation = ++training.generation;
  endSession();
  trainError(null);
  try {
    const started = await api("/api/train", trainConfig());
    if (generation !== training.generation) { deleteSession(started.id); return false; }
    Object.assign(training, { id: started.id, points: started.points, history: [], maxSteps: started.maxSteps, wrappers: started.wrappers });
    remember(started.state);
    drawTraining();
    $("t-status").textContent = `step 0: ready${training.wrappers.length ? ` with ${training.wrappers.join(", ")}` : ""}; press Train`;
    return true;
  } catch (e) {
    if (generation === training.generation) { trainError(e.message); $("t-status").textContent = "not started: see the message below"; }
    return false;
  }
}

async function trainStart() {
  trainError(null);
  if (training.running) return;
  // A setting changed a moment ago (its field lost focus to this button): apply it before training.
  const pending = prepareTimer !== 0;
  clearTimeout(prepareTimer); prepareTimer = 0;
  if ((pending || !training.id) && !(await trainPrepare())) return;
  training.running = true;
  // One loop at a time: pausing or a new setting bumps the generation, and an older loop stops.
  const id = training.id, generation = ++training.generation;
  try {
    while (training.running && training.generation === generation) {
      const stopAt = Math.max(1, +$("t-stop").value || 1), remaining = stopAt - training.last.step;
      if (remaining <= 0) { training.running = false; drawTraining(`stopped after ${training.last.step} steps; raise "stop after" to go on`); return; }
      const s = await api(`/api/train/${id}/step`, { steps: Math.min(25, training.maxSteps, remaining) });
      if (training.id !== id || training.generation !== generation) return; // settings changed while this chunk was computing
      remember(s);
      drawTraining();
    }
  } catch (e) {
    training.running = false;
    if (/no training session/.test(e.message)) training.id = null; // closed by the server: Train starts afresh
    trainError(e.message);
  }
}

function drawTraining(note) {
  const s = training.last;
  drawBoundary(s);
  drawCurves(s);
  $("t-status").textContent = `step ${s.step}: lr ${+s.learningRate.toPrecision(3)}, loss ${s.trainLoss.toFixed(4)}, train accuracy ${(100 * s.trainAccuracy).toFixed(1)}%, test accuracy ${(100 * s.testAccuracy).toFixed(1)}%`
    + (training.wrappers.length ? `; wrappers ${training.wrappers.join(", ")}` : "")
    + (note ? ` (${note})` : training.running ? "" : " (paused)");
}

// Class colours: blue and orange keep their contrast for the common colour-vision deficiencies.
const classColor = ["#1f5fa8", "#d95f02"], classTint = [[196, 216, 240], [250, 214, 186]];

function drawBoundary(s) {
  const c = $("boundary"), g = c.getContext("2d"), n = s.grid, v = s.view;
  const f = frame({ left: 50, top: 10, right: 550, bottom: 400 }, [v[0], v[1]], [v[2], v[3]]);
  g.clearRect(0, 0, c.width, c.height);
  // Probability of class 1 as a blend from class 0's tint through white (0.5) to class 1's.
  drawGrid(g, f, s.probability, n, (p) => {
    const [tint, a] = p < 0.5 ? [classTint[0], 1 - 2 * p] : [classTint[1], 2 * p - 1];
    return tint.map((t) => Math.round(255 + a * (t - 255)));
  });
  contours(g, f, s.probability, n, [0.5], "#333");
  axes(g, f, "x1", "x2");
  g.save(); g.beginPath(); g.rect(f.box.left, f.box.top, f.box.right - f.box.left, f.box.bottom - f.box.top); g.clip();
  g.strokeStyle = "white"; g.lineWidth = 1;
  for (const [x, y, label] of training.points) {
    g.fillStyle = classColor[label ? 1 : 0];
    g.beginPath(); g.arc(f.x(x), f.y(y), 3, 0, 2 * Math.PI); g.fill(); g.stroke();
  }
  g.restore();
}

function drawCurves(s) {
  const k = $("curves"), h = k.getContext("2d"), hist = training.history;
  h.clearRect(0, 0, k.width, k.height);
  const last = Math.max(1, s.step), losses = hist.map((q) => Math.log10(Math.max(q.trainLoss, 1e-6)));
  const lo = Math.floor(Math.min(...losses)), hi = Math.max(lo + 1, Math.ceil(Math.max(...losses)));
  const f = frame({ left: 60, top: 24, right: 500, bottom: 200 }, [0, last], [lo, hi]);
  axes(h, f, "step", "train loss (log)", ticks(0, last), logTicks(lo, hi));
  // Accuracy on its own axis at the right, 0 to 100%.
  const acc = (a) => f.box.bottom - a * (f.box.bottom - f.box.top);
  h.textAlign = "left"; h.textBaseline = "middle";
  for (const a of [0, 0.25, 0.5, 0.75, 1]) { h.beginPath(); h.moveTo(f.box.right, acc(a)); h.lineTo(f.box.right + 5, acc(a)); h.stroke(); h.fillText(`${100 * a}%`, f.box.right + 7, acc(a)); }
  const line = (color, y, dash) => {
    h.strokeStyle = color; h.lineWidth = 2; h.setLineDash(dash); h.beginPath();
    hist.forEach((q, i) => { const px = f.x(q.step), py = y(q); i ? h.lineTo(px, py) : h.moveTo(px, py); });
    h.stroke(); h.setLineDash([]);
  };
  line("#d62728", (q) => f.y(Math.log10(Math.max(q.trainLoss, 1e-6))), []);
  line(classColor[0], (q) => acc(q.trainAccuracy), []);
  line("#2ca02c", (q) => acc(q.testAccuracy), [6, 3]);
  h.fillStyle = "#222"; h.textAlign = "left"; h.textBaseline = "top";
  h.fillText("train loss (red, left axis); train / test accuracy (blue / green dashed, right)", 8, 4);
}

function showTab(train) {
  $("surface-view").hidden = train; $("train-view").hidden = !train;
  $("tab-surface").setAttribute("aria-pressed", String(!train)); $("tab-train").setAttribute("aria-pressed", String(train));
  if (train && !training.id && !training.running) trainPrepare();
}

let prepareTimer = 0;
function wireTraining() {
  $("t-optimizer").replaceChildren(...Object.keys(catalog).map((n) => el("option", { value: n, textContent: n, selected: n === "adam" })));
  for (const [slider, field, log] of [["t-noise-slider", "t-noise", false], ["t-flip-slider", "t-flip", false], ["t-lr-slider", "t-lr", true]]) {
    $(slider).addEventListener("input", () => { $(field).value = log ? +(10 ** +$(slider).value).toPrecision(3) : $(slider).value; });
    $(slider).addEventListener("change", () => $(field).dispatchEvent(new Event("change")));
    $(field).addEventListener("change", () => { $(slider).value = log ? Math.log10(+$(field).value) : $(field).value; });
  }
  // Every setting but "stop after" defines the run: a change starts a new one at once.
  for (const id of ["t-n", "t-noise", "t-flip", "t-sx", "t-sy", "t-width", "t-depth", "t-activation", "t-optimizer", "t-lr", "t-schedule", "t-batch",
    "t-accumulate", "t-sam", "t-sam-adaptive", "t-lookahead", "t-lookahead-alpha", "t-ema", "t-ema-warmup", "t-swa", "t-swa-lr", "t-swa-anneal-steps", "t-swa-anneal"])
    $(id).addEventListener("change", () => { clearTimeout(prepareTimer); prepareTimer = setTimeout(() => { prepareTimer = 0; trainPrepare(); }, 150); });
  // The anneal's controls are used only with an SWA lr, so they are enabled only with one.
  const annealControls = () => { for (const id of ["t-swa-anneal-steps", "t-swa-anneal"]) $(id).disabled = $("t-swa-lr").value.trim() === ""; };
  for (const event of ["input", "change"]) $("t-swa-lr").addEventListener(event, annealControls);
  annealControls();
  $("t-start").addEventListener("click", trainStart);
  $("t-pause").addEventListener("click", () => { training.running = false; training.generation++; if (training.last) drawTraining(); });
  $("t-reset").addEventListener("click", trainPrepare);
  $("tab-surface").addEventListener("click", () => showTab(false));
  $("tab-train").addEventListener("click", () => showTab(true));
  // A page that goes away ends its session (sendBeacon still runs as the page unloads, and can only POST).
  addEventListener("pagehide", () => { if (training.id) navigator.sendBeacon(`/api/train/${training.id}/stop`); training.id = null; });
}

main().then(wireTraining).catch((e) => {
  $("link-error").hidden = false;
  $("link-error").textContent = `The page could not start: ${e.message}`;
});
