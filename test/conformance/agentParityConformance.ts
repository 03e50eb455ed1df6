import { describe, expect, it } from "vitest";
import type { BaseCheckpointSaver } from "@langchain/langgraph";
import type { Fabric } from "../../src/fabric.js";
import { agentScenarios } from "./agentScenarios.js";
import type { Wrap } from "./parityScenarios.js";

/** What an agent parity run needs: fabrics, and checkpointers that share one store per run. */
export interface AgentParityEnvironment {
  /** The fabric of the process that runs the graph. */
  caller: Fabric;
  /** Fabrics of worker processes. Each serves every agent node. */
  workers: Fabric[];
  /**
   * A fresh, empty checkpoint store for one run; `open()` gives a checkpointer on it (the caller's
   * graph and every worker open their own, as separate processes would).
   */
  checkpointStore(): { open(): BaseCheckpointSaver };
}

/**
 * Runs every agent scenario twice, locally and with its agents served by `env().workers`, and
 * expects the observables (results, state, history, stream events) to be equal.
 */
export function agentParityConformance(name: string, env: () => AgentParityEnvironment): void {
  describe(`${name}: agents run whole on replicas and agree with the local run`, () => {
    for (const scenario of agentScenarios) {
      it(scenario.name, async () => {
        const { caller, workers } = env();
        const identity: Wrap = (b) => b;
        const local = scenario.build(identity, () => undefined);
        const expected = await scenario.run(local.compile(env().checkpointStore().open()), `agents-${scenario.name}`);

        const store = env().checkpointStore();
        const distributed = scenario.build(
          (b, nodes) => caller.distribute(b, { nodes }),
          () => undefined,
        );
        const toServe: [object, string[]][] = [];
        for (let i = 0; i < workers.length; i += 1) scenario.build(identity, (builder, nodes) => toServe.push([builder, nodes]));
        const handles = await Promise.all(
          toServe.map(([builder, nodes], i) => workers[i % workers.length]!.serve(builder, { nodes, checkpointer: store.open() })),
        );
        try {
          const actual = await scenario.run(distributed.compile(store.open()), `agents-${scenario.name}`);
          expect(actual).toEqual(expected);
          // The agents ran on the workers' replicas, not in the caller.
          const agentNodes = new Set(toServe.flatMap(([, nodes]) => nodes));
          const served = workers.flatMap((w) => w.status().served).filter((r) => agentNodes.has(r.node));
          expect(served.reduce((n, r) => n + r.stats.calls, 0)).toBeGreaterThan(0);
        } finally {
          await Promise.all(handles.map((h) => h.stop()));
        }
      });
    }
  });
}
