import { Annotation, END, START, StateGraph, type LangGraphRunnableConfig } from "@langchain/langgraph";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createFabric, type Fabric } from "../../../src/fabric.js";
import { childTraceContext, parseTraceparent, traceContextOf } from "../../../src/observability/traceContext.js";
import type { OutgoingRequestHeader } from "../../../src/transport/Transport.js";

const TRACE_ID = "0af7651916cd43dd8448eb211c80319c";
const PARENT = `00-${TRACE_ID}-b7ad6b7169203331-01`;

describe("W3C trace context helpers", () => {
  it("parses valid traceparents and refuses what the spec says to ignore", () => {
    expect(parseTraceparent(PARENT)).toEqual({ version: "00", traceId: TRACE_ID, spanId: "b7ad6b7169203331", flags: "01" });
    // A later version may append fields; a reader keeps the four it knows.
    expect(parseTraceparent(`01-${TRACE_ID}-b7ad6b7169203331-00-future`)?.spanId).toBe("b7ad6b7169203331");
    for (const bad of [
      undefined,
      42,
      "",
      "garbage",
      `ff-${TRACE_ID}-b7ad6b7169203331-01`, // version ff is invalid
      `00-${"0".repeat(32)}-b7ad6b7169203331-01`, // all-zero trace id
      `00-${TRACE_ID}-${"0".repeat(16)}-01`, // all-zero span id
      `00-${TRACE_ID.toUpperCase()}-b7ad6b7169203331-01`, // uppercase hex
      `00-${TRACE_ID}-b7ad6b7169203331-01-extra`, // version 00 has exactly four fields
      `00-${TRACE_ID}-b7ad6b716920333-01`, // short span id
    ]) {
      expect(parseTraceparent(bad), String(bad)).toBeUndefined();
    }
  });

  it("reads configurable first, then metadata, and drops a bad tracestate", () => {
    const other = `00-${"1".repeat(32)}-${"2".repeat(16)}-00`;
    expect(traceContextOf({ configurable: { traceparent: PARENT, tracestate: "a=1" }, metadata: { traceparent: other } })).toEqual({
      traceparent: PARENT,
      tracestate: "a=1",
    });
    expect(traceContextOf({ configurable: { traceparent: "bad" }, metadata: { traceparent: other } })).toEqual({ traceparent: other });
    expect(traceContextOf({ configurable: { traceparent: PARENT, tracestate: "x".repeat(600) } })).toEqual({ traceparent: PARENT });
    expect(traceContextOf({ configurable: {} })).toBeUndefined();
  });

  it("makes a child with the same trace id and flags and a span id from the random source", () => {
    const fill = (bytes: Uint8Array) => bytes.set([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(childTraceContext({ traceparent: PARENT, tracestate: "a=1" }, fill)).toEqual({
      traceparent: `00-${TRACE_ID}-0102030405060708-01`,
      tracestate: "a=1",
    });
    let calls = 0;
    const zerosOnce = (bytes: Uint8Array) => bytes.fill(calls++ === 0 ? 0 : 9);
    expect(childTraceContext({ traceparent: PARENT }, zerosOnce).traceparent).toBe(`00-${TRACE_ID}-0909090909090909-01`);
    expect(() => childTraceContext({ traceparent: PARENT }, (b) => b.fill(0))).toThrow(RangeError);
    expect(() => childTraceContext({ traceparent: "nope" })).toThrow(/parent\.traceparent.*"nope"/);
  });
});

const State = Annotation.Root({ n: Annotation<number> });

let fabric: Fabric | undefined;
afterEach(async () => {
  await fabric?.stop({ drainTimeoutMs: 1000 });
  fabric = undefined;
});

/** A fabric serving one node that records the trace keys of its config, and the request headers sent. */
async function tracedGraph() {
  fabric = await createFabric();
  const seen: { configurable: unknown; tracestate: unknown; metadata: unknown }[] = [];
  const builder = new StateGraph(State)
    .addNode("traced", (s, config: LangGraphRunnableConfig) => {
      seen.push({
        configurable: config.configurable?.traceparent,
        tracestate: config.configurable?.tracestate,
        metadata: config.metadata?.traceparent,
      });
      return { n: s.n + 1 };
    })
    .addEdge(START, "traced")
    .addEdge("traced", END);
  await fabric.serve(builder, { nodes: ["traced"] });
  const headers: OutgoingRequestHeader[] = [];
  const transport = fabric.transport;
  const call = transport.call.bind(transport);
  vi.spyOn(transport, "call").mockImplementation((header, payload, options) => {
    headers.push(header);
    return call(header, payload, options);
  });
  const graph = fabric.distribute(builder, { nodes: ["traced"] }).compile();
  return { graph, seen, headers };
}

describe("trace context across the remote-node hop", () => {
  it("the replica's node sees the caller's trace id with a new span id, per call", async () => {
    const { graph, seen, headers } = await tracedGraph();
    await graph.invoke({ n: 1 }, { configurable: { traceparent: PARENT, tracestate: "vendor=x" } });
    await graph.invoke({ n: 1 }, { configurable: { traceparent: PARENT } });
    expect(seen).toHaveLength(2);
    const spans = seen.map((s) => {
      const p = parseTraceparent(s.configurable);
      expect(p?.traceId).toBe(TRACE_ID);
      expect(p?.flags).toBe("01");
      expect(p?.spanId).not.toBe("b7ad6b7169203331");
      // The same child in metadata, for integrations that read it there.
      expect(s.metadata).toBe(s.configurable);
      return p?.spanId;
    });
    expect(spans[0]).not.toBe(spans[1]);
    expect(seen[0]!.tracestate).toBe("vendor=x");
    expect(seen[1]!.tracestate).toBeUndefined();
    expect(headers.map((h) => h.trace?.traceparent)).toEqual(seen.map((s) => s.configurable));
  });

  it("reads the trace context from metadata when configurable has none", async () => {
    const { graph, seen } = await tracedGraph();
    await graph.invoke({ n: 1 }, { metadata: { traceparent: PARENT } });
    expect(parseTraceparent(seen[0]!.configurable)?.traceId).toBe(TRACE_ID);
  });

  it("without a trace context, or with a malformed one, the call goes without a trace header", async () => {
    const { graph, seen, headers } = await tracedGraph();
    expect(await graph.invoke({ n: 1 })).toEqual({ n: 2 });
    expect(await graph.invoke({ n: 1 }, { configurable: { traceparent: "not-a-traceparent", tracestate: "a=1" } })).toEqual({ n: 2 });
    expect(headers).toHaveLength(2);
    for (const h of headers) expect(h).not.toHaveProperty("trace");
    expect(seen).toEqual([
      { configurable: undefined, tracestate: undefined, metadata: undefined },
      { configurable: undefined, tracestate: undefined, metadata: undefined },
    ]);
  });
});
