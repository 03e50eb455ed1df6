// The negotiation protocol against the real Redis: an initiator crash and resume across two store
// connections, and answers of 10 participants arriving concurrently from two coordinators, each
// recorded exactly once. Every key lives under a random prefix, deleted afterwards.
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RedisStateStore } from "../../../adapters/redis/RedisStateStore.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { LocalParticipants, type ParticipantHandler } from "../../../src/negotiation/LocalParticipants.js";
import { NegotiationCoordinator } from "../../../src/negotiation/NegotiationCoordinator.js";
import type { Answer } from "../../../src/negotiation/NegotiationSession.js";
import { weightedAverage } from "../../../src/negotiation/strategies/index.js";
import { redisUrl } from "../../support/services.js";

const RUN = `lgf-negotiation-test-${randomUUID().slice(0, 8)}`;
const types = { price: { strategy: weightedAverage() } };

let admin: Redis;
let stores: RedisStateStore[] = [];
beforeAll(() => {
  admin = new Redis(redisUrl());
});
afterEach(async () => {
  await Promise.all(stores.map((s) => s.close()));
  stores = [];
});
afterAll(async () => {
  let cursor = "0";
  do {
    const [next, keys] = await admin.scan(cursor, "MATCH", `${RUN}*`, "COUNT", 1000);
    cursor = next;
    if (keys.length > 0) await admin.unlink(...keys);
  } while (cursor !== "0");
  await admin.quit();
});

/** A store connection of one "process" (same prefix: same data). */
function connect(prefix: string): RedisStateStore {
  const store = RedisStateStore.fromUrl(redisUrl(), { keyPrefix: prefix });
  stores.push(store);
  return store;
}

/** Waits until `check` holds. */
async function until(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Counts calls of a handler answering `answer`. */
function counted(answer: Answer): ParticipantHandler & { calls: number } {
  const handler = Object.assign(
    () => {
      handler.calls += 1;
      return answer;
    },
    { calls: 0 },
  );
  return handler;
}

describe("negotiation on Redis", () => {
  it("a replacement coordinator resumes a crashed initiator's session: answers kept, the missing one asked once", async () => {
    const prefix = `${RUN}-crash`;
    const storeA = connect(prefix);
    const never: ParticipantHandler = () => new Promise<Answer>(() => undefined);
    const a = new NegotiationCoordinator({
      store: storeA,
      channel: new LocalParticipants({
        p1: counted({ kind: "counter", value: 101, confidence: 0.9 }),
        p2: counted({ kind: "counter", value: 99, confidence: 0.9 }),
        p3: never,
      }),
      types,
      initiator: "desk",
      logger: silentLogger,
      pollMs: 100,
    });
    const { id } = await a.start({
      type: "price",
      topic: "AAPL",
      participants: ["p1", "p2", "p3"],
      proposal: { value: 100, confidence: 0.5 },
      deadlineMs: 60_000,
    });
    const deadRun = a.run(id).catch(() => "dead");
    await until(async () => Object.keys((await a.get(id))!.rounds[0]!.answers).length === 2);
    // The initiator's process dies: its connection goes away, nothing is cleaned up.
    await storeA.close();

    const storeB = connect(prefix);
    const [p1, p2, p3] = [
      counted({ kind: "accept" }),
      counted({ kind: "accept" }),
      counted({ kind: "counter", value: 100, confidence: 0.9 }),
    ];
    const b = new NegotiationCoordinator({
      store: storeB,
      channel: new LocalParticipants({ p1, p2, p3 }),
      types,
      initiator: "desk",
      logger: silentLogger,
    });
    expect(await b.openSessions()).toEqual([id]);
    const outcome = await b.resume(id);
    expect([p1.calls, p2.calls, p3.calls]).toEqual([0, 0, 1]);
    expect(outcome).toMatchObject({ state: "finalized", reason: "all-answered", answered: ["p1", "p2", "p3"], value: 100 });
    expect(outcome.contributions.map((c) => c.value)).toEqual([101, 99, 100]);
    const stored = await b.get(id);
    // Two writes in all: A's for p1 and p2, who answered together, and B's for p3.
    expect(stored!.version).toBe(2);
    expect(await b.openSessions()).toEqual([]);
    // What was left of A failed on its closed connection without touching anything.
    expect(await deadRun).toBe("dead");
  });

  it("a session one process drives costs no pub/sub; another process's answer is announced to it; ended ids leave the index", async () => {
    const prefix = `${RUN}-quiet`;
    const store = connect(prefix);
    const handlers = { p1: counted({ kind: "accept" }), p2: counted({ kind: "counter", value: 101, confidence: 0.8 }) };
    // No poll within the test's time: what the run learns of another process, it learns from notices.
    const a = new NegotiationCoordinator({
      store,
      channel: new LocalParticipants(handlers),
      types,
      initiator: "quiet",
      logger: silentLogger,
      pollMs: 600_000,
    });
    const spec = { type: "price", topic: "t", participants: ["p1", "p2"], proposal: { value: 100, confidence: 0.5 } };
    const publishes = async (): Promise<number> => Number(/cmdstat_publish:calls=(\d+)/.exec(await admin.info("commandstats"))?.[1] ?? 0);
    const index = async (): Promise<unknown> => JSON.parse((await admin.get(`${prefix}:kv:{negotiation:open%3Aquiet}`)) ?? "null");
    const before = await publishes();
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const { id } = await a.start(spec);
      ids.push(id);
      expect(await a.run(id)).toMatchObject({ state: "finalized", reason: "all-answered" });
      // Each new session's index write drops the ids of the sessions this process saw end.
      expect(await index()).toEqual([id]);
    }
    expect(await publishes()).toBe(before);

    // A session waiting for p3; another process records p3's answer: the run hears of it at once.
    const waiting = new NegotiationCoordinator({
      store,
      channel: new LocalParticipants({ ...handlers, p3: () => new Promise<Answer>(() => undefined) }),
      types,
      initiator: "quiet",
      logger: silentLogger,
      pollMs: 600_000,
    });
    const { id } = await waiting.start({ ...spec, participants: ["p1", "p2", "p3"] });
    const run = waiting.run(id);
    await until(async () => Object.keys((await waiting.get(id))!.rounds[0]!.answers).length === 2);
    const other = new NegotiationCoordinator({ store: connect(prefix), channel: new LocalParticipants(), types, logger: silentLogger });
    expect(await other.recordAnswer(id, 1, "p3", { kind: "counter", value: 99, confidence: 0.8 })).toMatchObject({ recorded: true });
    expect(await run).toMatchObject({ state: "finalized", answered: ["p1", "p2", "p3"] });
    expect(await publishes()).toBe(before + 1);
    expect(await a.openSessions()).toEqual([]);
    expect(await index()).toBeNull();
  });

  it("answers of 10 participants arriving concurrently (twice each, from two coordinators) are each recorded once", async () => {
    const prefix = `${RUN}-concurrent`;
    const participants = Array.from({ length: 10 }, (_, i) => `agent-${i}`);
    // Every participant answers at the same moment, when the gate opens.
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const handlers: Record<string, ParticipantHandler> = {};
    let asked = 0;
    participants.forEach((p, i) => {
      handlers[p] = async () => {
        asked += 1;
        await gate;
        return { kind: "counter", value: 100 + i, confidence: 0.5 };
      };
    });
    const runner = new NegotiationCoordinator({
      store: connect(prefix),
      channel: new LocalParticipants(handlers),
      types,
      logger: silentLogger,
    });
    const other = new NegotiationCoordinator({ store: connect(prefix), channel: new LocalParticipants(), types, logger: silentLogger });
    const { id } = await runner.start({ type: "price", topic: "t", participants, proposal: { value: 100, confidence: 0.5 } });
    const run = runner.run(id);
    await until(() => Promise.resolve(asked === participants.length));
    // The channel's 10 answers and 10 duplicates from the side race in the same tick.
    open();
    const duplicates = participants.map((p) => other.recordAnswer(id, 1, p, { kind: "counter", value: 1_000, confidence: 1 }));
    const results = await Promise.all(duplicates);
    const outcome = await run;

    const stored = (await runner.get(id))!;
    const answers = stored.rounds[0]!.answers;
    expect(Object.keys(answers).sort()).toEqual([...participants].sort());
    // Answers that arrive together are written together (one compare-and-set per coordinator at
    // most, not one per answer); whichever write won a participant decides its recorded value.
    expect(stored.version).toBeLessThanOrEqual(2);
    const recordedByOther = participants.filter((_, i) => results[i]!.recorded);
    console.info(
      `concurrent answers: ${recordedByOther.length} of 10 won by the side coordinator, ${10 - recordedByOther.length} by the channel`,
    );
    for (const p of participants)
      expect(answers[p]).toMatchObject({ value: recordedByOther.includes(p) ? 1_000 : 100 + participants.indexOf(p) });
    for (const r of results.filter((x) => !x.recorded)) expect(["duplicate", "closed"]).toContain((r as { reason: string }).reason);
    expect(outcome).toMatchObject({ state: "finalized", reason: "all-answered" });
    expect(outcome.answered).toHaveLength(10);
    expect(outcome.contributions.map((c) => c.value)).toEqual(participants.map((p) => (answers[p] as { value: number }).value));
  });
});
