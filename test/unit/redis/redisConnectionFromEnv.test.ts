import { describe, expect, it } from "vitest";
import { redisConnectionFromEnv } from "../../../adapters/redis/redisConnectionFromEnv.js";
import { isConfigurationError } from "../../../src/errors.js";

const configurationErrorOf = (env: NodeJS.ProcessEnv): string => {
  try {
    redisConnectionFromEnv(env);
  } catch (e) {
    expect(isConfigurationError(e)).toBe(true);
    return (e as Error).message;
  }
  throw new Error(`no error for ${JSON.stringify(env)}`);
};

describe("redisConnectionFromEnv", () => {
  it("is undefined when neither REDIS_URL nor REDIS_SENTINELS is set", () => {
    expect(redisConnectionFromEnv({})).toBeUndefined();
    expect(redisConnectionFromEnv({ REDIS_URL: " ", REDIS_SENTINELS: "" })).toBeUndefined();
  });

  it("takes REDIS_URL as it is, and masks its password in the description", () => {
    expect(redisConnectionFromEnv({ REDIS_URL: "redis://:secret@10.0.0.1:6379/2" })).toEqual({
      connection: "redis://:secret@10.0.0.1:6379/2",
      describe: "redis://:***@10.0.0.1:6379/2",
    });
  });

  it("builds Sentinel options from REDIS_SENTINELS and REDIS_SENTINEL_NAME", () => {
    const found = redisConnectionFromEnv({
      REDIS_SENTINELS: " 10.0.0.1:26379, s2:26380 ,",
      REDIS_SENTINEL_NAME: "fabric",
      REDIS_PASSWORD: "pw",
      REDIS_SENTINEL_PASSWORD: "spw",
    });
    expect(found).toEqual({
      connection: {
        sentinels: [
          { host: "10.0.0.1", port: 26379 },
          { host: "s2", port: 26380 },
        ],
        name: "fabric",
        options: { sentinelPassword: "spw", password: "pw" },
      },
      describe: "sentinel fabric@10.0.0.1:26379,s2:26380",
    });
  });

  it("rejects malformed or ambiguous settings with a ConfigurationError naming the variable", () => {
    expect(configurationErrorOf({ REDIS_URL: "127.0.0.1:6379" })).toContain("REDIS_URL");
    expect(configurationErrorOf({ REDIS_SENTINELS: "10.0.0.1:26379" })).toContain("REDIS_SENTINEL_NAME");
    expect(configurationErrorOf({ REDIS_SENTINELS: "10.0.0.1", REDIS_SENTINEL_NAME: "x" })).toContain('"10.0.0.1"');
    expect(configurationErrorOf({ REDIS_SENTINELS: "h:0", REDIS_SENTINEL_NAME: "x" })).toContain('"h:0"');
    expect(configurationErrorOf({ REDIS_SENTINELS: "h:26379", REDIS_SENTINEL_NAME: "x", REDIS_URL: "redis://h:6379" })).toContain("both");
  });
});
