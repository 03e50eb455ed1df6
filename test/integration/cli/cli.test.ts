// The `langgraph-fabric` CLI as a person runs it (`node --import tsx cli/main.ts …`, what the built
// dist/cli.js does): `worker` starts, registers its replicas and drains on SIGTERM; `status --json`
// sees them (and stops seeing them once they left); `status` prints them for people; mistakes —
// an unknown module, a missing export, an unknown node, unreachable services, no connection at
// all — end with a clear message and a non-zero exit code.
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createFabricFromEnv } from "../../../adapters/kafka/createFabricFromEnv.js";
import { generatePrices } from "../../../examples/signal-fusion/prices.js";
import { LocalParticipants } from "../../../src/negotiation/LocalParticipants.js";
import { NegotiationCoordinator } from "../../../src/negotiation/NegotiationCoordinator.js";
import { weightedAverage } from "../../../src/negotiation/strategies/index.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { deleteByPrefix } from "../../support/checkpointerFactory.js";
import { spawnTs, type Child } from "../../support/childProcess.js";
import { kafkaBrokers, redisUrl } from "../../support/services.js";

const root = fileURLToPath(new URL("../../..", import.meta.url));
const cli = fileURLToPath(new URL("../../../cli/main.ts", import.meta.url));
const graphModule = "examples/signal-fusion/graph.ts";
const prefix = `lgf-cli-${randomUUID().slice(0, 8)}`;
let env: Record<string, string>;
let redis: Redis;
const children: Child[] = [];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to completion (in the repository root, so module paths are relative to it). */
function runCli(args: readonly string[], extraEnv: Record<string, string | undefined> = env): Promise<Run> {
  return new Promise((resolve) => {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, FABRIC_LOG_LEVEL: "error" };
    // The integration setup exports the services' addresses; a test of "no connection" must not inherit them.
    delete childEnv.KAFKA_BROKERS;
    delete childEnv.REDIS_URL;
    delete childEnv.FABRIC_PREFIX;
    for (const [k, v] of Object.entries(extraEnv)) if (v !== undefined) childEnv[k] = v;
    execFile(
      process.execPath,
      ["--import", "tsx", cli, ...args],
      { cwd: root, env: childEnv, timeout: 90_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

interface StatusJson {
  nodes: { node: string; replicas: { replicaId: string; status: string; version: string; address: { partitions?: number[] } }[] }[];
  callers: { callerId: string; calls: Record<string, { calls: number }>; balancer: Record<string, { replicaId: string }[]> }[];
  sharedBreakers: unknown[];
  negotiations: unknown[];
}

beforeAll(() => {
  redis = new Redis(redisUrl());
  env = {
    KAFKA_BROKERS: kafkaBrokers().join(","),
    REDIS_URL: redisUrl(),
    FABRIC_PREFIX: prefix,
    FABRIC_SIGNING_KEYS: inject("signingKeys"),
  };
});

afterAll(async () => {
  await Promise.all(children.map((c) => c.stop(10_000)));
  await deleteByPrefix(redis, prefix);
  await redis.quit();
  const admin = new Kafka({ brokers: kafkaBrokers(), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}.`));
  if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.disconnect();
}, 60_000);

describe("langgraph-fabric worker and status", () => {
  it("a worker registers its replicas, status sees them, and a SIGTERM drains it out of the registry", async () => {
    const worker = spawnTs(cli, { ...env, FABRIC_LOG_LEVEL: "error" }, [
      "worker",
      graphModule,
      "--nodes",
      "momentum,sentiment",
      "--concurrency",
      "2",
      "--tag",
      "v-test",
    ]);
    children.push(worker);
    await worker.waitFor(/^ready$/, 90_000);
    const registered = Object.fromEntries(
      worker
        .stdout()
        .split("\n")
        .filter((l) => l.startsWith("registered "))
        .map((l) => l.split(" ").slice(1, 3) as [string, string]),
    );
    expect(Object.keys(registered).sort()).toEqual(["momentum", "sentiment"]);
    expect(registered.momentum).toMatch(new RegExp(`^momentum@.+:${worker.process.pid}:`));
    expect(worker.stderr()).toMatch(/serving momentum, sentiment \(concurrency 2\)/);

    const [json, human] = await Promise.all([runCli(["status", "--json"]), runCli(["status"])]);
    expect(json.code, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout) as StatusJson;
    const byNode = Object.fromEntries(report.nodes.map((n) => [n.node, n.replicas]));
    for (const node of ["momentum", "sentiment"]) {
      expect(byNode[node]?.map((r) => r.replicaId)).toEqual([registered[node]]);
      expect(byNode[node]?.[0]).toMatchObject({ status: "active", version: "v-test" });
      expect(byNode[node]?.[0]?.address.partitions?.length).toBeGreaterThan(0);
    }
    expect(report.sharedBreakers).toEqual([]);
    expect(report.negotiations).toEqual([]);

    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain(registered.momentum);
    expect(human.stdout).toMatch(/Replicas: 2 of 2 nodes/);
    expect(human.stdout).toMatch(/Throughput/);
    expect(human.stdout).toMatch(/Negotiations/);

    // A caller in another process (this one): its calls, balancer figures and breakers reach
    // `status` through its report; an open negotiation shows up with its answers so far.
    const caller = await createFabricFromEnv({ logger: silentLogger, monitors: { intervalMs: 3_600_000 } }, env);
    const waiting = new AbortController();
    try {
      await caller.registry.refresh();
      const task = (i: number) => ({
        configurable: { thread_id: `cli-${i}`, checkpoint_ns: `momentum:${i}` },
        executionInfo: { taskId: `${i}` },
      });
      for (let i = 0; i < 3; i += 1) await caller.remoteNode("momentum").invoke({ prices: generatePrices("AAPL", 7).closes }, task(i));
      await caller.coordination.runMonitors();
      const coordinator = new NegotiationCoordinator({
        store: caller.state,
        channel: new LocalParticipants({ quick: () => ({ kind: "accept" }), slow: () => new Promise(() => undefined) }),
        types: { price: { strategy: weightedAverage() } },
        logger: silentLogger,
      });
      const { id } = await coordinator.start({
        type: "price",
        topic: "AAPL",
        participants: ["quick", "slow"],
        proposal: { value: 1, confidence: 1 },
      });
      const running = coordinator.run(id, waiting.signal).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 200));
      const [withCaller, withCallerHuman] = await Promise.all([runCli(["status", "--json"]), runCli(["status"])]);
      const seen = JSON.parse(withCaller.stdout) as StatusJson;
      expect(seen.callers.map((c) => c.callerId)).toEqual([caller.transport.callerId]);
      expect(seen.callers[0]!.calls.momentum).toMatchObject({ calls: 3, failures: 0 });
      expect(seen.callers[0]!.balancer.momentum).toEqual([expect.objectContaining({ replicaId: registered.momentum, selections: 3 })]);
      expect(seen.negotiations).toEqual([expect.objectContaining({ id, topic: "AAPL", answered: ["quick"], initiator: "coordinator" })]);
      expect(withCallerHuman.stdout).toContain(caller.transport.callerId);
      expect(withCallerHuman.stdout).toMatch(/Balancer \(per caller/);
      expect(withCallerHuman.stdout).toMatch(/1\/2/); // the open session: one of two answered
      waiting.abort(new Error("test over"));
      await running;
    } finally {
      await caller.stop({ drainTimeoutMs: 1_000 });
    }

    await worker.stop(20_000);
    expect(worker.process.exitCode).toBe(0);
    expect(worker.stderr()).toMatch(/SIGTERM: draining/);
    expect(worker.stderr()).toMatch(/stopped after \d+ ms/);
    const after = JSON.parse((await runCli(["status", "--json"])).stdout) as StatusJson;
    expect(after.nodes.flatMap((n) => n.replicas)).toEqual([]);
  });
});

describe("langgraph-fabric errors", () => {
  it("an unknown module, a module without a builder, an unknown node: exit 2 with what to do", async () => {
    // Independent runs, so at once: each pays a Node + tsx start-up.
    const [missing, noExport, badNode] = await Promise.all([
      runCli(["worker", "examples/signal-fusion/nope.ts", "--nodes", "momentum"]),
      runCli(["worker", "examples/signal-fusion/prices.ts", "--nodes", "momentum"]),
      runCli(["worker", graphModule, "--nodes", "momentum,bogus"]),
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/error: unknown module: examples\/signal-fusion\/nope\.ts/);
    expect(missing.stderr).toMatch(/hint: /);

    expect(noExport.code).toBe(2);
    expect(noExport.stderr).toMatch(/has no export "builder" or "default"/);
    expect(noExport.stderr).toMatch(/generatePrices/); // lists what the module does export

    expect(badNode.code).toBe(2);
    expect(badNode.stderr).toMatch(/unknown node "bogus"/);
    expect(badNode.stderr).toMatch(/market, momentum, meanReversion, sentiment, fuse, risk, decide/);
    expect(badNode.stdout).toBe("");
  });

  it("unreachable Kafka and Redis: exit 3 with the hint to start the services", async () => {
    const down = await runCli(["status", "--kafka", "127.0.0.1:1", "--redis", "redis://127.0.0.1:1"], {});
    expect(down.code).toBe(3);
    expect(down.stderr).toMatch(/Kafka at 127\.0\.0\.1:1 is unreachable/);
    expect(down.stderr).toMatch(/Redis at redis:\/\/127\.0\.0\.1:1 is unreachable/);
    expect(down.stderr).toMatch(/npm run services:up/);
  });

  it("no connection, half a connection, an unknown flag or command: exit 2", async () => {
    const [none, half, flag, command] = await Promise.all([
      runCli(["status"], {}),
      runCli(["worker", graphModule, "--nodes", "momentum", "--kafka", "127.0.0.1:9092"], {}),
      runCli(["status", "--frobnicate"], {}),
      runCli(["frobnicate"], {}),
    ]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no Kafka and Redis to observe/);
    expect(half.code).toBe(2);
    expect(half.stderr).toMatch(/Redis is not/);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/Unknown option '--frobnicate'/);
    expect(command.code).toBe(2);
    expect(command.stderr).toMatch(/unknown command "frobnicate"/);
  });
});
