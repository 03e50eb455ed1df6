// Headless Chromium for the dashboard tests: Debian's `chromium` package driven by playwright-core
// (which downloads no browser of its own). The integration global setup installs the package when it is missing.
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";

/** The browser binary: `CHROMIUM_PATH`, else Debian's. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Where the tests save their screenshots (gitignored). */
export const SCREENSHOTS = fileURLToPath(new URL("../../../test-results/dashboard/", import.meta.url));

/** Launches headless Chromium; a clear error when it is not installed. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: install it (apt-get install -y chromium) or set CHROMIUM_PATH`);
  }
  // --no-sandbox: CI and these machines run as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
}

/** Saves a full-page screenshot as `<SCREENSHOTS>/<name>.png` and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  const path = join(SCREENSHOTS, `${name}.png`);
  mkdirSync(dirname(path), { recursive: true });
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** A row of the replicas table, by replica id (attribute selectors need quotes and backslashes escaped). */
export function replicaRow(page: Page, replicaId: string) {
  return page.locator(`tr[data-replica-id="${replicaId.replace(/["\\]/g, "\\$&")}"]`);
}
