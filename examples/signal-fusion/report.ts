/**
 * The demo's output: a table of each symbol's agent signals, fused signal, risk verdict and
 * decision; a table of per-node timings; and the reasons behind each decision.
 *
 * @module
 */
import { ms, renderTable, signed } from "../../cli/table.js";
import type { DemoResult, SymbolResult } from "./demo.js";
import { AGENTS } from "./graph.js";

const NODES = ["market", ...AGENTS, "fuse", "risk", "decide"] as const;

/** The whole report, ready to print. */
export function formatDemo(result: DemoResult): string {
  const replicaCounts = AGENTS.map((a) => `${a} ×${result.replicas[a]?.length ?? 0}`).join(", ");
  const workers = result.workerPids.length > 0 ? ` (workers started by the demo: pid ${result.workerPids.join(", ")})` : "";
  return [
    `Signal fusion — ${result.description}`,
    `agent replicas: ${replicaCounts}${workers}`,
    "",
    "Signals (value @ confidence) and decisions",
    signalsTable(result.results),
    "",
    `Timings (wall clock in the runner; a distributed agent's time is its whole remote call)`,
    timingsTable(result.results),
    "",
    "Why",
    ...result.results.flatMap(why),
    "",
    `${result.results.length} symbols in ${ms(result.totalMs)} (${result.parallel ? "in parallel" : "one after the other"}; ` +
      `a warm-up run before them took ${ms(result.warmUpMs)})`,
  ].join("\n");
}

function signalsTable(results: readonly SymbolResult[]): string {
  return renderTable(
    ["symbol", ...AGENTS, "fused", { header: "spread", align: "right" }, "conflict", "risk", "decision"],
    results.map((r) => [
      r.symbol,
      ...AGENTS.map((a) => {
        const s = r.signals[a];
        return s === undefined ? "–" : `${signed(s.value)} @ ${s.confidence.toFixed(2)}`;
      }),
      `${signed(r.fused.value)} @ ${r.fused.confidence.toFixed(2)}`,
      r.fused.spread.toFixed(2),
      r.fused.conflict ? "yes" : "no",
      r.verdict.approved ? `approve ${r.verdict.sizePct.toFixed(1)}%` : "reject",
      r.decision.action === "hold" ? "HOLD" : `${r.decision.action.toUpperCase()} ${r.decision.sizePct.toFixed(1)}%`,
    ]),
  );
}

function timingsTable(results: readonly SymbolResult[]): string {
  return renderTable(
    ["symbol", ...NODES.map((n) => ({ header: n, align: "right" as const })), { header: "total", align: "right" }],
    results.map((r) => [r.symbol, ...NODES.map((n) => (r.timings[n] === undefined ? "–" : ms(r.timings[n]))), ms(r.totalMs)]),
  );
}

function why(r: SymbolResult): string[] {
  const decision = r.decision.action === "hold" ? "HOLD" : `${r.decision.action.toUpperCase()} ${r.decision.sizePct.toFixed(1)}%`;
  return [
    `${r.symbol}: ${decision} — ${r.decision.reason}`,
    ...AGENTS.map((a) => {
      const s = r.signals[a];
      const where = r.servedBy[a] === undefined ? "" : ` [${r.servedBy[a]}]`;
      return `  ${a.padEnd(13)} ${s === undefined ? "no signal" : `${signed(s.value)}  ${s.rationale}`}${where}`;
    }),
    `  ${"risk".padEnd(13)} ${r.verdict.approved ? "approved" : "rejected"}: ${r.verdict.reason}`,
  ];
}
