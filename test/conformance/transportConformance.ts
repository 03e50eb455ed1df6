// The Transport conformance suite: InMemoryTransport runs it in test/unit/transport, KafkaTransport
// in test/integration/kafka. Each "process" (a caller, a replica) is its own transport, so what
// crosses between them crosses the real medium (the in-memory network, the Kafka broker).
import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isDeadlineExceededError, isPayloadTooLargeError, isTransportError } from "../../src/errors.js";
import { EnvelopeCodec, ENVELOPE_VERSION, type EventHeader, type ReplyHeader } from "../../src/transport/envelope.js";
import type {
  CallOptions,
  HandlerResult,
  IncomingRequest,
  OutgoingRequestHeader,
  RequestContext,
  RequestHandler,
  ServeHandle,
  Transport,
} from "../../src/transport/Transport.js";
import { rejection, sleep, waitFor } from "./stateStoreConformance.js";

/** Options the suite may ask of a transport. */
export interface HarnessTransportOptions {
  signingKey?: string;
  maxMessageBytes?: number;
}

/** A dead letter as the suite inspects it. */
export interface SeenDeadLetter {
  reason: string;
  error: string;
}

/** What a transport implementation gives the suite for one test. */
export interface TransportHarness {
  /** A new, not yet started transport on the shared medium (another "process"). */
  makeTransport(options?: HarnessTransportOptions): Transport;
  /** Puts raw bytes where a caller whose return address is `replyTo` reads its replies (a forged reply). */
  injectReply(replyTo: string, value: Uint8Array, signature?: string): Promise<void>;
  /** The dead letters recorded so far on the medium. */
  deadLetters(): Promise<SeenDeadLetter[]>;
  /** Stops every transport it made and releases the medium. */
  cleanup(): Promise<void>;
}

/** Keys of the signing tests: 32+ bytes, as every key must be. */
const RIGHT_KEY = "the right key, shared by caller and replica";
const WRONG_KEY = "a wrong key, held by an intruder who has none";

/** How long a Kafka replica or caller may take to be ready; generous for a loaded machine. */
const SLOW = 30_000;

let nodeCounter = 0;
/** A node name unique in the run; includes characters Kafka topic names do not allow. */
const uniqueNode = (base: string): string => `${base} n/${++nodeCounter}·${Date.now().toString(36)}`;
let idCounter = 0;
const uniqueId = (): string => `call-${++idCounter}-${randomBytes(4).toString("hex")}`;

/** A request header as the nodes layer would build it. */
export function requestHeader(node: string, replica: string, timeoutMs = 20_000, id = uniqueId()): OutgoingRequestHeader {
  return {
    id,
    node,
    replica,
    threadId: "thread-1",
    checkpointNs: `${node}:task-1`,
    taskId: "task-1",
    idempotencyKey: `thread-1|${node}|${id}`,
    deadline: Date.now() + timeoutMs,
    attempt: 1,
    trace: { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" },
    payloadType: "bytes",
  };
}

const ok = (payload: Uint8Array, payloadType = "bytes"): HandlerResult => ({ status: "ok", payloadType, payload });
const echo: RequestHandler = (request) => Promise.resolve(ok(request.payload, request.header.payloadType));

/** Waits until `signal` aborts (or forever). */
const aborted = (signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });

/** Runs the conformance suite against one transport implementation. */
export function transportConformance(name: string, factory: () => Promise<TransportHarness>): void {
  describe(`Transport conformance: ${name}`, () => {
    let harness: TransportHarness;

    beforeEach(async () => {
      harness = await factory();
    }, SLOW);
    afterEach(async () => {
      await harness.cleanup();
    }, SLOW);

    async function started(options?: HarnessTransportOptions): Promise<Transport> {
      const t = harness.makeTransport(options);
      await t.start();
      return t;
    }

    /** A replica process serving `node`. */
    async function replica(
      node: string,
      handler: RequestHandler,
      concurrency = 4,
      options?: HarnessTransportOptions,
    ): Promise<ServeHandle> {
      const t = await started(options);
      return t.serve(node, handler, { replicaId: `r-${randomBytes(4).toString("hex")}`, concurrency });
    }

    const call = (
      caller: Transport,
      node: string,
      handle: ServeHandle,
      payload: Uint8Array,
      extra: Partial<CallOptions> = {},
      timeoutMs?: number,
    ) => caller.call(requestHeader(node, handle.address.replicaId, timeoutMs), payload, { target: handle.address, ...extra });

    it(
      "round-trips a request and its reply with the payload bytes intact",
      async () => {
        const node = uniqueNode("echo");
        const seen: IncomingRequest[] = [];
        const handle = await replica(node, (request) => {
          seen.push(request);
          return Promise.resolve(ok(Buffer.concat([Buffer.from("re:"), request.payload]), "json"));
        });
        const caller = await started();
        const payload = new Uint8Array(randomBytes(1024));
        payload[0] = 0x0a; // a newline in the payload must not confuse the frame
        const header = requestHeader(node, handle.address.replicaId);
        const reply = await caller.call(header, payload, { target: handle.address });
        expect(Buffer.from(reply.payload).equals(Buffer.concat([Buffer.from("re:"), payload]))).toBe(true);
        expect(reply.header).toMatchObject({
          v: ENVELOPE_VERSION,
          kind: "reply",
          id: header.id,
          node,
          caller: caller.callerId,
          status: "ok",
          payloadType: "json",
        });
        expect(reply.header.replica).toBe(handle.address.replicaId);
        expect(seen).toHaveLength(1);
        expect(seen[0]!.header).toMatchObject({ ...header, v: ENVELOPE_VERSION, kind: "request", caller: caller.callerId });
        expect(Buffer.from(seen[0]!.payload).equals(Buffer.from(payload))).toBe(true);
      },
      SLOW,
    );

    it(
      "routes each reply to its own caller only, even when correlation ids collide",
      async () => {
        const node = uniqueNode("echo");
        const handle = await replica(node, async (request) => {
          await sleep(Math.random() * 20);
          return ok(request.payload);
        });
        const [a, b] = await Promise.all([started(), started()]);
        const calls = [];
        for (let i = 0; i < 20; i++) {
          for (const [who, t] of [
            ["a", a],
            ["b", b],
          ] as const) {
            const id = `shared-${i}`;
            const p = t.call(requestHeader(node, handle.address.replicaId, 20_000, id), Buffer.from(`${who}${i}`), {
              target: handle.address,
            });
            calls.push(p.then((r) => ({ who, i, caller: t.callerId, reply: r })));
          }
        }
        for (const { who, i, caller, reply } of await Promise.all(calls)) {
          expect(Buffer.from(reply.payload).toString()).toBe(`${who}${i}`);
          expect(reply.header.caller).toBe(caller);
        }
      },
      SLOW,
    );

    it(
      "streams events in order before the reply",
      async () => {
        const node = uniqueNode("events");
        const handle = await replica(node, async (_request, context: RequestContext) => {
          for (let i = 0; i < 5; i++) await context.emit("json", Buffer.from(`{"i":${i}}`));
          return ok(Buffer.from("done"));
        });
        const caller = await started();
        const log: string[] = [];
        const headers: EventHeader[] = [];
        const reply = await call(caller, node, handle, Buffer.from("go"), {
          onEvent: ({ header, payload }) => {
            headers.push(header);
            log.push(`event ${Buffer.from(payload).toString()}`);
          },
        }).then((r) => {
          log.push("reply");
          return r;
        });
        expect(Buffer.from(reply.payload).toString()).toBe("done");
        expect(log).toEqual([0, 1, 2, 3, 4].map((i) => `event {"i":${i}}`).concat("reply"));
        expect(headers.map((h) => h.seq)).toEqual([0, 1, 2, 3, 4]);
        expect(headers.every((h) => h.payloadType === "json" && h.caller === caller.callerId && h.node === node)).toBe(true);
      },
      SLOW,
    );

    it(
      "rejects with DeadlineExceededError at the deadline and aborts the handler's signal",
      async () => {
        const node = uniqueNode("slow");
        const signals: AbortSignal[] = [];
        const handle = await replica(node, async (_request, context) => {
          signals.push(context.signal);
          await aborted(context.signal);
          return ok(Buffer.from("late"));
        });
        const caller = await started();
        const started_ = Date.now();
        const error = await rejection(call(caller, node, handle, Buffer.from("x"), {}, 1500), isDeadlineExceededError);
        expect(Date.now() - started_).toBeGreaterThanOrEqual(1400);
        expect((error as { node: string }).node).toBe(node);
        await waitFor(() => signals.length === 1 && signals[0]!.aborted, 5000);
      },
      SLOW,
    );

    it(
      "on abort, rejects with the signal's reason and aborts the handler's signal",
      async () => {
        const node = uniqueNode("abortable");
        const signals: AbortSignal[] = [];
        const handle = await replica(node, async (_request, context) => {
          signals.push(context.signal);
          await aborted(context.signal);
          return ok(Buffer.from("cancelled"));
        });
        const caller = await started();
        const controller = new AbortController();
        const reason = new Error("user pressed stop");
        const pending = call(caller, node, handle, Buffer.from("x"), { signal: controller.signal });
        await waitFor(() => signals.length === 1, SLOW);
        controller.abort(reason);
        await expect(pending).rejects.toBe(reason);
        await waitFor(() => signals[0]!.aborted, 10_000);
        // An already aborted signal rejects at once, without a request.
        await expect(call(caller, node, handle, Buffer.from("y"), { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
        await sleep(200);
        expect(signals).toHaveLength(1);
      },
      SLOW,
    );

    it(
      "replies with status error and {name, message} JSON when the handler throws",
      async () => {
        const node = uniqueNode("failing");
        const handle = await replica(node, () => Promise.reject(new RangeError("bad input")));
        const caller = await started();
        const reply = await call(caller, node, handle, Buffer.from("x"));
        expect(reply.header.status).toBe("error");
        expect(reply.header.payloadType).toBe("json");
        expect(JSON.parse(Buffer.from(reply.payload).toString())).toEqual({ name: "RangeError", message: "bad input" });
      },
      SLOW,
    );

    it(
      "honours the replica's concurrency limit and queues the rest",
      async () => {
        const node = uniqueNode("limited");
        let active = 0;
        let max = 0;
        const handle = await replica(
          node,
          async (request) => {
            max = Math.max(max, ++active);
            await sleep(150);
            active--;
            return ok(request.payload);
          },
          2,
        );
        const caller = await started();
        const replies = await Promise.all(Array.from({ length: 8 }, (_, i) => call(caller, node, handle, Buffer.from(String(i)))));
        expect(replies.map((r) => Buffer.from(r.payload).toString())).toEqual(["0", "1", "2", "3", "4", "5", "6", "7"]);
        expect(max).toBe(2);
      },
      SLOW,
    );

    it(
      "drain waits for the requests in flight to be answered",
      async () => {
        const node = uniqueNode("draining");
        let running = 0;
        const handle = await replica(node, async (request) => {
          running++;
          await sleep(800);
          return ok(request.payload);
        });
        const caller = await started();
        const replies = [call(caller, node, handle, Buffer.from("a")), call(caller, node, handle, Buffer.from("b"))];
        await waitFor(() => running === 2, SLOW);
        expect(handle.inFlight).toBe(2);
        let answered = 0;
        for (const r of replies) void r.then(() => answered++);
        await handle.drain(10_000);
        await sleep(1); // let the replies' own continuations run
        expect((await Promise.all(replies)).map((r) => Buffer.from(r.payload).toString())).toEqual(["a", "b"]);
        expect(answered).toBe(2);
        expect(handle.inFlight).toBe(0);
      },
      SLOW,
    );

    it(
      "rejects an oversize request with PayloadTooLargeError before sending it",
      async () => {
        const node = uniqueNode("small");
        let calls = 0;
        const handle = await replica(node, (request) => {
          calls++;
          return echo(request, undefined as never);
        });
        const caller = await started({ maxMessageBytes: 4096 });
        const error = await rejection(call(caller, node, handle, new Uint8Array(8192)), isPayloadTooLargeError);
        expect((error as { limit: number }).limit).toBe(4096);
        const reply = await call(caller, node, handle, Buffer.from("fits"));
        expect(Buffer.from(reply.payload).toString()).toBe("fits");
        expect(calls).toBe(1);
      },
      SLOW,
    );

    it(
      "dead-letters a request signed with another key and keeps serving",
      async () => {
        const node = uniqueNode("signed");
        let calls = 0;
        const handle = await replica(
          node,
          (request) => {
            calls++;
            return Promise.resolve(ok(request.payload));
          },
          4,
          { signingKey: RIGHT_KEY },
        );
        const intruder = await started({ signingKey: WRONG_KEY });
        await rejection(call(intruder, node, handle, Buffer.from("let me in"), {}, 2500), isDeadlineExceededError);
        await expectEventually(async () => (await harness.deadLetters()).some((l) => l.reason === "signature"));
        expect(calls).toBe(0);
        const friend = await started({ signingKey: RIGHT_KEY });
        expect(Buffer.from((await call(friend, node, handle, Buffer.from("hello"))).payload).toString()).toBe("hello");
        expect(calls).toBe(1);
      },
      SLOW,
    );

    it(
      "ignores forged replies (bad or missing signature)",
      async () => {
        const node = uniqueNode("forged");
        let release!: () => void;
        const gate = new Promise<void>((resolve) => (release = resolve));
        const requests: IncomingRequest[] = [];
        const handle = await replica(
          node,
          async (request) => {
            requests.push(request);
            await gate;
            return ok(Buffer.from("genuine"));
          },
          4,
          { signingKey: RIGHT_KEY },
        );
        const caller = await started({ signingKey: RIGHT_KEY });
        const before = (await harness.deadLetters()).length;
        const reply = call(caller, node, handle, Buffer.from("x"));
        await waitFor(() => requests.length === 1, SLOW);
        const h = requests[0]!.header;
        const forged: ReplyHeader = {
          v: ENVELOPE_VERSION,
          kind: "reply",
          id: h.id,
          node,
          replica: "evil",
          caller: h.caller,
          attempt: h.attempt,
          nonce: h.nonce,
          status: "ok",
          payloadType: "bytes",
        };
        const evil = new EnvelopeCodec({ signingKey: WRONG_KEY }).encode(forged, Buffer.from("forged"));
        await harness.injectReply(h.replyTo, evil.value, evil.signature);
        await harness.injectReply(h.replyTo, new EnvelopeCodec().encode(forged, Buffer.from("unsigned")).value);
        await expectEventually(async () => (await harness.deadLetters()).length >= before + 2);
        release();
        const r = await reply;
        expect(Buffer.from(r.payload).toString()).toBe("genuine");
        expect(r.header.replica).toBe(handle.address.replicaId);
      },
      SLOW,
    );

    it(
      "refuses a correctly signed reply that answers another request (replayed: other nonce or attempt)",
      async () => {
        const node = uniqueNode("replay");
        let release!: () => void;
        const gate = new Promise<void>((resolve) => (release = resolve));
        const requests: IncomingRequest[] = [];
        const handle = await replica(
          node,
          async (request) => {
            requests.push(request);
            await gate;
            return ok(Buffer.from("genuine"));
          },
          4,
          { signingKey: RIGHT_KEY },
        );
        const caller = await started({ signingKey: RIGHT_KEY });
        const reply = call(caller, node, handle, Buffer.from("x"));
        await waitFor(() => requests.length === 1, SLOW);
        const h = requests[0]!.header;
        const base: ReplyHeader = {
          v: ENVELOPE_VERSION,
          kind: "reply",
          id: h.id,
          node,
          replica: handle.address.replicaId,
          caller: h.caller,
          attempt: h.attempt,
          nonce: h.nonce,
          status: "ok",
          payloadType: "bytes",
        };
        // A key holder's replies to earlier requests: same call id, another nonce; the previous attempt.
        const keyHolder = new EnvelopeCodec({ signingKey: RIGHT_KEY });
        const oldNonce = keyHolder.encode({ ...base, nonce: "an-earlier-request-nonce" }, Buffer.from("replayed"));
        const oldAttempt = keyHolder.encode({ ...base, attempt: h.attempt + 1 }, Buffer.from("replayed"));
        await harness.injectReply(h.replyTo, oldNonce.value, oldNonce.signature);
        await harness.injectReply(h.replyTo, oldAttempt.value, oldAttempt.signature);
        const stats = caller as unknown as { callStats: () => { refusedReplies: number } };
        await waitFor(() => stats.callStats().refusedReplies >= 2, SLOW);
        release();
        const r = await reply;
        expect(Buffer.from(r.payload).toString()).toBe("genuine");
        expect(r.header.nonce).toBe(h.nonce);
      },
      SLOW,
    );

    it(
      "publishes notices to every subscriber of the channel, the publisher included",
      async () => {
        const [a, b] = await Promise.all([started(), started()]);
        const channel = `registry-${randomBytes(3).toString("hex")}`;
        const atA: string[] = [];
        const atB: string[] = [];
        const other: string[] = [];
        const offA = await a.subscribe(channel, (n) => atA.push(`${n.sender}:${Buffer.from(n.payload).toString()}`));
        const offB = await b.subscribe(channel, (n) => atB.push(`${n.sender}:${Buffer.from(n.payload).toString()}`));
        await b.subscribe(`${channel}-other`, (n) => other.push(Buffer.from(n.payload).toString()));
        await a.publish(channel, Buffer.from("one"));
        await b.publish(channel, Buffer.from("two"));
        await waitFor(() => atA.length === 2 && atB.length === 2, SLOW);
        expect(atB).toEqual([`${a.callerId}:one`, `${b.callerId}:two`]);
        expect(atA).toEqual(atB);
        await offB();
        await a.publish(channel, Buffer.from("three"));
        await waitFor(() => atA.length === 3, SLOW);
        await sleep(300);
        expect(atB).toHaveLength(2);
        expect(other).toEqual([]);
        await offA();
      },
      SLOW,
    );

    it(
      "refuses calls before start and rejects waiting calls with TransportError on stop",
      async () => {
        const node = uniqueNode("stopping");
        const handle = await replica(node, async (_request, context) => {
          await aborted(context.signal);
          return ok(Buffer.from("never"));
        });
        const idle = harness.makeTransport();
        await rejection(call(idle, node, handle, Buffer.from("x")), isTransportError);
        const caller = await started();
        const waiting = rejection(call(caller, node, handle, Buffer.from("x")), isTransportError);
        await sleep(300);
        await caller.stop();
        await waiting;
        await rejection(call(caller, node, handle, Buffer.from("x")), isTransportError);
      },
      SLOW,
    );
  });
}

/** Polls an async condition. */
async function expectEventually(check: () => Promise<boolean>, timeoutMs = SLOW): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await sleep(25);
  }
}
