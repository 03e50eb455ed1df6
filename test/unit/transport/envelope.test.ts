import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EnvelopeCodec, envelopeHeaderSchema, fastHeader, type EnvelopeHeader } from "../../../src/transport/envelope.js";
import { isEnvelopeError } from "../../../src/errors.js";

// The codec checks headers by hand first and asks the zod schema only when that check says no.
// These properties hold the hand check to the schema: it never accepts what the schema refuses,
// returns what the schema would, and accepts every well-formed header (so the fast path is taken).

const valid: Record<string, () => fc.Arbitrary<unknown>> = {
  v: () => fc.constant(1),
  id: () => fc.string({ minLength: 1, maxLength: 200 }),
  node: () => fc.string({ minLength: 1, maxLength: 256 }),
  replica: () => fc.string({ minLength: 1, maxLength: 200 }),
  caller: () => fc.string({ minLength: 1, maxLength: 200 }),
  replyTo: () => fc.string({ minLength: 1, maxLength: 300 }),
  threadId: () => fc.option(fc.string({ maxLength: 1000 }), { nil: null }),
  checkpointNs: () => fc.string({ maxLength: 4000 }),
  taskId: () => fc.string({ maxLength: 200 }),
  idempotencyKey: () => fc.string({ minLength: 1, maxLength: 200 }),
  deadline: () => fc.nat(),
  attempt: () => fc.integer({ min: 1, max: 1_000_000 }),
  nonce: () => fc.string({ minLength: 8, maxLength: 64 }),
  trace: () =>
    fc.record({ traceparent: fc.string({ maxLength: 256 }), tracestate: fc.string({ maxLength: 512 }) }, { requiredKeys: ["traceparent"] }),
  status: () => fc.constantFrom("ok", "error"),
  seq: () => fc.nat(),
  channel: () => fc.string({ minLength: 1, maxLength: 256 }),
  sender: () => fc.string({ minLength: 1, maxLength: 200 }),
  payloadType: () => fc.string({ minLength: 1, maxLength: 40 }),
};

const fields: Record<string, string[]> = {
  request: [
    "v",
    "id",
    "node",
    "replica",
    "caller",
    "replyTo",
    "threadId",
    "checkpointNs",
    "taskId",
    "idempotencyKey",
    "deadline",
    "attempt",
    "nonce",
    "trace",
    "payloadType",
  ],
  reply: ["v", "id", "node", "replica", "caller", "attempt", "nonce", "status", "payloadType"],
  event: ["v", "id", "node", "replica", "caller", "seq", "nonce", "payloadType"],
  cancel: ["v", "id", "node", "caller", "replica", "payloadType"],
  notice: ["v", "channel", "sender", "payloadType"],
};

/** Values that break some field's rule: wrong types, boundary lengths, fractions, negatives. */
const junk = fc.oneof(
  fc.constant(null),
  fc.constant(""),
  fc.constant("x".repeat(201)),
  fc.constant("x".repeat(4001)),
  fc.constant(-1),
  fc.constant(0),
  fc.constant(1.5),
  fc.constant(2 ** 53),
  fc.constant(true),
  fc.constant([]),
  fc.constant({}),
  fc.constant({ traceparent: "t", extra: 1 }),
  fc.constant({ traceparent: 1 }),
  fc.constantFrom("ok", "error", "request", "reply"),
  fc.string({ maxLength: 50 }),
  fc.integer(),
);

function header(kind: string, mutate: boolean): fc.Arbitrary<Record<string, unknown>> {
  const keys = fields[kind]!;
  const record = fc.record(Object.fromEntries(keys.map((k) => [k, valid[k]!()])), { requiredKeys: keys.filter((k) => k !== "trace") });
  if (!mutate) return record.map((r) => ({ ...r, kind }));
  return fc
    .tuple(
      record,
      fc.array(fc.tuple(fc.constantFrom(...keys, "kind", "extra", "__proto__"), fc.oneof(junk, fc.constant(undefined))), { maxLength: 3 }),
    )
    .map(([r, changes]) => {
      const out: Record<string, unknown> = { ...r, kind };
      for (const [k, v] of changes) {
        if (v === undefined) Reflect.deleteProperty(out, k);
        else Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
      }
      // What decode sees: an object fresh from JSON.parse.
      return JSON.parse(JSON.stringify(out)) as Record<string, unknown>;
    });
}

const anyKind = fc.constantFrom(...Object.keys(fields));

describe("envelope header fast path", () => {
  it("accepts only what the schema accepts, and returns the same header", () => {
    fc.assert(
      fc.property(
        anyKind.chain((k) => header(k, true)),
        (raw) => {
          const fast = fastHeader(raw);
          const parsed = envelopeHeaderSchema.safeParse(raw);
          if (fast !== undefined) {
            expect(parsed.success).toBe(true);
            expect(fast).toEqual(parsed.data);
          }
        },
      ),
      { numRuns: 5000 },
    );
  });

  it("takes every well-formed header", () => {
    fc.assert(
      fc.property(
        anyKind.chain((k) => header(k, false)),
        (raw) => {
          const clean = JSON.parse(JSON.stringify(raw)) as Record<string, unknown>;
          expect(envelopeHeaderSchema.safeParse(clean).success).toBe(true);
          expect(fastHeader(clean)).toEqual(clean);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("decode still words schema errors through zod", () => {
    const codec = new EnvelopeCodec();
    const bad = {
      v: 1,
      kind: "reply",
      id: "x",
      node: "n",
      replica: "r",
      caller: "c",
      attempt: 1,
      nonce: "n".repeat(8),
      status: "maybe",
      payloadType: "json",
    };
    const frame = Buffer.from(`${JSON.stringify(bad)}\n`);
    let error: unknown;
    try {
      codec.decode(frame);
    } catch (e) {
      error = e;
    }
    expect(isEnvelopeError(error) && error.reason).toBe("schema");
    expect((error as Error).message).toMatch(/status/);
  });

  it("encodes the header line, a newline and the payload", () => {
    const codec = new EnvelopeCodec();
    const header: EnvelopeHeader = {
      v: 1,
      kind: "event",
      id: "é".repeat(3),
      node: "n",
      replica: "r",
      caller: "c",
      seq: 2,
      nonce: "0123456789abcdef",
      payloadType: "json",
    };
    const { value } = codec.encode(header, new Uint8Array([1, 2, 3]));
    const decoded = codec.decode(value);
    expect(decoded.header).toEqual(header);
    expect([...decoded.payload]).toEqual([1, 2, 3]);
  });
});
