import { defineConfig } from "vitest/config";

// Two projects: unit tests run on the in-memory adapters only; integration tests run against a
// real Kafka broker and a real Redis, which the global setup starts when they are not running.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          globals: true,
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts", "test/conformance/**/*.test.ts"],
          // The checkpoint validation suite registers its cases through vitest globals.
          globals: true,
          globalSetup: ["test/setup/services.ts"],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // One broker and one Redis on two cores: files in parallel mostly fight over them.
          fileParallelism: false,
        },
      },
    ],
  },
});
