// Caller reports: a fabric that makes remote calls publishes its view (calls, balancer figures,
// breakers) at each monitor run; another process reads every caller's report; a clean stop
// withdraws it; a caller that died drops out when its report lapses, and readers prune it.
import { afterEach, describe, expect, it } from "vitest";
import { CallerReporter, readCallerReports } from "../../../src/coordination/monitors/CallerReports.js";
import { InMemoryStateBackend, InMemoryStateStore } from "../../../src/state/InMemoryStateStore.js";
import { Cluster } from "./harness.js";

let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

const config = { configurable: { thread_id: "t", checkpoint_ns: "double:1" }, executionInfo: { taskId: "1" } };

describe("caller reports", () => {
  it("publishes what a caller sees, read by another process, withdrawn on stop", async () => {
    cluster = new Cluster();
    const [caller, worker, observer] = [
      await cluster.fabric({ monitors: { intervalMs: 3_600_000 } }),
      await cluster.fabric(),
      await cluster.fabric(),
    ];
    await worker.serve({ double: (x: number) => x * 2 }, { nodes: ["double"] });
    await caller.registry.refresh();
    for (let i = 0; i < 5; i += 1) expect(await caller.remoteNode("double").invoke(21, config)).toBe(42);
    await caller.coordination.runMonitors();
    await worker.coordination.runMonitors(); // serves, calls nothing: no report
    const reports = await readCallerReports(observer.state);
    expect(reports.map((r) => r.callerId)).toEqual([caller.transport.callerId]);
    expect(reports[0]!.calls.double).toMatchObject({ calls: 5, failures: 0 });
    expect(reports[0]!.balancer.double).toEqual([expect.objectContaining({ selections: 5, calls: 5, errors: 0 })]);
    expect(reports[0]!.breakers).toEqual([]);
    await caller.stop();
    expect(await readCallerReports(observer.state)).toEqual([]);
  });

  it("drops a caller that died once its report lapses, and prunes it from the index", async () => {
    let now = 1_700_000_000_000;
    const backend = new InMemoryStateBackend({ now: () => now });
    const store = new InMemoryStateStore({ backend });
    const view = { calls: { n: { calls: 1, failures: 0, latencyEwmaMs: 2, errorRate: 0, lastLatencyMs: 2 } }, balancer: {}, breakers: [] };
    await new CallerReporter(store, "alive", 15_000, () => now).publish(view);
    await new CallerReporter(store, "dead", 15_000, () => now).publish(view);
    now += 10_000;
    await new CallerReporter(store, "alive", 15_000, () => now).publish(view);
    now += 10_000; // "dead" last reported 20 s ago, its TTL is 15 s
    expect((await readCallerReports(store)).map((r) => r.callerId)).toEqual(["alive"]);
    expect(await store.namespace("callers").get("index")).toEqual(["alive"]);
    await new CallerReporter(store, "quiet", 15_000, () => now).publish({ calls: {}, balancer: {}, breakers: [] });
    expect((await readCallerReports(store)).map((r) => r.callerId)).toEqual(["alive"]); // no calls: nothing published
    expect(() => new CallerReporter(store, "x", 0, () => now)).toThrow(/ttlMs must be a positive integer/);
  });
});
