// The dashboard server without a browser: option validation, the HTTP surface (assets, 405, 404,
// the loopback Host check, security headers) and the event stream (a sample per interval while a
// page is connected, `problem` events while the source fails, recovery, no sampling when idle).
import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { isConfigurationError } from "../../../src/errors.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { startDashboard, type Dashboard, type DashboardSnapshot } from "../../../src/observability/dashboard/index.js";

const open: Dashboard[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((d) => d.close()));
});

const snapshot = (n: number): DashboardSnapshot => ({ observedAt: n, connection: "test", nodes: [], callers: [] });

async function start(source: () => DashboardSnapshot | Promise<DashboardSnapshot>): Promise<Dashboard> {
  const d = await startDashboard({ source, port: 0, sampleIntervalMs: 100, logger: silentLogger });
  open.push(d);
  return d;
}

/** A raw request, so the Host header and the method are ours to choose. */
function raw(
  url: string,
  options: { method?: string; host?: string } = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: options.method ?? "GET", headers: options.host === undefined ? {} : { host: options.host } },
      (res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** Reads SSE events from `/events` until `until` says stop; returns them. */
async function events(
  url: string,
  until: (events: { event: string; data: string }[]) => boolean,
): Promise<{ event: string; data: string }[]> {
  const controller = new AbortController();
  const res = await fetch(`${url}events`, { signal: controller.signal });
  expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const seen: { event: string; data: string }[] = [];
  let buffer = "";
  while (!until(seen)) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(frame)?.[1];
      const data = /^data: (.*)$/m.exec(frame)?.[1];
      if (event !== undefined && data !== undefined) seen.push({ event, data });
    }
  }
  controller.abort();
  return seen;
}

describe("startDashboard options", () => {
  it("rejects bad values naming the option, and a missing source", async () => {
    const source = () => snapshot(0);
    await expect(startDashboard({ source, port: 70_000 })).rejects.toThrow(
      new RangeError("port must be an integer from 0 to 65535 (got 70000)"),
    );
    await expect(startDashboard({ source, host: " " })).rejects.toThrow(RangeError);
    await expect(startDashboard({ source, sampleIntervalMs: 10 })).rejects.toThrow(
      /sampleIntervalMs must be an integer of at least 100 ms \(got 10\)/,
    );
    await expect(startDashboard({ source, maxClients: 0 })).rejects.toThrow(/maxClients/);
    const missing = await startDashboard({}).catch((e: unknown) => e);
    expect(isConfigurationError(missing)).toBe(true);
  });
});

describe("dashboard HTTP surface", () => {
  it("serves the page with a strict CSP, and 405, 404, 421 where it should", async () => {
    const d = await start(() => snapshot(0));
    expect(d.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await raw(d.url);
    expect(page.status).toBe(200);
    expect(page.body).toContain('<script type="module" src="dashboard.js">');
    expect(page.headers["content-security-policy"]).toMatch(/^default-src 'none'; script-src 'self'/);
    expect(page.headers["x-content-type-options"]).toBe("nosniff");
    expect((await raw(`${d.url}dashboard.js`)).headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect((await raw(d.url, { method: "POST" })).status).toBe(405);
    expect((await raw(`${d.url}../../etc/passwd`)).status).toBe(404);
    expect((await raw(`${d.url}nope`)).status).toBe(404);
    expect((await raw(d.url, { host: "attacker.example" })).status).toBe(421);
    expect((await raw(d.url, { host: `localhost:${d.port}` })).status).toBe(200);
    expect((await raw(`${d.url}healthz`)).body).toBe("ok\n");
    expect(JSON.parse((await raw(`${d.url}snapshot.json`)).body)).toEqual(snapshot(0));
  });
});

describe("dashboard event stream", () => {
  it("sends a sample per interval while a page is connected, and nothing while none is", async () => {
    let calls = 0;
    const d = await start(() => snapshot((calls += 1)));
    expect(calls).toBe(0); // idle: no page, no sampling
    const seen = await events(d.url, (e) => e.length >= 3);
    expect(seen.map((e) => e.event)).toEqual(["snapshot", "snapshot", "snapshot"]);
    const numbers = seen.map((e) => (JSON.parse(e.data) as DashboardSnapshot).observedAt);
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    // After the page left, sampling stops: the count settles (at most one sample was in flight).
    await new Promise((r) => setTimeout(r, 50));
    const settled = calls;
    await new Promise((r) => setTimeout(r, 400));
    expect(calls - settled).toBeLessThanOrEqual(1);
  });

  it("reports a failing source as problem events and recovers", async () => {
    let failing = true;
    const d = await start(() => {
      if (failing) throw new Error("redis: connection refused");
      return snapshot(1);
    });
    const seen = await events(d.url, (e) => {
      if (e.length >= 2) failing = false;
      return e.some((x) => x.event === "snapshot");
    });
    expect(seen[0]).toEqual({ event: "problem", data: JSON.stringify({ message: "redis: connection refused" }) });
    expect(seen.at(-1)?.event).toBe("snapshot");
  });

  it("keeps names with line breaks in one data line", async () => {
    const d = await start(() => ({ ...snapshot(1), connection: "a\n\ndata: injected" }));
    const [first] = await events(d.url, (e) => e.length >= 1);
    expect((JSON.parse(first!.data) as DashboardSnapshot).connection).toBe("a\n\ndata: injected");
  });
});
