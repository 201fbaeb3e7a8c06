// The observer page: wires the stream to the town view and the panels.
import { Stream } from "./stream.js";
import { TownView } from "./render.js";
import { AgentCard, KpiPanel, Names, Ticker, clockText, showStability } from "./panels.js";
import { ConsolePanel } from "./console.js";

const $ = (id) => document.getElementById(id);
const SPEED_LABELS = { pause: "pause", 1: "1×", 10: "10×", 100: "100×", max: "max" };

const params = new URLSearchParams(location.search);
const names = new Names();
names.streamer = params.get("streamer") === "1";
$("streamer-toggle").checked = names.streamer;
const view = new TownView($("map"));
view.label = (id, a) => (names.streamer ? names.of(id) : a.name);
const card = new AgentCard(names);
const kpis = new KpiPanel();
let hello = null;
let speed = "1";
let lastArrival = 0;

function select(id) {
  view.selected = id;
  card.inspection = null;
  card.show(id, stream.state);
  if (hello?.inspector) stream.send({ type: "inspect", agent: id });
}
const ticker = new Ticker(names, select);

const STATUS_LABELS = { ended: "run ended" };
function setStatus(state) {
  document.body.dataset.connection = state;
  $("conn").textContent = state === "ended" && hello?.mode === "replay" ? "replay stopped" : (STATUS_LABELS[state] ?? state);
}

function onWorld(state, prev, whole) {
  const now = performance.now();
  // move citizens over the time a tick takes now (measured; capped by the chosen speed)
  if (lastArrival) view.tickMs = Math.min(1000, Math.max(16, now - lastArrival));
  lastArrival = now;
  names.learn(state);
  view.update(state, whole ? null : prev);
  card.remember(state);
  kpis.update(state);
  ticker.add(state.tick, state.narration);
  if (whole) $("conn").dataset.snapshots = String(stream.snapshots);
  $("clock").textContent = clockText(state);
  $("clock").dataset.tick = String(state.tick);
  $("weather").textContent = state.weather ?? "";
  const u = state.utilities ?? {};
  const util = $("utilities");
  util.textContent = Object.entries(u).map(([k, on]) => `${k} ${on ? "on" : "OFF"}`).join(" · ");
  for (const [k, on] of Object.entries(u)) util.dataset[k] = on ? "on" : "off";
  if (view.selected) card.show(view.selected, state);
  if (hello?.replay) {
    $("scrubber").value = String(state.tick);
    $("scrub-tick").textContent = `tick ${state.tick} / ${hello.replay.last_tick}`;
  }
}

function onMessage(msg) {
  switch (msg.type) {
    case "hello": return configure(msg);
    case "speed": return showSpeed(msg.speed);
    case "console_result": return consolePanel.answer(msg);
    case "inspection":
      if (msg.agent === view.selected) { card.inspection = msg; card.showInspection(msg.agent); }
      return;
    case "error": console.warn("observer:", msg.message); return;
    case "end": $("conn").title = msg.message ?? ""; return;
    default: break;
  }
  if (msg.payload_type === "narration") ticker.add(msg.tick, msg.items);
  if (msg.payload_type === "stability" || msg.type === "stability") showStability(msg);
}

function configure(msg) {
  hello = msg;
  card.inspectorOn = Boolean(msg.inspector);
  consolePanel.configure(msg);
  const box = $("speed");
  box.replaceChildren(...(msg.speeds ?? []).map((s) => {
    const b = document.createElement("button");
    b.type = "button"; b.dataset.speed = s; b.textContent = SPEED_LABELS[s] ?? s;
    b.addEventListener("click", () => stream.send({ type: "speed", speed: s }));
    return b;
  }));
  if (msg.speed) showSpeed(msg.speed);
  $("replay").hidden = !msg.replay;
  if (msg.replay) {
    $("scrubber").min = String(msg.replay.first_tick);
    $("scrubber").max = String(msg.replay.last_tick);
  }
  if (msg.town && !view.town) {
    fetch("/town.json").then((r) => (r.ok ? r.json() : null)).then((t) => { if (t) view.setTown(t); }).catch(() => {});
  }
  if (view.selected && msg.inspector) stream.send({ type: "inspect", agent: view.selected });
}

function showSpeed(s) {
  speed = s;
  document.body.dataset.speed = s;
  for (const b of $("speed").children) b.setAttribute("aria-pressed", String(b.dataset.speed === s));
}

const wsUrl = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
const stream = new Stream(wsUrl, { onWorld, onMessage, onStatus: setStatus });
const consolePanel = new ConsolePanel(stream, (text) => names.text(text)); // streamer mode masks answers too

$("overlay-toggle").addEventListener("change", (ev) => {
  view.overlay = ev.target.checked;
  $("map").dataset.overlay = view.overlay ? "on" : "off";
});
$("streamer-toggle").addEventListener("change", (ev) => {
  names.streamer = ev.target.checked;
  document.body.dataset.streamer = names.streamer ? "on" : "off";
  if (view.selected) card.show(view.selected, stream.state);
});
document.body.dataset.streamer = names.streamer ? "on" : "off";
$("map").addEventListener("click", (ev) => {
  const r = $("map").getBoundingClientRect();
  const id = view.hit(ev.clientX - r.left, ev.clientY - r.top);
  if (id) select(id);
});
$("replay-play").addEventListener("click", () => stream.send({ type: "speed", speed: "1" }));
$("replay-pause").addEventListener("click", () => stream.send({ type: "speed", speed: "pause" }));
$("scrubber").addEventListener("change", (ev) => stream.send({ type: "seek", tick: Number(ev.target.value) }));

// frame loop, with frame times kept for the responsiveness benchmark
const frames = { times: [], last: 0, long: 0 };
function frame(now) {
  if (frames.last) {
    const dt = now - frames.last;
    frames.times.push(dt);
    if (frames.times.length > 2000) frames.times.shift();
  }
  frames.last = now;
  const drawn = view.draw();
  $("map").dataset.drawn = String(drawn);
  kpis.draw();
  requestAnimationFrame(frame);
}
requestAnimationFrame(frame);

// a small read-only handle for scripts and tests
window.townlet = {
  get state() { return stream.state; },
  get hello() { return hello; },
  get speed() { return speed; },
  position: (id) => view.cssPosition(id),
  settled: () => performance.now() - view.arrived >= view.tickMs,
  select,
  frameTimes: () => frames.times.slice(),
  resetFrames: () => { frames.times.length = 0; frames.last = 0; },
};
