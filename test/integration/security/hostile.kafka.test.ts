// Hostile input against the default distributed setup (signed Kafka transport, Redis state): an
// attacker who can read and write the fabric's topics, and for some cases one who also holds the
// signing key (a compromised process). Each case asserts the attack's outcome — refused, dead-
// lettered with its reason, counted — and that the worker and the runner still serve valid calls.
// Each test fails if the attack is accepted.
import { randomUUID } from "node:crypto";
import type { KafkaMessage } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEAD_LETTER_HEADERS, type DeadLetterReference } from "../../../adapters/kafka/DeadLetterSink.js";
import type { KafkaTransport } from "../../../adapters/kafka/KafkaTransport.js";
import { RedisStateStore } from "../../../adapters/redis/RedisStateStore.js";
import { isEventBufferOverflowError } from "../../../src/errors.js";
import { createFabric, type Fabric } from "../../../src/fabric.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { EnvelopeCodec, type EventHeader, type ReplyHeader, type RequestHeader } from "../../../src/transport/envelope.js";
import { FabricSerializer } from "../../../src/transport/payloadCodec.js";
import { SigningKeyRing } from "../../../src/transport/signingKeys.js";
import type { CallPayload } from "../../../src/nodes/wireFormat.js";
import { sleep, waitFor } from "../../conformance/stateStoreConformance.js";
import { KafkaTestContext, type ReadDeadLetter } from "../kafka/kafkaHarness.js";
import { redisUrl, testSigningKeys } from "../../support/services.js";

const context = new KafkaTestContext();
const serde = new FabricSerializer();
const SLOW = 60_000;

let runner: Fabric;
let worker: Fabric;
let runnerTransport: KafkaTransport;
/** Inputs the node actually ran with. */
const ran: unknown[] = [];
/** Calls of the node waiting for `release`, by their input's `tag`. */
const gates = new Map<string, () => void>();
const gated = new Set<string>();

/** Every record of the request and reply topics, as an attacker reading them sees it. */
const seen: { topic: string; partition: number; message: KafkaMessage }[] = [];

beforeAll(async () => {
  const make = async (): Promise<{ fabric: Fabric; transport: KafkaTransport }> => {
    const transport = context.transport({ logger: silentLogger });
    const fabric = await createFabric({
      transport,
      state: RedisStateStore.fromUrl(redisUrl(), { keyPrefix: context.prefix }),
      closeState: true,
      // Generous registry timings: the flood below loads a small shared machine, and a replica
      // whose heartbeat lapses would fail the call with ReplicaGoneError instead.
      registryOptions: { heartbeatIntervalMs: 1_000, expireAfterMs: 30_000 },
      logger: silentLogger,
    });
    return { fabric, transport };
  };
  const w = await make();
  worker = w.fabric;
  await worker.serve(
    {
      work: async (input: { tag: string; n: number }) => {
        ran.push(input);
        if (gated.has(input.tag)) await new Promise<void>((resolve) => gates.set(input.tag, resolve));
        return { doubled: input.n * 2, tag: input.tag };
      },
    },
    { nodes: ["work"], concurrency: 8 },
  );
  const r = await make();
  runner = r.fabric;
  runnerTransport = r.transport;
  await call("warm-up", 1); // the runner has seen the replica; partitions assigned
  const attacker = context.kafka.consumer({ groupId: `${context.prefix}.attacker`, maxWaitTimeInMs: 50 });
  await attacker.connect();
  await attacker.subscribe({ topics: [w.transport.names.requests("work"), w.transport.names.replies], fromBeginning: true });
  await attacker.run({
    eachMessage: ({ topic, partition, message }) => {
      seen.push({ topic, partition, message });
      return Promise.resolve();
    },
  });
  afterAllHooks.push(() => attacker.disconnect());
}, 120_000);

const afterAllHooks: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const hook of afterAllHooks) await hook();
  await runner.stop({ drainTimeoutMs: 1000 });
  await worker.stop({ drainTimeoutMs: 1000 });
  await context.close();
}, 60_000);

/** A valid call through the runner (a remote node call on its own thread). */
function call(tag: string, n: number): Promise<{ doubled: number; tag: string }> {
  return runner.remoteNode("work").invoke({ tag, n }, {
    configurable: { thread_id: `t-${tag}`, checkpoint_ns: `work:${tag}` },
    executionInfo: { taskId: `task-${tag}` },
  } as never) as Promise<{ doubled: number; tag: string }>;
}

/** A call whose node waits until {@link release}. */
function gatedCall(tag: string, n: number): Promise<{ doubled: number; tag: string }> {
  gated.add(tag);
  return call(tag, n);
}

function release(tag: string): void {
  gated.delete(tag);
  gates.get(tag)?.();
}

const plain = new EnvelopeCodec(); // reads frames without checking signatures, as an eavesdropper does
const stolen = new EnvelopeCodec({ signingKeys: testSigningKeys() }); // a compromised process's codec

/** The request record of the call whose input has `tag`, read off the request topic. */
async function requestOf(tag: string): Promise<{ header: RequestHeader; payload: CallPayload; partition: number; topic: string }> {
  for (;;) {
    for (const { topic, partition, message } of seen) {
      if (!topic.includes(".node.")) continue;
      const { header, payload } = plain.decode(message.value);
      if (header.kind !== "request") continue;
      const body = (await serde.loadsTyped(header.payloadType, payload).catch(() => undefined)) as CallPayload | undefined; // the forged ones too
      if (body === undefined) continue;
      if ((body.input as { tag?: string } | undefined)?.tag === tag) return { header, payload: body, partition, topic };
    }
    await sleep(50);
  }
}

/** Polls an async `check` until it holds. */
async function eventually(check: () => Promise<boolean>, timeoutMs = SLOW): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await sleep(100);
  }
}

async function letters(match: (l: ReadDeadLetter) => boolean, count = 1): Promise<ReadDeadLetter[]> {
  let found: ReadDeadLetter[] = [];
  await eventually(async () => (found = (await context.deadLetters()).filter(match)).length >= count);
  return found;
}

async function stillServing(tag: string): Promise<void> {
  expect(await call(`${tag}-after`, 21)).toEqual({ doubled: 42, tag: `${tag}-after` });
}

describe("hostile input (default distributed setup: signed)", () => {
  it(
    "a forged reply without the key is dead-lettered; the call gets its genuine result",
    async () => {
      const pending = gatedCall("forged-reply", 5);
      const { header } = await requestOf("forged-reply");
      const clean: ReplyHeader = {
        v: 1,
        kind: "reply",
        id: header.id,
        node: header.node,
        replica: "evil",
        caller: header.caller,
        attempt: header.attempt,
        nonce: header.nonce,
        status: "ok",
        payloadType: "json",
      };
      const [type, bytes] = await serde.dumpsTyped({
        kind: "value",
        value: { doubled: -1, tag: "forged" },
        writes: [],
        consumedNullResume: false,
      });
      expect(type).toBe("json");
      const frame = plain.encode(clean, bytes);
      const [topic, partition] = header.replyTo.split(":");
      await context.produceRaw(topic!, Number(partition), frame.value);
      const bad = new EnvelopeCodec({ signingKey: "an attacker's guess at the key, 32+ bytes long" }).encode(clean, bytes);
      await context.produceRaw(topic!, Number(partition), bad.value, { "lgf-sig": bad.signature! });
      await letters((l) => l.reason === "signature" && l.source.startsWith(`${topic}/`), 2);
      release("forged-reply");
      expect(await pending).toEqual({ doubled: 10, tag: "forged-reply" });
      await stillServing("forged-reply");
    },
    SLOW,
  );

  it(
    "a replayed genuine reply never settles another call",
    async () => {
      expect(await call("replay-source", 3)).toEqual({ doubled: 6, tag: "replay-source" });
      const source = await requestOf("replay-source");
      const replies = (): KafkaMessage[] =>
        seen
          .filter((s) => s.topic.endsWith(".replies"))
          .map((s) => s.message)
          .filter((m) => (plain.decode(m.value).header as { id?: string }).id === source.header.id);
      await waitFor(() => replies().length > 0, SLOW);
      const genuine = replies()[0]!;
      const pending = gatedCall("replay-target", 4);
      const target = await requestOf("replay-target");
      const [topic, partition] = target.header.replyTo.split(":");
      const sig = String(genuine.headers?.["lgf-sig"]);
      // As recorded (valid signature, the old call's id), and re-addressed to the new call (signature broken).
      await context.produceRaw(topic!, Number(partition), genuine.value, { "lgf-sig": sig });
      const old = plain.decode(genuine.value);
      const readdressed = plain.encode({ ...(old.header as ReplyHeader), id: target.header.id, nonce: target.header.nonce }, old.payload);
      await context.produceRaw(topic!, Number(partition), readdressed.value, { "lgf-sig": sig });
      await letters((l) => l.reason === "signature" && l.source.startsWith(`${topic}/`), 3);
      // A key holder's replay with the new id but the old nonce is refused by the binding, and counted.
      const before = runnerTransport.callStats().refusedReplies;
      const keyHolder = stolen.encode({ ...(old.header as ReplyHeader), id: target.header.id }, old.payload);
      await context.produceRaw(topic!, Number(partition), keyHolder.value, { "lgf-sig": keyHolder.signature! });
      await waitFor(() => runnerTransport.callStats().refusedReplies > before, SLOW);
      release("replay-target");
      expect(await pending).toEqual({ doubled: 8, tag: "replay-target" });
      await stillServing("replay");
    },
    SLOW,
  );

  it(
    "a forged request is dead-lettered unsigned; signed with a stolen key and a live idempotency key, it is refused (idempotency_conflict), never served",
    async () => {
      const pending = gatedCall("victim", 7);
      const victim = await requestOf("victim");
      const ranBefore = ran.length;
      const forgedBody: CallPayload = { ...victim.payload, input: { tag: "victim", n: 1000 } };
      const [type, bytes] = await serde.dumpsTyped(forgedBody);
      const header: RequestHeader = { ...victim.header, id: randomUUID(), nonce: randomUUID(), payloadType: type };
      const unsigned = plain.encode(header, bytes);
      await context.produceRaw(victim.topic, victim.partition, unsigned.value);
      await letters((l) => l.reason === "signature" && l.source.startsWith(`${victim.topic}/`));
      // While the genuine call runs, and again after it recorded its result.
      const signed = stolen.encode(header, bytes);
      await context.produceRaw(victim.topic, victim.partition, signed.value, { "lgf-sig": signed.signature! });
      await letters((l) => l.reason === "idempotency_conflict", 1);
      release("victim");
      expect(await pending).toEqual({ doubled: 14, tag: "victim" });
      const again = stolen.encode({ ...header, id: randomUUID() }, bytes);
      await context.produceRaw(victim.topic, victim.partition, again.value, { "lgf-sig": again.signature! });
      await letters((l) => l.reason === "idempotency_conflict", 2);
      expect(ran.slice(ranBefore)).not.toContainEqual({ tag: "victim", n: 1000 }); // the forged input never ran
      // The genuine record is intact: a retry of the genuine call gets the genuine result.
      expect(await call("victim", 7)).toEqual({ doubled: 14, tag: "victim" });
      await stillServing("stolen-key");
    },
    SLOW,
  );

  it(
    "lc:1 constructor records (PromptTemplate) in a signed request are refused before revival",
    async () => {
      const template = {
        lc: 1,
        type: "constructor",
        id: ["langchain_core", "prompts", "prompt", "PromptTemplate"],
        kwargs: { template: "{x}", input_variables: ["x"] },
      };
      const model = await requestOf("warm-up");
      const body = { ...model.payload, input: { tag: "lc", n: 1, prompt: template } };
      const header: RequestHeader = {
        ...model.header,
        id: randomUUID(),
        nonce: randomUUID(),
        idempotencyKey: randomUUID(),
        deadline: Date.now() + 60_000,
        payloadType: "json",
      };
      const frame = stolen.encode(header, Buffer.from(JSON.stringify(body)));
      await context.produceRaw(model.topic, model.partition, frame.value, { "lgf-sig": frame.signature! });
      const [letter] = await letters((l) => l.reason === "revival_refused");
      expect(letter!.error).toMatch(/PromptTemplate/);
      expect(ran).not.toContainEqual(expect.objectContaining({ tag: "lc" }));
      await stillServing("lc");
    },
    SLOW,
  );

  it(
    "an event flood for a call in flight fails that call with EventBufferOverflowError; memory stays bounded",
    async () => {
      const pending = gatedCall("flood", 2);
      const outcome = pending.then(
        () => undefined,
        (e: unknown) => e,
      );
      const { header } = await requestOf("flood");
      const [topic, partition] = header.replyTo.split(":");
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      const ring = new SigningKeyRing(testSigningKeys());
      const messages = [];
      for (let seq = 1; seq <= 300; seq++) {
        const event: EventHeader = {
          v: 1,
          kind: "event",
          id: header.id,
          node: header.node,
          replica: header.replica,
          caller: header.caller,
          seq,
          nonce: header.nonce,
          payloadType: "bytes",
        };
        const value = plain.encode(event, chunk).value;
        messages.push({ partition: Number(partition), value, headers: { "lgf-sig": ring.sign(value) } });
      }
      const producer = context.kafka.producer();
      await producer.connect();
      // Ten 64 KB records per produce request: the broker takes about 1 MB per batch.
      for (let i = 0; i < messages.length; i += 10) await producer.send({ topic: topic!, messages: messages.slice(i, i + 10) });
      await producer.disconnect();
      const error = await outcome;
      expect(isEventBufferOverflowError(error), String(error)).toBe(true);
      expect(runnerTransport.callStats().eventOverflows).toBeGreaterThanOrEqual(1);
      release("flood");
      await stillServing("flood");
    },
    SLOW,
  );

  it(
    "a record too large to dead-letter whole is dead-lettered as a reference, and the partition moves on",
    async () => {
      const model = await requestOf("warm-up");
      const size = 1_000_500; // over the transport's 1,000,000 limit, under the broker's
      await context.produceRaw(model.topic, model.partition, Buffer.alloc(size, 0x7b));
      const offsets = await context.admin.fetchTopicOffsets(model.topic);
      const oversizeAt = Number(offsets.find((o) => o.partition === model.partition)!.offset) - 1;
      const [letter] = await letters(
        (l) => l.headers[DEAD_LETTER_HEADERS.reference] !== undefined && l.source.startsWith(`${model.topic}/`),
      );
      const reference = JSON.parse(letter!.value!.toString()) as DeadLetterReference;
      expect(reference).toMatchObject({ topic: model.topic, partition: model.partition, reason: "too_large" });
      expect(reference.size).toBeGreaterThanOrEqual(size);
      expect(reference.offset).toBe(String(oversizeAt));
      // The partition moves on: the replica group's committed offset passes the oversize record.
      const group = runnerTransport.names.replicaGroup;
      await eventually(async () => {
        const [committed] = await context.admin.fetchOffsets({ groupId: group, topics: [model.topic] });
        const at = committed?.partitions.find((p) => p.partition === model.partition)?.offset;
        return at !== undefined && Number(at) > oversizeAt;
      });
      await stillServing("oversize");
    },
    SLOW,
  );

  it(
    "1,000 malformed messages are dead-lettered with reasons; valid calls are still served",
    async () => {
      const model = await requestOf("warm-up");
      const ring = new SigningKeyRing(testSigningKeys());
      const junk = [];
      for (let i = 0; i < 1000; i++) {
        const value = Buffer.from(
          [
            `not a frame ${i}`,
            `{"v":1,"kind":"request","id":"${i}","__proto__":{"polluted":true}}\n{}`,
            `{"v":9}\n`,
            `${"[".repeat(5000)}\n`,
            `{"v":1,"kind":"request"}\n${"x".repeat(100)}`,
          ][i % 5]!,
        );
        // Half unsigned (an outsider), half signed (a key holder's garbage): both are refused, for different reasons.
        junk.push({ partition: model.partition, value, headers: i % 2 === 0 ? undefined : { "lgf-sig": ring.sign(value) } });
      }
      const before = (await context.deadLetters()).filter((l) => l.source.startsWith(`${model.topic}/`)).length;
      const producer = context.kafka.producer();
      await producer.connect();
      for (let i = 0; i < junk.length; i += 200) await producer.send({ topic: model.topic, messages: junk.slice(i, i + 200) });
      await producer.disconnect();
      const found = await letters((l) => l.source.startsWith(`${model.topic}/`), before + 1000);
      const reasons = new Set(found.slice(before).map((l) => l.reason));
      expect([...reasons].sort()).toEqual(["malformed", "schema", "signature", "version"]);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      await stillServing("malformed");
    },
    SLOW,
  );
});
