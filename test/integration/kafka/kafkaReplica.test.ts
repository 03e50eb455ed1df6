// Kafka-only behaviour of replicas: dead letters, long handlers, offsets committed after the
// reply, and requests following their partition to another replica.
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { DeadLetterSink } from "../../../adapters/kafka/DeadLetterSink.js";
import type { KafkaTransport } from "../../../adapters/kafka/KafkaTransport.js";
import { EnvelopeCodec, ENVELOPE_VERSION, type RequestHeader } from "../../../src/transport/envelope.js";
import type { HandlerResult, IncomingRequest, RequestHandler, ServeHandle } from "../../../src/transport/Transport.js";
import { requestHeader } from "../../conformance/transportConformance.js";
import { sleep, waitFor } from "../../conformance/stateStoreConformance.js";
import { KafkaTestContext } from "./kafkaHarness.js";
import { testSigningKeys } from "../../support/services.js";

const context = new KafkaTestContext();
afterEach(() => context.stopTransports(), 60_000);
afterAll(() => context.close(), 60_000);

/** Group joins of a Kafka replica (a diagnostic counter of KafkaReplica). */
const joins = (handle: ServeHandle): number => (handle as unknown as { groupJoins: number }).groupJoins;
const ok = (text: string): HandlerResult => ({ status: "ok", payloadType: "bytes", payload: Buffer.from(text) });
const node = (base: string): string => `${base}-${randomBytes(3).toString("hex")}`;

async function serve(
  name: string,
  handler: RequestHandler,
  concurrency: number,
  options = {},
): Promise<{ handle: ServeHandle; replicaId: string }> {
  const t = context.transport(options);
  await t.start();
  const replicaId = `r-${randomBytes(3).toString("hex")}`;
  return { handle: await t.serve(name, handler, { replicaId, concurrency }), replicaId };
}

async function caller() {
  const t = context.transport();
  await t.start();
  return t;
}

/** The dead-letter sink a started transport's replicas use, with `send` failing its first `failures` calls. */
function failingDeadLetters(t: KafkaTransport, failures: number): { sends: () => number } {
  const sink = (t as unknown as { conn: { deadLetters: DeadLetterSink } }).conn.deadLetters;
  const send = sink.send.bind(sink);
  let calls = 0;
  sink.send = (...args) => {
    calls += 1;
    return calls <= failures ? Promise.reject(new Error(`broker refused dead letter #${calls}`)) : send(...args);
  };
  return { sends: () => calls };
}

/** Polls an async `check` until it holds. */
async function eventually(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await sleep(100);
  }
}

/** The replica group's committed offset of one partition (-1 when none). */
async function committedOffset(groupId: string, topic: string, partition: number): Promise<number> {
  const [offsets] = await context.admin.fetchOffsets({ groupId, topics: [topic] });
  return Number(offsets!.partitions.find((p) => p.partition === partition)!.offset);
}

async function endOffset(topic: string, partition: number): Promise<number> {
  return Number((await context.admin.fetchTopicOffsets(topic)).find((p) => p.partition === partition)!.high);
}

describe("KafkaTransport replicas", () => {
  it("retries a dead letter the broker refused until it is produced, then commits past it", async () => {
    const name = node("dlq-retry");
    const t = context.transport();
    await t.start();
    const failing = failingDeadLetters(t, 2);
    const handle = await t.serve(name, () => Promise.resolve(ok("served")), {
      replicaId: `r-${randomBytes(3).toString("hex")}`,
      concurrency: 1,
    });
    const c = await caller();
    const topic = c.names.requests(name);
    const partition = handle.address.partitions![0]!;
    await context.produceRaw(topic, partition, Buffer.from("poison"));
    const reply = await c.call(requestHeader(name, handle.address.replicaId), Buffer.from("after"), { target: handle.address });
    expect(Buffer.from(reply.payload).toString()).toBe("served");

    await eventually(async () => (await context.deadLetters()).some((l) => l.source.startsWith(`${topic}/${partition}/`)), 20_000);
    expect(failing.sends()).toBe(3); // two refusals, then produced: never dropped
    const end = await endOffset(topic, partition);
    await eventually(async () => (await committedOffset(c.names.replicaGroup, topic, partition)) === end, 20_000);
  }, 60_000);

  it("leaves a dead letter it could never produce uncommitted, for the partition's next owner", async () => {
    const name = node("dlq-handover");
    const a = context.transport();
    await a.start();
    const failing = failingDeadLetters(a, Number.POSITIVE_INFINITY);
    const handle = await a.serve(name, () => Promise.resolve(ok("a")), {
      replicaId: `a-${randomBytes(3).toString("hex")}`,
      concurrency: 1,
    });
    const c = await caller();
    const topic = c.names.requests(name);
    const group = c.names.replicaGroup;
    const partition = handle.address.partitions![0]!;
    await context.produceRaw(topic, partition, Buffer.from("poison"));
    const poisonOffset = (await endOffset(topic, partition)) - 1;
    // A call behind the poison is answered, but the commit point stays pinned at the poison.
    await c.call(requestHeader(name, handle.address.replicaId), Buffer.from("x"), { target: handle.address });
    await waitFor(() => failing.sends() >= 3, 20_000);
    await sleep(500);
    expect(await committedOffset(group, topic, partition)).toBeLessThanOrEqual(poisonOffset);
    await handle.stop();
    const sendsAtStop = failing.sends();
    await sleep(2_000); // longer than the backoff reached by then (800 ms after the fourth refusal)
    expect(failing.sends()).toBe(sendsAtStop); // a stopped replica stops retrying

    const b = await serve(name, () => Promise.resolve(ok("b")), 1);
    await eventually(async () => (await context.deadLetters()).some((l) => l.source === `${topic}/${partition}/${poisonOffset}`), 20_000);
    const end = await endOffset(topic, partition);
    await eventually(async () => (await committedOffset(group, topic, partition)) === end, 20_000);
    expect(b.handle.inFlight).toBe(0);
  }, 60_000);

  it("dead-letters poison messages with their reason, commits them, and keeps serving", async () => {
    const name = node("poison");
    const runs: IncomingRequest[] = [];
    const { handle } = await serve(
      name,
      (request) => {
        runs.push(request);
        return Promise.resolve(ok("served"));
      },
      2,
    );
    const c = await caller();
    const topic = c.names.requests(name);
    const partition = handle.address.partitions![0]!;
    const codec = new EnvelopeCodec({ signingKeys: testSigningKeys() });
    const request = (n: string, deadline: number): RequestHeader => ({
      ...requestHeader(n, "r", 60_000),
      deadline,
      nonce: randomUUID(),
      v: ENVELOPE_VERSION,
      kind: "request",
      caller: c.callerId,
      replyTo: `${c.names.replies}:0`,
    });
    await context.produceSigned(topic, partition, Buffer.from("not a frame at all"));
    await context.produceSigned(topic, partition, null);
    await context.produceSigned(topic, partition, Buffer.from('{"v":2,"kind":"request"}\n'));
    await context.produceSigned(topic, partition, Buffer.from('{"v":1,"kind":"request","id":"x"}\npayload'));
    await context.produceSigned(topic, partition, codec.encode(request("another node", Date.now() + 60_000), Buffer.from("x")).value);
    await context.produceSigned(
      topic,
      partition,
      codec.encode({ ...request(name, Date.now() + 60_000), replyTo: "elsewhere:3" }, Buffer.from("x")).value,
    );
    // Expired before it was read: skipped and committed, never run.
    await context.produceSigned(topic, partition, codec.encode(request(name, Date.now() - 1), Buffer.from("late")).value);

    const reply = await c.call(requestHeader(name, handle.address.replicaId), Buffer.from("after the poison"), { target: handle.address });
    expect(Buffer.from(reply.payload).toString()).toBe("served");
    expect(runs.map((r) => Buffer.from(r.payload).toString())).toEqual(["after the poison"]);

    let letters = await context.deadLetters();
    for (let i = 0; i < 100 && letters.filter((l) => l.source.startsWith(`${topic}/`)).length < 6; i++) {
      await sleep(100);
      letters = await context.deadLetters();
    }
    const mine = letters.filter((l) => l.source.startsWith(`${topic}/${partition}/`));
    expect(mine.map((l) => l.reason)).toEqual(["malformed", "malformed", "version", "schema", "wrong_node", "reply_to"]);
    expect(mine[0]!.value?.toString()).toBe("not a frame at all");
    expect(mine[1]!.value).toBeNull();
    expect(mine[4]!.error).toContain("another node");

    // Everything up to the end of the partition is committed: the poison, the expired request, the call.
    const replicaGroup = c.names.replicaGroup;
    const end = (await context.admin.fetchTopicOffsets(topic)).find((p) => p.partition === partition)!.high;
    let committed = "";
    for (let i = 0; i < 50 && committed !== end; i++) {
      const [offsets] = await context.admin.fetchOffsets({ groupId: replicaGroup, topics: [topic] });
      committed = offsets!.partitions.find((p) => p.partition === partition)!.offset;
      if (committed !== end) await sleep(100);
    }
    expect(committed).toBe(end);
  }, 60_000);

  it("runs a handler for twice the session timeout exactly once, without a rebalance", async () => {
    const name = node("long");
    const runs: string[] = [];
    const { handle } = await serve(
      name,
      async (request) => {
        runs.push(Buffer.from(request.payload).toString());
        if (runs.length === 1) await sleep(12_000);
        return ok(`done ${Buffer.from(request.payload).toString()}`);
      },
      1,
      { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 1_000 },
    );
    const c = await caller();
    const t0 = Date.now();
    const long = c.call(requestHeader(name, handle.address.replicaId, 60_000), Buffer.from("long"), { target: handle.address });
    await waitFor(() => runs.length === 1, 20_000);
    // Queued behind it (concurrency 1: the topic is paused, yet heartbeats go on).
    const short = c.call(requestHeader(name, handle.address.replicaId, 60_000), Buffer.from("short"), { target: handle.address });
    expect(Buffer.from((await long).payload).toString()).toBe("done long");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(12_000);
    expect(Buffer.from((await short).payload).toString()).toBe("done short");
    await sleep(1_500);
    expect(runs).toEqual(["long", "short"]);
    expect(joins(handle)).toBe(1);
  }, 60_000);

  it("a replica paused at its concurrency limit fetches again when a slot frees, not after the fetch wait", async () => {
    const name = node("resume");
    const order: string[] = [];
    const { handle } = await serve(
      name,
      async (request) => {
        order.push(Buffer.from(request.payload).toString());
        await sleep(20);
        return ok("done");
      },
      1,
      // Unpatched kafkajs sleeps this long after every pause (and a stop waits behind an idle fetch this long).
      { maxWaitTimeMs: 3_000 },
    );
    const c = await caller();
    const t0 = Date.now();
    const calls = ["a", "b", "c", "d"].map((p) =>
      c.call(requestHeader(name, handle.address.replicaId, 60_000), Buffer.from(p), { target: handle.address }),
    );
    await Promise.all(calls);
    expect(order.sort()).toEqual(["a", "b", "c", "d"]);
    expect(Date.now() - t0).toBeLessThan(4_000); // three resumes: about 9 s without the patch
  }, 60_000);

  it("commits only after the reply: a replica stopped mid-call leaves the request to the next one", async () => {
    const name = node("handover");
    const seen: { replica: string; header: RequestHeader; signal: AbortSignal }[] = [];
    const a = await serve(
      name,
      (request, context_) => {
        seen.push({ replica: "a", header: request.header, signal: context_.signal });
        return new Promise<HandlerResult>(() => undefined); // never answers
      },
      1,
    );
    const c = await caller();
    const reply = c.call(requestHeader(name, a.handle.address.replicaId, 60_000), Buffer.from("work"), { target: a.handle.address });
    await waitFor(() => seen.length === 1, 20_000);
    await a.handle.stop();
    expect(seen[0]!.signal.aborted).toBe(true);
    const b = await serve(
      name,
      (request, context_) => {
        seen.push({ replica: "b", header: request.header, signal: context_.signal });
        return Promise.resolve(ok("from b"));
      },
      1,
    );
    const r = await reply;
    expect(Buffer.from(r.payload).toString()).toBe("from b");
    expect(r.header.replica).toBe(b.replicaId);
    expect(seen.map((s) => s.replica)).toEqual(["a", "b"]);
    expect(seen[1]!.header.id).toBe(seen[0]!.header.id);
    expect(seen[1]!.header.idempotencyKey).toBe(seen[0]!.header.idempotencyKey);
  }, 60_000);

  it("serves the queued requests of a stopped replica's partitions on the replica that takes them over", async () => {
    const name = node("move");
    const served: { replica: string; payload: string }[] = [];
    const handler =
      (replica: string): RequestHandler =>
      async (request) => {
        served.push({ replica, payload: Buffer.from(request.payload).toString() });
        await sleep(250);
        return ok(`${replica}:${Buffer.from(request.payload).toString()}`);
      };
    const a = await serve(name, handler("a"), 1);
    const b = await serve(name, handler("b"), 1);
    await waitFor(() => (a.handle.address.partitions?.length ?? 0) === 2 && (b.handle.address.partitions?.length ?? 0) === 2, 20_000);
    const c = await caller();
    const replies = Array.from({ length: 8 }, (_, i) =>
      c.call({ ...requestHeader(name, a.replicaId, 60_000), id: randomUUID() }, Buffer.from(String(i)), { target: a.handle.address }),
    );
    await waitFor(() => served.length >= 2, 20_000);
    await a.handle.stop();
    const texts = (await Promise.all(replies)).map((r) => Buffer.from(r.payload).toString());
    expect(texts.map((t) => t.split(":")[1])).toEqual(["0", "1", "2", "3", "4", "5", "6", "7"]);
    expect(texts.filter((t) => t.startsWith("b:")).length).toBeGreaterThanOrEqual(5);
    expect(served.filter((s) => s.replica === "a").length).toBeLessThanOrEqual(3);
  }, 60_000);

  it("after a rebalance, a replica that keeps a partition does not run its requests again", async () => {
    const name = node("rebalance");
    const runs: { replica: string; id: string }[] = [];
    const handler =
      (replica: string): RequestHandler =>
      async (request) => {
        runs.push({ replica, id: request.header.id });
        await sleep(1_500);
        return ok(replica);
      };
    const a = await serve(name, handler("a"), 8);
    const c = await caller();
    const replies = Array.from({ length: 8 }, () =>
      c.call(requestHeader(name, a.replicaId, 60_000), Buffer.from("x"), { target: a.handle.address }),
    );
    await waitFor(() => runs.length === 8, 20_000);
    const b = await serve(name, handler("b"), 8); // joins: the group rebalances while a's 8 calls run
    await waitFor(() => (a.handle.address.partitions?.length ?? 0) === 2, 20_000);
    expect(joins(a.handle)).toBe(2);
    await Promise.all(replies);
    await sleep(2_000); // let b finish what it took over
    const perReplica = (r: string) => runs.filter((x) => x.replica === r).map((x) => x.id);
    expect(new Set(perReplica("a")).size).toBe(perReplica("a").length);
    expect(new Set(perReplica("b")).size).toBe(perReplica("b").length);
    // b re-runs only what was uncommitted in the partitions it took over: at most the 8 calls once each.
    expect(perReplica("a")).toHaveLength(8);
    expect(perReplica("b").length).toBeLessThanOrEqual(8);
    expect(b.handle.inFlight).toBe(0);
  }, 60_000);
});
