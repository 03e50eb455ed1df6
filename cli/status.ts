/**
 * `langgraph-fabric status [--json]`: connects to Kafka and Redis as an observer (a fabric that
 * serves nothing and calls nothing), lets its registry load, and prints replicas per node, a
 * throughput estimate, breakers and recent breaker events, balancer figures and open negotiation
 * sessions — a readable report, or JSON with `--json`.
 *
 * @module
 */
import { CONNECTION_FLAGS, CONNECTION_HELP, listFlag, parseFlags } from "./args.js";
import { CliError, EXIT } from "./cliError.js";
import { openFabric, resolveConnection } from "./connect.js";
import { DEFAULT_INITIATORS, gatherStatus, type StatusReport } from "./statusReport.js";
import { ago, bytes, ms, percent, renderTable } from "./table.js";
import { createConsoleLogger, type ReplicaInfo } from "../src/index.js";

/** Help of the command. */
export const STATUS_HELP = `Usage: langgraph-fabric status [options]

Observes a fabric on Kafka and Redis without serving or calling anything, and prints its replicas
(status, partitions, in flight, latency, error rate, cpu, memory, version), a throughput estimate
per node, breakers, recent breaker events, balancer figures and open negotiation sessions.

Options:
  --json                  machine-readable output (one JSON document on stdout)
  --initiators <a,b,…>    negotiation initiators to list open sessions of (default ${DEFAULT_INITIATORS.join(",")})
  -h, --help              this text

${CONNECTION_HELP}
`;

/** Runs `status` with its arguments (after the command name). */
export async function statusCommand(argv: readonly string[]): Promise<number> {
  const { values } = parseFlags("status", argv, {
    ...CONNECTION_FLAGS,
    json: { type: "boolean" },
    initiators: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help === true) {
    process.stdout.write(STATUS_HELP);
    return EXIT.ok;
  }
  const connection = resolveConnection(values);
  if (connection.mode === "embedded") {
    throw new CliError("status: no Kafka and Redis to observe", {
      hint: "pass --kafka and --redis (or set KAFKA_BROKERS and REDIS_URL) of the fabric to look at; an embedded fabric is visible only inside its process (fabric.status())",
      exitCode: EXIT.usage,
    });
  }
  if (values.json !== true) process.stderr.write("connecting…\n");
  // Only errors: an observer's warnings (a slow store read) are not what a person asked to see.
  const opened = await openFabric(connection, { logger: createConsoleLogger({ name: "fabric", level: "error" }) }, { observer: true });
  let report: StatusReport;
  try {
    report = await gatherStatus(opened.fabric, opened.description, listFlag(values.initiators) ?? DEFAULT_INITIATORS);
  } finally {
    await opened.close({ drainTimeoutMs: 0 });
  }
  process.stdout.write(values.json === true ? `${JSON.stringify(report, null, 2)}\n` : `${formatStatus(report)}\n`);
  return EXIT.ok;
}

/** The report for people. */
export function formatStatus(report: StatusReport): string {
  const now = report.observedAt;
  const replicaCount = report.nodes.reduce((n, node) => n + node.replicas.length, 0);
  const out: string[] = [
    `Fabric on ${report.connection}`,
    `observed ${new Date(now).toISOString()} by ${report.observer}`,
    "",
    `Replicas: ${replicaCount} of ${report.nodes.length} node${report.nodes.length === 1 ? "" : "s"}`,
  ];
  if (replicaCount === 0) out.push("  none registered (start workers: langgraph-fabric worker <graph module> --nodes …)");
  else
    out.push(
      replicasTable(
        report.nodes.flatMap((n) => n.replicas),
        now,
      ),
    );
  out.push("", "Throughput (measured by the replicas over their last heartbeat)");
  if (report.nodes.length === 0) out.push("  no nodes");
  else {
    out.push(
      renderTable(
        [
          "node",
          { header: "replicas", align: "right" },
          { header: "active", align: "right" },
          { header: "in flight", align: "right" },
          { header: "calls/s", align: "right" },
        ],
        report.nodes.map((n) => [
          n.node,
          String(n.replicas.length),
          String(n.replicas.filter((r) => r.status === "active").length),
          String(n.replicas.reduce((a, r) => a + r.load.inFlight, 0)),
          n.callsPerSecond.toFixed(1),
        ]),
        "  ",
      ),
    );
  }
  out.push("", "Breakers (shared through the state store by callers with resilience.shared)");
  if (report.sharedBreakers.length === 0) out.push("  none open");
  else {
    out.push(
      renderTable(
        ["node", "replica", "state", "opened", "probe", { header: "attempt", align: "right" }, "opened by"],
        report.sharedBreakers.map((b) => [
          b.node,
          b.replicaId,
          b.state,
          b.openedAt === undefined ? "–" : ago(b.openedAt, now),
          b.probeAt === undefined ? "–" : b.probeAt <= now ? "due" : `in ${ms(b.probeAt - now)}`,
          b.attempt === undefined ? "–" : String(b.attempt),
          b.by ?? "–",
        ]),
        "  ",
      ),
    );
  }
  out.push("", "Callers (what each process that makes remote calls reports)");
  if (report.callers.length === 0) out.push("  none reporting (callers publish at each monitor run, every 5 s by default)");
  else {
    out.push(
      renderTable(
        [
          "caller",
          "node",
          { header: "calls", align: "right" },
          { header: "errors", align: "right" },
          { header: "latency", align: "right" },
          "reported",
        ],
        report.callers.flatMap((c) =>
          Object.entries(c.calls).map(([node, s]) => [
            c.callerId,
            node,
            String(s.calls),
            String(s.failures),
            ms(s.latencyEwmaMs),
            ago(c.at, now),
          ]),
        ),
        "  ",
      ),
    );
    const breakers = report.callers.flatMap((c) => c.breakers.map((b) => ({ caller: c.callerId, ...b })));
    out.push("", "Breakers (as the callers see them)");
    if (breakers.length === 0) out.push("  all closed");
    for (const b of breakers)
      out.push(`  ${b.caller}: ${b.node} ${b.replicaId} ${b.state}${b.ejections > 0 ? ` (ejected ${b.ejections}×)` : ""}`);
    out.push("", "Balancer (per caller and node: selections, in flight, latency estimate, errors per replica)");
    for (const c of report.callers) {
      for (const [node, stats] of Object.entries(c.balancer)) {
        if (stats.length === 0) continue;
        out.push(`  ${c.callerId} → ${node}`);
        out.push(
          renderTable(
            [
              "replica",
              { header: "selected", align: "right" },
              { header: "in flight", align: "right" },
              { header: "latency", align: "right" },
              { header: "errors", align: "right" },
            ],
            stats.map((st) => [st.replicaId, String(st.selections), String(st.inFlight), ms(st.latencyEwmaMs), `${st.errors}/${st.calls}`]),
            "    ",
          ),
        );
      }
    }
  }
  out.push("", `Negotiations (open sessions of ${report.negotiationInitiators.join(", ")})`);
  if (report.negotiations.length === 0) out.push("  none open");
  else {
    out.push(
      renderTable(
        ["session", "type", "topic", { header: "round", align: "right" }, "answered", "deadline"],
        report.negotiations.map((n) => [
          n.id,
          n.type,
          n.topic,
          String(n.round),
          `${n.answered.length}/${n.participants.length}`,
          n.deadline > now ? `in ${ms(n.deadline - now)}` : "passed",
        ]),
        "  ",
      ),
    );
  }
  return out.join("\n");
}

function replicasTable(replicas: readonly ReplicaInfo[], now: number): string {
  return renderTable(
    [
      "node",
      "replica",
      "status",
      "partitions",
      { header: "in flight", align: "right" },
      { header: "latency", align: "right" },
      { header: "errors", align: "right" },
      { header: "cpu", align: "right" },
      { header: "memory", align: "right" },
      "version",
      "heartbeat",
    ],
    replicas.map((r) => [
      r.node,
      r.replicaId,
      r.status,
      partitions(r.address.partitions),
      String(r.load.inFlight),
      r.load.latencyEwmaMs > 0 ? ms(r.load.latencyEwmaMs) : "–",
      percent(r.load.errorRate),
      percent(r.load.cpu),
      bytes(r.load.memoryBytes),
      r.version || "–",
      ago(r.lastHeartbeat, now),
    ]),
    "  ",
  );
}

/** `[0,1,2,3,8]` → `0-3,8`; absent (no partitions in this transport) → `–`; `[]` → `none yet`. */
export function partitions(list: readonly number[] | undefined): string {
  if (list === undefined) return "–";
  if (list.length === 0) return "none yet";
  const sorted = [...list].sort((a, b) => a - b);
  const parts: string[] = [];
  let start = sorted[0] ?? 0;
  let prev = start;
  for (const p of [...sorted.slice(1), Number.NaN]) {
    if (p === prev + 1) {
      prev = p;
      continue;
    }
    parts.push(start === prev ? String(start) : `${start}-${prev}`);
    start = p;
    prev = p;
  }
  return parts.join(",");
}
