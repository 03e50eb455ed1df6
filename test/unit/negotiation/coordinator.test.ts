// The negotiation protocol on the in-memory store with a manual clock: finalization by all answers,
// by quorum and by deadline (or expiry below minAnswers), late, duplicate and stale answers,
// counter-proposals and rounds, cancellation, aborts, out-of-band answers, validation, and a
// categorical vote.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  isNegotiationCancelledError,
  isNegotiationError,
  isNegotiationTypeConflictError,
  isNoParticipantsError,
  isSessionNotFoundError,
  isUnknownNegotiationTypeError,
} from "../../../src/errors.js";
import { LocalParticipants } from "../../../src/negotiation/LocalParticipants.js";
import type { NegotiationCoordinator } from "../../../src/negotiation/NegotiationCoordinator.js";
import { majorityVote, weightedAverage } from "../../../src/negotiation/strategies/index.js";
import { answering, flush, Manual, World } from "./harness.js";

let world: World;
beforeEach(() => {
  world = new World();
});
afterEach(async () => {
  await world.close();
});

const proposal = { value: 100, confidence: 0.6 };
const types = { price: { strategy: weightedAverage({ conflictThreshold: 0.05 }) } };

/** Starts a session of type "price" among `participants` and returns its id. */
async function startPrice(c: NegotiationCoordinator, participants: string[], extra: Record<string, unknown> = {}): Promise<string> {
  const session = await c.start({ type: "price", topic: "AAPL limit price", participants, proposal, deadlineMs: 10_000, ...extra });
  return session.id;
}

/** The state of a promise without waiting for it. */
function track<T>(p: Promise<T>): { settled: () => boolean; value: () => T | undefined; error: () => unknown } {
  let done = false;
  let value: T | undefined;
  let error: unknown;
  p.then(
    (v) => {
      done = true;
      value = v;
    },
    (e: unknown) => {
      done = true;
      error = e;
    },
  );
  return { settled: () => done, value: () => value, error: () => error };
}

describe("finalization", () => {
  it("finalizes as soon as every participant has answered", async () => {
    const channel = new LocalParticipants({
      a: answering({ kind: "accept", confidence: 0.9 }),
      b: answering({ kind: "counter", value: 101, confidence: 0.8 }),
      c: answering({ kind: "accept" }),
    });
    const c = world.coordinator({ channel, types });
    const id = await startPrice(c, ["a", "b", "c"]);
    const outcome = await c.run(id);
    expect(outcome).toMatchObject({
      sessionId: id,
      state: "finalized",
      reason: "all-answered",
      rounds: 1,
      answered: ["a", "b", "c"],
      missing: [],
      agreed: true,
    });
    expect(outcome.value).toBeCloseTo((100 * 0.9 + 101 * 0.8 + 100 * 0.6) / (0.9 + 0.8 + 0.6));
    expect(outcome.finalizedAt).toBe(world.time.now());
    expect(world.time.pending()).toBe(0);
    const stored = await c.get(id);
    expect(stored?.state).toBe("finalized");
    expect(Object.keys(stored!.rounds[0]!.answers).sort()).toEqual(["a", "b", "c"]);
  });

  it("writes answers that arrive together in one compare-and-set, quorum rules applied answer by answer", async () => {
    const gate = new Manual();
    const names = ["a", "b", "c", "d", "e"];
    const channel = new LocalParticipants(Object.fromEntries(names.map((n) => [n, gate.handler])));
    const c = world.coordinator({ channel, types });
    const id = await startPrice(c, names, { quorum: 3 });
    const run = c.run(id);
    await flush();
    gate.answer({ kind: "counter", value: 102, confidence: 0.5 }); // all five answer in one turn
    const outcome = await run;
    // One write for all five, not five contending ones; the rules after each answer closed the
    // session at the third, so the last two count as answers to a closed session.
    expect((await c.get(id))!.version).toBe(1);
    expect(outcome).toMatchObject({ state: "finalized", reason: "quorum", answered: ["a", "b", "c"], missing: ["d", "e"] });
  });

  it("finalizes when a quorum has answered, before the deadline, and stops asking the rest", async () => {
    const late = new Manual();
    const channel = new LocalParticipants({ a: answering({ kind: "accept" }), b: answering({ kind: "accept" }), c: late.handler });
    const c = world.coordinator({ channel, types });
    const id = await startPrice(c, ["a", "b", "c"], { quorum: 2 });
    const outcome = await c.run(id);
    expect(outcome).toMatchObject({ state: "finalized", reason: "quorum", answered: ["a", "b"], missing: ["c"], value: 100 });
    expect(world.time.now()).toBeLessThan((await c.get(id))!.deadline);
    expect(late.aborted).toBe(1);
  });

  it("at the deadline, finalizes with whoever answered", async () => {
    const [b, cc] = [new Manual(), new Manual()];
    const channel = new LocalParticipants({ a: answering({ kind: "counter", value: 104, confidence: 0.7 }), b: b.handler, c: cc.handler });
    const c = world.coordinator({ channel, types });
    const id = await startPrice(c, ["a", "b", "c"]);
    const run = track(c.run(id));
    await flush();
    expect((await c.get(id))!.rounds[0]!.answers.a).toMatchObject({ kind: "counter", at: world.time.now() });
    await world.time.advance(9_999);
    expect(run.settled()).toBe(false);
    expect((await c.get(id))?.state).toBe("open");
    await world.time.advance(1);
    expect(run.settled()).toBe(true);
    expect(run.value()).toMatchObject({
      state: "finalized",
      reason: "deadline",
      answered: ["a"],
      missing: ["b", "c"],
      value: 104,
      confidence: 0.7,
    });
    expect(b.aborted + cc.aborted).toBe(2);
  });

  it("at the deadline, expires when fewer than minAnswers answered", async () => {
    const channel = new LocalParticipants({ a: answering({ kind: "accept" }), b: new Manual().handler, c: new Manual().handler });
    const c = world.coordinator({ channel, types });
    const id = await startPrice(c, ["a", "b", "c"], { minAnswers: 2 });
    const run = track(c.run(id));
    await flush();
    await world.time.advance(10_000);
    expect(run.value()).toMatchObject({
      state: "expired",
      reason: "insufficient-answers",
      value: null,
      confidence: 0,
      agreed: false,
      answered: ["a"],
    });
    expect((await c.get(id))?.state).toBe("expired");
  });

  it("a participant whose handler fails stays missing until the deadline", async () => {
    const channel = new LocalParticipants({
      a: answering({ kind: "accept" }),
      b: () => {
        throw new Error("model overloaded");
      },
    });
    const c = world.coordinator({ channel, types });
    const id = await startPrice(c, ["a", "b"]);
    const run = track(c.run(id));
    await flush();
    expect(run.settled()).toBe(false);
    await world.time.advance(10_000);
    expect(run.value()).toMatchObject({ reason: "deadline", answered: ["a"], missing: ["b"] });
  });
});

describe("answers", () => {
  it("ignores an answer after finalization, leaving the session untouched", async () => {
    const channel = new LocalParticipants({ a: answering({ kind: "accept" }), b: new Manual().handler });
    const c = world.coordinator({ channel, types });
    const id = await startPrice(c, ["a", "b"], { quorum: 1 });
    await c.run(id);
    const before = await c.get(id);
    const late = await c.recordAnswer(id, 1, "b", { kind: "counter", value: 1, confidence: 1 });
    expect(late).toMatchObject({ recorded: false, reason: "closed" });
    expect(await c.get(id)).toEqual(before);
  });

  it("ignores an answer at or after the deadline even before anyone finalizes", async () => {
    const c = world.coordinator({ channel: new LocalParticipants(), types });
    const id = await startPrice(c, ["a", "b"]);
    await world.time.advance(10_000);
    expect(await c.recordAnswer(id, 1, "a", { kind: "accept" })).toMatchObject({ recorded: false, reason: "late" });
  });

  it("records the first answer of a participant and ignores repeats", async () => {
    const c = world.coordinator({ channel: new LocalParticipants(), types });
    const id = await startPrice(c, ["a", "b"]);
    expect(await c.recordAnswer(id, 1, "a", { kind: "counter", value: 90, confidence: 0.5 })).toMatchObject({ recorded: true });
    const repeat = await c.recordAnswer(id, 1, "a", { kind: "counter", value: 200, confidence: 1 });
    expect(repeat).toMatchObject({ recorded: false, reason: "duplicate" });
    expect(repeat.session.rounds[0]!.answers.a).toMatchObject({ kind: "counter", value: 90 });
  });

  it("ignores answers to other rounds, from strangers, and of the wrong kind", async () => {
    const c = world.coordinator({ channel: new LocalParticipants(), types });
    const id = await startPrice(c, ["a", "b"]);
    expect(await c.recordAnswer(id, 2, "a", { kind: "accept" })).toMatchObject({ reason: "unknown-round" });
    expect(await c.recordAnswer(id, 1, "z", { kind: "accept" })).toMatchObject({ reason: "not-a-participant" });
    expect(await c.recordAnswer(id, 1, "a", { kind: "counter", value: "buy", confidence: 1 })).toMatchObject({ reason: "invalid" });
    expect(await c.recordAnswer(id, 1, "a", { kind: "counter", value: 1, confidence: 7 })).toMatchObject({ reason: "invalid" });
    expect(await c.recordAnswer(id, 1, "a", { kind: "maybe" } as never)).toMatchObject({ reason: "invalid" });
    expect((await c.get(id))!.rounds[0]!.answers).toEqual({});
  });

  it("reads nothing back while it is the only writer: its own writes and their notices are known", async () => {
    const store = world.store();
    const namespace = store.namespace.bind(store);
    let reads = 0;
    store.namespace = ((...segments: string[]) => {
      const kv = namespace(...segments);
      const get = kv.get.bind(kv);
      kv.get = (key: string) => {
        if (key.startsWith("session:")) reads += 1; // the first index write of an initiator reads its index
        return get(key);
      };
      return kv;
    }) as typeof store.namespace;
    const gates = { a: new Manual(), b: new Manual(), c: new Manual() };
    const channel = new LocalParticipants({ a: gates.a.handler, b: gates.b.handler, c: gates.c.handler });
    const c = world.coordinator({ channel, types, store });
    const id = await startPrice(c, ["a", "b", "c"]);
    const run = track(c.run(id));
    for (const gate of Object.values(gates)) {
      await flush();
      gate.answer({ kind: "accept" }); // one write per answer, each announced on pub/sub
    }
    await flush();
    expect(run.value()).toMatchObject({ state: "finalized", reason: "all-answered" });
    expect(reads).toBe(0);
    // Another process's write is announced with a version the run has not seen: it reads at once.
    const gate = new Manual();
    const d = world.coordinator({ channel: new LocalParticipants({ a: gate.handler, b: gate.handler }), types, store });
    const other = world.coordinator({ channel: new LocalParticipants(), types });
    const second = await startPrice(d, ["a", "b"]);
    const running = track(d.run(second));
    await flush();
    await other.recordAnswer(second, 1, "b", { kind: "counter", value: 90, confidence: 1 });
    await flush();
    expect(reads).toBe(1);
    gate.answer({ kind: "accept" });
    await flush();
    expect(running.value()).toMatchObject({ state: "finalized", answered: ["a", "b"] });
    expect(world.time.pending()).toBe(0); // no poll was needed
  });

  it("out-of-band answers finalize a running session", async () => {
    const channel = new LocalParticipants({ a: new Manual().handler, b: new Manual().handler });
    const c = world.coordinator({ channel, types });
    const other = world.coordinator({ channel: new LocalParticipants(), types });
    const id = await startPrice(c, ["a", "b"]);
    const run = track(c.run(id));
    await flush();
    await other.recordAnswer(id, 1, "a", { kind: "accept" });
    await other.recordAnswer(id, 1, "b", { kind: "accept" });
    await flush();
    expect(run.value()).toMatchObject({ state: "finalized", reason: "all-answered" });
  });
});

describe("rounds", () => {
  it("counter-proposals that do not converge open round 2 with the fused value", async () => {
    const answer = (own: number) =>
      answering((m) => (m.round === 1 ? { kind: "counter", value: own, confidence: 1 } : { kind: "accept", confidence: 0.9 }));
    const a = answer(100);
    const b = answer(120);
    const c = world.coordinator({ channel: new LocalParticipants({ a, b }), types });
    const id = await startPrice(c, ["a", "b"], { maxRounds: 3 });
    const outcome = await c.run(id);
    expect(outcome).toMatchObject({ state: "finalized", rounds: 2, value: 110, agreed: true, confidence: 0.9 });
    expect(a.calls.map((m) => [m.round, m.proposal.value])).toEqual([
      [1, 100],
      [2, 110],
    ]);
    const stored = await c.get(id);
    expect(stored!.rounds[0]!.result).toMatchObject({ agreed: false, conflict: { detected: true } });
  });

  it("stops at maxRounds and reports the conflict", async () => {
    const stubborn = (own: number) => answering({ kind: "counter", value: own, confidence: 0.8 });
    const c = world.coordinator({ channel: new LocalParticipants({ a: stubborn(100), b: stubborn(130) }), types });
    const id = await startPrice(c, ["a", "b"], { maxRounds: 2 });
    const outcome = await c.run(id);
    expect(outcome).toMatchObject({ rounds: 2, agreed: false, conflict: { detected: true, threshold: 0.05 } });
    expect(outcome.conflict.spread).toBeCloseTo(30 / 130);
    expect(outcome.confidence).toBeCloseTo(0.8 * (0.05 / (30 / 130)));
    expect(outcome.contributions.map((x) => x.participant)).toEqual(["a", "b"]);
  });

  it("ignores a late answer to an earlier round", async () => {
    const c = world.coordinator({ channel: new LocalParticipants(), types });
    const id = await startPrice(c, ["a", "b"], { maxRounds: 2 });
    await c.recordAnswer(id, 1, "a", { kind: "counter", value: 80, confidence: 1 });
    const second = await c.recordAnswer(id, 1, "b", { kind: "counter", value: 120, confidence: 1 });
    expect(second.session.rounds).toHaveLength(2);
    expect(await c.recordAnswer(id, 1, "a", { kind: "accept" })).toMatchObject({ reason: "stale-round" });
  });

  it("at the deadline, a participant silent in round 2 counts with its round-1 answer", async () => {
    const c = world.coordinator({ channel: new LocalParticipants(), types });
    const id = await startPrice(c, ["a", "b"], { maxRounds: 3 });
    await c.recordAnswer(id, 1, "a", { kind: "counter", value: 80, confidence: 1 });
    await c.recordAnswer(id, 1, "b", { kind: "counter", value: 120, confidence: 1 });
    await c.recordAnswer(id, 2, "a", { kind: "accept", confidence: 1 });
    await world.time.advance(10_000);
    const outcome = await c.run(id);
    expect(outcome).toMatchObject({ reason: "deadline", answered: ["a", "b"], rounds: 2 });
    expect(outcome.contributions.map((x) => x.value)).toEqual([100, 120]);
  });
});

describe("lifecycle", () => {
  it("start is idempotent by id", async () => {
    const c = world.coordinator({ channel: new LocalParticipants(), types });
    const first = await c.start({ id: "s-1", type: "price", topic: "t", participants: ["a"], proposal });
    const again = await c.start({
      id: "s-1",
      type: "price",
      topic: "other",
      participants: ["a", "b"],
      proposal: { value: 1, confidence: 1 },
    });
    expect(again).toEqual(first);
  });

  it("cancel ends a running session with NegotiationCancelledError and later answers are ignored", async () => {
    const c = world.coordinator({ channel: new LocalParticipants({ a: new Manual().handler }), types });
    const id = await startPrice(c, ["a"]);
    const run = track(c.run(id));
    await flush();
    expect(await c.cancel(id)).toBe(true);
    expect(await c.cancel(id)).toBe(false);
    await flush();
    expect(isNegotiationCancelledError(run.error())).toBe(true);
    expect(await c.recordAnswer(id, 1, "a", { kind: "accept" })).toMatchObject({ reason: "closed" });
    expect((await c.get(id))?.outcome).toMatchObject({ state: "cancelled", reason: "cancelled", value: null });
    await expect(c.run(id)).rejects.toSatisfy(isNegotiationCancelledError);
  });

  it("an aborted run leaves the session open for a later resume", async () => {
    const a = new Manual();
    const c = world.coordinator({ channel: new LocalParticipants({ a: a.handler }), types });
    const id = await startPrice(c, ["a"]);
    const controller = new AbortController();
    const run = track(c.run(id, controller.signal));
    await flush();
    controller.abort(new Error("graph step cancelled"));
    await flush();
    expect((run.error() as Error).message).toBe("graph step cancelled");
    expect((await c.get(id))?.state).toBe("open");
    expect(world.time.pending()).toBe(0);
    const resumed = track(c.resume(id));
    await flush();
    a.answer({ kind: "accept" });
    await flush();
    expect(resumed.value()).toMatchObject({ state: "finalized" });
  });

  it("lists the initiator's open sessions", async () => {
    const c = world.coordinator({ channel: new LocalParticipants({ a: answering({ kind: "accept" }) }), types, initiator: "desk" });
    const one = await startPrice(c, ["a"]);
    const two = await startPrice(c, ["a"]);
    expect((await c.openSessions()).sort()).toEqual([one, two].sort());
    await c.run(one);
    expect(await c.openSessions("desk")).toEqual([two]);
  });

  it("throws the negotiation errors", async () => {
    const c = world.coordinator({ channel: new LocalParticipants(), types });
    await expect(c.run("nope")).rejects.toSatisfy(isSessionNotFoundError);
    await expect(c.cancel("nope")).rejects.toSatisfy(isSessionNotFoundError);
    await expect(c.start({ type: "other", topic: "t", participants: ["a"], proposal })).rejects.toSatisfy(isUnknownNegotiationTypeError);
    await expect(c.start({ type: "price", topic: "t", participants: [], proposal })).rejects.toSatisfy(isNoParticipantsError);
    await expect(c.start({ type: "price", topic: "t", participants: [], proposal })).rejects.toSatisfy(isNegotiationError);
    expect(() => c.registerType("price", { strategy: weightedAverage() })).toThrow(
      expect.toSatisfy(isNegotiationTypeConflictError) as Error,
    );
    c.registerType("price", types.price);
  });

  it("rejects invalid specs and options with RangeError naming the field", async () => {
    const c = world.coordinator({ channel: new LocalParticipants(), types });
    const spec = { type: "price", topic: "t", participants: ["a", "b"], proposal };
    await expect(c.start({ ...spec, quorum: 3 })).rejects.toThrow(/quorum must be an integer in \[1, 2\] \(got 3\)/);
    await expect(c.start({ ...spec, participants: ["a", "a"] })).rejects.toThrow(/participants must be unique/);
    await expect(c.start({ ...spec, deadlineMs: 0 })).rejects.toThrow(/deadlineMs must be a positive integer \(got 0\)/);
    await expect(c.start({ ...spec, proposal: { value: "buy", confidence: 1 } })).rejects.toThrow(/proposal.value must be a number/);
    await expect(c.start({ ...spec, weights: { z: 1 } })).rejects.toThrow(/weights must name participants only/);
    expect(() => world.coordinator({ channel: new LocalParticipants(), pollMs: -1 })).toThrow(
      /pollMs must be a positive integer \(got -1\)/,
    );
    expect(() => world.coordinator({ channel: {} as never })).toThrow(/channel must be a ParticipantChannel/);
    expect(() => new LocalParticipants({}, { rememberAnswers: 0 })).toThrow(/rememberAnswers must be a positive integer \(got 0\)/);
  });
});

describe("categorical negotiation", () => {
  it("majority vote over buy/sell/hold reports the split", async () => {
    const channel = new LocalParticipants({
      momentum: answering({ kind: "accept", confidence: 0.9 }),
      meanReversion: answering({ kind: "counter", value: "sell", confidence: 0.7 }),
      sentiment: answering({ kind: "accept", confidence: 0.4 }),
    });
    const c = world.coordinator({ channel, types: { vote: { strategy: majorityVote() } } });
    const { id } = await c.start({
      type: "vote",
      topic: "AAPL",
      participants: ["momentum", "meanReversion", "sentiment"],
      proposal: { value: "buy", confidence: 0.8 },
    });
    const outcome = await c.run(id);
    expect(outcome).toMatchObject({
      value: "buy",
      agreed: false,
      conflict: { detected: true },
      decision: { tally: { buy: 1.3, sell: 0.7 } },
    });
    expect(outcome.conflict.spread).toBeCloseTo(0.35);
    expect(outcome.confidence).toBeCloseTo(0.65 * (0.25 / 0.35));
  });
});
