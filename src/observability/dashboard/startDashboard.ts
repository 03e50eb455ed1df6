/**
 * The live dashboard's server: plain `node:http`, three static files and one Server-Sent Events
 * stream (`/events`) carrying a {@link DashboardSnapshot} per sample. Sampling runs only while at
 * least one page is open — an idle dashboard puts no load on Redis — and a page that reads slowly
 * misses samples instead of making the server buffer them.
 *
 * The server renders nothing from the network into HTML: names travel as JSON and the page puts
 * them into the DOM as text. A strict Content-Security-Policy backs that up, and on a loopback bind
 * requests must name a loopback host, so a web page elsewhere cannot read the stream through DNS
 * rebinding.
 *
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createConsoleLogger, type Logger } from "../logger.js";
import { defaultAssetsDir, loadDashboardAssets } from "./dashboardAssets.js";
import { resolveDashboardOptions, type DashboardOptions } from "./dashboardOptions.js";
import { fabricSnapshot } from "./DashboardSnapshot.js";
import { SnapshotStream } from "./SnapshotStream.js";

/** A running dashboard. */
export interface Dashboard {
  /** Where to open it, e.g. `http://127.0.0.1:8080/`. */
  readonly url: string;
  /** The port it listens on (the one picked when 0 was asked for). */
  readonly port: number;
  /** Ends every open stream and stops listening. */
  close(): Promise<void>;
}

const SECURITY_HEADERS = {
  "Content-Security-Policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Cache-Control": "no-store",
} as const;

/**
 * Starts the dashboard: `startDashboard({ fabric })` shows this process's fabric;
 * `startDashboard({ source })` shows whatever the source samples (the CLI's `dashboard` command
 * passes the `status` report of a fabric on Kafka and Redis).
 *
 * @throws RangeError or ConfigurationError for bad options; the listen error (e.g. `EADDRINUSE`).
 */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const o = resolveDashboardOptions(options, (fabric) => () => fabricSnapshot(fabric));
  const logger: Logger = options.logger ?? createConsoleLogger({ name: "dashboard" });
  const assets = loadDashboardAssets(o.assetsDir ?? defaultAssetsDir());
  const stream = new SnapshotStream(o.source, o.sampleIntervalMs, logger);
  const checkHost = isLoopback(o.host);

  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (e) {
      logger.error("dashboard request failed", { error: (e as Error).message });
      if (!res.headersSent) res.writeHead(500, SECURITY_HEADERS);
      res.end();
    }
  });
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { ...SECURITY_HEADERS, Allow: "GET, HEAD" }).end();
      return;
    }
    if (checkHost && !isLoopbackHostHeader(req.headers.host)) {
      res
        .writeHead(421, { ...SECURITY_HEADERS, "Content-Type": "text/plain; charset=utf-8" })
        .end("this dashboard answers to localhost only\n");
      return;
    }
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (path === "/events") {
      if (stream.clients >= o.maxClients) {
        res.writeHead(503, { ...SECURITY_HEADERS, "Retry-After": "5" }).end();
        return;
      }
      res.writeHead(200, { ...SECURITY_HEADERS, "Content-Type": "text/event-stream; charset=utf-8", Connection: "keep-alive" });
      if (req.method === "HEAD") {
        res.end();
        return;
      }
      stream.add(res);
      return;
    }
    if (path === "/snapshot.json") {
      void stream.sampleOnce().then((body) => {
        res.writeHead(200, { ...SECURITY_HEADERS, "Content-Type": "application/json; charset=utf-8" });
        res.end(req.method === "HEAD" ? undefined : body);
      });
      return;
    }
    if (path === "/favicon.ico") {
      res.writeHead(204, SECURITY_HEADERS).end(); // no icon: browsers ask anyway
      return;
    }
    if (path === "/healthz") {
      res.writeHead(200, { ...SECURITY_HEADERS, "Content-Type": "text/plain; charset=utf-8" }).end("ok\n");
      return;
    }
    const asset = assets.get(path === "/index.html" ? "/" : path);
    if (asset === undefined) {
      res.writeHead(404, { ...SECURITY_HEADERS, "Content-Type": "text/plain; charset=utf-8" }).end("not found\n");
      return;
    }
    res.writeHead(200, { ...SECURITY_HEADERS, "Content-Type": asset.contentType, "Content-Length": asset.body.length });
    res.end(req.method === "HEAD" ? undefined : asset.body);
  };

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = o.host.includes(":") ? `[${o.host}]` : o.host;
  return {
    url: `http://${shownHost}:${port}/`,
    port,
    close: async () => {
      stream.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Whether a `Host` header names a loopback address (with or without a port). */
function isLoopbackHostHeader(header: string | undefined): boolean {
  if (header === undefined) return false;
  const name = header.startsWith("[") ? header.slice(1, header.indexOf("]")) : header.replace(/:\d+$/, "");
  return isLoopback(name.toLowerCase());
}
