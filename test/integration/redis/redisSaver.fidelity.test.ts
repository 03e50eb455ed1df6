import { emptyCheckpoint, uuid6, type Checkpoint } from "@langchain/langgraph-checkpoint";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import type { RedisSaver } from "../../../adapters/redis/RedisSaver.js";
import { redisSaverFactory } from "../../support/checkpointerFactory.js";
import { redisUrl } from "../../support/services.js";

// getTuple returns what put was given: every channel value, versioned or not. LangGraph's own
// graph-level tests put checkpoints whose `__pregel_tasks` value is `[]` with no version.

const client = new Redis(redisUrl());
const factory = redisSaverFactory(client);
const savers: RedisSaver[] = [];
function saver(): RedisSaver {
  const s = factory.create();
  savers.push(s);
  return s;
}
afterAll(async () => {
  await Promise.all(savers.map((s) => factory.destroy(s)));
  await client.quit();
});

function checkpointWith(values: Record<string, unknown>, versions: Record<string, number>): Checkpoint {
  return { ...emptyCheckpoint(), id: uuid6(-1), channel_values: values, channel_versions: versions };
}

describe("RedisSaver fidelity", () => {
  it("returns the values of channels that have no version, with the versioned ones", async () => {
    const s = saver();
    const checkpoint = checkpointWith({ __pregel_tasks: [], topic: "rates", counts: new Map([["a", 1]]) }, { topic: 1.5, counts: 1.25 });
    const config = { configurable: { thread_id: "t-unversioned", checkpoint_ns: "" } };
    const saved = await s.put(config, checkpoint, { source: "input", step: -1, parents: {} }, { topic: 1.5, counts: 1.25 });
    const tuple = await s.getTuple(saved);
    expect(tuple?.checkpoint.channel_values).toEqual({ __pregel_tasks: [], topic: "rates", counts: new Map([["a", 1]]) });
    expect(tuple?.checkpoint.channel_versions).toEqual({ topic: 1.5, counts: 1.25 });
  });

  it("keeps an unversioned value of a later checkpoint without touching earlier versioned blobs", async () => {
    const s = saver();
    const config = { configurable: { thread_id: "t-later", checkpoint_ns: "" } };
    const first = await s.put(
      config,
      checkpointWith({ topic: "a" }, { topic: 1.5 }),
      { source: "input", step: -1, parents: {} },
      { topic: 1.5 },
    );
    // The second checkpoint does not raise topic's version (its blob is reused) and adds an unversioned value.
    const second = await s.put(
      first,
      checkpointWith({ topic: "a", scratch: { note: "inline" } }, { topic: 1.5 }),
      { source: "loop", step: 0, parents: {} },
      {},
    );
    expect((await s.getTuple(second))?.checkpoint.channel_values).toEqual({ topic: "a", scratch: { note: "inline" } });
    expect((await s.getTuple(first))?.checkpoint.channel_values).toEqual({ topic: "a" });
  });

  it("getNextVersion works unbound (LangGraph before 1.7 passes it around as a function)", () => {
    const s = saver();
    // Unbound on purpose: that is how older LangGraph versions call it.
    // eslint-disable-next-line @typescript-eslint/unbound-method
    const { getNextVersion } = s;
    const next = getNextVersion(undefined);
    expect(next).toBeGreaterThanOrEqual(1);
    expect(next).toBeLessThan(2);
    expect(Math.floor(getNextVersion(next))).toBe(2);
  });
});
