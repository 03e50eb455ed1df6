import { Command, isParentCommand, ParentCommand } from "@langchain/langgraph";
import { describe, expect, it } from "vitest";
import { decodeError, encodeError, isRetryableErrorData } from "../../../src/nodes/errorCodec.js";

// A subgraph served as a node throws ParentCommand for Command({ graph: Command.PARENT }): its command
// must survive the hop so that the caller's task applies it, and it is routing, not a failure.
describe("ParentCommand across the hop", () => {
  it("is rebuilt as a ParentCommand with its command (graph, goto, update)", () => {
    const thrown = new ParentCommand(new Command({ graph: "team:task-1", goto: "publish", update: { draft: "d" } }));
    const data = encodeError(thrown);
    const rebuilt = decodeError(JSON.parse(JSON.stringify(data)) as typeof data);
    if (!isParentCommand(rebuilt)) throw new Error(`expected a ParentCommand, got ${rebuilt.name}`);
    const { command } = rebuilt;
    expect(command).toBeInstanceOf(Command);
    expect(command.graph).toBe("team:task-1");
    expect(command.goto).toEqual(["publish"]);
    expect(command.update).toEqual({ draft: "d" });
    expect(isRetryableErrorData(data)).toBe(false);
  });

  it("an error merely named ParentCommand, without a command, stays a plain error", () => {
    const fake = new Error("not routing");
    fake.name = "ParentCommand";
    const rebuilt = decodeError(encodeError(fake));
    expect(isParentCommand(rebuilt)).toBe(true); // LangGraph checks the name only…
    expect((rebuilt as Partial<ParentCommand>).command).toBeUndefined(); // …but there is no command to apply
  });
});
