// An initiator dies mid-session (its timers stop, its store connection closes, nothing is cleaned
// up) and a replacement coordinator on the same backend resumes: recorded answers are kept and not
// asked again, missing ones are asked, the original deadline holds, nothing is counted twice.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LocalParticipants } from "../../../src/negotiation/LocalParticipants.js";
import type { NegotiationCoordinator } from "../../../src/negotiation/NegotiationCoordinator.js";
import type { ParticipantNotice } from "../../../src/negotiation/ParticipantChannel.js";
import { contractNet, weightedAverage } from "../../../src/negotiation/strategies/index.js";
import { answering, flush, Manual, World } from "./harness.js";

let world: World;
beforeEach(() => {
  world = new World();
});
afterEach(async () => {
  await world.close();
});

const types = { price: { strategy: weightedAverage() } };

/** A coordinator in a process that will crash: dead timers, its own store connection. */
function doomed(
  channel: LocalParticipants,
  extra: { types?: typeof types | Record<string, { strategy: ReturnType<typeof contractNet> }> } = {},
) {
  const store = world.store();
  const coordinator: NegotiationCoordinator = world.coordinator({
    store,
    channel,
    types,
    initiator: "desk",
    timers: world.time.deadTimers,
    ...extra,
  });
  // A dead process's promises never settle from our point of view; swallow what its run does after death.
  const run = (id: string): void => void coordinator.run(id).catch(() => undefined);
  return { coordinator, run, crash: () => store.close() };
}

describe("initiator crash and resume", () => {
  it("a replacement resumes the session, asks only the missing participant, and loses or doubles nothing", async () => {
    const stuck = new Manual();
    const a = doomed(
      new LocalParticipants({
        p1: answering({ kind: "counter", value: 101, confidence: 0.9 }),
        p2: answering({ kind: "counter", value: 99, confidence: 0.8 }),
        p3: stuck.handler,
      }),
    );
    const { id } = await a.coordinator.start({
      type: "price",
      topic: "AAPL",
      participants: ["p1", "p2", "p3"],
      proposal: { value: 100, confidence: 0.5 },
      deadlineMs: 60_000,
    });
    a.run(id);
    await flush();
    const beforeCrash = await a.coordinator.get(id);
    expect(Object.keys(beforeCrash!.rounds[0]!.answers).sort()).toEqual(["p1", "p2"]);
    expect(stuck.asks).toHaveLength(1);
    await a.crash();
    await world.time.advance(5_000);

    const b1 = answering({ kind: "accept" });
    const b2 = answering({ kind: "accept" });
    const b3 = answering({ kind: "counter", value: 103, confidence: 0.7 });
    const b = world.coordinator({ channel: new LocalParticipants({ p1: b1, p2: b2, p3: b3 }), types, initiator: "desk" });
    expect(await b.openSessions()).toEqual([id]);
    const outcome = await b.resume(id);

    expect(b1.calls).toHaveLength(0);
    expect(b2.calls).toHaveLength(0);
    expect(b3.calls).toHaveLength(1);
    expect(outcome).toMatchObject({ state: "finalized", reason: "all-answered", answered: ["p1", "p2", "p3"] });
    expect(outcome.contributions.map((c) => [c.participant, c.value])).toEqual([
      ["p1", 101],
      ["p2", 99],
      ["p3", 103],
    ]);
    const stored = await b.get(id);
    // p1 and p2 keep the answers A recorded (and their times), p3 has the one B recorded.
    expect(stored!.rounds[0]!.answers.p1).toEqual(beforeCrash!.rounds[0]!.answers.p1);
    expect(stored!.rounds[0]!.answers.p3!.at).toBe(world.time.now());
    expect(stored!.deadline).toBe(beforeCrash!.deadline);
    expect(await b.openSessions()).toEqual([]);
  });

  it("a replacement that comes after the deadline finalizes at once with what was recorded", async () => {
    const a = doomed(new LocalParticipants({ p1: answering({ kind: "counter", value: 10, confidence: 1 }), p2: new Manual().handler }));
    const { id } = await a.coordinator.start({
      type: "price",
      topic: "t",
      participants: ["p1", "p2"],
      proposal: { value: 12, confidence: 1 },
      deadlineMs: 1_000,
    });
    a.run(id);
    await flush();
    await a.crash();
    await world.time.advance(2_000);
    const p2 = answering({ kind: "accept" });
    const b = world.coordinator({ channel: new LocalParticipants({ p1: answering({ kind: "accept" }), p2 }), types });
    expect(await b.resume(id)).toMatchObject({ reason: "deadline", value: 10, answered: ["p1"], missing: ["p2"] });
    expect(p2.calls).toHaveLength(0);
  });

  it("a replacement honours the original deadline while waiting", async () => {
    const a = doomed(new LocalParticipants({ p1: answering({ kind: "accept" }), p2: new Manual().handler }));
    const { id, deadline } = await a.coordinator.start({
      type: "price",
      topic: "t",
      participants: ["p1", "p2"],
      proposal: { value: 1, confidence: 1 },
      deadlineMs: 10_000,
    });
    a.run(id);
    await flush();
    await a.crash();
    await world.time.advance(4_000);
    const b = world.coordinator({ channel: new LocalParticipants({ p1: answering({ kind: "accept" }), p2: new Manual().handler }), types });
    let outcome: unknown;
    void b.resume(id).then((o) => (outcome = o));
    await world.time.advance(5_999);
    expect(outcome).toBeUndefined();
    await world.time.advance(1);
    expect(world.time.now()).toBe(deadline);
    expect(outcome).toMatchObject({ reason: "deadline", answered: ["p1"] });
  });

  it("a crash during round 2 resumes round 2 and asks only its missing participants", async () => {
    const stuck = new Manual();
    const first = (own: number) =>
      answering((m) => (m.round === 1 ? { kind: "counter", value: own, confidence: 1 } : { kind: "accept", confidence: 1 }));
    const a = doomed(
      new LocalParticipants({
        p1: first(80),
        p2: (m, s) => (m.round === 1 ? { kind: "counter", value: 120, confidence: 1 } : stuck.handler(m, s)),
      }),
    );
    const { id } = await a.coordinator.start({
      type: "price",
      topic: "t",
      participants: ["p1", "p2"],
      proposal: { value: 100, confidence: 1 },
      maxRounds: 3,
    });
    a.run(id);
    await flush();
    expect((await a.coordinator.get(id))!.rounds).toHaveLength(2);
    await a.crash();
    const p1 = answering({ kind: "accept" });
    const p2 = answering({ kind: "accept", confidence: 0.6 });
    const b = world.coordinator({ channel: new LocalParticipants({ p1, p2 }), types });
    const outcome = await b.resume(id);
    expect(p1.calls).toHaveLength(0);
    expect(p2.calls.map((m) => [m.round, m.proposal.value])).toEqual([[2, 100]]);
    expect(outcome).toMatchObject({ rounds: 2, value: 100, agreed: true });
  });

  it("two coordinators driving one session at once record each answer once", async () => {
    const answersA = {
      p1: answering({ kind: "counter", value: 1, confidence: 1 }),
      p2: answering({ kind: "counter", value: 2, confidence: 1 }),
      p3: answering({ kind: "counter", value: 3, confidence: 1 }),
    };
    const answersB = {
      p1: answering({ kind: "counter", value: 10, confidence: 1 }),
      p2: answering({ kind: "counter", value: 20, confidence: 1 }),
      p3: answering({ kind: "counter", value: 30, confidence: 1 }),
    };
    const a = world.coordinator({ channel: new LocalParticipants(answersA), types });
    const b = world.coordinator({ channel: new LocalParticipants(answersB), types });
    const { id } = await a.start({ type: "price", topic: "t", participants: ["p1", "p2", "p3"], proposal: { value: 2, confidence: 1 } });
    const [oa, ob] = await Promise.all([a.run(id), b.run(id)]);
    expect(oa).toEqual(ob);
    const stored = await a.get(id);
    expect(Object.keys(stored!.rounds[0]!.answers).sort()).toEqual(["p1", "p2", "p3"]);
    // Whichever coordinator's answer came first for a participant is the one counted, once.
    expect(oa.contributions).toHaveLength(3);
    for (const c of oa.contributions) expect([Number(c.participant.slice(1)), Number(c.participant.slice(1)) * 10]).toContain(c.value);
  });

  it("notices owed by a dead initiator are sent by the replacement, once", async () => {
    const received: [string, ParticipantNotice["kind"]][] = [];
    const deadChannel = new LocalParticipants(
      { a: answering({ kind: "bid", cost: 2 }), b: answering({ kind: "bid", cost: 1 }) },
      // The initiator dies while notifying: its notices never complete.
      { onNotice: () => new Promise<void>(() => undefined) },
    );
    const a = doomed(deadChannel, { types: { task: { strategy: contractNet() } } });
    const { id } = await a.coordinator.start({
      type: "task",
      topic: "t",
      participants: ["a", "b"],
      proposal: { value: "job", confidence: 1 },
    });
    a.run(id);
    await flush();
    expect((await a.coordinator.get(id))?.state).toBe("finalized");
    await a.crash();
    const b = world.coordinator({
      channel: new LocalParticipants({}, { onNotice: (p, n) => void received.push([p, n.kind]) }),
      types: { task: { strategy: contractNet() } },
    });
    await b.resume(id);
    await b.resume(id);
    expect(received.sort()).toEqual([
      ["a", "reject"],
      ["b", "award"],
    ]);
  });
});
