/**
 * Bundles benchmark programs to plain JavaScript, as the package ships (tsup, no `keepNames`).
 * Run through tsx, TypeScript sources get esbuild's `keepNames`, which wraps every function created
 * at run time in a `__name()` call (an `Object.defineProperty`): about 15x the cost of creating a
 * closure, and 15–30% more CPU per node call in this package's own code than the built package
 * spends. Bundles go to `node_modules/.cache/`, so bare imports resolve to the installed packages.
 */
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (this file is bench/lib/bundle.ts). */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/**
 * Bundles each entry (name → TypeScript file) to `<outdir>/<name>.mjs`, every package external.
 * Returns the output directory.
 */
export async function bundleEntries(entries: Record<string, string>): Promise<string> {
  // esbuild is the toolchain's (tsx and tsup are built on it), loaded only when bundling.
  const { build } = await import("esbuild");
  const outdir = join(repoRoot, "node_modules", ".cache", "langgraph-fabric-bench");
  mkdirSync(outdir, { recursive: true });
  await build({
    entryPoints: entries,
    outdir,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    logLevel: "warning",
  });
  return outdir;
}
