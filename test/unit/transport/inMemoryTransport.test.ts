import { describe, expect, it } from "vitest";
import { isDeadlineExceededError } from "../../../src/errors.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { EnvelopeCodec } from "../../../src/transport/envelope.js";
import { InMemoryNetwork, InMemoryTransport } from "../../../src/transport/InMemoryTransport.js";
import type { HandlerResult, Transport } from "../../../src/transport/Transport.js";
import { rejection, sleep, waitFor } from "../../conformance/stateStoreConformance.js";
import { requestHeader, transportConformance } from "../../conformance/transportConformance.js";

transportConformance("InMemoryTransport", () => {
  const network = new InMemoryNetwork();
  const made: Transport[] = [];
  return Promise.resolve({
    makeTransport: (options) => {
      const t = new InMemoryTransport({ network, logger: silentLogger, ...options });
      made.push(t);
      return t;
    },
    injectReply: (replyTo, value, signature) => {
      network.injectReply(replyTo, value, signature);
      return Promise.resolve();
    },
    deadLetters: () => Promise.resolve(network.deadLetters.map((l) => ({ reason: l.reason, error: l.error }))),
    cleanup: async () => {
      await Promise.all(made.map((t) => t.stop()));
    },
  });
});

describe("InMemoryTransport specifics", () => {
  const ok = (text: string): HandlerResult => ({ status: "ok", payloadType: "bytes", payload: Buffer.from(text) });
  const setup = () => {
    const network = new InMemoryNetwork();
    const make = async (options = {}) => {
      const t = new InMemoryTransport({ network, logger: silentLogger, ...options });
      await t.start();
      return t;
    };
    return { network, make };
  };

  it("never calls a handler synchronously inside call()", async () => {
    const { make } = setup();
    let inside = false;
    let sawInside = false;
    const t = await make();
    const handle = await t.serve(
      "n",
      (r) => {
        sawInside = inside;
        return Promise.resolve(ok(Buffer.from(r.payload).toString()));
      },
      { replicaId: "r1", concurrency: 1 },
    );
    inside = true;
    const reply = t.call(requestHeader("n", "r1"), Buffer.from("x"), { target: handle.address });
    inside = false;
    await reply;
    expect(sawInside).toBe(false);
  });

  it("sends a request for a gone replica to another replica of the node", async () => {
    const { make } = setup();
    const [r1, r2, caller] = [await make(), await make(), await make()];
    const h1 = await r1.serve("n", () => Promise.resolve(ok("r1")), { replicaId: "r1", concurrency: 1 });
    await r2.serve("n", () => Promise.resolve(ok("r2")), { replicaId: "r2", concurrency: 1 });
    await h1.stop();
    const reply = await caller.call(requestHeader("n", "r1"), Buffer.from("x"), { target: h1.address });
    expect(Buffer.from(reply.payload).toString()).toBe("r2");
  });

  it("holds a request until a replica serves the node, or until its deadline", async () => {
    const { make } = setup();
    const caller = await make();
    const waiting = caller.call(requestHeader("later", "r9"), Buffer.from("x"), { target: { replicaId: "r9" } });
    const expiring = rejection(
      caller.call(requestHeader("never", "r9", 200), Buffer.from("x"), { target: { replicaId: "r9" } }),
      isDeadlineExceededError,
    );
    await sleep(100);
    const replica = await make();
    await replica.serve("later", () => Promise.resolve(ok("finally")), { replicaId: "r5", concurrency: 1 });
    expect(Buffer.from((await waiting).payload).toString()).toBe("finally");
    await expiring;
  });

  it("dead-letters raw frames and keeps serving", async () => {
    const { network, make } = setup();
    const t = await make();
    const handle = await t.serve("n", () => Promise.resolve(ok("fine")), { replicaId: "r1", concurrency: 1 });
    network.injectRaw("n", Buffer.from("garbage"));
    network.injectRaw("n", Buffer.from('{"v":7}\n'));
    const other = new EnvelopeCodec().encode(
      { ...requestHeader("elsewhere", "r1"), v: 1, kind: "request", caller: "c", replyTo: "memory:c", nonce: "0123456789abcdef" },
      Buffer.from("x"),
    );
    network.injectRaw("n", other.value);
    const reply = await t.call(requestHeader("n", "r1"), Buffer.from("x"), { target: handle.address });
    expect(Buffer.from(reply.payload).toString()).toBe("fine");
    expect(network.deadLetters.map((l) => l.reason)).toEqual(["malformed", "version", "wrong_node"]);
    expect(Buffer.from(network.deadLetters[0]!.raw).toString()).toBe("garbage");
    expect(network.deadLetters[0]!.error).toMatch(/header/);
  });

  it("stop() aborts the requests in flight and delivers them again to another replica", async () => {
    const { make } = setup();
    const [r1, r2, caller] = [await make(), await make(), await make()];
    const seen: string[] = [];
    let firstSignal: AbortSignal | undefined;
    const h1 = await r1.serve(
      "n",
      (_r, c) => {
        seen.push("r1");
        firstSignal = c.signal;
        return new Promise<HandlerResult>(() => undefined);
      },
      { replicaId: "r1", concurrency: 1 },
    );
    const reply = caller.call(requestHeader("n", "r1"), Buffer.from("x"), { target: h1.address });
    await waitFor(() => seen.length === 1);
    await r2.serve(
      "n",
      () => {
        seen.push("r2");
        return Promise.resolve(ok("r2"));
      },
      { replicaId: "r2", concurrency: 1 },
    );
    await h1.stop();
    expect(firstSignal?.aborted).toBe(true);
    expect(Buffer.from((await reply).payload).toString()).toBe("r2");
    expect(seen).toEqual(["r1", "r2"]);
  });

  it("skips a queued request whose caller cancelled it", async () => {
    const { make } = setup();
    const t = await make();
    const runs: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const handle = await t.serve(
      "n",
      async (r) => {
        runs.push(Buffer.from(r.payload).toString());
        await gate;
        return ok("done");
      },
      { replicaId: "r1", concurrency: 1 },
    );
    const first = t.call(requestHeader("n", "r1"), Buffer.from("first"), { target: handle.address });
    const controller = new AbortController();
    const second = t.call(requestHeader("n", "r1"), Buffer.from("second"), { target: handle.address, signal: controller.signal });
    await waitFor(() => runs.length === 1);
    controller.abort(new Error("no longer needed"));
    await expect(second).rejects.toThrow("no longer needed");
    await sleep(10);
    release();
    await first;
    await sleep(10);
    expect(runs).toEqual(["first"]);
  });

  it("validates its options and serve() arguments", async () => {
    expect(() => new InMemoryTransport({ callerId: "" })).toThrow(RangeError);
    expect(() => new InMemoryTransport({ maxMessageBytes: 10 })).toThrow(RangeError);
    const { make } = setup();
    const t = await make();
    await expect(t.serve("n", () => Promise.resolve(ok("")), { replicaId: "r", concurrency: 0 })).rejects.toThrow(/concurrency/);
    await t.serve("n", () => Promise.resolve(ok("")), { replicaId: "dup", concurrency: 1 });
    await expect(t.serve("m", () => Promise.resolve(ok("")), { replicaId: "dup", concurrency: 1 })).rejects.toThrow(/dup/);
  });
});
