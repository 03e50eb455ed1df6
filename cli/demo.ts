/**
 * `langgraph-fabric demo`: the signal-fusion example (`examples/signal-fusion`), bundled into the
 * CLI so it runs from an installed package too. Embedded by default; `--kafka`/`--redis` (or the
 * environment) run it distributed against workers started with `langgraph-fabric demo --worker`
 * (or `--workers N` to start them from here).
 *
 * @module
 */
import { runDemo, serveAgents } from "../examples/signal-fusion/demo.js";
import { DEFAULT_SEED, DEFAULT_SYMBOLS } from "../examples/signal-fusion/prices.js";
import { formatDemo } from "../examples/signal-fusion/report.js";
import { CONNECTION_FLAGS, CONNECTION_HELP, intFlag, listFlag, parseFlags } from "./args.js";
import { EXIT } from "./cliError.js";
import { resolveConnection } from "./connect.js";
import { untilStopSignal } from "./shutdown.js";

/** Help of the command. */
export const DEMO_HELP = `Usage: langgraph-fabric demo [options]

Runs the signal-fusion graph (momentum, mean-reversion and sentiment agents, a negotiation node
fusing their signals, risk, decision) on several symbols and prints each agent's signal, the fused
decision and per-node timings. Embedded unless Kafka and Redis are given.

Options:
  --symbols <A,B,…>       symbols to analyse (default ${DEFAULT_SYMBOLS.join(",")})
  --seed <n>              seed of the generated price series (default ${DEFAULT_SEED})
  --workers <n>           distributed: start n worker processes for this run
  --parallel              run the symbols concurrently (default: one after the other)
  --json                  print the results as JSON
  --worker                be a worker instead: serve the agents until SIGINT/SIGTERM
  --concurrency <n>       with --worker: calls each replica runs at once (default 8)
  -h, --help              this text

${CONNECTION_HELP}
`;

/** Runs `demo` with its arguments (after the command name). */
export async function demoCommand(argv: readonly string[]): Promise<number> {
  const { values } = parseFlags("demo", argv, {
    ...CONNECTION_FLAGS,
    symbols: { type: "string" },
    seed: { type: "string" },
    workers: { type: "string" },
    parallel: { type: "boolean" },
    json: { type: "boolean" },
    worker: { type: "boolean" },
    concurrency: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help === true) {
    process.stdout.write(DEMO_HELP);
    return EXIT.ok;
  }
  const connection = resolveConnection(values);
  if (values.worker === true) {
    const served = await serveAgents({ connection, concurrency: intFlag("concurrency", values.concurrency, 8, 1, 10_000) });
    process.stderr.write(`demo worker pid ${process.pid} on ${served.description}\n`);
    for (const [node, replicaId] of Object.entries(served.replicas)) process.stdout.write(`registered ${node} ${replicaId}\n`);
    process.stdout.write("ready\n");
    const signal = await untilStopSignal();
    process.stderr.write(`${signal}: draining…\n`);
    await served.stop();
    return EXIT.ok;
  }
  const result = await runDemo({
    connection,
    symbols: listFlag(values.symbols) ?? DEFAULT_SYMBOLS,
    seed: intFlag("seed", values.seed, DEFAULT_SEED, 0),
    workers: intFlag("workers", values.workers, 0, 0, 64),
    parallel: values.parallel === true,
    // This very CLI, as a demo worker, with the same Node flags (e.g. `--import tsx` in development).
    workerCommand: { command: process.execPath, args: [...process.execArgv, process.argv[1] ?? "", "demo", "--worker"] },
  });
  process.stdout.write(values.json === true ? `${JSON.stringify(result, null, 2)}\n` : `${formatDemo(result)}\n`);
  return EXIT.ok;
}
