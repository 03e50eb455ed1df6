import { Annotation, END, START, StateGraph } from "@langchain/langgraph";
import { afterEach, describe, expect, it } from "vitest";
import { createFabric, type Fabric, type FabricConfig } from "../../../src/fabric.js";
import { isBulkheadFullError, isNoReplicaError, TransportError } from "../../../src/errors.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { InMemoryStateBackend, InMemoryStateStore } from "../../../src/state/InMemoryStateStore.js";
import { InMemoryNetwork, InMemoryTransport } from "../../../src/transport/InMemoryTransport.js";
import type { CallOptions, CallReply, OutgoingRequestHeader } from "../../../src/transport/Transport.js";

// Failover on the embedded fabric: a caller and worker "processes" as separate fabrics on one
// in-memory network and state backend. Each worker serves its own copy of the node, so a test can
// make one replica fail, stall or recover.

const State = Annotation.Root({ who: Annotation<string>, n: Annotation<number> });

interface Behaviour {
  mode: "ok" | "fail" | "stall";
  calls: number;
}

function nodeBuilder(name: string, behaviour: Behaviour) {
  return new StateGraph(State)
    .addNode("work", async (s) => {
      behaviour.calls += 1;
      if (behaviour.mode === "fail") throw new Error(`replica ${name} is broken`);
      if (behaviour.mode === "stall") await new Promise((r) => setTimeout(r, 2_000));
      return { who: name, n: s.n + 1 };
    })
    .addEdge(START, "work")
    .addEdge("work", END);
}

/**
 * The caller's transport, recording the header of every request it is asked to send, and failing
 * those addressed to the replicas in `unreachable` (a transport failure: the replica never sees them).
 */
class RecordingTransport extends InMemoryTransport {
  readonly sent: OutgoingRequestHeader[] = [];
  readonly unreachable = new Set<string>();

  override call(header: OutgoingRequestHeader, payload: Uint8Array, options: CallOptions): Promise<CallReply> {
    this.sent.push(header);
    if (this.unreachable.has(header.replica)) return Promise.reject(new TransportError(`cannot reach ${header.replica}`));
    return super.call(header, payload, options);
  }
}

let fabrics: Fabric[] = [];
afterEach(async () => {
  await Promise.all(fabrics.map((f) => f.stop({ drainTimeoutMs: 100 })));
  fabrics = [];
});

async function cluster(workerCount: number, callerConfig: FabricConfig = {}, network = new InMemoryNetwork()) {
  const backend = new InMemoryStateBackend();
  const make = (config: FabricConfig = {}) =>
    createFabric({
      transport: new InMemoryTransport({ network, logger: silentLogger }),
      state: new InMemoryStateStore({ backend }),
      registryOptions: { heartbeatIntervalMs: 100 },
      logger: silentLogger,
      ...config,
    });
  const caller = await make(callerConfig);
  const workers = await Promise.all(Array.from({ length: workerCount }, () => make()));
  fabrics.push(caller, ...workers);
  const behaviours: Behaviour[] = [];
  for (const [i, worker] of workers.entries()) {
    const behaviour: Behaviour = { mode: "ok", calls: 0 };
    behaviours.push(behaviour);
    await worker.serve(nodeBuilder(`w${i}`, behaviour), { nodes: ["work"], concurrency: 1 });
  }
  const graph = caller.distribute(nodeBuilder("local", { mode: "ok", calls: 0 }), { nodes: ["work"] }).compile();
  await caller.registry.refresh();
  return { caller, behaviours, graph, network, backend };
}

describe("failover on the embedded fabric", () => {
  it("a replica that fails every call is cut off within 3 failed calls, then probed and closed after it recovers", async () => {
    const { caller, behaviours, graph } = await cluster(2, {
      balancer: "round-robin",
      resilience: { breaker: { kind: "consecutive", threshold: 3 }, halfOpenAfter: { initialMs: 300, maxMs: 1_000 } },
    });
    behaviours[0]!.mode = "fail";
    let callsAtBreak: number | undefined;
    caller.onBreakerEvent((e) => {
      if (e.type === "break") callsAtBreak ??= behaviours[0]!.calls;
    });
    for (let i = 0; i < 40; i += 1) {
      try {
        await graph.invoke({ n: i });
      } catch {
        // the broken replica's failures, until the breaker takes it out
      }
    }
    const breakEvent = caller.status().breakerEvents.find((e) => e.type === "break");
    expect(breakEvent).toBeDefined();
    // Counted in calls, not milliseconds: the time to cut it off is a benchmark figure (bench/balancer.ts).
    expect(callsAtBreak).toBeLessThanOrEqual(3);
    // After the break only half-open probes (at most one per backoff period) reach the broken replica.
    expect(behaviours[1]!.calls).toBeGreaterThanOrEqual(35);
    expect(caller.status().breakers).toEqual([expect.objectContaining({ state: "open" })]);

    // It recovers; after the half-open wait one probe goes to it and closes the breaker.
    behaviours[0]!.mode = "ok";
    // Probes during the loop above may have failed and doubled the wait: wait for the current one.
    const until = caller.status().breakers[0]!.until!;
    await new Promise((r) => setTimeout(r, Math.max(0, until - Date.now()) + 20));
    for (let i = 0; i < 10; i += 1) await graph.invoke({ n: i });
    const types = caller.status().breakerEvents.map((e) => e.type);
    expect(types[0]).toBe("break");
    expect(types.slice(-2)).toEqual(["half-open", "reset"]);
    expect(behaviours[0]!.calls).toBeGreaterThan(3);
  });

  it("moves a call to another replica when the chosen one does not answer in time", async () => {
    const { caller, behaviours, graph, network } = await cluster(2, { balancer: "round-robin", resilience: { attemptTimeoutMs: 150 } });
    // Another caller (without an attempt timeout) keeps replica w0 (concurrency 1) busy.
    behaviours[0]!.mode = "stall";
    const other = await createFabric({
      transport: new InMemoryTransport({ network, logger: silentLogger }),
      state: caller.state,
      logger: silentLogger,
    });
    fabrics.push(other);
    await other.registry.refresh();
    const busy = Promise.all(
      [0, 1].map((n) =>
        other
          .distribute(nodeBuilder("x", { mode: "ok", calls: 0 }), { nodes: ["work"] })
          .compile()
          .invoke({ n }),
      ),
    );
    await new Promise((r) => setTimeout(r, 50));
    behaviours[0]!.mode = "ok";
    // Calls that round robin sends to the busy replica wait one attempt timeout there, then move on.
    const timings: number[] = [];
    for (let i = 0; i < 4; i += 1) {
      const started = Date.now();
      const out = await graph.invoke({ n: i });
      expect(out.n).toBe(i + 1);
      timings.push(Date.now() - started);
    }
    expect(timings.some((t) => t >= 150)).toBe(true);
    expect(timings.every((t) => t < 1_500)).toBe(true);
    await busy;
  });

  it("keeps one replica in service even when every breaker is open (ejection cap)", async () => {
    const { caller, behaviours, graph } = await cluster(2, {
      balancer: "round-robin",
      resilience: { breaker: { kind: "consecutive", threshold: 1 }, halfOpenAfter: { initialMs: 60_000, maxMs: 60_000 } },
    });
    behaviours[0]!.mode = "fail";
    behaviours[1]!.mode = "fail";
    for (let i = 0; i < 4; i += 1) await graph.invoke({ n: i }).catch(() => undefined);
    behaviours[0]!.mode = "ok";
    behaviours[1]!.mode = "ok";
    // Both breakers opened; the cap keeps the one that broke first in service, so calls still go through.
    expect(caller.status().breakerEvents.filter((e) => e.type === "break")).toHaveLength(2);
    for (let i = 0; i < 3; i += 1) expect((await graph.invoke({ n: i })).n).toBe(i + 1);
  });

  it("retries on another replica with the same idempotency key and a new correlation id", async () => {
    const network = new InMemoryNetwork();
    const transport = new RecordingTransport({ network, logger: silentLogger });
    const { caller, behaviours, graph } = await cluster(2, { transport, balancer: "round-robin" }, network);
    transport.unreachable.add(caller.registry.replicas("work")[0]!.replicaId);
    // Round robin sends at least one of two calls to the unreachable replica first; both succeed.
    for (let i = 0; i < 2; i += 1) expect((await graph.invoke({ n: i })).n).toBe(i + 1);
    expect(behaviours[0]!.calls + behaviours[1]!.calls).toBe(2); // each task ran once, on the reachable replica
    const byKey = new Map<string, OutgoingRequestHeader[]>();
    for (const h of transport.sent) byKey.set(h.idempotencyKey, [...(byKey.get(h.idempotencyKey) ?? []), h]);
    const retried = [...byKey.values()].filter((attempts) => attempts.length > 1);
    // Round robin's picks alternate, retries included: one or both calls went to it first.
    expect(retried.length).toBeGreaterThanOrEqual(1);
    for (const attempts of retried) {
      expect(attempts).toHaveLength(2);
      const [first, second] = attempts as [OutgoingRequestHeader, OutgoingRequestHeader];
      expect(transport.unreachable.has(first.replica)).toBe(true);
      expect(second.replica).not.toBe(first.replica);
      expect(second.id).not.toBe(first.id);
      // Everything else that identifies the task, and the call's deadline, is the same.
      const { id: _firstId, replica: _firstReplica, ...firstRest } = first;
      const { id: _secondId, replica: _secondReplica, ...secondRest } = second;
      expect(secondRest).toEqual(firstRest);
    }
  });

  it("a replica that leaves mid-call costs no attempt: the call waits for a replacement within its deadline", async () => {
    // One attempt allowed: before, the replica leaving used it up and the call failed with
    // ReplicaGoneError while a replacement was moments away.
    const network = new InMemoryNetwork();
    const { behaviours, graph, backend } = await cluster(1, { resilience: { maxAttempts: 1, replicaGoneGraceMs: 50 } }, network);
    behaviours[0]!.mode = "stall";
    const run = graph.invoke({ n: 0 });
    await expect.poll(() => behaviours[0]!.calls).toBe(1);
    const [, worker] = fabrics;
    await worker!.stop({ drainTimeoutMs: 1 });
    await new Promise((r) => setTimeout(r, 300));
    const replacement = await createFabric({
      transport: new InMemoryTransport({ network, logger: silentLogger }),
      state: new InMemoryStateStore({ backend }),
      registryOptions: { heartbeatIntervalMs: 100 },
      idempotency: { leaseMs: 200 },
      logger: silentLogger,
    });
    fabrics.push(replacement);
    const fresh: Behaviour = { mode: "ok", calls: 0 };
    await replacement.serve(nodeBuilder("replacement", fresh), { nodes: ["work"], concurrency: 1 });
    // The stopped replica finished the node and recorded its reply under the call's key, so the
    // replacement answers from that record: the call succeeds and the node ran once in all.
    expect((await run).n).toBe(1);
    expect(behaviours[0]!.calls + fresh.calls).toBe(1);
  });

  it("a replica that leaves with no replacement in replicaWaitMs ends in NoReplicaError saying the request may still run", async () => {
    const { behaviours, graph } = await cluster(1, { resilience: { replicaGoneGraceMs: 50 }, replicaWaitMs: 300 });
    behaviours[0]!.mode = "stall";
    const run = graph.invoke({ n: 0 }).catch((e: unknown) => e);
    await expect.poll(() => behaviours[0]!.calls).toBe(1);
    await fabrics[1]!.stop({ drainTimeoutMs: 1 });
    const error = await run;
    expect(isNoReplicaError(error)).toBe(true);
    expect((error as Error).message).toMatch(/left during the call.*may still run.*same idempotency key/);
  });

  it("rejects calls over the per-node bulkhead at once with a typed error", async () => {
    const { behaviours, graph } = await cluster(1, { resilience: { bulkheadLimit: 1, bulkheadQueue: 0 } });
    behaviours[0]!.mode = "stall";
    const first = graph.invoke({ n: 0 });
    await new Promise((r) => setTimeout(r, 20));
    const second = await graph.invoke({ n: 1 }).catch((e: unknown) => e);
    expect(isBulkheadFullError(second)).toBe(true);
    await first;
  });
});
