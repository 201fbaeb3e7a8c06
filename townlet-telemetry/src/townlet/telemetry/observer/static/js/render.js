// The town on a canvas: tiles and places (from /town.json), objects and queues,
// citizens moving smoothly between ticks, the relationship overlay.

const TILE_COLORS = {
  wall: "#3a3f47", floor: "#262a31", door: "#6b5a3a", road: "#2e3238", grass: "#1f3322",
  counter: "#4a3f2f", table: "#44382a", queue: "#2d3a4a",
};
const OBJECT_COLORS = {
  bed: "#7c6cf0", fridge: "#9fd3ff", stove: "#ff9f43", shower: "#48dbfb", wardrobe: "#c8a27a",
  till: "#feca57", desk: "#a4b0be", shelf: "#b08968",
};
const PLACE_COLORS = { home: "#7c6cf0", grocer: "#feca57", cafe: "#ff9f43", office: "#a4b0be", park: "#3fb950", gym: "#48dbfb" };

function hue(id) {
  let h = 2166136261; // FNV-1a: neighbouring ids get far-apart colours
  for (const c of id) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  return `hsl(${h % 360} 70% 62%)`;
}

export class TownView {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.town = null;       // the static map, if the server has one
    this.background = null; // tiles and places, drawn once
    this.state = null;
    this.from = new Map();  // agent id -> [x, y] at the previous tick
    this.arrived = 0;       // when the current tick arrived (ms)
    this.tickMs = 250;      // how long the move to the current tick should take
    this.overlay = false;
    this.selected = null;
    this.label = (id, agent) => agent.name;
    this.screen = new Map(); // agent id -> [px, py] as drawn last frame
    this.scale = 10;
    this.origin = [0, 0];
  }

  setTown(town) { this.town = town; this.background = null; }

  /** A new world: citizens move from where they were drawn to their new tiles. */
  update(state, prev) {
    const from = new Map();
    for (const [id, a] of Object.entries(state.agents ?? {})) {
      const old = prev?.agents?.[id];
      from.set(id, old ? this.position(id, old) : [a.x, a.y]);
    }
    this.from = from;
    this.state = state;
    this.arrived = performance.now();
  }

  position(id, agent) {
    const f = this.from.get(id);
    if (!f) return [agent.x, agent.y];
    const t = Math.min(1, (performance.now() - this.arrived) / Math.max(1, this.tickMs));
    return [f[0] + (agent.x - f[0]) * t, f[1] + (agent.y - f[1]) * t];
  }

  size() {
    if (this.town) return [this.town.width, this.town.height];
    let w = 1, h = 1;
    for (const o of Object.values(this.state?.objects ?? {})) { w = Math.max(w, o.x + 2); h = Math.max(h, o.y + 2); }
    for (const a of Object.values(this.state?.agents ?? {})) { w = Math.max(w, a.x + 2); h = Math.max(h, a.y + 2); }
    return [w, h];
  }

  layout() {
    const dpr = window.devicePixelRatio || 1;
    const r = this.canvas.getBoundingClientRect();
    const cw = Math.max(1, Math.round(r.width * dpr)), ch = Math.max(1, Math.round(r.height * dpr));
    if (this.canvas.width !== cw || this.canvas.height !== ch) {
      this.canvas.width = cw; this.canvas.height = ch; this.background = null;
    }
    const [w, h] = this.size();
    const scale = Math.max(2, Math.floor(Math.min(cw / w, ch / h)));
    const origin = [Math.floor((cw - w * scale) / 2), Math.floor((ch - h * scale) / 2)];
    if (scale !== this.scale || origin[0] !== this.origin[0] || origin[1] !== this.origin[1]) this.background = null;
    this.scale = scale; this.origin = origin; this.dpr = dpr;
  }

  drawBackground() {
    const off = document.createElement("canvas");
    off.width = this.canvas.width; off.height = this.canvas.height;
    const g = off.getContext("2d");
    const s = this.scale, [ox, oy] = this.origin;
    g.fillStyle = "#14161a"; g.fillRect(0, 0, off.width, off.height);
    if (this.town) {
      const kinds = this.town.tile_kinds;
      this.town.rows.forEach((row, y) => {
        for (let x = 0; x < row.length; x++) {
          g.fillStyle = TILE_COLORS[kinds[+row[x]]] ?? "#222";
          g.fillRect(ox + x * s, oy + y * s, s, s);
        }
      });
      g.font = `${Math.max(9, s)}px system-ui`;
      for (const [id, p] of Object.entries(this.town.places)) {
        const [x0, y0, x1, y1] = p.area;
        g.strokeStyle = PLACE_COLORS[p.kind] ?? "#888"; g.lineWidth = 1;
        g.strokeRect(ox + x0 * s + 0.5, oy + y0 * s + 0.5, (x1 - x0 + 1) * s - 1, (y1 - y0 + 1) * s - 1);
        g.fillStyle = "rgba(230,230,230,0.55)";
        g.fillText(id, ox + x0 * s + 2, oy + y0 * s + Math.max(9, s));
      }
    } else {
      const [w, h] = this.size();
      g.fillStyle = TILE_COLORS.floor; g.fillRect(ox, oy, w * s, h * s);
    }
    this.background = off;
  }

  /** Draw one frame; returns how many citizens were drawn. */
  draw() {
    this.layout();
    if (!this.background) this.drawBackground();
    const g = this.ctx, s = this.scale, [ox, oy] = this.origin;
    g.drawImage(this.background, 0, 0);
    const state = this.state;
    if (!state) return 0;
    // objects, their occupants and queues
    for (const o of Object.values(state.objects ?? {})) {
      const px = ox + o.x * s, py = oy + o.y * s;
      g.fillStyle = OBJECT_COLORS[o.type] ?? "#999";
      g.globalAlpha = o.available === false ? 0.35 : 1;
      g.fillRect(px + s * 0.15, py + s * 0.15, s * 0.7, s * 0.7);
      g.globalAlpha = 1;
      if (o.occupant) { g.strokeStyle = "#fff"; g.lineWidth = 1; g.strokeRect(px + 1, py + 1, s - 2, s - 2); }
      (o.queue ?? []).forEach((_, i) => {
        g.fillStyle = "#feca57";
        g.fillRect(px + s + 2 + i * 4, py + s * 0.4, 3, 3);
      });
    }
    // where each citizen is this frame
    const screen = new Map();
    for (const [id, a] of Object.entries(state.agents ?? {})) {
      const [x, y] = this.position(id, a);
      screen.set(id, [ox + (x + 0.5) * s, oy + (y + 0.5) * s]);
    }
    this.screen = screen;
    let ties = 0;
    if (this.overlay) {
      for (const [id, list] of Object.entries(state.relationships ?? {})) {
        const a = screen.get(id);
        for (const t of list ?? []) {
          const b = screen.get(t.other);
          if (!a || !b) continue;
          const warmth = (t.trust ?? 0) - (t.rivalry ?? 0);
          const mag = Math.max(Math.abs(t.trust ?? 0), Math.abs(t.rivalry ?? 0));
          g.strokeStyle = warmth >= 0 ? "rgba(63,185,80,0.75)" : "rgba(248,81,73,0.75)";
          g.lineWidth = 0.5 + mag * 4;
          g.beginPath(); g.moveTo(a[0], a[1]); g.lineTo(b[0], b[1]); g.stroke();
          ties += 1;
        }
      }
    }
    this.canvas.dataset.ties = String(ties);
    let drawn = 0;
    const r = Math.max(3, s * 0.42);
    g.font = `${Math.max(9, Math.round(s * 0.9))}px system-ui`;
    for (const [id, a] of Object.entries(state.agents ?? {})) {
      const [px, py] = screen.get(id);
      g.beginPath(); g.arc(px, py, r, 0, Math.PI * 2);
      g.fillStyle = hue(id); g.fill();
      if (id === this.selected) { g.lineWidth = 2; g.strokeStyle = "#fff"; g.stroke(); }
      if (s >= 10 || id === this.selected) {
        g.fillStyle = "rgba(255,255,255,0.85)";
        g.fillText(this.label(id, a), px + r + 2, py - r);
      }
      drawn += 1;
    }
    return drawn;
  }

  /** The citizen under a click (CSS pixels relative to the canvas), or null. */
  hit(cssX, cssY) {
    const x = cssX * this.dpr, y = cssY * this.dpr;
    let best = null, bestD = Infinity;
    for (const [id, [px, py]] of this.screen) {
      const d = Math.hypot(px - x, py - y);
      if (d < bestD) { best = id; bestD = d; }
    }
    return bestD <= Math.max(8 * this.dpr, this.scale) ? best : null;
  }

  /** Where a citizen is drawn, in CSS pixels relative to the canvas (for tests and focus). */
  cssPosition(id) {
    const p = this.screen.get(id);
    return p ? [p[0] / this.dpr, p[1] / this.dpr] : null;
  }
}
