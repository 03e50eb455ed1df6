/**
 * A worker process of the failover tests: serves the `work` node of the behaviour graph as one
 * replica (concurrency BEHAVIOUR_CONCURRENCY, default 4) until SIGTERM, printing `ready <pid>` once
 * it is registered. Its behaviour is switched through Redis (see `behaviourGraph.ts`).
 *
 * Environment: that of `behaviourFabric.ts` and `behaviourGraph.ts`, plus BEHAVIOUR_CONCURRENCY.
 */
import { builder, closeBehaviourGraph } from "./behaviourGraph.js";
import { behaviourFabric } from "./behaviourFabric.js";

const fabric = await behaviourFabric(process.env);
await fabric.serve(builder, { nodes: ["work"], concurrency: Number(process.env.BEHAVIOUR_CONCURRENCY ?? 4) });
process.stdout.write(`ready ${process.pid}\n`);
process.on("SIGTERM", () => {
  void fabric
    .stop()
    .then(closeBehaviourGraph)
    .finally(() => process.exit(0));
});
