// Redis over TLS with ACL users, on a private redis-server (TLS port only, the `default` user off)
// whose certificates are made for this run: the checkpointer and the state store work over
// rediss:// with a private CA (from options and from the environment), and a wrong password, a
// CA that did not sign the server's certificate and a user without the keys' permission each get
// a ConnectionSecurityError saying what failed, at once.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { Annotation, StateGraph } from "@langchain/langgraph";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisSaver } from "../../../adapters/redis/RedisSaver.js";
import { RedisStateStore } from "../../../adapters/redis/RedisStateStore.js";
import { isConnectionSecurityError, type ConnectionSecurityError } from "../../../src/errors.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { startRedisServer, type RedisServerHandle } from "../../support/redisServers.js";
import { makeTestCertificates, type TestCertificates } from "../../support/testCertificates.js";

/** This suite's port (16380-16389 are the security tests'). */
const PORT = 16380;
const ALICE = { username: "alice", password: "alice-redis-secret-5e1" };
const BOB = { username: "bob", password: "bob-redis-secret-a72" };

let certs: TestCertificates;
let server: RedisServerHandle;

beforeAll(async () => {
  certs = await makeTestCertificates();
  server = await startRedisServer({
    port: PORT,
    tls: { certFile: certs.serverCertFile, keyFile: certs.serverKeyFile, caFile: certs.caFile },
    // alice may do anything; bob only touches keys under other:*; nobody logs in as `default`.
    args: ["--user", "default", "off", "--user", ...acl(ALICE, "~*"), "--user", ...acl(BOB, "~other:*")],
  });
}, 60_000);

afterAll(async () => {
  // Undefined when beforeAll failed midway.
  await (server as RedisServerHandle | undefined)?.stop();
  (certs as TestCertificates | undefined)?.remove();
});

function acl(user: { username: string; password: string }, keys: string): string[] {
  return [user.username, "on", `>${user.password}`, keys, "&*", "+@all"];
}

const url = (user: { username: string; password: string }): string =>
  `rediss://${user.username}:${encodeURIComponent(user.password)}@127.0.0.1:${PORT}`;

async function failure(work: Promise<unknown>): Promise<ConnectionSecurityError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isConnectionSecurityError(error)) throw new Error(`expected a ConnectionSecurityError, got: ${String(error)}`, { cause: error });
  return error;
}

const State = Annotation.Root({ n: Annotation<number> });
const builder = new StateGraph(State)
  .addNode("inc", (s: typeof State.State) => ({ n: s.n + 1 }))
  .addEdge("__start__", "inc")
  .addEdge("inc", "__end__");

describe("Redis over TLS with an ACL user", () => {
  it("checkpoints a graph with RedisSaver.fromUrl(rediss://alice:…@…, { tls: { ca } })", async () => {
    const saver = await RedisSaver.fromUrl(url(ALICE), { tls: { ca: certs.ca }, keyPrefix: "tls-test", logger: silentLogger });
    try {
      const graph = builder.compile({ checkpointer: saver });
      const config = { configurable: { thread_id: "tls-thread" } };
      expect(await graph.invoke({ n: 1 }, config)).toEqual({ n: 2 });
      expect((await graph.getState(config)).values).toEqual({ n: 2 });
    } finally {
      await saver.end();
    }
  });

  it("keeps state and delivers notices with RedisStateStore.fromUrl, and with fromEnv (REDIS_TLS_CA_FILE, REDIS_PASSWORD_FILE)", async () => {
    const passwordFile = path.join(certs.dir, "redis-password");
    writeFileSync(passwordFile, `${ALICE.password}\n`);
    const stores = [
      RedisStateStore.fromUrl(url(ALICE), { tls: { ca: certs.ca }, keyPrefix: "tls-store" }),
      RedisStateStore.fromEnv(
        { keyPrefix: "tls-store" },
        {
          REDIS_URL: `rediss://127.0.0.1:${PORT}`,
          REDIS_TLS_CA_FILE: certs.caFile,
          REDIS_USERNAME: ALICE.username,
          REDIS_PASSWORD_FILE: passwordFile,
        },
      ),
    ];
    try {
      const [a, b] = stores as [RedisStateStore, RedisStateStore];
      const heard = new Promise<unknown>((resolve) => void b.subscribe("hello", resolve).then(() => a.publish("hello", { from: "a" })));
      await a.namespace("t").set("k", { v: 1 });
      expect(await b.namespace("t").get("k")).toEqual({ v: 1 });
      expect(await heard).toEqual({ from: "a" }); // the subscriber connection (a duplicate) is secured the same way
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it("reports a wrong password as an authentication failure", { timeout: 30_000 }, async () => {
    const error = await failure(RedisSaver.fromUrl(url({ ...ALICE, password: "wrong" }), { tls: { ca: certs.ca }, logger: silentLogger }));
    expect(error.service).toBe("redis");
    expect(error.failure).toBe("authentication");
    expect(error.message).toMatch(/Redis at 127\.0\.0\.1:16380 refused the credentials: WRONGPASS/);
    const store = RedisStateStore.fromUrl(url({ ...ALICE, password: "wrong" }), { tls: { ca: certs.ca } });
    try {
      expect((await failure(store.namespace("t").get("k"))).failure).toBe("authentication");
    } finally {
      await store.close();
    }
  });

  it("reports a server certificate from an untrusted CA as a certificate failure, at once", { timeout: 30_000 }, async () => {
    for (const tls of [{ ca: certs.otherCa }, undefined]) {
      const error = await failure(RedisSaver.fromUrl(url(ALICE), { ...(tls ? { tls } : {}), logger: silentLogger }));
      expect(error.failure).toBe("certificate");
      expect(error.message).toMatch(/certificate of Redis at 127\.0\.0\.1:16380 is not trusted/);
      expect(error.message).toMatch(/REDIS_TLS_CA_FILE/);
    }
    const store = RedisStateStore.fromUrl(url(ALICE), { tls: { ca: certs.otherCa } });
    try {
      expect((await failure(store.namespace("t").set("k", 1))).failure).toBe("certificate");
    } finally {
      await store.close();
    }
  });

  it("reports an ACL user without permission on the keys as an authorization failure", async () => {
    const store = RedisStateStore.fromUrl(url(BOB), { tls: { ca: certs.ca }, keyPrefix: "fabric" });
    try {
      const error = await failure(store.namespace("t").set("k", 1));
      expect(error.failure).toBe("authorization");
      expect(error.message).toMatch(/NOPERM/);
    } finally {
      await store.close();
    }
  });

  it("refuses credentials given both in the URL and in the options", () => {
    expect(() => RedisStateStore.fromUrl(url(ALICE), { password: "other" })).toThrow(/given both in the URL and in the options/);
  });
});
