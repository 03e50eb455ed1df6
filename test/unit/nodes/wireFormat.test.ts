import { Command, Send, isCommand } from "@langchain/langgraph";
import { describe, expect, it } from "vitest";
import { decodeOutput, encodeOutput } from "../../../src/nodes/wireFormat.js";
import { FabricSerializer } from "../../../src/transport/payloadCodec.js";

const serde = new FabricSerializer();

/** Node output → wire bytes → caller-side output, as a remote call carries it. */
async function acrossTheHop(value: unknown): Promise<unknown> {
  const [type, bytes] = await serde.dumpsTyped(encodeOutput(value));
  return decodeOutput(await serde.loadsTyped(type, bytes));
}

describe("wire format of node outputs", () => {
  it("keeps a Send's timeout (a number and a full policy), and leaves it unset when absent", async () => {
    const command = new Command({
      goto: [
        new Send("work", { item: 1 }, { timeout: 250 }),
        new Send("work", { item: 2 }, { timeout: { idleTimeout: 1_000, refreshOn: "heartbeat" } }),
        new Send("work", { item: 3 }),
        "other",
      ],
      update: { log: ["routed"] },
    });
    const back = await acrossTheHop(command);
    expect(isCommand(back)).toBe(true);
    const goto = (back as Command).goto as (Send | string)[];
    expect(goto[0]).toBeInstanceOf(Send);
    expect((goto[0] as Send).timeout).toEqual({ runTimeout: 250, idleTimeout: undefined, refreshOn: "auto" });
    expect((goto[1] as Send).timeout).toEqual({ runTimeout: undefined, idleTimeout: 1_000, refreshOn: "heartbeat" });
    expect((goto[2] as Send).timeout).toBeUndefined();
    expect((goto[2] as Send).args).toEqual({ item: 3 });
    expect(goto[3]).toBe("other");
    expect((back as Command).update).toEqual({ log: ["routed"] });
  });
});
