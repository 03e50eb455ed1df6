/**
 * The two agents of the research team, each a prebuilt ReAct agent (`createReactAgent`) on a
 * {@link ScriptedChatModel}, so the example runs offline and gives the same answers everywhere:
 *
 * - the researcher searches a small shipped archive and reads the best note;
 * - the writer outlines the researcher's findings and writes the report.
 *
 * Every tool call reports, as a custom stream event, which process ran it (`host:pid`): distributed,
 * those are the workers'.
 *
 * @module
 */
import { hostname } from "node:os";
import { AIMessage, HumanMessage, ToolMessage, type BaseMessage } from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import { createReactAgent } from "@langchain/langgraph/prebuilt";
import { z } from "zod";
import { ScriptedChatModel, type ScriptedReply } from "./ScriptedChatModel.js";

/** A note of the shipped archive. */
export interface Note {
  id: string;
  title: string;
  text: string;
  keywords: readonly string[];
}

/** The archive the researcher searches. */
export const ARCHIVE: readonly Note[] = [
  {
    id: "note-1",
    title: "Rate cycles and equities",
    text: "Equities fell in four of the last six hiking cycles, led by long-duration growth stocks.",
    keywords: ["rates", "equities", "growth"],
  },
  {
    id: "note-2",
    title: "Inflation surprises",
    text: "Core inflation surprises moved two-year yields three times as much as headline surprises.",
    keywords: ["inflation", "yields", "rates"],
  },
  {
    id: "note-3",
    title: "Energy and the consumer",
    text: "A 10% rise in fuel prices cut discretionary spending by about 1% within two quarters.",
    keywords: ["energy", "consumer", "inflation"],
  },
];

/** What a tool call reports as a custom stream event. */
export interface ToolEvent {
  agent: string;
  tool: string;
  /** The process that ran the tool (`host:pid`). */
  servedBy: string;
}

const servedBy = (): string => `${hostname()}:${process.pid}`;

/** Notes whose keywords match words of `query`, best first. */
export function searchArchive(query: string): Note[] {
  const words = query.toLowerCase().split(/\W+/).filter(Boolean);
  const score = (n: Note) => n.keywords.filter((k) => words.includes(k)).length;
  return ARCHIVE.filter((n) => score(n) > 0).sort((a, b) => score(b) - score(a) || a.id.localeCompare(b.id));
}

/** Tool messages since the last human message (this turn's tool results). */
function turnResults(messages: BaseMessage[]): ToolMessage[] {
  const start = messages.findLastIndex((m) => HumanMessage.isInstance(m));
  return messages.slice(start + 1).filter((m): m is ToolMessage => ToolMessage.isInstance(m));
}

const question = (messages: BaseMessage[]): string => messages.findLast((m) => HumanMessage.isInstance(m))?.text ?? "";

/** The researcher's script: search, read the best note, report findings. */
export function researcherScript(messages: BaseMessage[]): ScriptedReply {
  const results = turnResults(messages).filter((m) => m.name === "search_archive" || m.name === "read_note");
  if (results.length === 0)
    return {
      content: `Searching the archive for "${question(messages)}".`,
      toolCalls: [{ id: "search-1", name: "search_archive", args: { query: question(messages) } }],
    };
  if (results.length === 1) {
    const best = (JSON.parse(results[0]?.text ?? "[]") as { id: string }[])[0]?.id;
    if (best === undefined) return { content: "Findings: the archive has nothing on this." };
    return { content: `Reading ${best}.`, toolCalls: [{ id: "read-1", name: "read_note", args: { id: best } }] };
  }
  return { content: `Findings: ${results[1]?.text ?? ""}` };
}

/** The writer's script: outline the findings, then write the report. */
export function writerScript(messages: BaseMessage[]): ScriptedReply {
  const findings = messages.findLast((m) => AIMessage.isInstance(m) && m.text.startsWith("Findings:"))?.text ?? "Findings: none.";
  const outlined = turnResults(messages).find((m) => m.name === "outline");
  if (outlined === undefined)
    return { content: "Outlining the findings.", toolCalls: [{ id: "outline-1", name: "outline", args: { findings } }] };
  return { content: `Report on "${question(messages)}": ${outlined.text}` };
}

/** Reports a tool call as a custom stream event. */
function report(config: LangGraphRunnableConfig, agent: string, name: string): void {
  config.writer?.({ agent, tool: name, servedBy: servedBy() } satisfies ToolEvent);
}

/* eslint-disable @typescript-eslint/no-deprecated -- LangGraph's own prebuilt agent is the point of the example */

/** The researcher agent (a compiled graph: add it as a node). */
export function researcherAgent() {
  const search = tool(
    ({ query }: { query: string }, config: LangGraphRunnableConfig) => {
      report(config, "researcher", "search_archive");
      return JSON.stringify(searchArchive(query).map((n) => ({ id: n.id, title: n.title })));
    },
    { name: "search_archive", description: "Searches the archive", schema: z.object({ query: z.string() }) },
  );
  const read = tool(
    ({ id }: { id: string }, config: LangGraphRunnableConfig) => {
      report(config, "researcher", "read_note");
      return ARCHIVE.find((n) => n.id === id)?.text ?? "no such note";
    },
    { name: "read_note", description: "Reads one note", schema: z.object({ id: z.string() }) },
  );
  return createReactAgent({ llm: new ScriptedChatModel({ script: researcherScript }), tools: [search, read], name: "researcher" });
}

/** The writer agent (a compiled graph: add it as a node). */
export function writerAgent() {
  const outline = tool(
    ({ findings }: { findings: string }, config: LangGraphRunnableConfig) => {
      report(config, "writer", "outline");
      return findings
        .replace(/^Findings:\s*/, "")
        .split(/(?<=\.)\s+/)
        .map((s) => `• ${s}`)
        .join(" ");
    },
    { name: "outline", description: "Outlines findings as bullet points", schema: z.object({ findings: z.string() }) },
  );
  return createReactAgent({ llm: new ScriptedChatModel({ script: writerScript }), tools: [outline], name: "writer" });
}
