/**
 * W3C trace context (https://www.w3.org/TR/trace-context/) across the remote-node hop.
 *
 * Convention: a node's trace context is `config.configurable.traceparent` (and `tracestate`).
 * `config.metadata.traceparent` is read too, for integrations that put it there, but
 * `configurable` wins when both hold a valid one. The caller sends a child of that context with
 * each remote call (same trace id, a new span id: the hop is a span of its own), and the replica
 * hands the child to the node under the same keys, so user code and OpenTelemetry integrations
 * continue the trace. A missing or malformed context is not an error: the call goes without one.
 *
 * @module
 */
import { randomFillSync } from "node:crypto";
import type { TraceContext } from "../transport/envelope.js";

/** Key of `configurable` (and `metadata`) holding the W3C `traceparent`. */
export const TRACEPARENT_CONFIG = "traceparent";
/** Key of `configurable` (and `metadata`) holding the W3C `tracestate`. */
export const TRACESTATE_CONFIG = "tracestate";

/** Longest `tracestate` that travels (the envelope's limit; the W3C list of 32 members fits in it). */
const MAX_TRACESTATE_CHARS = 512;

/** Fills `bytes` with random bytes (injectable so tests can fix span ids). */
export type RandomFill = (bytes: Uint8Array) => void;

const defaultFill: RandomFill = (bytes) => {
  randomFillSync(bytes);
};

/** The fields of a parsed `traceparent`. */
export interface Traceparent {
  /** Two lowercase hex digits; never `ff`. */
  version: string;
  /** 32 lowercase hex digits, not all zero. */
  traceId: string;
  /** 16 lowercase hex digits (the parent span), not all zero. */
  spanId: string;
  /** Two lowercase hex digits (bit 0: sampled). */
  flags: string;
}

// Version 00 has exactly four fields; later versions may append more, which a reader ignores.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE_ID = "0".repeat(32);
const ZERO_SPAN_ID = "0".repeat(16);
// Printable ASCII without control characters, as the spec's list members are.
const TRACESTATE = /^[\x20-\x7e]*$/;

/** Parses a `traceparent` header value; undefined for anything the W3C spec says to ignore. */
export function parseTraceparent(value: unknown): Traceparent | undefined {
  if (typeof value !== "string" || value.length > 256) return undefined;
  const m = TRACEPARENT.exec(value);
  if (!m) return undefined;
  const [, version = "", traceId = "", spanId = "", flags = "", rest] = m;
  if (version === "ff" || (version === "00" && rest !== undefined)) return undefined;
  if (traceId === ZERO_TRACE_ID || spanId === ZERO_SPAN_ID) return undefined;
  return { version, traceId, spanId, flags };
}

/** A `tracestate` worth forwarding, or undefined (absent, not a string, too long, or with control characters). */
function validTracestate(value: unknown): string | undefined {
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_TRACESTATE_CHARS) return undefined;
  return TRACESTATE.test(value) ? value : undefined;
}

/** `{ traceparent, tracestate? }` from a record, when its `traceparent` is valid. */
function fromRecord(record: unknown): TraceContext | undefined {
  if (typeof record !== "object" || record === null) return undefined;
  const r = record as Record<string, unknown>;
  if (parseTraceparent(r[TRACEPARENT_CONFIG]) === undefined) return undefined;
  const tracestate = validTracestate(r[TRACESTATE_CONFIG]);
  return { traceparent: r[TRACEPARENT_CONFIG] as string, ...(tracestate !== undefined ? { tracestate } : {}) };
}

/**
 * The trace context of a node call: `config.configurable.traceparent`/`tracestate`, else
 * `config.metadata.traceparent`/`tracestate`; undefined when neither holds a valid `traceparent`.
 */
export function traceContextOf(config: { configurable?: unknown; metadata?: unknown }): TraceContext | undefined {
  return fromRecord(config.configurable) ?? fromRecord(config.metadata);
}

/** The same trace context, if valid (for contexts that arrive from the wire); else undefined. */
export function checkedTraceContext(trace: TraceContext | undefined): TraceContext | undefined {
  return trace === undefined ? undefined : fromRecord(trace);
}

/**
 * A child of `parent`: same trace id and flags, a new random span id, version `00` (the version
 * this code writes, whatever version it read); `tracestate` is kept.
 */
export function childTraceContext(parent: TraceContext, fill: RandomFill = defaultFill): TraceContext {
  const p = parseTraceparent(parent.traceparent);
  if (p === undefined) throw new RangeError(`parent.traceparent is not a W3C traceparent (got ${JSON.stringify(parent.traceparent)})`);
  const bytes = new Uint8Array(8);
  let spanId = ZERO_SPAN_ID;
  // An all-zero span id is invalid; a random source yields one once in 2^64 draws (or always, if broken).
  for (let i = 0; i < 4 && spanId === ZERO_SPAN_ID; i++) {
    fill(bytes);
    spanId = Buffer.from(bytes).toString("hex");
  }
  if (spanId === ZERO_SPAN_ID) throw new RangeError("fill must produce random bytes (it produced zeros four times)");
  const tracestate = validTracestate(parent.tracestate);
  return { traceparent: `00-${p.traceId}-${spanId}-${p.flags}`, ...(tracestate !== undefined ? { tracestate } : {}) };
}
