/**
 * A worker of the research-team example: `npm run example:research-team:worker -- --kafka
 * 127.0.0.1:9092 --redis redis://127.0.0.1:6379` (or `KAFKA_BROKERS` and `REDIS_URL`). It serves the
 * researcher and writer agents — whole: model calls, tools, checkpoints — as replicas until SIGINT or
 * SIGTERM, then drains and leaves. Run as many as you want replicas.
 */
import { CONNECTION_FLAGS, CONNECTION_HELP, parseFlags } from "../../cli/args.js";
import { EXIT, runMain } from "../../cli/cliError.js";
import { resolveConnection } from "../../cli/connect.js";
import { untilStopSignal } from "../../cli/shutdown.js";
import { serveTeam } from "./team.js";

const HELP = `Usage: npm run example:research-team:worker -- [options]

Serves the research team's agents (researcher, writer) as replicas until SIGINT or SIGTERM, then
drains gracefully. Start several for several replicas of each agent.

Options:
  -h, --help              this text

${CONNECTION_HELP}
`;

await runMain(async () => {
  const { values } = parseFlags("example:research-team:worker", process.argv.slice(2), {
    ...CONNECTION_FLAGS,
    help: { type: "boolean", short: "h" },
  });
  if (values.help === true) {
    process.stdout.write(HELP);
    return EXIT.ok;
  }
  process.stderr.write("connecting…\n");
  const served = await serveTeam({ connection: resolveConnection(values) });
  process.stderr.write(`worker pid ${process.pid} on ${served.description}\n`);
  for (const [node, replicaId] of Object.entries(served.replicas)) process.stdout.write(`registered ${node} ${replicaId}\n`);
  process.stdout.write("ready\n");
  const signal = await untilStopSignal();
  process.stderr.write(`${signal}: draining (finishing calls in flight; send it again to exit at once)…\n`);
  await served.stop();
  process.stderr.write("stopped\n");
  return EXIT.ok;
});
