/**
 * The research-team example: `npm run example:research-team` (embedded: no servers), or distributed
 * with `npm run example:research-team -- --kafka 127.0.0.1:9092 --redis redis://127.0.0.1:6379` (or
 * `KAFKA_BROKERS` and `REDIS_URL`) against workers started with `npm run example:research-team:worker`
 * — or `--workers N` to start them here. Prints the agents' progress as the runner streams it (from
 * inside the replicas), the transcript and the report; `--json` prints the result as JSON instead.
 * See README.md beside this file.
 */
import { fileURLToPath } from "node:url";
import { CONNECTION_FLAGS, CONNECTION_HELP, intFlag, parseFlags } from "../../cli/args.js";
import { EXIT, runMain } from "../../cli/cliError.js";
import { resolveConnection } from "../../cli/connect.js";
import { DEFAULT_QUESTION, runTeam, type TeamResult } from "./team.js";

const HELP = `Usage: npm run example:research-team -- [options]

Runs the research team (a supervisor handing a question to a researcher agent and a writer agent,
both prebuilt ReAct agents on scripted models) and prints what the agents did and the report.

Options:
  --question <text>       the question (default "${DEFAULT_QUESTION}")
  --workers <n>           distributed: start n worker processes for this run
  --json                  print the result as JSON
  -h, --help              this text

${CONNECTION_HELP}
`;

/** The result for people. */
export function formatTeam(result: TeamResult): string {
  const lines = [`Question: ${result.question}`, `Thread: ${result.threadId} (${result.description})`, ""];
  for (const [agent, a] of Object.entries(result.activity)) {
    const where = [...new Set(a.tools.map((t) => t.servedBy))].join(", ") || "-";
    lines.push(
      `${agent}: ${a.tokens} tokens streamed, ${a.tools.length} tool calls (ran on ${where}), ${result.agentCheckpoints[agent] ?? 0} checkpoints`,
    );
  }
  lines.push("", "Transcript:", ...result.transcript.map((l) => `  ${l}`), "", `Report: ${result.report}`);
  return lines.join("\n");
}

await runMain(async () => {
  const { values } = parseFlags("example:research-team", process.argv.slice(2), {
    ...CONNECTION_FLAGS,
    question: { type: "string" },
    workers: { type: "string" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help === true) {
    process.stdout.write(HELP);
    return EXIT.ok;
  }
  const workerScript = fileURLToPath(new URL("./worker.ts", import.meta.url));
  const result = await runTeam({
    connection: resolveConnection(values),
    ...(values.question !== undefined ? { question: values.question } : {}),
    workers: intFlag("workers", values.workers, 0, 0, 64),
    // Same Node and loader flags as this process (`--import tsx`), so the worker runs the same TypeScript.
    workerCommand: { command: process.execPath, args: [...process.execArgv, workerScript] },
  });
  process.stdout.write(values.json === true ? `${JSON.stringify(result, null, 2)}\n` : `${formatTeam(result)}\n`);
  return EXIT.ok;
});
