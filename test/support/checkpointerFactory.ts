import { randomUUID } from "node:crypto";
import { Cluster, type Redis } from "ioredis";
import { RedisSaver, type RedisSaverOptions } from "../../adapters/redis/RedisSaver.js";

/** Deletes every key under `prefix` (tests only: SCAN is fine off the hot path). */
export async function deleteByPrefix(client: Redis | Cluster, prefix: string): Promise<void> {
  const nodes = client instanceof Cluster ? client.nodes("master") : [client];
  for (const node of nodes) {
    let cursor = "0";
    do {
      const [next, keys] = await node.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      cursor = next;
      // One DEL per key: in a Cluster the keys of one batch live in different slots.
      await Promise.all(keys.map((k) => node.del(k)));
    } while (cursor !== "0");
  }
}

/**
 * Makes a fresh, empty RedisSaver on a shared client by giving it a unique key prefix; the
 * validation suite reuses thread ids, so each checkpointer needs storage of its own.
 */
export function redisSaverFactory(client: Redis | Cluster, options: RedisSaverOptions = {}) {
  const prefixes = new WeakMap<RedisSaver, string>();
  return {
    create(): RedisSaver {
      const keyPrefix = `lgf-test:${randomUUID()}`;
      const saver = new RedisSaver(client, { ...options, keyPrefix });
      prefixes.set(saver, keyPrefix);
      return saver;
    },
    async destroy(saver: RedisSaver): Promise<void> {
      const prefix = prefixes.get(saver);
      if (prefix !== undefined) await deleteByPrefix(client, prefix);
    },
  };
}
