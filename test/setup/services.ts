// Global setup of the integration project: makes sure a real Redis and a real Kafka broker answer
// (starting them with scripts/services.mjs when they do not), then hands their addresses to test
// files through inject() and to child processes (workers, examples) through the environment.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import type { TestProject } from "vitest/node";
import { ensureServices, stopKafkaUnlessInUse, useKafka } from "../../scripts/services.mjs";
import { generateSigningKey } from "../../src/transport/signingKeys.js";

/**
 * Starts or finds the services; the returned teardown stops the Kafka broker only if this run
 * started it, `FABRIC_KEEP_SERVICES` is not `1` and no other test run is still using it. Redis
 * always stays up: it is shared with everything else on the machine.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  ensureChromium();
  // Registered before the broker is looked up, so a concurrent run's teardown cannot stop it in between.
  const releaseKafka = useKafka();
  let services;
  try {
    services = await ensureServices();
  } catch (error) {
    releaseKafka();
    throw error;
  }
  project.provide("redisUrl", services.redisUrl);
  project.provide("kafkaBrokers", services.kafkaBrokers);
  process.env.REDIS_URL = services.redisUrl;
  process.env.KAFKA_BROKERS = services.kafkaBrokers.join(",");
  // Distributed fabrics refuse to run unsigned: one key per test run (unless the caller chose one),
  // inherited by every child process (workers, examples, the CLI) through the environment.
  process.env.FABRIC_SIGNING_KEYS ||= generateSigningKey("test");
  project.provide("signingKeys", process.env.FABRIC_SIGNING_KEYS);
  const started = Object.entries(services.started)
    .filter(([, yes]) => yes)
    .map(([name]) => name);
  process.stderr.write(
    `[services] integration tests use Redis ${services.redisUrl} and Kafka ${services.kafkaBrokers.join(",")}` +
      `${started.length > 0 ? ` (started here: ${started.join(", ")})` : " (already running)"}\n`,
  );

  return async () => {
    releaseKafka();
    if (!services.started.kafka) return;
    if (process.env.FABRIC_KEEP_SERVICES === "1") {
      process.stderr.write("[services] FABRIC_KEEP_SERVICES=1: leaving the Kafka broker running\n");
      return;
    }
    await stopKafkaUnlessInUse();
  };
}

/**
 * The dashboard tests drive Debian's `chromium` (playwright-core downloads no browser). On a fresh
 * machine of this kind it is not installed: install it here, as the services script installs
 * redis-server, so `npm test` needs nothing done by hand. Skipped when `CHROMIUM_PATH` names one.
 */
function ensureChromium(): void {
  const path = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
  if (existsSync(path) || process.env.CHROMIUM_PATH !== undefined) return;
  process.stderr.write("[services] installing Debian's chromium for the dashboard tests (apt-get)\n");
  const sudo = process.getuid?.() === 0 ? [] : ["sudo", "-n"];
  const run = (args: string[]) => {
    const [cmd, ...rest] = [...sudo, ...args];
    execFileSync(cmd!, rest, { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  };
  run(["apt-get", "update", "-qq"]);
  run(["apt-get", "install", "-y", "-qq", "chromium"]);
}
