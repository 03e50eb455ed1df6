// The dashboard in a real headless Chromium, on a fabric in this process (in-memory transport):
// the page shows a replica the test starts — by its id, with its health — and shows it gone once
// it stops; names from the network are shown as text, never run as markup. Every wait is on a
// condition in the page. Screenshots land in test-results/dashboard/.
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFabric, type Fabric } from "../../../src/fabric.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { startDashboard, type Dashboard, type DashboardSnapshot } from "../../../src/observability/dashboard/index.js";
import { launchChromium, replicaRow, screenshot } from "./browser.js";

let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser.close();
});

describe("dashboard page (in-memory fabric)", () => {
  let fabric: Fabric;
  let dashboard: Dashboard;

  beforeAll(async () => {
    // Heartbeats every 500 ms: replicas publish their calls/s and latency with each one.
    fabric = await createFabric({ logger: silentLogger, monitors: false, registryOptions: { heartbeatIntervalMs: 500 } });
    dashboard = await startDashboard({ fabric, port: 0, sampleIntervalMs: 200, logger: silentLogger });
  });

  afterAll(async () => {
    await dashboard.close();
    await fabric.stop({ drainTimeoutMs: 0 });
  });

  it("shows a replica the test starts, with its calls, and shows it gone when it stops", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => (m.type() === "error" ? errors.push(m.text()) : undefined));
    try {
      await page.goto(dashboard.url);
      await page.locator("body[data-samples]").waitFor();
      await page.getByText("No replicas registered").waitFor();

      const served = await fabric.serve({ scorer: (s: { x: number }) => Promise.resolve({ x: s.x * 2 }) }, { nodes: ["scorer"] });
      const replicaId = served.replicas.scorer!;
      const row = replicaRow(page, replicaId);
      await row.waitFor();
      expect(await row.locator("td").first().textContent()).toBe(replicaId);
      // Waited for, not read once: on a loaded machine a heartbeat can be late for a moment.
      await row.locator(".badge", { hasText: "healthy" }).waitFor();
      expect(await page.locator('[data-node="scorer"] h3').textContent()).toMatch(/^scorer 1 replica/);

      // Calls from this process, until the page shows the replica's measured rate and latency:
      // the callers table, a non-zero calls/s on the node, a line per node in the charts.
      const calling = { on: true };
      const calls = (async () => {
        for (let i = 0; calling.on; i += 1) {
          expect(await fabric.remoteNode("scorer").invoke({ x: i }, { configurable: { thread_id: `t${i}` } })).toEqual({ x: 2 * i });
          await new Promise((r) => setTimeout(r, 20)); // a steady trickle, not a busy loop
        }
      })();
      try {
        await page.locator("#callers td", { hasText: "scorer" }).waitFor();
        await page.locator('[data-node="scorer"] h3', { hasText: /[1-9]\d*\.\d calls\/s|0\.[1-9] calls\/s/ }).waitFor();
        await page.locator("#chart-latency polyline").waitFor({ state: "attached" });
        await row.locator("td", { hasText: / ms$/ }).waitFor();
      } finally {
        calling.on = false;
        await calls;
      }
      await page.locator("#legend li", { hasText: "scorer" }).waitFor();
      expect(await page.locator("#live").getAttribute("class")).toBe("live-ok");
      await screenshot(page, "in-memory-replica");

      await served.stop();
      await row.waitFor({ state: "detached" });
      await page.getByText("No replicas registered").waitFor();
      await screenshot(page, "in-memory-gone");
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});

describe("dashboard page (hostile names)", () => {
  it("renders names from the network as text: no element or script comes from them", async () => {
    const hostile = `<img src=x onerror="window.__pwned=1">"'&`;
    const now = Date.now();
    const snapshot: DashboardSnapshot = {
      observedAt: now,
      connection: `<script>window.__pwned=2</script>`,
      nodes: [
        {
          node: hostile,
          callsPerSecond: 1.5,
          replicas: [
            {
              node: hostile,
              replicaId: `${hostile}#1`,
              address: { replicaId: `${hostile}#1`, partitions: [0] },
              capabilities: [],
              version: "",
              weight: 1,
              status: "active",
              startedAt: now,
              lastHeartbeat: now,
              expireAfterMs: 9000,
              load: { inFlight: 0, latencyEwmaMs: 3, errorRate: 0, cpu: 0.1, memoryBytes: 1 << 26, callsPerSecond: 1.5 },
              meta: { host: hostile },
            },
          ],
        },
      ],
      callers: [],
      negotiations: [{ id: hostile, type: hostile, topic: hostile, participants: [hostile], round: 1, answered: [], deadline: now + 5000 }],
    };
    const dashboard = await startDashboard({
      source: () => ({ ...snapshot, observedAt: Date.now() }),
      port: 0,
      sampleIntervalMs: 200,
      logger: silentLogger,
    });
    const page = await browser.newPage();
    try {
      await page.goto(dashboard.url);
      await replicaRow(page, `${hostile}#1`).waitFor();
      expect(await page.locator("#connection").textContent()).toBe(snapshot.connection);
      expect(await page.locator("#negotiations td").first().textContent()).toBe(hostile);
      expect(await page.locator("main img, main script").count()).toBe(0);
      expect(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined();
    } finally {
      await page.close();
      await dashboard.close();
    }
  });
});
