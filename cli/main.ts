#!/usr/bin/env node
/**
 * The `langgraph-fabric` command: `worker`, `status`, `dashboard` and `demo`. Each command lives in its own
 * file; this one dispatches and turns failures into a message, a hint and an exit code
 * (`cliError.ts`). In development: `node --import tsx cli/main.ts <command> …`; built by tsup into
 * `dist/cli.js` (the package's `bin`).
 *
 * No top-level `await` here: the file is also built as CommonJS, which has none.
 *
 * @module
 */
import { CliError, EXIT, runMain } from "./cliError.js";
import { dashboardCommand } from "./dashboard.js";
import { demoCommand } from "./demo.js";
import { keygenCommand } from "./keygen.js";
import { statusCommand } from "./status.js";
import { workerCommand } from "./worker.js";

const COMMANDS: Readonly<Record<string, (argv: readonly string[]) => Promise<number>>> = {
  worker: workerCommand,
  status: statusCommand,
  dashboard: dashboardCommand,
  demo: demoCommand,
  keygen: keygenCommand,
};

const HELP = `Usage: langgraph-fabric <command> [options]

Commands:
  worker <graph module> --nodes a,b [--concurrency n]
                 serve nodes of a graph module as replicas (until SIGINT/SIGTERM, then drain)
  status [--json]
                 replicas, breakers, balancer figures, throughput and negotiations of a fabric
  dashboard [--port 8080] [--host 127.0.0.1]
                 the same, as a live page in the browser (charts of calls/s and latency)
  demo [--kafka … --redis …] [--workers n]
                 the signal-fusion demo: agents, a negotiation fusing their signals, risk, decision
  keygen [id]    print a new message-signing key (id:base64) for FABRIC_SIGNING_KEYS

Every command that connects takes --kafka <host:port,…>, --redis <url> and --prefix <name>, or
reads KAFKA_BROKERS, REDIS_URL and FABRIC_PREFIX; a distributed fabric signs its messages with
FABRIC_SIGNING_KEYS (or runs unsigned with FABRIC_INSECURE=1, on a trusted network only). Run \`langgraph-fabric <command> --help\` for more.
Local Kafka and Redis for trying it: \`npm run services:up\` in a clone of the repository.
`;

void runMain(async () => {
  const [command, ...rest] = process.argv.slice(2);
  if (command === undefined || command === "help" || command === "--help" || command === "-h") {
    process.stdout.write(HELP);
    return command === undefined ? EXIT.usage : EXIT.ok;
  }
  const run = Object.prototype.hasOwnProperty.call(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (run === undefined) {
    throw new CliError(`unknown command "${command}"`, { hint: `commands: ${Object.keys(COMMANDS).join(", ")}`, exitCode: EXIT.usage });
  }
  return run(rest);
});
