/**
 * A worker process for runner-crash tests: serves every node of the keyed effect graph with the
 * fabric its environment describes (`createFabricFromEnv`, default timeouts), printing "ready"
 * once registered.
 */
import { createFabricFromEnv } from "../../../adapters/kafka/createFabricFromEnv.js";
import { keyedBuilder } from "./keyedEffectGraph.js";

const fabric = await createFabricFromEnv({ healthCheckTimeoutMs: 15_000 }); // a loaded test machine answers slowly
await fabric.serve(keyedBuilder, { nodes: ["a", "b", "c"], concurrency: 16 });
process.stdout.write("ready\n");
process.on("SIGTERM", () => {
  void fabric.stop().finally(() => process.exit(0));
});
