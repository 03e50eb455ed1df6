import { defineConfig } from "tsup";

// Three entry points, each shipped as ESM and CommonJS with declarations. The adapters import the
// core through its public entry so the core is bundled once per format, not once per entry.
export default defineConfig({
  entry: {
    index: "src/index.ts",
    kafka: "adapters/kafka/index.ts",
    redis: "adapters/redis/index.ts",
  },
  format: ["esm", "cjs"],
  dts: true,
  sourcemap: true,
  clean: true,
  splitting: true,
  target: "node20",
  platform: "node",
  external: [/^@langchain\//, "ioredis", "kafkajs", "cockatiel", "zod"],
});
