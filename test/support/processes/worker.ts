/**
 * A worker process for crash tests: serves NODES (comma-separated) of the effect graph until
 * SIGTERM, printing "ready" once its replicas are registered.
 */
import { builder } from "./effectGraph.js";
import { fabricFromEnv } from "./fabricFromEnv.js";

const fabric = await fabricFromEnv();
await fabric.serve(builder, { nodes: (process.env.NODES ?? "a,b,c").split(","), concurrency: 4 });
process.stdout.write("ready\n");
process.on("SIGTERM", () => {
  void fabric.stop().finally(() => process.exit(0));
});
