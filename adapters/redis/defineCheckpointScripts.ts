import type { RedisClient } from "./createRedisClient.js";
import { deleteThread, getCheckpoint, putCheckpoint, putWrites } from "./lua/checkpointScripts.js";

type Arg = string | Buffer | number;

/** The checkpointer's Lua scripts as commands on an ioredis client (5 keys each). */
export interface CheckpointScripts {
  lgfPutCheckpoint(...args: Arg[]): Promise<number>;
  lgfPutCheckpointIndexed(...args: Arg[]): Promise<number>;
  lgfPutWrites(...args: Arg[]): Promise<number>;
  lgfGetCheckpointBuffer(...args: Arg[]): Promise<unknown>;
  lgfDeleteThread(...args: Arg[]): Promise<number>;
}

/**
 * Registers the checkpointer's scripts on a client with `defineCommand`, which sends EVALSHA and
 * falls back to EVAL after a `NOSCRIPT` (a restarted Redis forgets its script cache). Defining a
 * command twice on one shared client is harmless.
 */
export function defineCheckpointScripts(client: RedisClient): CheckpointScripts {
  const define = (name: string, lua: string, numberOfKeys = 5): void => {
    if (!(name in client)) client.defineCommand(name, { numberOfKeys, lua });
  };
  define("lgfPutCheckpoint", putCheckpoint);
  define("lgfPutCheckpointIndexed", putCheckpoint, 6);
  define("lgfPutWrites", putWrites);
  define("lgfGetCheckpoint", getCheckpoint);
  define("lgfDeleteThread", deleteThread);
  return client as unknown as CheckpointScripts;
}
