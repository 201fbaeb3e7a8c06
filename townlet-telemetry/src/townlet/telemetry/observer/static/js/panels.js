// Side panels: agent card + policy inspector, KPI charts + stability canaries,
// narration ticker. Everything they show comes from the stream.

const el = (tag, attrs = {}, text) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
};

/** A short id that names no one: "C-003" for agent_003, "C-ab12" for a hashed id. */
export function displayId(id) {
  const digits = /(\d+)$/.exec(id);
  if (digits && !id.includes("-")) return `C-${digits[1]}`;
  return `C-${id.replace(/^agent-/, "").slice(0, 4)}`;
}

export class Names {
  constructor() { this.streamer = false; this.names = new Map(); }
  learn(state) { for (const [id, a] of Object.entries(state.agents ?? {})) this.names.set(id, a.name); }
  of(id) {
    if (this.streamer) return displayId(id);
    return this.names.get(id) ?? id;
  }
  /** `text` with every known name and id replaced by display ids in streamer mode. */
  text(text) {
    if (!this.streamer) return text;
    let out = text;
    const pairs = [...this.names].flatMap(([id, name]) => [[id, displayId(id)], [name, displayId(id)]]);
    pairs.sort((a, b) => b[0].length - a[0].length);
    for (const [word, shown] of pairs) {
      if (!word) continue;
      out = out.replace(new RegExp(`\\b${word.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\b`, "g"), shown);
    }
    return out;
  }
}

export function clockText(s) {
  const m = s.minute_of_day ?? 0;
  const hh = String(Math.floor(m / 60)).padStart(2, "0"), mm = String(m % 60).padStart(2, "0");
  return `day ${s.day} ${hh}:${mm} · tick ${s.tick}`;
}

export class AgentCard {
  constructor(names) {
    this.names = names;
    this.root = document.getElementById("card");
    this.events = new Map(); // agent id -> recent events (newest first)
    this.inspection = null;
  }

  remember(state) {
    for (const e of state.events ?? []) {
      for (const who of [e.agent, e.other]) {
        if (!who) continue;
        const list = this.events.get(who) ?? [];
        list.unshift({ tick: state.tick, ...e });
        this.events.set(who, list.slice(0, 5));
      }
    }
  }

  show(id, state) {
    const a = state?.agents?.[id];
    if (!id || !a) { this.root.hidden = true; this.root.dataset.agent = ""; return; }
    this.root.hidden = false;
    this.root.dataset.agent = id;
    document.getElementById("card-name").textContent = `${this.names.of(id)}${this.names.streamer ? "" : ` (${id})`}`;
    const needs = document.getElementById("card-needs");
    needs.replaceChildren(...Object.entries(a.needs ?? {}).map(([n, v]) => {
      const row = el("div", { class: "need", "data-need": n, "data-value": String(v) });
      const track = el("div", { class: "track" });
      const fill = el("div", { class: v < 0.3 ? "fill low" : "fill" });
      fill.style.width = `${Math.round(v * 100)}%`;
      track.append(fill);
      row.append(el("span", {}, n), track, el("span", { class: "value" }, v.toFixed(2)));
      return row;
    }));
    const job = a.job ?? {};
    const facts = [
      ["wallet", (a.wallet ?? 0).toFixed(2)],
      ["job", job.workplace ? `${job.workplace} (${job.state})` : "none"],
      ["attendance", job.attendance !== undefined ? `${Math.round(job.attendance * 100)}%` : "–"],
      ["late", job.state === "late" ? "yes" : "no"],
      ["option", a.option ?? "–"],
      ["affordance", a.affordance ?? "–"],
      ["at", `(${a.x}, ${a.y})`],
    ];
    document.getElementById("card-facts").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", { "data-fact": k }, v)]));
    const ties = [...(state.relationships?.[id] ?? [])];
    const friends = ties.filter((t) => t.trust - t.rivalry >= 0).sort((x, y) => y.trust - x.trust).slice(0, 3);
    const rivals = ties.filter((t) => t.trust - t.rivalry < 0).sort((x, y) => y.rivalry - x.rivalry).slice(0, 3);
    const tieRow = (t, kind) => el("li", { class: `tie ${kind}`, "data-other": t.other },
      `${kind} ${this.names.of(t.other)}: trust ${t.trust.toFixed(2)} · familiarity ${t.familiarity.toFixed(2)} · rivalry ${t.rivalry.toFixed(2)}`);
    const tieList = [...friends.map((t) => tieRow(t, "friend")), ...rivals.map((t) => tieRow(t, "rival"))];
    document.getElementById("card-ties").replaceChildren(...(tieList.length ? tieList : [el("li", { class: "muted" }, "no ties yet")]));
    const evs = this.events.get(id) ?? [];
    document.getElementById("card-events").replaceChildren(...(evs.length
      ? evs.map((e) => el("li", {}, `t${e.tick} ${e.kind}${e.type ? ` (${e.type})` : ""}${e.other && e.other !== id ? ` with ${this.names.of(e.other === id ? e.agent : e.other)}` : ""}`))
      : [el("li", { class: "muted" }, a.last_event ?? "none yet")]));
    this.showInspection(id);
  }

  showInspection(id) {
    const box = document.getElementById("inspector");
    const ins = this.inspection;
    if (!ins || ins.agent !== id) { box.hidden = !this.inspectorOn; if (this.inspectorOn) document.getElementById("inspector-value").textContent = "waiting for the next decision…"; return; }
    box.hidden = false;
    box.dataset.tick = String(ins.tick);
    if (!ins.probabilities) { document.getElementById("inspector-value").textContent = ins.message ?? ""; return; }
    document.getElementById("inspector-value").textContent = `value estimate ${ins.value.toFixed(3)} · tick ${ins.tick}`;
    const rows = Object.entries(ins.probabilities).sort((x, y) => y[1] - x[1]).map(([opt, p]) => {
      const allowed = ins.mask?.[opt] !== false;
      const tr = el("tr", { "data-option": opt, "data-allowed": String(allowed), class: allowed ? "" : "masked" });
      const bar = el("span", { class: "bar" });
      bar.style.width = `${Math.round(p * 120)}px`;
      const cell = el("td"); cell.append(bar);
      tr.append(el("td", {}, opt), el("td", {}, p.toFixed(3)), cell);
      return tr;
    });
    document.getElementById("inspector-options").replaceChildren(...rows);
  }
}

// -- KPI charts ---------------------------------------------------------------

const CHARTS = [
  ["self_sufficiency", "self-sufficiency", (k) => k.self_sufficiency],
  ["conflicts_per_day", "conflicts/day", (k, s) => (k.conflicts ?? 0) / Math.max(1, s.tick / (s.ticks_per_day || 1000))],
  ["lateness", "lateness", (k) => k.lateness],
  ["exits", "exits", (k) => k.exits ?? 0],
];

export class KpiPanel {
  constructor() {
    this.series = new Map(CHARTS.map(([key]) => [key, []]));
    this.root = document.getElementById("kpi-charts");
    this.rows = new Map();
    for (const [key, label] of CHARTS) {
      const row = el("div", { class: "chart", "data-kpi": key });
      const canvas = el("canvas", { width: "200", height: "28" });
      row.append(el("span", {}, label), canvas, el("span", { class: "value" }, "–"));
      this.root.append(row);
      this.rows.set(key, row);
    }
    this.lastTick = -Infinity;
  }

  reset() { for (const s of this.series.values()) s.length = 0; this.lastTick = -Infinity; }

  update(state) {
    const k = state.kpis ?? {};
    // one point every few ticks keeps charts cheap at 100x
    if (state.tick < this.lastTick) this.reset();
    if (state.tick - this.lastTick < 5) return;
    this.lastTick = state.tick;
    for (const [key, , get] of CHARTS) {
      const v = get(k, state);
      if (typeof v !== "number" || !Number.isFinite(v)) continue;
      const s = this.series.get(key);
      s.push(v);
      if (s.length > 200) s.shift();
    }
  }

  draw() {
    for (const [key] of CHARTS) {
      const row = this.rows.get(key), s = this.series.get(key);
      const c = row.querySelector("canvas"), g = c.getContext("2d");
      g.clearRect(0, 0, c.width, c.height);
      if (!s.length) continue;
      const lo = Math.min(...s), hi = Math.max(...s), span = hi - lo || 1;
      g.strokeStyle = "#58a6ff"; g.lineWidth = 1.5; g.beginPath();
      s.forEach((v, i) => {
        const x = (i / Math.max(1, s.length - 1)) * c.width, y = c.height - 2 - ((v - lo) / span) * (c.height - 4);
        if (i) g.lineTo(x, y); else g.moveTo(x, y);
      });
      g.stroke();
      const last = s[s.length - 1];
      row.querySelector(".value").textContent = Math.abs(last) < 1 && key !== "exits" ? last.toFixed(2) : last.toFixed(1);
    }
  }
}

export function showStability(msg) {
  const list = document.getElementById("canaries");
  const items = (msg.canaries ?? []).map((c) => el("li", { class: c.fired ? "fired" : "ok", "data-canary": c.name },
    `${c.fired ? "FIRED" : "ok"} ${c.name}: ${Number(c.value).toFixed(3)} (threshold ${Number(c.threshold).toFixed(3)})${c.fired && c.message ? ` — ${c.message}` : ""}`));
  const head = el("li", { class: "muted", "data-window": String(msg.window) }, `window ${msg.window} at tick ${msg.tick}`);
  const kpis = el("li", { class: "muted" }, Object.entries(msg.kpis ?? {})
    .map(([k, v]) => `${k.replaceAll("_", " ")} ${Number(v).toFixed(2)}`).join(" · "));
  list.replaceChildren(head, ...items, kpis);
}

// -- narration ------------------------------------------------------------------

export class Ticker {
  constructor(names, focus) {
    this.names = names;
    this.focus = focus;
    this.root = document.getElementById("ticker");
  }

  add(tick, items) {
    for (const item of items ?? []) {
      const li = el("li", { "data-agents": (item.agents ?? []).join(" "), "data-category": item.category ?? "" },
        `t${tick} ${this.names.text(item.text ?? "")}`);
      li.addEventListener("click", () => { if (item.agents?.length) this.focus(item.agents[0]); });
      this.root.prepend(li);
    }
    while (this.root.children.length > 40) this.root.lastChild.remove();
  }
}
