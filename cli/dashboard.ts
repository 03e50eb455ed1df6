/**
 * `langgraph-fabric dashboard [--port 8080] [--host 127.0.0.1]`: observes a fabric on Kafka and
 * Redis the way `status` does (an observer that serves and calls nothing) and serves a live page
 * of it: replicas per node with health and load, breakers, calls/s and latency charts, open
 * negotiations, the callers' reports — one `status` report per second over Server-Sent Events.
 *
 * Output: progress on stderr; on stdout one `dashboard <url>` line once it listens — a stable line
 * for scripts and tests to wait for (with `--port 0`, the port picked).
 *
 * @module
 */
import { CONNECTION_FLAGS, CONNECTION_HELP, intFlag, listFlag, parseFlags } from "./args.js";
import { CliError, EXIT } from "./cliError.js";
import { openFabric, resolveConnection } from "./connect.js";
import { untilStopSignal } from "./shutdown.js";
import { DEFAULT_INITIATORS, gatherStatus } from "./statusReport.js";
import { createConsoleLogger, DASHBOARD_DEFAULTS, startDashboard } from "../src/index.js";

/** Help of the command. */
export const DASHBOARD_HELP = `Usage: langgraph-fabric dashboard [options]

Observes a fabric on Kafka and Redis without serving or calling anything, and serves a live page of
it: replicas per node with health and load, breakers, calls/s and latency over time, open
negotiations and what each caller reports. The page updates every second over Server-Sent Events.

Options:
  --port <n>              port to listen on, 0 for any free one (default ${DASHBOARD_DEFAULTS.port})
  --host <address>        address to bind (default ${DASHBOARD_DEFAULTS.host}; 0.0.0.0 exposes the page to the network)
  --interval <ms>         time between samples (default ${DASHBOARD_DEFAULTS.sampleIntervalMs})
  --initiators <a,b,…>    negotiation initiators to list open sessions of (default ${DEFAULT_INITIATORS.join(",")})
  -h, --help              this text

${CONNECTION_HELP}
`;

/** Runs `dashboard` with its arguments (after the command name), until SIGINT or SIGTERM. */
export async function dashboardCommand(argv: readonly string[]): Promise<number> {
  const { values } = parseFlags("dashboard", argv, {
    ...CONNECTION_FLAGS,
    port: { type: "string" },
    host: { type: "string" },
    interval: { type: "string" },
    initiators: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help === true) {
    process.stdout.write(DASHBOARD_HELP);
    return EXIT.ok;
  }
  const port = intFlag("port", values.port, DASHBOARD_DEFAULTS.port, 0, 65_535);
  const sampleIntervalMs = intFlag("interval", values.interval, DASHBOARD_DEFAULTS.sampleIntervalMs, 100, 3_600_000);
  const host = values.host ?? DASHBOARD_DEFAULTS.host;
  const initiators = listFlag(values.initiators) ?? DEFAULT_INITIATORS;
  const connection = resolveConnection(values);
  if (connection.mode === "embedded") {
    throw new CliError("dashboard: no Kafka and Redis to observe", {
      hint: "pass --kafka and --redis (or set KAFKA_BROKERS and REDIS_URL) of the fabric to look at; to show a fabric inside your own process, call startDashboard({ fabric })",
      exitCode: EXIT.usage,
    });
  }
  process.stderr.write("connecting…\n");
  const logger = createConsoleLogger({ name: "dashboard", level: "warn" });
  // The registry refreshes as often as the page samples, so a replica that crashed (and sent no
  // notice) leaves the page within a sample of its record expiring.
  const opened = await openFabric(connection, { logger, registryOptions: { refreshIntervalMs: sampleIntervalMs } }, { observer: true });
  let dashboard;
  try {
    dashboard = await startDashboard({
      source: () => gatherStatus(opened.fabric, opened.description, initiators),
      port,
      host,
      sampleIntervalMs,
      logger,
    });
  } catch (e) {
    await opened.close({ drainTimeoutMs: 0 }).catch(() => undefined);
    const code = (e as { code?: unknown }).code;
    if (code === "EADDRINUSE" || code === "EACCES") {
      throw new CliError(`dashboard: cannot listen on ${host}:${port} (${code})`, {
        hint: "pick another --port (0 takes any free one)",
        exitCode: EXIT.usage,
      });
    }
    throw e;
  }
  process.stderr.write(`dashboard of ${opened.description}\n`);
  process.stdout.write(`dashboard ${dashboard.url}\n`);
  process.stderr.write("press Ctrl-C to stop\n");
  const signal = await untilStopSignal();
  process.stderr.write(`${signal}: stopping…\n`);
  await dashboard.close();
  await opened.close({ drainTimeoutMs: 0 });
  return EXIT.ok;
}
