// Pending writes come back in (taskPath, taskId, idx) order, the 1.2 checkpointer contract that
// getDeltaChannelHistory and live execution rely on. The validation suite never passes a task
// path, so this stores writes of several tasks, with real-looking task paths, in an order that is
// neither path, task id nor insertion order, and compares with MemorySaver.
import { MemorySaver, type BaseCheckpointSaver } from "@langchain/langgraph";
import {
  INTERRUPT,
  emptyCheckpoint,
  uuid6,
  type Checkpoint,
  type CheckpointPendingWrite,
  type PendingWrite,
} from "@langchain/langgraph-checkpoint";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import type { RedisSaver } from "../../../adapters/redis/RedisSaver.js";
import { redisSaverFactory } from "../../support/checkpointerFactory.js";
import { redisUrl } from "../../support/services.js";

const client = new Redis(redisUrl());
const factory = redisSaverFactory(client);
const savers: RedisSaver[] = [];
afterAll(async () => {
  await Promise.all(savers.map((s) => factory.destroy(s)));
  await client.quit();
});

/** putWrites calls, in the order they are made: [taskId, taskPath, writes]. */
const CALLS: [string, string, PendingWrite[]][] = [
  [
    "a-push-1",
    "~__pregel_push, 0000000001",
    [
      ["items", "push 1 (first)"],
      ["items", "push 1 (second)"],
    ],
  ],
  ["a-zeta", "~__pregel_pull, zeta", [["items", "zeta"]]],
  // Regular write at idx 0, interrupt at idx -3: the special write sorts first within its task.
  [
    "z-alpha",
    "~__pregel_pull, alpha",
    [
      ["items", "alpha"],
      [INTERRUPT, { value: "ask?" }],
    ],
  ],
  ["b-push-0", "~__pregel_push, 0000000000", [["items", "push 0"]]],
  // Same path: task ids decide, compared by code point (U+FF61 before U+1F600; UTF-16 says otherwise).
  ["\u{1F600}", "~__pregel_pull, same", [["items", "same, astral id"]]],
  ["\uFF61", "~__pregel_pull, same", [["items", "same, BMP id"]]],
  // No path (graph input, Command updates) sorts before every real path.
  ["z-input", "", [["items", "input"]]],
];

const EXPECTED: CheckpointPendingWrite[] = [
  ["z-input", "items", "input"],
  ["z-alpha", INTERRUPT, { value: "ask?" }],
  ["z-alpha", "items", "alpha"],
  ["\uFF61", "items", "same, BMP id"],
  ["\u{1F600}", "items", "same, astral id"],
  ["a-zeta", "items", "zeta"],
  ["b-push-0", "items", "push 0"],
  ["a-push-1", "items", "push 1 (first)"],
  ["a-push-1", "items", "push 1 (second)"],
];

async function pendingWritesOf(saver: BaseCheckpointSaver): Promise<CheckpointPendingWrite[] | undefined> {
  const checkpoint: Checkpoint = { ...emptyCheckpoint(), id: uuid6(-1), channel_values: { items: [] }, channel_versions: { items: 1 } };
  const config = await saver.put(
    { configurable: { thread_id: "writes-order", checkpoint_ns: "" } },
    checkpoint,
    { source: "loop", step: 0, parents: {} },
    { items: 1 },
  );
  for (const [taskId, taskPath, writes] of CALLS) await saver.putWrites(config, writes, taskId, taskPath);
  return (await saver.getTuple(config))?.pendingWrites;
}

describe("RedisSaver pending writes", () => {
  it("come back sorted by (taskPath, taskId, idx), as MemorySaver returns them", async () => {
    const redis = factory.create();
    savers.push(redis);
    const fromRedis = await pendingWritesOf(redis);
    const fromMemory = await pendingWritesOf(new MemorySaver());
    // Guard against a vacuous test: the calls are not already in the sorted order.
    expect(CALLS.flatMap(([taskId, , writes]) => writes.map(([channel, value]) => [taskId, channel, value]))).not.toEqual(EXPECTED);
    expect(fromMemory).toEqual(EXPECTED);
    expect(fromRedis).toEqual(fromMemory);
  });
});
