import { AIMessage, HumanMessage, ToolMessage } from "@langchain/core/messages";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FabricSerializer } from "../../../src/transport/payloadCodec.js";
import { isSerializationError } from "../../../src/errors.js";

const serde = new FabricSerializer();
const roundTrip = async (value: unknown) => {
  const [type, bytes] = await serde.dumpsTyped(value);
  return serde.loadsTyped(type, bytes);
};

describe("FabricSerializer", () => {
  it("round-trips LangChain messages with tool calls", async () => {
    const messages = [
      new HumanMessage({ content: "price of AAPL?", id: "h1" }),
      new AIMessage({ content: "", id: "a1", tool_calls: [{ id: "call_1", name: "quote", args: { symbol: "AAPL" }, type: "tool_call" }] }),
      new ToolMessage({ content: "189.5", tool_call_id: "call_1", id: "t1" }),
    ];
    const back = (await roundTrip({ messages })) as { messages: unknown[] };
    expect(back.messages[0]).toBeInstanceOf(HumanMessage);
    expect(back.messages[1]).toBeInstanceOf(AIMessage);
    expect((back.messages[1] as AIMessage).tool_calls).toEqual((messages[1] as AIMessage).tool_calls);
    expect(back.messages[2]).toBeInstanceOf(ToolMessage);
    expect((back.messages[2] as ToolMessage).tool_call_id).toBe("call_1");
  });

  it("round-trips Uint8Array, Set, Map, Date, RegExp and undefined, nested", async () => {
    const value = {
      bytes: new Uint8Array([0, 1, 255]),
      tags: new Set(["a", "b"]),
      byId: new Map<string, unknown>([["x", { at: new Date("2026-01-02T03:04:05.678Z") }]]),
      when: new Date("2026-11-24T00:00:00.000Z"),
      list: [new Date(0), { deep: new Set([new Date(1)]) }],
      pattern: /ab+c/gi,
      missing: undefined,
    };
    expect(await roundTrip(value)).toEqual(value);
  });

  it("round-trips arbitrary JSON-like data (property)", async () => {
    // LangGraph's own reviver drops "__proto__" keys (they would change a prototype), so we do not expect them back.
    const noProto = fc.jsonValue().filter((v) => !JSON.stringify(v).includes('"__proto__"'));
    await fc.assert(
      fc.asyncProperty(noProto, async (v) => {
        expect(await roundTrip(v)).toEqual(JSON.parse(JSON.stringify(v)));
      }),
      { numRuns: 200 },
    );
  });

  it("reports payloads that cannot be read with a SerializationError", async () => {
    const failures: unknown[] = [];
    await serde.loadsTyped("json", "{not json").catch((e: unknown) => failures.push(e));
    await serde.loadsTyped("pickle", "x").catch((e: unknown) => failures.push(e));
    expect(failures.map(isSerializationError)).toEqual([true, true]);
  });
});
