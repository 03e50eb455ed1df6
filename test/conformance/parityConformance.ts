import { describe, expect, it } from "vitest";
import type { BaseCheckpointSaver } from "@langchain/langgraph";
import type { Fabric } from "../../src/fabric.js";
import { parityScenarios, type Wrap } from "./parityScenarios.js";

/** What a parity run needs: a caller fabric, worker fabrics, and checkpointers. */
export interface ParityEnvironment {
  /** The fabric of the process that runs the graph. */
  caller: Fabric;
  /** Fabrics of worker processes (may include the caller's). Each serves every remote node. */
  workers: Fabric[];
  /** A fresh checkpointer for one run. */
  checkpointer(): BaseCheckpointSaver;
}

/**
 * Runs every parity scenario twice, locally and distributed through `env()`, and expects the
 * observable results to be equal.
 */
export function parityConformance(name: string, env: () => ParityEnvironment): void {
  describe(`${name}: local and distributed runs agree`, () => {
    for (const scenario of parityScenarios) {
      it(scenario.name, async () => {
        const { caller, workers } = env();
        const checkpointer = () => env().checkpointer();
        const identity: Wrap = (b) => b;
        const local = scenario.build(identity, () => undefined);
        const expected = await scenario.run(local.compile(checkpointer()), `local-${scenario.name}`);

        const toServe: [object, string[]][] = [];
        const distributed = scenario.build(
          (b, nodes) => caller.distribute(b, { nodes }),
          () => undefined,
        );
        // Workers serve the original builders, each from its own copy (node closures keep per-run state).
        for (let i = 0; i < workers.length; i += 1) scenario.build(identity, (builder, nodes) => toServe.push([builder, nodes]));
        const handles = await Promise.all(toServe.map(([builder, nodes], i) => workers[i % workers.length]!.serve(builder, { nodes })));
        try {
          const actual = await scenario.run(distributed.compile(checkpointer()), `remote-${scenario.name}`);
          expect(actual).toEqual(expected);
        } finally {
          await Promise.all(handles.map((h) => h.stop()));
        }
      });
    }
  });
}
