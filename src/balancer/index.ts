/**
 * Load balancing of remote node calls: the {@link Balancer} contract, one strategy per file, a
 * factory, and the adapter to the remote-node client's picker.
 *
 * @module
 */
export {
  BALANCER_DEFAULTS,
  BALANCER_NAMES,
  type Balancer,
  type BalancerName,
  type BalancerOptions,
  type BalancerReplica,
  type CallResult,
  type ExcludeSet,
  type ReplicaBalanceStats,
  type SelectRequest,
} from "./Balancer.js";
export { BalancedPicker, type BalancedPickerOptions, type PickerReplica } from "./BalancedPicker.js";
export { ConsistentHashBalancer, type ConsistentHashOptions } from "./ConsistentHashBalancer.js";
export { createBalancer, DEFAULT_BALANCER, type BalancerSpec } from "./createBalancer.js";
export { hashString } from "./hashString.js";
export { LeastConnectionsBalancer } from "./LeastConnectionsBalancer.js";
export { PerformanceBalancer, type PerformanceBalancerOptions } from "./PerformanceBalancer.js";
export { PowerOfTwoChoicesBalancer, type PowerOfTwoChoicesOptions } from "./PowerOfTwoChoicesBalancer.js";
export { ResourceBalancer, type ResourceBalancerOptions } from "./ResourceBalancer.js";
export { RoundRobinBalancer } from "./RoundRobinBalancer.js";
export { WeightedRoundRobinBalancer } from "./WeightedRoundRobinBalancer.js";
