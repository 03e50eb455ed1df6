import { AIMessage, HumanMessage, ToolMessage, AIMessageChunk } from "@langchain/core/messages";
import { PromptTemplate } from "@langchain/core/prompts";
import { describe, expect, it } from "vitest";
import { isRevivalRefusedError } from "../../../src/errors.js";
import { FastJsonPlusSerializer } from "../../../src/serde/FastJsonPlusSerializer.js";
import { FabricSerializer } from "../../../src/transport/payloadCodec.js";

const prompt = {
  lc: 1,
  type: "constructor",
  id: ["langchain_core", "prompts", "prompt", "PromptTemplate"],
  kwargs: { template: "{x}", input_variables: ["x"] },
};

async function refusal(work: Promise<unknown>): Promise<unknown> {
  try {
    await work;
  } catch (e) {
    return e;
  }
  throw new Error("expected a refusal, but the data was revived");
}

describe("revival allowlist", () => {
  it("revives messages with tool calls, tool messages and chunks, as graph state needs", async () => {
    const serde = new FabricSerializer();
    const value = {
      messages: [
        new HumanMessage("hi"),
        new AIMessage({ content: "", tool_calls: [{ id: "t1", name: "lookup", args: { q: "x" } }] }),
        new ToolMessage({ content: "42", tool_call_id: "t1" }),
        new AIMessageChunk("partial"),
      ],
    };
    const [type, bytes] = await serde.dumpsTyped(value);
    const back = (await serde.loadsTyped(type, bytes)) as typeof value;
    expect(back.messages[0]).toBeInstanceOf(HumanMessage);
    const ai = back.messages[1];
    expect(ai).toBeInstanceOf(AIMessage);
    expect(ai instanceof AIMessage && ai.tool_calls?.[0]?.name).toBe("lookup");
    expect(back.messages[2]).toBeInstanceOf(ToolMessage);
    expect(back.messages[3]).toBeInstanceOf(AIMessageChunk);
  });

  it("refuses a PromptTemplate record with RevivalRefusedError, at the top or nested in a message", async () => {
    const serde = new FabricSerializer();
    const top = await refusal(serde.loadsTyped("json", JSON.stringify({ input: prompt })));
    expect(isRevivalRefusedError(top) && top.classId).toBe("langchain_core/prompts/prompt/PromptTemplate");
    const human = JSON.parse(JSON.stringify(new HumanMessage("x"))) as { kwargs: Record<string, unknown> };
    human.kwargs.additional_kwargs = { hidden: prompt };
    expect(isRevivalRefusedError(await refusal(serde.loadsTyped("json", JSON.stringify([human]))))).toBe(true);
    // Checkpoints read back go through the same class.
    expect(isRevivalRefusedError(await refusal(new FastJsonPlusSerializer().loadsTyped("json", JSON.stringify(prompt))))).toBe(true);
  });

  it("refuses secret records before load() could read the environment", async () => {
    process.env.LGF_TEST_SECRET = "do not leak";
    const human = JSON.parse(JSON.stringify(new HumanMessage("x"))) as { kwargs: Record<string, unknown> };
    human.kwargs.content = { lc: 1, type: "secret", id: ["LGF_TEST_SECRET"] };
    const error = await refusal(new FabricSerializer().loadsTyped("json", JSON.stringify(human)));
    expect(isRevivalRefusedError(error) && error.classId).toBe("secret:LGF_TEST_SECRET");
    delete process.env.LGF_TEST_SECRET;
  });

  it("revives a class added with revivable, and rejects malformed entries", async () => {
    const serde = new FabricSerializer({ revivable: ["langchain_core/prompts/prompt/PromptTemplate"] });
    const back = await serde.loadsTyped("json", JSON.stringify(prompt));
    expect(back).toBeInstanceOf(PromptTemplate);
    expect(() => new FastJsonPlusSerializer({ revivable: ["PromptTemplate"] })).toThrow(RangeError);
  });

  it("does not overflow the stack on deeply nested data", () => {
    let deep: unknown = prompt;
    for (let i = 0; i < 20_000; i++) deep = [deep];
    expect(() => new FastJsonPlusSerializer().assertRevivable(deep)).toThrow(/PromptTemplate/);
  });
});
