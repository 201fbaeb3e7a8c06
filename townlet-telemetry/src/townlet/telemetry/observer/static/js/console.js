// The console panel: console commands through the observer server to the run's
// console bus. The bus decides what a token may do; without a token, or with a
// viewer token, the panel stays read-only.

export function parseCommand(line, specs) {
  const words = line.trim().split(/\s+/).filter(Boolean);
  if (!words.length) return null;
  const [command, ...rest] = words;
  const names = specs.get(command)?.args ?? [];
  const args = {};
  let pos = 0;
  for (const w of rest) {
    const eq = w.indexOf("=");
    let key, raw;
    if (eq > 0) { key = w.slice(0, eq); raw = w.slice(eq + 1); } else { key = names[pos++] ?? `arg${pos}`; raw = w; }
    // numbers stay numbers; "on"/"off" and everything else stay strings
    args[key] = /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
  }
  return { command, args };
}

export class ConsolePanel {
  /** @param present how answer text is shown (streamer mode replaces names and ids) */
  constructor(stream, present = (text) => text) {
    this.stream = stream;
    this.present = present;
    this.specs = new Map();
    this.token = sessionStorage.getItem("townlet-token") ?? "";
    this.pending = new Map();
    this.seq = 0;
    this.root = document.getElementById("console");
    this.input = document.getElementById("console-input");
    this.send = document.getElementById("console-send");
    this.state = document.getElementById("console-state");
    this.log = document.getElementById("console-log");
    const fromUrl = new URLSearchParams(location.hash.slice(1)).get("token");
    if (fromUrl) { this.token = fromUrl; history.replaceState(null, "", location.pathname + location.search); }
    document.getElementById("console-token-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.useToken(document.getElementById("console-token").value.trim());
    });
    document.getElementById("console-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const line = this.input.value;
      if (this.run(line)) this.input.value = "";
    });
    this.enabled = false;
  }

  configure(hello) {
    this.enabled = Boolean(hello.console);
    this.specs = new Map((hello.commands ?? []).map((c) => [c.name, c]));
    this.useToken(this.token, true);
  }

  useToken(token, quiet = false) {
    this.token = token;
    sessionStorage.setItem("townlet-token", token);
    if (!this.enabled) return this.setRole("none", "no console on this stream");
    if (!token) return this.setRole("none", "read-only: no token");
    this.setRole("unknown", "checking token…");
    this.request("status", {}, quiet);
  }

  setRole(role, text) {
    this.root.dataset.role = role;
    this.state.textContent = text;
    const usable = role !== "none" && role !== "refused";
    this.input.disabled = !usable;
    this.send.disabled = !usable;
  }

  run(line) {
    const parsed = parseCommand(line, this.specs);
    if (!parsed) return false;
    const spec = this.specs.get(parsed.command);
    if (spec?.role === "admin" && this.root.dataset.role === "viewer") {
      this.entry({ ok: false, code: "forbidden", message: `${parsed.command} needs an admin token (read-only)` }, line);
    }
    this.request(parsed.command, parsed.args, false, line);
    return true;
  }

  request(command, args, quiet, line) {
    const cmd_id = `page-${Date.now().toString(36)}-${++this.seq}`;
    this.pending.set(cmd_id, { command, quiet, line: line ?? command });
    this.stream.send({ type: "console", cmd_id, token: this.token, command, args });
  }

  answer(result) {
    const req = this.pending.get(result.cmd_id);
    if (!req) return;
    this.pending.delete(result.cmd_id);
    if (result.code === "unauthorized") this.setRole("refused", "token refused: read-only");
    else if (result.code === "forbidden") this.setRole("viewer", "viewer token: read-only");
    else if (result.ok && this.specs.get(req.command)?.role === "admin") this.setRole("admin", "admin token");
    else if (result.ok && this.root.dataset.role === "unknown") this.setRole("token", "token accepted (viewer or admin)");
    if (!req.quiet) this.entry(result, req.line);
  }

  entry(result, line) {
    const li = document.createElement("li");
    li.className = result.ok ? "ok" : "refused";
    li.dataset.code = result.code;
    li.dataset.result = JSON.stringify(result);
    const data = result.data && Object.keys(result.data).length ? ` ${JSON.stringify(result.data).slice(0, 200)}` : "";
    li.textContent = this.present(`> ${line}: ${result.ok ? "ok" : result.code}${result.message ? ` — ${result.message}` : ""}${data}`);
    this.log.prepend(li);
    while (this.log.children.length > 30) this.log.lastChild.remove();
  }
}
