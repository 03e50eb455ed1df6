// RedisSaver and RedisStateStore through Redis Sentinel (`{ sentinels, name }` connections): a
// private master, one replica and one sentinel with a 1 s down-after, so that a SIGKILLed master is
// replaced by its replica within seconds and both clients must follow the sentinel to it.
import { Annotation, Command, END, START, StateGraph, interrupt } from "@langchain/langgraph";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisSaver } from "../../../adapters/redis/RedisSaver.js";
import { RedisStateStore } from "../../../adapters/redis/RedisStateStore.js";
import type { RedisConnection } from "../../../adapters/redis/createRedisClient.js";
import { startRedisSentinel, type RedisSentinelHandle } from "../../support/redisServers.js";

const KEY_PREFIX = "sentinel-test";

let sentinel: RedisSentinelHandle | undefined;
let saver: RedisSaver | undefined;
let store: RedisStateStore | undefined;

beforeAll(async () => {
  sentinel = await startRedisSentinel({ downAfterMs: 1000, failoverTimeoutMs: 3000 });
  const connection: RedisConnection = { sentinels: sentinel.sentinels, name: sentinel.name };
  saver = new RedisSaver(connection, { keyPrefix: KEY_PREFIX });
  await saver.setup();
  store = new RedisStateStore(connection, { keyPrefix: KEY_PREFIX });
}, 60_000);

afterAll(async () => {
  await saver?.end();
  await store?.close();
  await sentinel?.stop();
});

const Approval = Annotation.Root({
  request: Annotation<string>,
  log: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
});

function approvalGraph(checkpointer: RedisSaver) {
  return new StateGraph(Approval)
    .addNode("prepare", (s) => ({ log: [`prepared ${s.request}`] }))
    .addNode("ask", () => ({ log: [interrupt<string, string>("approve?")] }))
    .addNode("finish", () => ({ log: ["done"] }))
    .addEdge(START, "prepare")
    .addEdge("prepare", "ask")
    .addEdge("ask", "finish")
    .addEdge("finish", END)
    .compile({ checkpointer });
}

/** Runs a new thread up to its interrupt and checks that the checkpoint says so. */
async function runToInterrupt(graph: ReturnType<typeof approvalGraph>, threadId: string) {
  const config = { configurable: { thread_id: threadId } };
  await graph.invoke({ request: threadId }, config);
  const state = await graph.getState(config);
  expect(state.next).toEqual(["ask"]);
  expect(state.tasks[0]?.interrupts[0]?.value).toBe("approve?");
  return config;
}

/** Subscribes `s` to `channel`; `received` settles with the first message. */
async function firstMessage(s: RedisStateStore, channel: string): Promise<{ received: Promise<unknown> }> {
  let resolve!: (message: unknown) => void;
  const received = new Promise<unknown>((r) => (resolve = r));
  await s.subscribe(channel, (message) => resolve(message));
  return { received };
}

/** Whether the server at `url` holds any key of this file's thread `threadId`. */
async function holdsThread(url: string, threadId: string): Promise<boolean> {
  const direct = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await direct.connect();
    return (await direct.exists(`${KEY_PREFIX}:{${threadId}}:ids`)) === 1;
  } finally {
    direct.disconnect();
  }
}

describe("Redis Sentinel", () => {
  it("a graph checkpointed by RedisSaver runs, interrupts and resumes; the state store sets, gets, locks and publishes", async () => {
    const { port } = await sentinel!.masterAddress();
    expect(port).toBe(sentinel!.servers[0]!.port);

    const graph = approvalGraph(saver!);
    const config = await runToInterrupt(graph, "sentinel-basic");
    const result = await graph.invoke(new Command({ resume: "approved" }), config);
    expect(result.log).toEqual(["prepared sentinel-basic", "approved", "done"]);
    expect(await holdsThread(sentinel!.servers[0]!.url, "sentinel-basic")).toBe(true);

    const s = store!;
    await s.agentState("a1").set("status", { ok: true }, { ttlMs: 60_000 });
    expect(await s.agentState("a1").get("status")).toEqual({ ok: true });
    const lock = await s.acquireLock("basic", { ttlMs: 10_000, owner: "one" });
    expect(lock).toBeDefined();
    expect(await s.acquireLock("basic", { ttlMs: 10_000, owner: "two" })).toBeUndefined();
    await s.fencedSet("guarded", "by one", lock!.token);
    await s.releaseLock(lock!);
    const next = await s.acquireLock("basic", { ttlMs: 10_000, owner: "two" });
    expect(next!.token).toBeGreaterThan(lock!.token);
    await s.fencedSet("guarded", "by two", next!.token);
    await expect(s.fencedSet("guarded", "stale", lock!.token)).rejects.toThrow(/token/i);
    expect(await s.get("guarded")).toBe("by two");
    const { received } = await firstMessage(s, "basic");
    await s.publish("basic", { hello: "sentinel" });
    expect(await received).toEqual({ hello: "sentinel" });
  });

  it("after the master is SIGKILLed, both follow the sentinel to the promoted replica", async () => {
    const handle = sentinel!;
    const [oldMaster, replica] = handle.servers;
    const graph = approvalGraph(saver!);
    const s = store!;
    const config = await runToInterrupt(graph, "sentinel-failover");
    await s.shared().set("before", "failover");
    const lock = await s.acquireLock("failover", { ttlMs: 60_000, owner: "old" });
    await s.releaseLock(lock!);
    const { received } = await firstMessage(s, "failover");
    // Replication is asynchronous: without this, the kill could lose the last writes.
    await handle.waitForReplication();

    await oldMaster!.kill();
    const promoted = await handle.waitForFailover(oldMaster!.port, 20_000);
    expect(promoted).toBe(replica);

    // The checkpoint written before the failover is resumed from the promoted replica.
    const result = await graph.invoke(new Command({ resume: "approved later" }), config);
    expect(result.log).toEqual(["prepared sentinel-failover", "approved later", "done"]);
    const config2 = await runToInterrupt(graph, "sentinel-after");
    expect(await holdsThread(promoted.url, "sentinel-after")).toBe(true);
    expect((await saver!.getTuple(config2))?.checkpoint.id).toBeDefined();

    expect(await s.shared().get("before")).toBe("failover");
    const again = await s.acquireLock("failover", { ttlMs: 60_000, owner: "new" });
    expect(again!.token).toBeGreaterThan(lock!.token); // the fencing sequence survived the failover
    await s.publish("failover", "after"); // the subscriber re-subscribed on the new master
    expect(await received).toBe("after");
  });
});
