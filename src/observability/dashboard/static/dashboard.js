// The dashboard page: one EventSource on `events`, one render per sample. Everything that comes
// from the network (node names, replica ids, topics) goes into the DOM as text, never as markup.
// Plain browser JavaScript on purpose: the package ships this file as it is, with no build step.

const WINDOW = 180; // samples kept for the charts (3 minutes at the default 1 s interval)
const COLORS = ["#2563eb", "#db2777", "#059669", "#d97706", "#7c3aed", "#0891b2", "#65a30d", "#dc2626"];
const SVG = "http://www.w3.org/2000/svg";
const HEALTH = new Set(["healthy", "late", "draining", "open", "half-open", "ejected"]);
const BREAKER = new Set(["closed", "open", "half-open", "ejected"]);

/** node → [{ t, calls, latency }], oldest first. */
const history = new Map();
let samples = 0;

/** An element with attributes and children; strings become text nodes. */
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) e.setAttribute(k, String(v));
  e.append(...children.map((c) => (c instanceof Node ? c : document.createTextNode(String(c)))));
  return e;
}

function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function table(headers, rows, rowAttrs) {
  const head = el("tr", {}, ...headers.map((h) => el("th", h.startsWith("#") ? { class: "num" } : {}, h.replace(/^#/, ""))));
  const body = rows.map((cells, i) =>
    el("tr", rowAttrs?.(i) ?? {}, ...cells.map((c, j) => el("td", headers[j]?.startsWith("#") ? { class: "num" } : {}, c))),
  );
  return el("table", {}, el("thead", {}, head), el("tbody", {}, ...body));
}

function badge(kind, value, known) {
  const v = known.has(value) ? value : "unknown";
  return el("span", { class: `badge ${kind}-${v}` }, String(value));
}

const ms = (v) => (v > 0 ? (v < 1000 ? `${v.toFixed(v < 10 ? 1 : 0)} ms` : `${(v / 1000).toFixed(1)} s`) : "–");
const pct = (v) => `${(100 * (v ?? 0)).toFixed(0)}%`;
const mib = (v) => (v > 0 ? `${(v / 1048576).toFixed(0)} MiB` : "–");
const ago = (t, now) => (t === undefined ? "–" : `${Math.max(0, Math.round((now - t) / 1000))} s ago`);

/** `[0,1,2,3,8]` → `0-3,8`, as `status` prints them. */
function partitions(list) {
  if (list === undefined) return "–";
  if (list.length === 0) return "none yet";
  const runs = [];
  for (const p of [...list].sort((a, b) => a - b)) {
    const last = runs[runs.length - 1];
    if (last !== undefined && p === last[1] + 1) last[1] = p;
    else runs.push([p, p]);
  }
  return runs.map(([a, b]) => (a === b ? String(a) : `${a}-${b}`)).join(",");
}

/** The worst breaker state any caller (or the shared record) holds for a replica. */
function breakerState(snap, node, replicaId) {
  const rank = { closed: 0, "half-open": 1, ejected: 2, open: 3 };
  let worst = "closed";
  const states = snap.callers.flatMap((c) => c.breakers.filter((b) => b.node === node && b.replicaId === replicaId).map((b) => b.state));
  for (const b of snap.sharedBreakers ?? []) if (b.node === node && b.replicaId === replicaId) states.push(b.state);
  for (const s of states) if ((rank[s] ?? 0) > rank[worst]) worst = s;
  return worst;
}

function health(snap, r) {
  const breaker = breakerState(snap, r.node, r.replicaId);
  if (breaker !== "closed") return breaker;
  if (r.status === "draining") return "draining";
  // The expiry period is three heartbeats by default: two thirds of it without one is two missed.
  if (snap.observedAt - r.lastHeartbeat > (2 * r.expireAfterMs) / 3) return "late";
  return "healthy";
}

function renderNodes(snap) {
  const root = document.getElementById("nodes");
  const count = snap.nodes.reduce((n, node) => n + node.replicas.length, 0);
  document.getElementById("replica-count").textContent = `${count} on ${snap.nodes.length} node${snap.nodes.length === 1 ? "" : "s"}`;
  if (snap.nodes.length === 0) {
    root.replaceChildren(
      el("p", { class: "empty" }, "No replicas registered. Start workers: langgraph-fabric worker <graph module> --nodes …"),
    );
    return;
  }
  root.replaceChildren(
    ...snap.nodes.map((n) => {
      const rows = n.replicas.map((r) => [
        r.replicaId,
        badge("health", health(snap, r), HEALTH),
        r.status,
        String(r.load.inFlight),
        ms(r.load.latencyEwmaMs),
        pct(r.load.errorRate),
        pct(r.load.cpu),
        mib(r.load.memoryBytes),
        r.load.callsPerSecond === undefined ? "–" : r.load.callsPerSecond.toFixed(1),
        partitions(r.address.partitions),
        r.meta.host ?? "–",
        ago(r.lastHeartbeat, snap.observedAt),
      ]);
      return el(
        "div",
        { class: "node", "data-node": n.node },
        el(
          "h3",
          {},
          n.node,
          " ",
          el("small", {}, `${n.replicas.length} replica${n.replicas.length === 1 ? "" : "s"}, ${n.callsPerSecond.toFixed(1)} calls/s`),
        ),
        table(
          [
            "replica",
            "health",
            "status",
            "#in flight",
            "#latency",
            "#errors",
            "#cpu",
            "#memory",
            "#calls/s",
            "partitions",
            "host",
            "heartbeat",
          ],
          rows,
          (i) => ({ "data-replica-id": n.replicas[i].replicaId }),
        ),
      );
    }),
  );
}

function renderBreakers(snap) {
  const rows = [];
  for (const c of snap.callers)
    for (const b of c.breakers) rows.push([b.node, b.replicaId, badge("state", b.state, BREAKER), c.callerId, String(b.ejections)]);
  for (const b of snap.sharedBreakers ?? []) rows.push([b.node, b.replicaId, badge("state", b.state, BREAKER), "shared record", "–"]);
  document
    .getElementById("breakers")
    .replaceChildren(
      rows.length === 0 ? el("p", { class: "empty" }, "All closed.") : table(["node", "replica", "state", "seen by", "#ejections"], rows),
    );
}

function renderNegotiations(snap) {
  const root = document.getElementById("negotiations");
  if (snap.negotiations === undefined) return root.replaceChildren(el("p", { class: "empty" }, "Not read by this source."));
  const rows = snap.negotiations.map((n) => [
    n.id,
    n.type,
    n.topic,
    String(n.round),
    `${n.answered.length}/${n.participants.length}`,
    n.deadline > snap.observedAt ? `in ${ms(n.deadline - snap.observedAt)}` : "passed",
  ]);
  root.replaceChildren(
    rows.length === 0
      ? el("p", { class: "empty" }, "None open.")
      : table(["session", "type", "topic", "#round", "answered", "deadline"], rows),
  );
}

function renderCallers(snap) {
  const rows = snap.callers.flatMap((c) =>
    Object.entries(c.calls).map(([node, s]) => [
      c.callerId,
      node,
      String(s.calls),
      String(s.failures),
      ms(s.latencyEwmaMs),
      ago(c.at, snap.observedAt),
    ]),
  );
  document
    .getElementById("callers")
    .replaceChildren(
      rows.length === 0
        ? el("p", { class: "empty" }, "No caller reports (callers publish every monitor run, 5 s by default).")
        : table(["caller", "node", "#calls", "#errors", "#latency", "reported"], rows),
    );
}

function record(snap) {
  for (const n of snap.nodes) {
    const withLatency = n.replicas.filter((r) => r.load.latencyEwmaMs > 0);
    const latency = withLatency.length === 0 ? 0 : withLatency.reduce((a, r) => a + r.load.latencyEwmaMs, 0) / withLatency.length;
    if (!history.has(n.node)) history.set(n.node, []);
    history.get(n.node).push({ t: snap.observedAt, calls: n.callsPerSecond, latency });
  }
  const oldest = snap.observedAt - WINDOW * 1000;
  for (const [node, points] of history) {
    while (points.length > WINDOW || (points.length > 0 && points[0].t < oldest)) points.shift();
    if (points.length === 0) history.delete(node);
  }
}

function color(node) {
  const index = [...history.keys()].sort().indexOf(node);
  return COLORS[index % COLORS.length];
}

/** The smallest of 1, 2 or 5 × a power of ten that is at least `v`: a y-axis top people can read. */
function niceCeiling(v) {
  const power = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 5, 10].map((m) => m * power).find((c) => c >= v);
}

/** A line chart of `field` for every node over the window ending at `now`. */
function chart(id, field, now) {
  const root = document.getElementById(id);
  const [W, H, L, B] = [600, 180, 44, 20]; // size and the left/bottom margins for the axis labels
  const max = niceCeiling(Math.max(1, ...[...history.values()].flatMap((ps) => ps.map((p) => p[field]))));
  const x = (t) => L + ((t - (now - WINDOW * 1000)) / (WINDOW * 1000)) * (W - L - 4);
  const y = (v) => H - B - (v / max) * (H - B - 8);
  const parts = [];
  for (const f of [0, 0.5, 1]) {
    parts.push(svg("line", { class: "grid", x1: L, x2: W - 4, y1: y(max * f), y2: y(max * f) }));
    parts.push(svg("text", { class: "axis", x: L - 6, y: y(max * f) + 4, "text-anchor": "end" }, String(+(max * f).toFixed(1))));
  }
  parts.push(svg("text", { class: "axis", x: L, y: H - 4 }, `−${WINDOW / 60} min`));
  parts.push(svg("text", { class: "axis", x: W - 4, y: H - 4, "text-anchor": "end" }, "now"));
  for (const [node, points] of history) {
    const d = points.map((p) => `${x(p.t).toFixed(1)},${y(p[field]).toFixed(1)}`).join(" ");
    parts.push(svg("polyline", { class: "series", points: d, stroke: color(node) }));
  }
  root.replaceChildren(...parts);
}

function renderLegend() {
  document.getElementById("legend").replaceChildren(
    ...[...history.keys()].sort().map((node) => {
      const li = el("li", {}, node);
      li.style.setProperty("--swatch", color(node));
      return li;
    }),
  );
}

function render(snap) {
  samples += 1;
  document.body.dataset.samples = String(samples);
  document.getElementById("connection").textContent = snap.connection;
  setLive("live-ok", `live · ${new Date(snap.observedAt).toLocaleTimeString()}`);
  record(snap);
  renderNodes(snap);
  chart("chart-calls", "calls", snap.observedAt);
  chart("chart-latency", "latency", snap.observedAt);
  renderLegend();
  renderBreakers(snap);
  renderNegotiations(snap);
  renderCallers(snap);
}

function setLive(cls, text) {
  const live = document.getElementById("live");
  live.className = cls;
  live.textContent = text;
}

const events = new EventSource("events");
events.addEventListener("snapshot", (e) => render(JSON.parse(e.data)));
events.addEventListener("problem", (e) => setLive("live-bad", `cannot read the fabric: ${JSON.parse(e.data).message}`));
events.addEventListener("error", () => setLive("live-wait", "reconnecting…"));
