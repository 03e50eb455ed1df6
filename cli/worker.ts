/**
 * `langgraph-fabric worker <graph module> --nodes a,b [--concurrency n]`: serves nodes of a graph
 * module's builder as replicas on Kafka and Redis until SIGINT or SIGTERM, then drains (finishes
 * the calls in flight, leaves the registry) and exits 0.
 *
 * Output: progress on stderr; on stdout one `registered <node> <replica id>` line per node, then
 * `ready` — stable lines for scripts and tests to wait for.
 *
 * @module
 */
import { CONNECTION_FLAGS, CONNECTION_HELP, intFlag, listFlag, parseFlags } from "./args.js";
import { CliError, EXIT } from "./cliError.js";
import { openFabric, resolveConnection } from "./connect.js";
import { loadGraphModule } from "./loadGraphModule.js";
import { untilStopSignal } from "./shutdown.js";
import { createConsoleLogger } from "../src/index.js";

/** Help of the command. */
export const WORKER_HELP = `Usage: langgraph-fabric worker <graph module> --nodes <a,b,…> [options]

Serves the named nodes of the module's graph builder (export "builder", or the default export) as
replicas until SIGINT/SIGTERM, then drains gracefully. Run several for several replicas.

Options:
  --nodes <a,b,…>         nodes to serve (required)
  --concurrency <n>       calls each replica runs at once (default 8)
  --export <name>         the builder's export name (default: builder, else default)
  --tag <version>         code version published with the replicas (shown by status)
  --capabilities <x,y>    capability tags published with the replicas
  -h, --help              this text

${CONNECTION_HELP}
`;

/** Runs `worker` with its arguments (after the command name). */
export async function workerCommand(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    "worker",
    argv,
    {
      ...CONNECTION_FLAGS,
      nodes: { type: "string" },
      concurrency: { type: "string" },
      export: { type: "string" },
      tag: { type: "string" },
      capabilities: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    1,
  );
  if (values.help === true) {
    process.stdout.write(WORKER_HELP);
    return EXIT.ok;
  }
  const specifier = positionals[0];
  if (specifier === undefined) {
    throw new CliError("worker: missing <graph module>", {
      hint: "e.g. langgraph-fabric worker examples/signal-fusion/graph.ts --nodes momentum",
      exitCode: EXIT.usage,
    });
  }
  const concurrency = intFlag("concurrency", values.concurrency, 8, 1, 10_000);
  const connection = resolveConnection(values);
  if (connection.mode === "embedded") {
    throw new CliError("worker: no Kafka and Redis to serve on", {
      hint: "pass --kafka 127.0.0.1:9092 --redis redis://127.0.0.1:6379 (or set KAFKA_BROKERS and REDIS_URL); an embedded worker could only serve its own process",
      exitCode: EXIT.usage,
    });
  }
  // Module and nodes first: a typo should not wait for a connection.
  const graph = await loadGraphModule(specifier, values.export);
  const nodes = listFlag(values.nodes) ?? [];
  if (nodes.length === 0) {
    throw new CliError("worker: --nodes is required", { hint: `nodes of ${specifier}: ${graph.nodes.join(", ")}`, exitCode: EXIT.usage });
  }
  const unknown = nodes.filter((n) => !graph.nodes.includes(n));
  if (unknown.length > 0) {
    throw new CliError(`worker: unknown node${unknown.length > 1 ? "s" : ""} ${unknown.map((n) => `"${n}"`).join(", ")} in ${specifier}`, {
      hint: `nodes of its "${graph.exportName}" export: ${graph.nodes.join(", ")}`,
      exitCode: EXIT.usage,
    });
  }
  process.stderr.write(`connecting… (${graph.file}, export "${graph.exportName}")\n`);
  const opened = await openFabric(connection, { logger: createConsoleLogger({ name: "fabric" }) });
  let served;
  try {
    served = await opened.fabric.serve(graph.builder, {
      nodes,
      concurrency,
      ...(values.tag === undefined ? {} : { version: values.tag }),
      ...(values.capabilities === undefined ? {} : { capabilities: listFlag(values.capabilities) ?? [] }),
    });
  } catch (e) {
    await opened.close({ drainTimeoutMs: 0 }).catch(() => undefined);
    throw e;
  }
  process.stderr.write(`worker pid ${process.pid} serving ${nodes.join(", ")} (concurrency ${concurrency}) on ${opened.description}\n`);
  for (const [node, replicaId] of Object.entries(served.replicas)) process.stdout.write(`registered ${node} ${replicaId}\n`);
  process.stdout.write("ready\n");
  process.stderr.write("press Ctrl-C to stop (the calls in flight finish first)\n");
  const signal = await untilStopSignal();
  process.stderr.write(`${signal}: draining…\n`);
  const t0 = Date.now();
  await opened.close();
  process.stderr.write(`stopped after ${Date.now() - t0} ms\n`);
  return EXIT.ok;
}
