/**
 * Samples a dashboard source on an interval while pages are connected and writes each sample to
 * every page's Server-Sent Events stream.
 *
 * @module
 */
import type { ServerResponse } from "node:http";
import type { Logger } from "../logger.js";
import type { DashboardSource } from "./dashboardOptions.js";

const RETRY_MS = 2_000; // how long a page's EventSource waits before reconnecting

/** The SSE side of the dashboard; see the module comment. */
export class SnapshotStream {
  private readonly pages = new Set<ServerResponse>();
  private timer: NodeJS.Timeout | undefined;
  private latest: string | undefined;
  private failing = false;
  private sampling = false;
  private closed = false;

  /** @param intervalMs time between samples, in ms (validated by the caller). */
  constructor(
    private readonly source: DashboardSource,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  /** Pages connected now. */
  get clients(): number {
    return this.pages.size;
  }

  /** Adds a page's response (headers already written): it gets the latest sample at once, then every new one. */
  add(res: ServerResponse): void {
    this.pages.add(res);
    res.write(`retry: ${RETRY_MS}\n\n`);
    if (this.latest !== undefined) res.write(this.latest);
    res.on("close", () => {
      this.pages.delete(res);
      if (this.pages.size === 0) this.stop();
    });
    if (this.timer === undefined && !this.sampling) this.tick();
  }

  /** One sample now, as JSON (for `/snapshot.json`); a failure as `{ "error": message }`. */
  async sampleOnce(): Promise<string> {
    try {
      return JSON.stringify(await this.source());
    } catch (e) {
      return JSON.stringify({ error: (e as Error).message });
    }
  }

  /** Ends every stream and stops sampling. */
  close(): void {
    this.closed = true;
    this.stop();
    for (const res of this.pages) res.end();
    this.pages.clear();
  }

  private stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    // The next sample is scheduled only when this one is done: a slow store never has two reads in flight.
    this.timer = undefined;
    this.sampling = true;
    void this.sample().finally(() => {
      this.sampling = false;
      if (!this.closed && this.pages.size > 0) this.timer = setTimeout(() => this.tick(), this.intervalMs);
    });
  }

  private async sample(): Promise<void> {
    let frame: string;
    try {
      // JSON.stringify escapes line breaks inside strings, so one sample is one `data:` line.
      frame = `event: snapshot\ndata: ${JSON.stringify(await this.source())}\n\n`;
      this.latest = frame;
      if (this.failing) this.logger.info("dashboard sampling recovered");
      this.failing = false;
    } catch (e) {
      const message = (e as Error).message;
      if (!this.failing) this.logger.warn("dashboard sampling failed; retrying every interval", { error: message });
      this.failing = true;
      frame = `event: problem\ndata: ${JSON.stringify({ message })}\n\n`;
    }
    for (const res of this.pages) {
      // A page that has not taken the last frame yet skips this one: samples replace each other.
      if (!res.writableNeedDrain) res.write(frame);
    }
  }
}
