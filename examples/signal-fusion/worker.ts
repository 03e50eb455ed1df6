/**
 * A worker of the signal-fusion demo: `npm run demo:worker -- --kafka 127.0.0.1:9092 --redis
 * redis://127.0.0.1:6379` (or `KAFKA_BROKERS` and `REDIS_URL`). It serves the three agent nodes of
 * the graph as replicas until SIGINT or SIGTERM, then drains (finishes the calls it has) and
 * leaves. Run as many as you want replicas. The same with the CLI:
 * `langgraph-fabric worker examples/signal-fusion/graph.ts --nodes momentum,meanReversion,sentiment`.
 */
import { CONNECTION_FLAGS, CONNECTION_HELP, intFlag, parseFlags } from "../../cli/args.js";
import { EXIT, runMain } from "../../cli/cliError.js";
import { resolveConnection } from "../../cli/connect.js";
import { untilStopSignal } from "../../cli/shutdown.js";
import { serveAgents } from "./demo.js";

const HELP = `Usage: npm run demo:worker -- [options]

Serves the signal-fusion agents (momentum, meanReversion, sentiment) as replicas until SIGINT or
SIGTERM, then drains gracefully. Start several for several replicas of each agent.

Options:
  --concurrency <n>       calls each replica runs at once (default 8)
  -h, --help              this text

${CONNECTION_HELP}
`;

await runMain(async () => {
  const { values } = parseFlags("demo:worker", process.argv.slice(2), {
    ...CONNECTION_FLAGS,
    concurrency: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help === true) {
    process.stdout.write(HELP);
    return EXIT.ok;
  }
  const connection = resolveConnection(values);
  const concurrency = intFlag("concurrency", values.concurrency, 8, 1, 10_000);
  process.stderr.write("connecting…\n");
  const served = await serveAgents({ connection, concurrency });
  process.stderr.write(`worker pid ${process.pid} on ${served.description}\n`);
  for (const [node, replicaId] of Object.entries(served.replicas)) process.stdout.write(`registered ${node} ${replicaId}\n`);
  process.stdout.write("ready\n");
  const signal = await untilStopSignal();
  process.stderr.write(`${signal}: draining (finishing calls in flight; send it again to exit at once)…\n`);
  await served.stop();
  process.stderr.write("stopped\n");
  return EXIT.ok;
});
