// The research-team example (examples/research-team): the archive search and the supervisor's
// routing, and the whole team on the embedded fabric (both prebuilt agents served as replicas in this
// process) giving the same conversation as the same graph compiled without the fabric, with the
// agents' tokens and tool events streamed to the runner and their checkpoints under its thread.
import { HumanMessage } from "@langchain/core/messages";
import { END, MemorySaver } from "@langchain/langgraph";
import { describe, expect, it } from "vitest";
import { silentLogger } from "../../../src/observability/logger.js";
import { searchArchive } from "../../../examples/research-team/agents.js";
import { AGENTS, builder, supervisor } from "../../../examples/research-team/graph.js";
import { DEFAULT_QUESTION, runTeam } from "../../../examples/research-team/team.js";

describe("research-team example", () => {
  it("searches the archive by keyword, best match first", () => {
    expect(searchArchive("inflation and rates").map((n) => n.id)).toEqual(["note-2", "note-1", "note-3"]);
    expect(searchArchive("weather")).toEqual([]);
  });

  it("the supervisor hands over to the researcher, then the writer, then ends", () => {
    const goto = (handoffs: string[]) => supervisor({ messages: [], handoffs }).goto;
    expect(goto([])).toEqual(["researcher"]);
    expect(goto(["researcher"])).toEqual(["writer"]);
    expect(goto(["researcher", "writer"])).toEqual([END]);
  });

  it("runs embedded with the agents on replicas and gives the local graph's conversation", async () => {
    const lines: string[] = [];
    const result = await runTeam({ connection: { mode: "embedded" }, logger: silentLogger, progress: (l) => lines.push(l) });
    const local = await builder
      .compile({ checkpointer: new MemorySaver() })
      .invoke({ messages: [new HumanMessage(DEFAULT_QUESTION)] }, { configurable: { thread_id: "local" } });
    expect(result.transcript).toEqual(local.messages.map((m) => `${m.type}: ${m.text}`));
    expect(result.report).toMatch(/^Report on ".+": • Equities fell/);
    for (const agent of AGENTS) {
      const activity = result.activity[agent]!;
      expect(activity.tokens).toBeGreaterThan(5);
      expect(activity.namespaces).toHaveLength(1);
      expect(activity.tools.every((t) => t.agent === agent)).toBe(true);
      expect(result.agentCheckpoints[agent]).toBeGreaterThan(0);
    }
    expect(result.activity.researcher!.tools.map((t) => t.tool)).toEqual(["search_archive", "read_note"]);
    expect(result.activity.writer!.tools.map((t) => t.tool)).toEqual(["outline"]);
    expect(lines.some((l) => l.startsWith("researcher is working"))).toBe(true);
  });
});
