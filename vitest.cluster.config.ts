import { defineConfig } from "vitest/config";

// The cluster-mode tests (`npm run test:cluster`): they start a 3-node Kafka cluster and a Redis
// primary + replica + 3 Sentinels (scripts/servicesCluster.mjs), which takes a minute or more on a
// loaded machine, so they are kept out of `npm test`.
export default defineConfig({
  test: {
    include: ["test/cluster/**/*.test.ts"],
    testTimeout: 240_000,
    hookTimeout: 300_000,
    fileParallelism: false,
  },
});
