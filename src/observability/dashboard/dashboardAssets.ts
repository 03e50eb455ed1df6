/**
 * The page's static files (HTML, JS, CSS), written by hand and shipped as they are: no bundler,
 * no build step for the user. From the sources they sit in `static/` beside this file; tsup copies
 * them to `dist/dashboard/`, where the bundled code (a chunk in `dist/`) finds them.
 *
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigurationError } from "../../errors.js";

/** One static file, read once at start. */
export interface DashboardAsset {
  readonly contentType: string;
  readonly body: Buffer;
}

/** URL path → file name of every asset served. */
const FILES: Readonly<Record<string, { file: string; contentType: string }>> = {
  "/": { file: "index.html", contentType: "text/html; charset=utf-8" },
  "/dashboard.js": { file: "dashboard.js", contentType: "text/javascript; charset=utf-8" },
  "/dashboard.css": { file: "dashboard.css", contentType: "text/css; charset=utf-8" },
};

/** Where the assets are: `static/` next to the source file, or `dashboard/` next to the built chunk. */
export function defaultAssetsDir(): string {
  const here = fileURLToPath(new URL(".", import.meta.url));
  const candidates = [join(here, "static"), join(here, "dashboard")];
  const found = candidates.find((dir) => existsSync(join(dir, "index.html")));
  if (found === undefined) {
    throw new ConfigurationError(`dashboard assets not found (looked in ${candidates.join(", ")})`, {
      hint: "a build must copy src/observability/dashboard/static to dist/dashboard (tsup.config.ts does), or pass assetsDir",
    });
  }
  return found;
}

/**
 * Reads every asset from `dir` into memory (a few kilobytes).
 *
 * @throws ConfigurationError naming the file that is missing.
 */
export function loadDashboardAssets(dir: string): ReadonlyMap<string, DashboardAsset> {
  const assets = new Map<string, DashboardAsset>();
  for (const [path, { file, contentType }] of Object.entries(FILES)) {
    const full = join(dir, file);
    if (!existsSync(full)) throw new ConfigurationError(`dashboard asset ${full} is missing`);
    assets.set(path, { contentType, body: readFileSync(full) });
  }
  return assets;
}
