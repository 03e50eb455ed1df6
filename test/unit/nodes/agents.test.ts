import { MemorySaver } from "@langchain/langgraph";
import { afterAll } from "vitest";
import { createFabric, type Fabric } from "../../../src/fabric.js";
import { InMemoryStateBackend, InMemoryStateStore } from "../../../src/state/InMemoryStateStore.js";
import { InMemoryNetwork, InMemoryTransport } from "../../../src/transport/InMemoryTransport.js";
import { agentParityConformance } from "../../conformance/agentParityConformance.js";

// A caller "process" and two worker "processes" in one test, sharing an in-memory network (as they
// would share Kafka), an in-memory state backend (as they would share Redis) and, per run, one
// MemorySaver (as they would share a Redis checkpoint store).
const network = new InMemoryNetwork();
const backend = new InMemoryStateBackend();
const make = () =>
  createFabric({
    transport: new InMemoryTransport({ network }),
    state: new InMemoryStateStore({ backend }),
    registryOptions: { heartbeatIntervalMs: 200 },
  });
const fabrics: Fabric[] = await Promise.all([make(), make(), make()]);
afterAll(async () => {
  await Promise.all(fabrics.map((f) => f.stop()));
});

agentParityConformance("embedded fabric (in-memory transport)", () => ({
  caller: fabrics[0]!,
  workers: [fabrics[1]!, fabrics[2]!],
  checkpointStore: () => {
    const saver = new MemorySaver();
    return { open: () => saver };
  },
}));
