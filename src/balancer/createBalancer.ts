/**
 * Builds a balancer from a strategy name or options.
 *
 * @module
 */
import type { ReplicaInfo } from "../registry/Registry.js";
import { BALANCER_NAMES, invalid, type Balancer, type BalancerName, type BalancerOptions, type BalancerReplica } from "./Balancer.js";
import { ConsistentHashBalancer, type ConsistentHashOptions } from "./ConsistentHashBalancer.js";
import { LeastConnectionsBalancer } from "./LeastConnectionsBalancer.js";
import { PerformanceBalancer, type PerformanceBalancerOptions } from "./PerformanceBalancer.js";
import { PowerOfTwoChoicesBalancer, type PowerOfTwoChoicesOptions } from "./PowerOfTwoChoicesBalancer.js";
import { ResourceBalancer, type ResourceBalancerOptions } from "./ResourceBalancer.js";
import { RoundRobinBalancer } from "./RoundRobinBalancer.js";
import { WeightedRoundRobinBalancer } from "./WeightedRoundRobinBalancer.js";

/** The default strategy: power of two choices over peak EWMA. */
export const DEFAULT_BALANCER: BalancerName = "p2c-ewma";

/** A strategy with its options, for {@link createBalancer}. */
export type BalancerSpec =
  | ({ strategy: "round-robin" | "weighted-round-robin" | "least-connections" } & BalancerOptions)
  | ({ strategy: "performance" } & PerformanceBalancerOptions)
  | ({ strategy: "resource" } & ResourceBalancerOptions)
  | ({ strategy: "p2c-ewma" } & PowerOfTwoChoicesOptions)
  | ({ strategy: "consistent-hash" } & ConsistentHashOptions);

/**
 * A balancer by strategy name (`"p2c-ewma"` when absent) or by {@link BalancerSpec}.
 *
 * ```ts
 * createBalancer();                                            // p2c-ewma
 * createBalancer("consistent-hash");
 * createBalancer({ strategy: "resource", cpuWeight: 1, memoryWeight: 0 });
 * ```
 *
 * @typeParam R - replica records (a registry `ReplicaInfo` by default).
 * @throws RangeError for an unknown strategy, or an invalid option (naming it and its value).
 */
export function createBalancer<R extends BalancerReplica = ReplicaInfo>(spec: BalancerName | BalancerSpec = DEFAULT_BALANCER): Balancer<R> {
  const options: BalancerSpec = typeof spec === "string" ? { strategy: spec } : spec;
  const strategy: unknown = options.strategy;
  switch (options.strategy) {
    case "round-robin":
      return new RoundRobinBalancer<R>(options);
    case "weighted-round-robin":
      return new WeightedRoundRobinBalancer<R>(options);
    case "least-connections":
      return new LeastConnectionsBalancer<R>(options);
    case "performance":
      return new PerformanceBalancer<R>(options);
    case "resource":
      return new ResourceBalancer<R>(options);
    case "p2c-ewma":
      return new PowerOfTwoChoicesBalancer<R>(options);
    case "consistent-hash":
      return new ConsistentHashBalancer<R>(options);
    default:
      throw invalid("strategy", `one of ${BALANCER_NAMES.join(", ")}`, strategy);
  }
}
