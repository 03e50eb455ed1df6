import { MemorySaver } from "@langchain/langgraph";
import { afterAll } from "vitest";
import { createFabric, type Fabric } from "../../../src/fabric.js";
import { InMemoryStateBackend, InMemoryStateStore } from "../../../src/state/InMemoryStateStore.js";
import { InMemoryNetwork, InMemoryTransport } from "../../../src/transport/InMemoryTransport.js";
import { parityConformance } from "../../conformance/parityConformance.js";

// A caller "process" and two worker "processes" in one test: separate fabrics sharing an in-memory
// network (as they would share Kafka) and an in-memory state backend (as they would share Redis).
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

parityConformance("embedded fabric (in-memory transport)", () => ({
  caller: fabrics[0]!,
  workers: [fabrics[1]!, fabrics[2]!],
  checkpointer: () => new MemorySaver(),
}));
