// `langgraph-fabric dashboard` mistakes end before any connection: a bad flag value or no fabric to
// observe is a CliError with exit code 2 and a hint.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CliError } from "../../../cli/cliError.js";
import { dashboardCommand } from "../../../cli/dashboard.js";

const saved: Record<string, string | undefined> = {};
beforeEach(() => {
  saved.KAFKA_BROKERS = process.env.KAFKA_BROKERS;
  saved.REDIS_URL = process.env.REDIS_URL;
  delete process.env.KAFKA_BROKERS;
  delete process.env.REDIS_URL;
});
afterEach(() => {
  for (const [k, v] of Object.entries(saved)) if (v !== undefined) process.env[k] = v;
});

async function failure(argv: string[]): Promise<CliError> {
  const e = await dashboardCommand(argv).catch((x: unknown) => x);
  expect(e).toBeInstanceOf(CliError);
  return e as CliError;
}

describe("dashboard command", () => {
  it("refuses an embedded connection with a hint to pass Kafka and Redis or embed startDashboard", async () => {
    const e = await failure([]);
    expect(e.exitCode).toBe(2);
    expect(e.message).toBe("dashboard: no Kafka and Redis to observe");
    expect(e.hint).toMatch(/--kafka and --redis.*startDashboard\(\{ fabric \}\)/);
  });

  it("names a bad --port or --interval", async () => {
    expect((await failure(["--port", "99999"])).message).toBe('--port must be an integer from 0 to 65535 (got "99999")');
    expect((await failure(["--interval", "5"])).message).toMatch(/^--interval must be an integer from 100/);
    expect((await failure(["--bogus"])).exitCode).toBe(2);
  });
});
