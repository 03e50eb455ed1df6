// Emergency broadcasts: every registered agent in every process runs its handler and acknowledges;
// an agent that does not answer is reported missing at the timeout, a failing handler is reported,
// roles narrow the audience, and re-broadcasting an id does not run handlers that succeeded.
import { afterEach, describe, expect, it } from "vitest";
import { AgentDirectory } from "../../../src/coordination/AgentDirectory.js";
import type { Emergency } from "../../../src/coordination/emergencyMessages.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { InMemoryStateStore } from "../../../src/state/InMemoryStateStore.js";
import { Cluster, flush, ManualTime } from "./harness.js";

let cluster: Cluster;
afterEach(async () => {
  await cluster.close();
});

describe("broadcastEmergency", () => {
  it("reaches agents in two processes, records their acknowledgements, and reports the one that never answers", async () => {
    cluster = new Cluster();
    const [desk, p1, p2] = [await cluster.fabric(), await cluster.fabric(), await cluster.fabric()];
    const handled: string[] = [];
    const seen: Emergency[] = [];
    const onEmergency = (e: Emergency, agent: { agentId: string }): void => {
      seen.push(e);
      handled.push(agent.agentId);
    };
    await p1.registerAgent({ agentId: "momentum", role: "signal" }, { onEmergency });
    await p1.registerAgent({ agentId: "meanRev", role: "signal" }, { onEmergency });
    const exec = await p2.registerAgent({ agentId: "exec", role: "execution" });
    exec.onEmergency(onEmergency);
    // An agent whose process is wedged: registered and heartbeating, but its handler never returns.
    await p2.registerAgent({ agentId: "stuck", role: "execution" }, { onEmergency: () => new Promise(() => undefined) });

    const result = await desk.broadcastEmergency({ kind: "halt-trading", reason: "exchange outage" }, { timeoutMs: 300, id: "halt-1" });
    expect(result).toEqual({ id: "halt-1", acknowledged: ["exec", "meanRev", "momentum"], missing: ["stuck"], failed: {} });
    expect(handled.sort()).toEqual(["exec", "meanRev", "momentum"]);
    expect(seen[0]).toMatchObject({
      id: "halt-1",
      message: { kind: "halt-trading", reason: "exchange outage" },
      from: desk.transport.callerId,
    });
    // Acknowledgements are in the store, for any process to read.
    const ack = await desk.state.namespace("coordination", "emergency", "halt-1").get("ack:exec");
    expect(ack).toMatchObject({ id: "halt-1", agentId: "exec", ok: true, by: p2.transport.callerId });

    // The same id again: nothing runs twice, the recorded acknowledgements are collected again.
    const again = await desk.broadcastEmergency("ignored: the first message stands", { timeoutMs: 200, id: "halt-1" });
    expect(again).toEqual(result);
    expect(handled).toHaveLength(3);
  });

  it("resolves as soon as every agent acknowledged, reports failed handlers, and narrows by role", async () => {
    cluster = new Cluster();
    const [desk, p1] = [await cluster.fabric(), await cluster.fabric()];
    let failures = 1;
    await p1.registerAgent({ agentId: "risk", role: "risk" }, { onEmergency: () => undefined });
    await p1.registerAgent(
      { agentId: "flaky", role: "execution" },
      {
        onEmergency: () => {
          if (failures-- > 0) throw new Error("broker session lost");
        },
      },
    );
    await p1.registerAgent({ agentId: "quiet", role: "execution" }); // no handler: acknowledges at once
    const started = Date.now();
    const first = await desk.broadcastEmergency("flatten", { timeoutMs: 10_000, id: "e-1" });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(first).toEqual({ id: "e-1", acknowledged: ["quiet", "risk"], missing: [], failed: { flaky: "broker session lost" } });
    // A re-broadcast runs the failed handler again (and only it).
    const retry = await desk.broadcastEmergency("flatten", { timeoutMs: 10_000, id: "e-1" });
    expect(retry).toEqual({ id: "e-1", acknowledged: ["flaky", "quiet", "risk"], missing: [], failed: {} });

    const onlyRisk = await desk.broadcastEmergency("recompute limits", { roles: ["risk"], timeoutMs: 1_000 });
    expect(onlyRisk.acknowledged).toEqual(["risk"]);
    const nobody = await desk.broadcastEmergency("anyone?", { roles: ["compliance"], timeoutMs: 1_000 });
    expect(nobody).toMatchObject({ acknowledged: [], missing: [], failed: {} });
  });

  it("reports an agent whose process crashed (still in the directory, nobody listening) as missing at the timeout", async () => {
    cluster = new Cluster();
    const time = new ManualTime();
    const desk = await cluster.fabric({ coordination: { now: time.now, timers: time.timers } });
    // A process that registered an agent and died before its record expired: no receiver at all.
    const dead = new AgentDirectory(new InMemoryStateStore({ backend: cluster.backend }), "dead-process", {
      logger: silentLogger,
      timers: time.deadTimers,
    });
    await dead.start();
    await dead.register({ agentId: "ghost", role: "signal" });
    const pending = desk.broadcastEmergency("halt", { timeoutMs: 5_000, id: "e-2" });
    await flush(); // until the broadcast waits on its timers
    await time.advance(4_900);
    let settled = false;
    void pending.then(() => (settled = true));
    await time.advance(10);
    expect(settled).toBe(false);
    await time.advance(100);
    expect(await pending).toEqual({ id: "e-2", acknowledged: [], missing: ["ghost"], failed: {} });
  });

  it("validates its arguments", async () => {
    cluster = new Cluster();
    const desk = await cluster.fabric();
    await expect(desk.broadcastEmergency(undefined as never)).rejects.toThrow(/message must be a JSON value/);
    await expect(desk.broadcastEmergency("x", { timeoutMs: 0 })).rejects.toThrow(/timeoutMs must be a positive integer/);
    await expect(desk.broadcastEmergency("x", { roles: [] })).rejects.toThrow(/roles must be a non-empty array/);
  });
});
