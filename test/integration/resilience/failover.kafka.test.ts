import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import type { Runnable, RunnableConfig } from "@langchain/core/runnables";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Fabric } from "../../../src/fabric.js";
import { isCallable } from "../../../src/nodes/pickReplica.js";
import type { BreakerEvent } from "../../../src/resilience/BreakerEvents.js";
import { deleteByPrefix } from "../../support/checkpointerFactory.js";
import { spawnTs, type Child } from "../../support/childProcess.js";
import { behaviourFabric, type BehaviourCallerOptions } from "../../support/processes/behaviourFabric.js";
import { behaviourKeys, builder, type BehaviourMode } from "../../support/processes/behaviourGraph.js";
import { kafkaBrokers, redisUrl, signingEnv } from "../../support/services.js";

// Failover over the real Kafka broker and Redis, with each replica of the node in its own worker
// process (test/support/processes/behaviourWorker.ts). The test process is the caller; it switches
// one replica's behaviour (ok, fail, slow) through Redis, or SIGKILLs it, while it calls the node,
// and reads what the caller's fabric saw (breaker events, which replica answered) and what the
// replicas ran (per-process counters in Redis).

const NODE = "work";
const here = (f: string) => fileURLToPath(new URL(`../../support/processes/${f}`, import.meta.url));
type Graph = { invoke(input: { n: number }): Promise<{ n: number; pid: number }> };

let redis: Redis;
const children: Child[] = [];
const fabrics: Fabric[] = [];
const prefixes: string[] = [];

beforeAll(() => {
  redis = new Redis(redisUrl());
});
afterAll(async () => {
  await Promise.all(children.splice(0).map((c) => c.stop(5_000)));
  await Promise.all(fabrics.splice(0).map((f) => f.stop({ drainTimeoutMs: 500 })));
  for (const p of prefixes) await deleteByPrefix(redis, p);
  await redis.quit();
});

/** One fleet: its own topics, keys and worker processes. */
interface Fleet {
  prefix: string;
  env: Record<string, string>;
  workers: Child[];
  pids: number[];
  setMode(pid: number, mode: BehaviourMode): Promise<void>;
  /** Calls each replica ran so far (failed ones included), by pid. */
  ran(): Promise<Map<number, number>>;
  /** Calls each replica is running now, by pid. */
  running(): Promise<Map<number, number>>;
  /** A started caller fabric with these settings, and the distributed graph, once every replica is callable. */
  caller(options?: BehaviourCallerOptions): Promise<{ fabric: Fabric; graph: Graph; replicaOf: (pid: number) => string }>;
}

async function startFleet(size: number, extraEnv: Record<string, string> = {}): Promise<Fleet> {
  const prefix = `lgf-fo-${randomUUID().slice(0, 8)}`;
  prefixes.push(prefix);
  const env = {
    KAFKA_BROKERS: kafkaBrokers().join(","),
    ...signingEnv(),
    REDIS_URL: redisUrl(),
    FABRIC_TOPIC_PREFIX: prefix,
    FABRIC_KEY_PREFIX: prefix,
    BEHAVIOUR_PREFIX: prefix,
    ...extraEnv,
  };
  const workers = Array.from({ length: size }, () => spawnTs(here("behaviourWorker.ts"), env));
  children.push(...workers);
  await Promise.all(workers.map((w) => w.waitFor(/^ready \d+$/)));
  const keys = behaviourKeys(prefix);
  const byPid = async (key: string) =>
    new Map(Object.entries(await redis.hgetall(key)).map(([pid, count]) => [Number(pid), Number(count)] as const));
  return {
    prefix,
    env,
    workers,
    pids: workers.map((w) => w.process.pid!),
    setMode: async (pid, mode) => {
      await redis.set(keys.mode(pid), mode);
    },
    ran: () => byPid(keys.calls),
    running: () => byPid(keys.running),
    caller: async (options = {}) => {
      const fabric = await behaviourFabric(env, options);
      fabrics.push(fabric);
      // Every replica registered with its share of the 6 partitions (the group has settled).
      await waitUntil(() => {
        const live = fabric.registry.replicas(NODE).filter(isCallable);
        const partitions = live.flatMap((r) => r.address.partitions ?? []);
        return live.length === size && partitions.length === 6 && new Set(partitions).size === 6 ? true : undefined;
      });
      const replicaOf = (pid: number): string => {
        const r = fabric.registry.replicas(NODE).find((x) => x.meta.pid === String(pid));
        if (!r) throw new Error(`no replica of process ${pid}`);
        return r.replicaId;
      };
      const graph = fabric.distribute(builder, { nodes: [NODE] }).compile() as unknown as Graph;
      return { fabric, graph, replicaOf };
    },
  };
}

async function waitUntil<T>(fn: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error("condition not met in time");
    await sleep(25);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One graph run as the caller saw it (epoch ms, as breaker events are stamped). */
interface CallRecord {
  start: number;
  end: number;
  pid?: number;
  error?: unknown;
}

let callNo = 0;
async function call(graph: Graph): Promise<CallRecord> {
  const n = (callNo += 1);
  const start = Date.now();
  let out: { n: number; pid: number };
  try {
    out = await graph.invoke({ n });
  } catch (error) {
    return { start, end: Date.now(), error };
  }
  const end = Date.now();
  expect(out.n, "the node's own result").toBe(n + 1);
  return { start, end, pid: out.pid };
}

/** One node call as LangGraph makes it (thread, namespace, fresh task id), without a graph run around it. */
async function nodeCall(remote: Runnable): Promise<CallRecord> {
  const n = (callNo += 1);
  const taskId = randomUUID();
  const config = {
    configurable: { thread_id: "failover", checkpoint_ns: `${NODE}:${taskId}` },
    executionInfo: { taskId, threadId: "failover", checkpointNs: `${NODE}:${taskId}`, checkpointId: "", nodeAttempt: 1 },
  } as RunnableConfig;
  const start = Date.now();
  try {
    const out = (await remote.invoke({ n }, config)) as { pid: number };
    return { start, end: Date.now(), pid: out.pid };
  } catch (error) {
    return { start, end: Date.now(), error };
  }
}

/** `width` callers, each calling again as soon as its call ends, until `stop()` says so. */
async function closedLoop(graph: Graph, width: number, stop: () => boolean, onRecord?: (r: CallRecord) => void): Promise<CallRecord[]> {
  const records: CallRecord[] = [];
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (!stop()) {
        const r = await call(graph);
        records.push(r);
        onRecord?.(r);
      }
    }),
  );
  return records;
}

const forMs = (ms: number) => {
  const until = Date.now() + ms;
  return () => Date.now() >= until;
};

/** An open loop: `rate` calls/s for `ms`, whatever earlier calls are doing; resolves when all ended. */
async function openLoop(graph: Graph, rate: number, ms: number, sink: CallRecord[] = []): Promise<CallRecord[]> {
  const t0 = Date.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < Math.round((rate * ms) / 1000); i += 1) {
    const wait = t0 + (i * 1000) / rate - Date.now();
    if (wait > 0) await sleep(wait);
    pending.push(call(graph).then((r) => void sink.push(r)));
  }
  await Promise.all(pending);
  return sink;
}

/** Calls answered per pid. */
function answeredBy(records: readonly CallRecord[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const r of records) if (r.pid !== undefined) out.set(r.pid, (out.get(r.pid) ?? 0) + 1);
  return out;
}

function diff(after: Map<number, number>, before: Map<number, number>, pid: number): number {
  return (after.get(pid) ?? 0) - (before.get(pid) ?? 0);
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

describe("failover over Kafka (real broker, real Redis, replicas in worker processes)", () => {
  describe("with three replicas whose behaviour is switched through Redis", () => {
    let fleet: Fleet;
    beforeAll(async () => {
      // A slow replica takes 3 s: well above a call's Kafka round trip even when other test runs saturate
      // the machine (p50 up to ≈ 0.6 s then); at 1 s it was only ≈ 2.5x slower end to end there.
      fleet = await startFleet(3, { BEHAVIOUR_OK_MS: "5", BEHAVIOUR_SLOW_MS: "3000" });
    });
    // Their replicas leave before the next fleet starts: two fleets would share the 2 cores.
    afterAll(async () => {
      await Promise.all(fleet.workers.map((w) => w.stop(5_000)));
    });
    afterEach(async () => {
      await Promise.all(fleet.pids.map((pid) => fleet.setMode(pid, "ok")));
      await Promise.all(fabrics.splice(0).map((f) => f.stop({ drainTimeoutMs: 1000 })));
    });

    it("a replica that fails every call is cut off within 3 failed calls and 100 ms, then probed (half-open) and closed after it recovers", async () => {
      // When each reply from the failing replica reached this process (every one is a failure once
      // it fails): the breaker's clock starts there, not when the graph surfaces the error.
      const watched: { id?: string } = {};
      let misrouted = 0;
      const victimReplies: number[] = [];
      /** Replies from the victim to calls addressed to it (each one a failed call to it, once it fails). */
      let addressedReplies = 0;
      const { fabric, graph, replicaOf } = await fleet.caller({
        // Round robin gives the failing replica every third call, whatever its latency: the
        // breaker alone takes it out (p2c-ewma would also steer away from its failures).
        balancer: "round-robin",
        resilience: {
          breaker: { kind: "consecutive", threshold: 3 },
          halfOpenAfter: { initialMs: 500, maxMs: 2_000 },
          // Only the breaker is under test: an outlier ejection would keep the replica out after it recovers.
          outlier: { enabled: false },
        },
        onReply: (reply, request) => {
          if (reply.header.replica !== watched.id) return;
          victimReplies.push(Date.now());
          // Sent to another replica, answered by the victim: Kafka had moved that replica's partition to it.
          if (request.replica !== watched.id) misrouted += 1;
          else addressedReplies += 1;
        },
      });
      const [victim, ...others] = fleet.pids as [number, ...number[]];
      const warm = await closedLoop(graph, 9, forMs(1_500));
      expect(warm.filter((r) => r.error)).toEqual([]);
      expect(answeredBy(warm).size).toBe(3);

      const events: BreakerEvent[] = [];
      let repliesAtBreak: number | undefined;
      let recordedAtBreak: number | undefined;
      fabric.onBreakerEvent((e) => {
        if (e.replicaId !== watched.id) return;
        events.push(e);
        if (e.type === "break" && repliesAtBreak === undefined) {
          repliesAtBreak = addressedReplies;
          // The victim's failed calls the caller had finished recording: each is recorded just
          // after its breaker counted it, so the one that trips the breaker is not among them.
          recordedAtBreak = fabric.status().balancer[NODE]?.find((s) => s.replicaId === watched.id)?.errors;
        }
      });
      // Nothing is in flight now: from here on every reply of the victim is a failure.
      await fleet.setMode(victim, "fail");
      watched.id = replicaOf(victim);
      const ranBefore = await fleet.ran();
      // The failing phase opens with 9 node calls at once, so 3 reach the victim together: how soon
      // the breaker opens then depends on the breaker, not on how fast this (busy) machine can
      // start graph runs one after another. Graph runs follow, 9 at a time.
      const remote = fabric.remoteNode(NODE);
      const burst = await Promise.all(Array.from({ length: 9 }, () => nodeCall(remote)));
      const failing = [...burst, ...(await closedLoop(graph, 9, forMs(3_000)))];
      const ranAfter = await fleet.ran();
      const misroutedToVictim = misrouted;

      const brk = events.find((e) => e.type === "break");
      expect(brk, "the breaker opened").toBeDefined();
      // From the victim's first failed call (its failed reply reaching this caller: the earliest
      // moment the caller can know of a failure) to the breaker opening.
      const openedAfterMs = brk!.at - victimReplies[0]!;
      // The failed reply that completed the threshold (the third; replies are read in arrival order).
      const reactionMs = brk!.at - victimReplies[2]!;
      const failures = failing.filter((r) => r.error);
      // Every failure the caller saw is the victim's (its error names the process).
      for (const f of failures) expect((f.error as Error).message).toContain(`replica ${victim} is failing`);
      const victimCalls = diff(ranAfter, ranBefore, victim);
      const served = answeredBy(failing);
      const probes = events.filter((e) => e.type === "half-open").length;
      console.info(
        `[failover] fail: breaker opened ${openedAfterMs} ms after the first failed reply arrived and ${reactionMs} ms after the ` +
          `third (${victimReplies[2]! - victimReplies[0]!} ms apart), with ${repliesAtBreak} failed ` +
          `replies arrived and ${recordedAtBreak} recorded (+1 tripping); ` +
          `${failing.length} calls in 3 s, ${failures.length} failed; the victim ran ${victimCalls} (half-open probes: ${probes}); ` +
          `the others answered ${others.map((p) => served.get(p) ?? 0).join(" + ")}; ${misroutedToVictim} calls sent to others reached ` +
          `the victim (moved partitions); other breakers: ${JSON.stringify(fabric.status().breakers.filter((b) => b.replicaId !== watched.id))}`,
      );
      // Within 3 failed calls: the breaker had counted at most 3 of the victim's failures when it
      // opened (those recorded, plus the one that tripped it), and at most 3 calls addressed to the
      // victim had failed (their replies reached this caller) by then.
      expect(recordedAtBreak! + 1).toBeLessThanOrEqual(3);
      expect(repliesAtBreak).toBeLessThanOrEqual(3);
      // Within 100 ms of the first failed call. The breaker opens as soon as it has 3 failures (no
      // window, no minimum rate), so this depends on how fast failures arrive: the burst sends 3
      // calls to the victim at once, whose failed replies arrive within a few ms of each other on
      // an idle machine (2–40 ms measured); a machine saturated by other test runs can spread them
      // further, and then this fails, as it should: the target is about time, not only calls.
      expect(openedAfterMs).toBeLessThanOrEqual(100);
      // Traffic moved: after the break only the calls already in flight there (≤ 9), one probe per
      // backoff period, and calls for others that Kafka delivered to it (a rebalance moved their
      // partition) reach the victim; the others answer everything else.
      expect(served.get(victim) ?? 0).toBe(0);
      for (const p of others) expect(served.get(p) ?? 0).toBeGreaterThan(0);
      expect(victimCalls).toBeLessThanOrEqual(3 + 9 + probes + misroutedToVictim);
      expect(failures.length).toBeLessThanOrEqual(victimCalls);
      expect(failing.length - failures.length).toBeGreaterThan(failures.length);

      // It recovers: after the half-open wait a probe goes through and closes the breaker.
      await fleet.setMode(victim, "ok");
      const recovered = performance.now();
      const after = await closedLoop(graph, 9, () => events.at(-1)?.type === "reset" || performance.now() - recovered > 10_000);
      const types = events.map((e) => e.type);
      console.info(
        `[failover] fail: victim's breaker events ${types.join(", ")}; reset ${Math.round(performance.now() - recovered)} ms after recovery`,
      );
      expect(types[0]).toBe("break");
      expect(types.slice(-2)).toEqual(["half-open", "reset"]);
      expect(after.filter((r) => r.error)).toEqual([]);
      expect(fabric.status().breakers.filter((b) => b.replicaId === watched.id)).toEqual([]);
      // Closed again, it takes its share of calls.
      const back = await closedLoop(graph, 9, forMs(1_500));
      expect(back.filter((r) => r.error)).toEqual([]);
      expect((answeredBy(back).get(victim) ?? 0) / back.length).toBeGreaterThan(0.2);
    });

    it("with p2c-ewma a replica that turns slow gets a much smaller share of the calls", async () => {
      const { fabric, graph, replicaOf } = await fleet.caller({ balancer: "p2c-ewma" });
      // A fixed offered load (open loop): calls stuck on the slow replica do not slow the stream
      // down, so shares are shares of the same calls before and after.
      await openLoop(graph, 20, 2_000);
      const before = await openLoop(graph, 20, 5_000);
      // p2c-ewma does not always split light load evenly (the replica whose recent latency peaks
      // are lowest draws the most): the one that carried the most turns slow, so its drop is unmistakable.
      const share = (rs: CallRecord[], pid: number) => (answeredBy(rs).get(pid) ?? 0) / rs.length;
      const victim = fleet.pids.reduce((a, b) => (share(before, b) > share(before, a) ? b : a));
      const victimId = replicaOf(victim);
      // A replica the registry drops and re-adds (late heartbeats on a busy machine) starts over in
      // the balancer; count that, since it would hand a slow replica traffic again.
      const churn: string[] = [];
      const unwatch = fabric.registry.watch(NODE, (e) => {
        if (e.type !== "updated" && e.replica.replicaId === victimId) churn.push(e.type);
      });
      await fleet.setMode(victim, "slow");
      // The calls already sent there and the first slow replies are the transition; then it is avoided.
      await openLoop(graph, 20, 2_000);
      const slow = await openLoop(graph, 20, 5_000);
      unwatch();
      const estimate = fabric.status().balancer[NODE]?.find((r) => r.replicaId === victimId)?.latencyEwmaMs;
      const shares = (rs: CallRecord[]) => fleet.pids.map((p) => `${p === victim ? "*" : ""}${pct(share(rs, p))}`).join(" / ");
      const p50 = (rs: CallRecord[]) => rs.map((r) => r.end - r.start).sort((x, y) => x - y)[rs.length >> 1];
      console.info(
        `[failover] slow: shares before ${shares(before)} (${before.length} calls, p50 ${p50(before)} ms); ` +
          `while the starred replica takes ${fleet.env.BEHAVIOUR_SLOW_MS} ms more: ${shares(slow)} (${slow.length} calls, p50 ${p50(slow)} ms); ` +
          `its p2c estimate ${Math.round(estimate ?? -1)} ms; registry churn of it: ${churn.join(",") || "none"}`,
      );
      expect([...before, ...slow].filter((r) => r.error)).toEqual([]);
      expect(share(before, victim)).toBeGreaterThan(0.25);
      expect(share(slow, victim)).toBeLessThan(0.1);
    });
  });

  it("a replica SIGKILLed during a steady stream of calls: every call completes, on another replica", async () => {
    // 100 ms calls at 20 calls/s keep about 2 calls running over the 3 replicas at any time.
    const fleet = await startFleet(3, { BEHAVIOUR_OK_MS: "100" });
    // Replies from a replica other than the one the request was sent to: Kafka moved a partition.
    let movedReplies = 0;
    const { graph, fabric } = await fleet.caller({
      balancer: "p2c-ewma",
      onReply: (reply, request) => {
        if (reply.header.replica !== request.replica) movedReplies += 1;
      },
    });
    const records: CallRecord[] = [];
    const stream = openLoop(graph, 20, 14_000, records);
    await sleep(3_000);
    // Killed in the middle of a call, so at least one call must move to another replica.
    const victim = await waitUntil(async () => [...(await fleet.running())].find(([, n]) => n > 0)?.[0], 30_000);
    const killedAt = Date.now();
    await fleet.workers[fleet.pids.indexOf(victim)]!.kill();
    const goneAt = waitUntil(
      () => (fabric.registry.replicas(NODE).some((r) => r.meta.pid === String(victim)) ? undefined : Date.now()),
      10_000,
    );
    await stream;
    const durations = records.map((r) => r.end - r.start).sort((a, b) => a - b);
    const longest = records.reduce((a, b) => (b.end - b.start > a.end - a.start ? b : a));
    const straddling = records.filter((r) => r.start <= killedAt && r.end > killedAt + 500);
    console.info(
      `[failover] kill: ${records.length} calls, ${records.filter((r) => r.error).length} failed; registry dropped the replica ` +
        `${(await goneAt) - killedAt} ms after SIGKILL; longest call ${longest.end - longest.start} ms (started ${longest.start - killedAt} ms ` +
        `after the kill); p50 ${durations[durations.length >> 1]} ms, p99 ${durations[Math.floor(durations.length * 0.99)]} ms; ` +
        `${straddling.length} calls in flight at the kill took > 500 ms more; ${movedReplies} replies came from another replica than the one called`,
    );
    expect(records.filter((r) => r.error).map((r) => String(r.error))).toEqual([]);
    expect(records).toHaveLength(20 * 14);
    // Calls after the kill were answered by the survivors only.
    expect(records.filter((r) => r.start > killedAt + 100 && r.pid === victim)).toEqual([]);
    // Detection (≤ 900 ms expiry + 300 ms refresh) + the dead replica's lease (≤ 1 500 ms) + the
    // call is ≈ 3 s; measured 1.6–2.1 s on an idle machine, up to 17 s at load average 14 (every
    // call slows then). The bound only tells "failed over" from "waited for the 5-minute call timeout".
    expect(longest.end - longest.start).toBeLessThan(30_000);
  });
});
