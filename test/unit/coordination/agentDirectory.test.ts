// The agent directory: registration with roles and capabilities, queries, updates, deregistration
// and expiry of an agent whose process stopped heartbeating, seen from another process.
import { afterEach, describe, expect, it } from "vitest";
import { AgentDirectory, type AgentEvent } from "../../../src/coordination/AgentDirectory.js";
import { isFabricStoppedError, isRegistryError } from "../../../src/errors.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { InMemoryStateBackend, InMemoryStateStore } from "../../../src/state/InMemoryStateStore.js";
import { Cluster, ManualTime } from "./harness.js";

let cluster: Cluster;
afterEach(async () => {
  await cluster.close();
});

describe("agents on the fabric", () => {
  it("registers agents with roles and capabilities, visible from every process and queryable", async () => {
    cluster = new Cluster();
    const [a, b] = [await cluster.fabric(), await cluster.fabric()];
    await a.registerAgent({
      agentId: "mom-1",
      role: "momentum",
      capabilities: ["equities", "intraday"],
      meta: { model: "gpt", window: 20 },
    });
    await a.registerAgent({ agentId: "risk-1", role: "risk", capabilities: ["var"] });
    await b.registerAgent({ agentId: "risk-2", role: "risk", capabilities: ["var", "stress"], status: "busy" });
    await Promise.all([a.coordination.directory.refresh(), b.coordination.directory.refresh()]);

    for (const f of [a, b]) {
      expect(f.agents().map((x) => x.agentId)).toEqual(["mom-1", "risk-1", "risk-2"]);
      expect(f.agents({ role: "risk" }).map((x) => x.agentId)).toEqual(["risk-1", "risk-2"]);
      expect(f.agents({ capability: "stress" }).map((x) => x.agentId)).toEqual(["risk-2"]);
      expect(f.agents({ role: "risk", status: "active" }).map((x) => x.agentId)).toEqual(["risk-1"]);
      expect(f.agents({ status: ["busy", "degraded"] }).map((x) => x.agentId)).toEqual(["risk-2"]);
    }
    const mom = b.agents({ role: "momentum" })[0]!;
    expect(mom).toMatchObject({
      agentId: "mom-1",
      role: "momentum",
      capabilities: ["equities", "intraday"],
      meta: { model: "gpt", window: 20 },
      status: "active",
      process: a.transport.callerId,
    });
    expect(a.status().agents.map((x) => x.agentId)).toEqual(["mom-1", "risk-1", "risk-2"]);
  });

  it("updates and deregisters an agent; a role cannot change", async () => {
    cluster = new Cluster();
    const [a, b] = [await cluster.fabric(), await cluster.fabric()];
    const events: AgentEvent[] = [];
    b.coordination.watchAgents((e) => events.push(e));
    const handle = await a.registerAgent({ agentId: "exec-1", role: "execution" });
    await b.coordination.directory.refresh();
    const updated = await handle.update({ status: "draining", capabilities: ["fix"], meta: { venue: "XNAS" } });
    expect(updated).toMatchObject({ status: "draining", capabilities: ["fix"], meta: { venue: "XNAS" }, role: "execution" });
    await b.coordination.directory.refresh();
    expect(b.agents({ status: "draining" }).map((x) => x.agentId)).toEqual(["exec-1"]);
    await expect(handle.update({ role: "risk" } as never)).rejects.toThrow(/role cannot change/);
    await expect(handle.update({ status: "sleeping" } as never)).rejects.toThrow(RangeError);
    await handle.deregister();
    await b.coordination.directory.refresh();
    expect(b.agents()).toEqual([]);
    expect(events.map((e) => e.type)).toEqual(["added", "updated", "removed"]);
  });

  it("validates registrations", async () => {
    cluster = new Cluster();
    const a = await cluster.fabric();
    await expect(a.registerAgent({ agentId: "", role: "x" })).rejects.toThrow(/agentId must be a non-empty string/);
    await expect(a.registerAgent({ agentId: "x", role: "" })).rejects.toThrow(/role must be a non-empty string/);
    await expect(a.registerAgent({ agentId: "x", role: "r", capabilities: [1] as never })).rejects.toThrow(/capabilities/);
    await expect(a.registerAgent({ agentId: "x", role: "r", meta: { f: () => 1 } as never })).rejects.toThrow(/meta/);
    await a.registerAgent({ agentId: "x", role: "r" });
    await expect(a.registerAgent({ agentId: "x", role: "r" })).rejects.toSatisfy(isRegistryError);
    await a.stop();
    await expect(a.registerAgent({ agentId: "y", role: "r" })).rejects.toSatisfy(isFabricStoppedError);
  });
});

describe("AgentDirectory expiry", () => {
  it("drops an agent whose process stopped heartbeating once its TTL passed, and keeps one that heartbeats", async () => {
    const time = new ManualTime();
    const backend = new InMemoryStateBackend({ now: time.now });
    const options = { heartbeatIntervalMs: 1_000, now: time.now, logger: silentLogger };
    // The crashed process's timers never fire: it registered, then went silent.
    const crashed = new AgentDirectory(new InMemoryStateStore({ backend }), "crashed", { ...options, timers: time.deadTimers });
    const alive = new AgentDirectory(new InMemoryStateStore({ backend }), "alive", { ...options, timers: time.timers });
    const observer = new AgentDirectory(new InMemoryStateStore({ backend }), "observer", { ...options, timers: time.timers });
    await Promise.all([crashed.start(), alive.start(), observer.start()]);
    const removed: string[] = [];
    observer.watch((e) => {
      if (e.type === "removed") removed.push(e.agent.agentId);
    });
    await crashed.register({ agentId: "ghost", role: "momentum" });
    await alive.register({ agentId: "steady", role: "momentum" });
    await observer.refresh();
    expect(observer.agents().map((a) => a.agentId)).toEqual(["ghost", "steady"]);
    expect(observer.get("ghost")).toMatchObject({ expireAfterMs: 3_000 });

    await time.advance(2_500);
    expect(observer.agents().map((a) => a.agentId)).toEqual(["ghost", "steady"]);
    await time.advance(1_000);
    expect(observer.agents().map((a) => a.agentId)).toEqual(["steady"]);
    await observer.refresh();
    expect(removed).toEqual(["ghost"]);
    await time.advance(10_000);
    expect(observer.agents().map((a) => a.agentId)).toEqual(["steady"]);
    await Promise.all([crashed.stop(), alive.stop(), observer.stop()]);
  });
});
