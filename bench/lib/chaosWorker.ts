/**
 * A worker process of the chaos suite: serves the `act` node of the chaos graph with a fabric
 * built from its environment (`createFabricFromEnv`: KAFKA_BROKERS, REDIS_SENTINELS,
 * REDIS_SENTINEL_NAME, FABRIC_PREFIX, and whatever security settings the environment carries),
 * with the fabric's default settings. Tells the parent `ready` over IPC; stops on SIGTERM. The
 * suite SIGKILLs it.
 */
import { createFabricFromEnv } from "../../adapters/kafka/createFabricFromEnv.js";
import { createConsoleLogger } from "../../src/observability/logger.js";
import { ACT, builder, closeChaosGraph } from "./chaosGraph.js";

const logger = createConsoleLogger({ name: `chaos-worker-${process.pid}`, level: "warn" });
const fabric = await createFabricFromEnv({ logger });
await fabric.serve(builder, { nodes: [ACT] });
process.send?.({ type: "ready", pid: process.pid });
const stop = (): void => {
  void fabric
    .stop()
    .then(closeChaosGraph)
    .finally(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("disconnect", stop); // the orchestrator died: do not serve on as an orphan
