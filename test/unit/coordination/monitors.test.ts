// The background monitors: expiry and departure of agents and replicas, nodes crossing latency and
// error-rate thresholds (transitions only), the failover sweep (requeued leases, an unreachable
// registry), the run loop on injected timers, and what status() and listeners see.
import { afterEach, describe, expect, it } from "vitest";
import { AgentDirectory } from "../../../src/coordination/AgentDirectory.js";
import type { MonitorEvent } from "../../../src/coordination/monitors/MonitorEvent.js";
import { resolveMonitors } from "../../../src/coordination/monitors/monitorOptions.js";
import { PerformanceMonitor } from "../../../src/coordination/monitors/PerformanceMonitor.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { StoreRegistry } from "../../../src/registry/StoreRegistry.js";
import { InMemoryStateStore } from "../../../src/state/InMemoryStateStore.js";
import { Cluster, ManualTime } from "./harness.js";

let cluster: Cluster;
afterEach(async () => {
  await cluster.close();
});

const stats = (calls: number, latencyEwmaMs: number, errorRate: number) => ({
  calls,
  failures: 0,
  latencyEwmaMs,
  errorRate,
  lastLatencyMs: latencyEwmaMs,
});
const types = (events: MonitorEvent[]) => events.map((e) => `${e.type} ${e.subject}`).sort();

describe("heartbeat monitor", () => {
  it("reports agents and replicas that expired or left, seen from another process", async () => {
    const time = new ManualTime();
    cluster = new Cluster({ now: time.now });
    const clocks = { now: time.now, timers: time.timers };
    const config = { coordination: clocks, registryOptions: { ...clocks, heartbeatIntervalMs: 1_000 } };
    const observer = await cluster.fabric({ ...config, monitors: { intervalMs: 3_600_000, performance: false } });
    const worker = await cluster.fabric(config);
    const heard: MonitorEvent[] = [];
    observer.onMonitorEvent((e) => heard.push(e));

    const leaver = await worker.registerAgent({ agentId: "leaver", role: "signal" });
    await worker.registerAgent({ agentId: "stayer", role: "signal" });
    const served = await worker.serve({ work: (x: number) => x + 1 }, { nodes: ["work"] });
    // A process that registered an agent and a replica, then crashed: its timers never fire again.
    const crashedStore = new InMemoryStateStore({ backend: cluster.backend });
    const crashedAgents = new AgentDirectory(crashedStore, "crashed", {
      heartbeatIntervalMs: 1_000,
      now: time.now,
      timers: time.deadTimers,
      logger: silentLogger,
    });
    const crashedReplicas = new StoreRegistry(crashedStore, {
      heartbeatIntervalMs: 1_000,
      now: time.now,
      timers: time.deadTimers,
      logger: silentLogger,
    });
    await crashedAgents.register({ agentId: "ghost", role: "risk" });
    await crashedReplicas.register({ node: "work", replicaId: "ghost-replica" });

    expect(await observer.coordination.runMonitors()).toEqual([]); // nothing left yet
    await leaver.deregister();
    await served.stop();
    await time.advance(3_500);
    const events = await observer.coordination.runMonitors();
    expect(types(events)).toEqual([
      "agent-expired ghost",
      "agent-left leaver",
      "replica-expired work/ghost-replica",
      `replica-left work/${served.replicas.work}`,
    ]);
    const ghost = events.find((e) => e.subject === "ghost")!;
    expect(ghost).toMatchObject({ monitor: "heartbeat", level: "warn", data: { role: "risk", process: "crashed", expireAfterMs: 3_000 } });
    expect(ghost.data!.heartbeatAgeMs).toBeGreaterThanOrEqual(3_000);
    expect(types(heard)).toEqual(types(events));
    expect(observer.status().monitors).toMatchObject({
      running: true,
      runs: 2,
      enabled: { heartbeat: true, performance: false, failover: true },
    });
    expect(types(observer.status().monitors!.events)).toEqual(types(events));
    // Nothing new: nothing reported again.
    expect(await observer.coordination.runMonitors()).toEqual([]);
    await crashedReplicas.stop();
    await crashedAgents.stop();
  });

  it("runs by itself every intervalMs on the injected timers, from start() until stop()", async () => {
    const time = new ManualTime();
    cluster = new Cluster();
    const f = await cluster.fabric({ monitors: { intervalMs: 1_000, timers: time.timers, now: time.now } });
    expect(f.status().monitors).toMatchObject({ running: true, runs: 0 });
    await time.advance(1_000);
    await time.advance(1_000);
    await time.advance(10);
    expect(f.status().monitors?.runs).toBe(2);
    await f.stop();
    expect(f.status().monitors).toMatchObject({ running: false, runs: 2 });
    await time.advance(5_000);
    expect(f.status().monitors?.runs).toBe(2);
  });
});

describe("performance monitor", () => {
  it("reports nodes and served replicas that become slow or fail, once, and their recovery", () => {
    const m = new PerformanceMonitor({ latencyMs: 100, errorRate: 0.3, minCalls: 5 }, () => 42);
    const sample = (latency: number, errors: number, calls = 10) => ({
      calls: { momentum: stats(calls, latency, errors) },
      served: [{ node: "risk", replicaId: "r1", stats: stats(calls, latency / 2, 0) }],
    });
    expect(m.check(sample(500, 0.9, 4))).toEqual([]); // too few calls to judge
    expect(types(m.check(sample(500, 0.9)))).toEqual(["node-errors momentum", "node-slow momentum", "node-slow risk/r1"]);
    expect(m.check(sample(500, 0.9))).toEqual([]); // still slow: not reported again
    const recovered = m.check(sample(50, 0.1));
    expect(types(recovered)).toEqual(["node-recovered momentum", "node-recovered risk/r1"]);
    expect(recovered[0]).toMatchObject({
      at: 42,
      monitor: "performance",
      level: "info",
      data: { latencyEwmaMs: 50, errorRate: 0.1, calls: 10 },
    });
  });

  it("judges the figures of fabric.status(): a slow remote node is reported through the fabric", async () => {
    cluster = new Cluster();
    const [caller, worker] = [
      await cluster.fabric({ monitors: { intervalMs: 3_600_000, performance: { latencyMs: 15, minCalls: 2 } } }),
      await cluster.fabric(),
    ];
    await worker.serve({ slow: async (x: number) => new Promise((r) => setTimeout(() => r(x), 40)) }, { nodes: ["slow"] });
    await caller.registry.refresh();
    // Each call its own thread: calls without one share one idempotency key (and would be refused as conflicting).
    for (let i = 0; i < 3; i += 1) await caller.callNode("slow", i, { configurable: { thread_id: `slow-${i}` } });
    const events = await caller.coordination.runMonitors();
    expect(events.map((e) => `${e.type} ${e.subject}`)).toEqual(["node-slow slow"]);
  });
});

describe("failover sweep", () => {
  it("requeues the expired leases of watched queues and reports an unreachable registry once per outage", async () => {
    // The store's clock moves by hand, so both leases expire together (a claim requeues expired leases itself).
    const time = new ManualTime();
    cluster = new Cluster({ now: time.now });
    const store = new InMemoryStateStore({ backend: cluster.backend });
    const f = await cluster.fabric({ state: store, monitors: { intervalMs: 3_600_000, failover: { queues: ["jobs"] } } });
    const jobs = f.state.queue("jobs");
    await jobs.push({ n: 1 });
    await jobs.push({ n: 2 });
    await jobs.claim({ leaseMs: 1_000 });
    await jobs.claim({ leaseMs: 1_000 });
    await time.advance(2_000);
    const events = await f.coordination.runMonitors();
    expect(events).toEqual([expect.objectContaining({ type: "leases-requeued", subject: "jobs", data: { moved: 2 } })]);
    expect(await jobs.stats()).toEqual({ ready: 2, leased: 0 });

    await store.close(); // the store goes away under the fabric
    const outage = await f.coordination.runMonitors();
    expect(outage.map((e) => e.type)).toEqual(["registry-unreachable"]);
    expect(outage[0]!.level).toBe("warn");
    expect(await f.coordination.runMonitors()).toEqual([]);
  });

  it("validates the options", () => {
    const fallback = { now: Date.now };
    expect(() => resolveMonitors({ intervalMs: 0 }, fallback)).toThrow(/monitors\.intervalMs must be a positive integer/);
    expect(() => resolveMonitors({ performance: { errorRate: 2 } }, fallback)).toThrow(/monitors\.performance\.errorRate/);
    expect(() => resolveMonitors({ failover: { queues: [""] } }, fallback)).toThrow(/monitors\.failover\.queues\[0\]/);
    expect(() => resolveMonitors(3 as never, fallback)).toThrow(/monitors must be an options object or false/);
    expect(resolveMonitors({ performance: false, failover: false, heartbeat: false }, fallback)).toMatchObject({
      performance: false,
      failover: false,
      heartbeat: false,
    });
  });
});
