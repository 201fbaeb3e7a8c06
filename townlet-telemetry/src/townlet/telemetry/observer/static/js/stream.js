// The observer stream: one websocket, the world rebuilt from snapshot + diffs,
// reconnecting with backoff and resynchronising from a fresh snapshot.

/** Apply a diff's `changes` to `base` (docs/telemetry.md, "world_diff"). */
export function applyChanges(base, ch) {
  const out = { ...base };
  for (const k of ch.del ?? []) delete out[k];
  Object.assign(out, ch.set ?? {});
  for (const [k, sub] of Object.entries(ch.patch ?? {})) out[k] = applyChanges(out[k] ?? {}, sub);
  return out;
}

export class Stream {
  /** @param {string} url websocket URL; handlers: onWorld(state, prev), onMessage(msg), onStatus(text) */
  constructor(url, handlers) {
    this.url = url;
    this.h = handlers;
    this.state = null;
    this.snapshots = 0;
    this.backoff = 250;
    this.ended = false; // the server said the run ended ({"type": "end"})
    this.ws = null;
    this.connect();
  }

  connect() {
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => { this.backoff = 250; this.ended = false; this.h.onStatus("live"); };
    ws.onmessage = (ev) => this.receive(JSON.parse(ev.data));
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.state = null; // diffs after a drop would not apply: wait for a fresh snapshot
      // a run that said it ended is not coming back: keep looking, slowly, for a new one
      this.h.onStatus(this.ended ? "ended" : "reconnecting");
      if (this.ended) this.backoff = 4000;
      setTimeout(() => this.connect(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, 4000);
    };
  }

  send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) { this.ws.send(JSON.stringify(msg)); return true; }
    return false;
  }

  receive(msg) {
    const kind = msg.payload_type;
    if (kind === "world_snapshot") {
      const prev = this.state;
      this.state = msg;
      this.snapshots += 1;
      this.h.onWorld(this.state, prev, true);
    } else if (kind === "world_diff") {
      if (!this.state || msg.base_tick !== this.state.tick) {
        this.state = null; // a gap: ask for a whole world again
        this.send({ type: "snapshot" });
        return;
      }
      const prev = this.state;
      this.state = applyChanges(prev, msg.changes ?? {});
      this.h.onWorld(this.state, prev, false);
    } else {
      if (msg.type === "end") this.ended = true;
      this.h.onMessage(msg);
    }
  }
}
