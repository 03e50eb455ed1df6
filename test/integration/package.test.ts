import { execFileSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";

// The published shape: tsup builds ESM + CommonJS + declarations for the three entry points, and a
// consumer can load each entry both ways through the package's own "exports" map.
const root = new URL("../..", import.meta.url).pathname;

function node(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: root, encoding: "utf8" }).trim();
}

describe("package build", () => {
  beforeAll(() => {
    execFileSync("npx", ["tsup", "--silent"], { cwd: root, stdio: "pipe" });
  }, 300_000);

  it("loads every entry point with require() and import", () => {
    const cjs = node([
      "-e",
      `const core = require("langgraph-fabric"); const redis = require("langgraph-fabric/redis"); const kafka = require("langgraph-fabric/kafka");
       console.log(JSON.stringify([typeof core.InMemoryStateStore, typeof redis.RedisSaver, typeof redis.RedisStateStore, typeof kafka.kafkaBrokersFromEnv]));`,
    ]);
    expect(JSON.parse(cjs)).toEqual(["function", "function", "function", "function"]);
    const esm = node([
      "--input-type=module",
      "-e",
      `const core = await import("langgraph-fabric"); const redis = await import("langgraph-fabric/redis"); const kafka = await import("langgraph-fabric/kafka");
       console.log(JSON.stringify([typeof core.InMemoryStateStore, typeof redis.RedisSaver, typeof redis.RedisStateStore, typeof kafka.kafkaBrokersFromEnv]));`,
    ]);
    expect(JSON.parse(esm)).toEqual(["function", "function", "function", "function"]);
  });

  it("ships the langgraph-fabric command: executable, runs on plain Node, the demo included", () => {
    const pkg = JSON.parse(readFileSync(`${root}package.json`, "utf8")) as { bin: Record<string, string> };
    const bin = `${root}${pkg.bin["langgraph-fabric"]}`;
    expect(readFileSync(bin, "utf8").startsWith("#!/usr/bin/env node\n")).toBe(true);
    expect(statSync(bin).mode & 0o111).not.toBe(0);
    expect(node([bin, "--help"])).toMatch(/^Usage: langgraph-fabric <command>/);
    // Embedded: without the services' addresses the integration setup exported to this process.
    const { KAFKA_BROKERS: _k, REDIS_URL: _r, ...env } = process.env;
    const demo = execFileSync(process.execPath, [bin, "demo", "--symbols", "AAPL,TSLA"], { cwd: root, encoding: "utf8", env });
    expect(demo).toMatch(/AAPL .*BUY 4\.2%[\s\S]*TSLA .*SELL 2\.7%/);
  });

  it("ships the dashboard page: packed in dist/dashboard/ and served by the bundle, ESM and CommonJS", () => {
    const packed = JSON.parse(execFileSync("npm", ["pack", "--dry-run", "--json"], { cwd: root, encoding: "utf8" })) as {
      files: { path: string }[];
    }[];
    const paths = packed[0]!.files.map((f) => f.path);
    expect(paths).toEqual(
      expect.arrayContaining(["dist/dashboard/index.html", "dist/dashboard/dashboard.js", "dist/dashboard/dashboard.css"]),
    );
    const serve = `const f = await core.createFabric({ logger: core.silentLogger, monitors: false });
       const d = await core.startDashboard({ fabric: f, port: 0, logger: core.silentLogger });
       const got = [];
       for (const p of ["", "dashboard.js", "dashboard.css", "snapshot.json"]) { const r = await fetch(d.url + p); got.push(r.status + " " + r.headers.get("content-type")); }
       await d.close(); await f.stop(); console.log(JSON.stringify(got));`;
    const expected = [
      "200 text/html; charset=utf-8",
      "200 text/javascript; charset=utf-8",
      "200 text/css; charset=utf-8",
      "200 application/json; charset=utf-8",
    ];
    expect(JSON.parse(node(["--input-type=module", "-e", `const core = await import("langgraph-fabric"); ${serve}`]))).toEqual(expected);
    expect(JSON.parse(node(["-e", `const core = require("langgraph-fabric"); (async () => { ${serve} })();`]))).toEqual(expected);
  });

  it("shares one error hierarchy between entry points", () => {
    const out = node([
      "-e",
      `const core = require("langgraph-fabric"); const { RedisSaver } = require("langgraph-fabric/redis");
       try { new RedisSaver("redis://127.0.0.1:1", { keyPrefix: "bad{prefix}" }); } catch (e) { console.log(e instanceof RangeError); }
       const saver = new RedisSaver("redis://127.0.0.1:1");
       saver.put({ configurable: {} }, {}, {}, {}).catch((e) => { console.log(core.isMissingThreadIdError(e), e instanceof core.FabricError); saver.end(); });`,
    ]);
    expect(out.split("\n")).toEqual(["true", "true true"]);
  });
});
