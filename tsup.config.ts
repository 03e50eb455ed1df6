import { cp } from "node:fs/promises";
import { defineConfig } from "tsup";

// Three entry points, each shipped as ESM and CommonJS with declarations. The adapters import the
// core through its public entry so the core is bundled once per format, not once per entry.
// `cli` is the `langgraph-fabric` command (package.json "bin": dist/cli.js): its source starts
// with `#!/usr/bin/env node`, which esbuild keeps and tsup marks executable; it shares the chunks
// of the other entries.
export default defineConfig({
  entry: {
    index: "src/index.ts",
    kafka: "adapters/kafka/index.ts",
    redis: "adapters/redis/index.ts",
    cli: "cli/main.ts",
  },
  format: ["esm", "cjs"],
  dts: true,
  sourcemap: true,
  clean: true,
  splitting: true,
  // import.meta.url in the CommonJS build too (patchKafkajsIdleLoop resolves kafkajs through it).
  shims: true,
  target: "node20",
  platform: "node",
  external: [/^@langchain\//, "ioredis", "kafkajs", "cockatiel", "zod"],
  // The dashboard page ships as the static files it is written as (no bundler for the browser
  // side); the bundled server looks for them in dist/dashboard/ next to its chunk.
  onSuccess: async () => {
    await cp("src/observability/dashboard/static", "dist/dashboard", { recursive: true });
  },
});
