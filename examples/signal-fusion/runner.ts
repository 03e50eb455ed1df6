/**
 * The signal-fusion demo: `npm run demo` (embedded: no servers), or distributed with
 * `npm run demo -- --kafka 127.0.0.1:9092 --redis redis://127.0.0.1:6379` (or `KAFKA_BROKERS` and
 * `REDIS_URL`) against workers started with `npm run demo:worker` — or `--workers N` to start them
 * here. Prints each agent's signal, the fused decision and timings; `--json` prints the results as
 * JSON instead. See README.md beside this file.
 *
 * The essential code is `runDemo` in `demo.ts`: createFabric → serve (embedded) or wait for
 * workers → `fabric.distribute(builder, { nodes: agents }).compile({ checkpointer })` → invoke.
 */
import { fileURLToPath } from "node:url";
import { CONNECTION_FLAGS, CONNECTION_HELP, intFlag, listFlag, parseFlags } from "../../cli/args.js";
import { EXIT, runMain } from "../../cli/cliError.js";
import { resolveConnection } from "../../cli/connect.js";
import { runDemo } from "./demo.js";
import { DEFAULT_SEED, DEFAULT_SYMBOLS } from "./prices.js";
import { formatDemo } from "./report.js";

const HELP = `Usage: npm run demo -- [options]

Runs the signal-fusion graph (momentum, mean-reversion and sentiment agents, a negotiation node
fusing their signals, risk, decision) on several symbols, one thread each.

Options:
  --symbols <A,B,…>       symbols to analyse (default ${DEFAULT_SYMBOLS.join(",")})
  --seed <n>              seed of the generated price series (default ${DEFAULT_SEED})
  --workers <n>           distributed: start n worker processes for this run
  --parallel              run the symbols concurrently (default: one after the other)
  --json                  print the results as JSON
  -h, --help              this text

${CONNECTION_HELP}
`;

await runMain(async () => {
  const { values } = parseFlags("demo", process.argv.slice(2), {
    ...CONNECTION_FLAGS,
    symbols: { type: "string" },
    seed: { type: "string" },
    workers: { type: "string" },
    parallel: { type: "boolean" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help === true) {
    process.stdout.write(HELP);
    return EXIT.ok;
  }
  const workerScript = fileURLToPath(new URL("./worker.ts", import.meta.url));
  const result = await runDemo({
    connection: resolveConnection(values),
    symbols: listFlag(values.symbols) ?? DEFAULT_SYMBOLS,
    seed: intFlag("seed", values.seed, DEFAULT_SEED, 0),
    workers: intFlag("workers", values.workers, 0, 0, 64),
    parallel: values.parallel === true,
    // Same Node and loader flags as this process (`--import tsx`), so the worker runs the same TypeScript.
    workerCommand: { command: process.execPath, args: [...process.execArgv, workerScript] },
  });
  process.stdout.write(values.json === true ? `${JSON.stringify(result, null, 2)}\n` : `${formatDemo(result)}\n`);
  return EXIT.ok;
});
