// "No consumer group left behind": callers and notice subscribers use private groups that never
// commit; a clean stop deletes them, and the groups of a killed process are removed once its
// session has expired, by the next transport that starts.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { TopicNames } from "../../../adapters/kafka/topicNames.js";
import { sleep } from "../../conformance/stateStoreConformance.js";
import { KafkaTestContext } from "./kafkaHarness.js";

const context = new KafkaTestContext();
afterAll(() => context.close(), 60_000);
const names = new TopicNames(context.prefix);

async function groupStates(ids: readonly string[]): Promise<Record<string, string>> {
  await context.admin.connect();
  const listed = new Set((await context.admin.listGroups()).groups.map((g) => g.groupId));
  const { groups } = await context.admin.describeGroups([...ids]);
  return Object.fromEntries(ids.map((id) => [id, listed.has(id) ? (groups.find((g) => g.groupId === id)?.state ?? "?") : "gone"]));
}

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(200);
  }
  return Date.now() - t0;
}

describe("KafkaTransport consumer groups", () => {
  it("deletes its caller and notice groups on stop", async () => {
    const t = context.transport();
    await t.start();
    await t.subscribe("registry", () => undefined);
    const ids = [names.callerGroup(t.callerId), names.noticeGroup(t.callerId)];
    expect(Object.values(await groupStates(ids))).toEqual(["Stable", "Stable"]);
    const t0 = Date.now();
    await t.stop();
    const stopMs = Date.now() - t0;
    expect(stopMs).toBeLessThan(5_000);
    await until(async () => Object.values(await groupStates(ids)).every((s) => s === "gone"), 10_000);
  }, 60_000);

  it("removes the groups of a SIGKILLed caller once its session expired", async () => {
    const callerId = `child-${randomBytes(3).toString("hex")}`;
    const ids = [names.callerGroup(callerId), names.noticeGroup(callerId)];
    const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures", "callerProcess.ts");
    const child = spawn(process.execPath, ["--import", "tsx", fixture], {
      env: {
        ...process.env,
        KAFKA_BROKERS: context.brokers.join(","),
        LGF_PREFIX: context.prefix,
        LGF_CALLER_ID: callerId,
        LGF_SESSION_TIMEOUT_MS: "3000",
      },
      stdio: ["ignore", "pipe", "inherit"],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on("data", (d: Buffer) => {
          if (d.toString().includes("ready")) resolve();
        });
        child.once("exit", (code) => reject(new Error(`child exited early (${code})`)));
      });
      expect(Object.values(await groupStates(ids))).toEqual(["Stable", "Stable"]);
      child.kill("SIGKILL");
      // The broker notices the dead member after its session timeout (3 s); the groups are then empty.
      await until(async () => Object.values(await groupStates(ids)).every((s) => s === "Empty"), 20_000);
      // The next transport to start sweeps empty caller and notice groups of its prefix.
      const sweeper = context.transport();
      await sweeper.start();
      await until(async () => Object.values(await groupStates(ids)).every((s) => s === "gone"), 15_000);
      await sweeper.stop();
    } finally {
      child.kill("SIGKILL");
    }
  }, 90_000);
});
