/**
 * Fusion strategies behind one interface ({@link FusionStrategy}).
 *
 * @module
 */
export type {
  ConflictReport,
  Contribution,
  ContributionShare,
  FuseOptions,
  FusionDecision,
  FusionResult,
  FusionStrategy,
  FusionValue,
  Stance,
  StrategyOptions,
  ValueKind,
} from "./FusionStrategy.js";
export { conflictPenalty, relativeSpread } from "./fusionMath.js";
export { contractNet } from "./contractNet.js";
export type { ContractNetObjective, ContractNetOptions } from "./contractNet.js";
export { majorityVote } from "./majorityVote.js";
export type { MajorityVoteOptions } from "./majorityVote.js";
export { median } from "./median.js";
export type { MedianOptions } from "./median.js";
export { trimmedMean } from "./trimmedMean.js";
export type { TrimmedMeanOptions } from "./trimmedMean.js";
export { unanimity } from "./unanimity.js";
export type { UnanimityOptions } from "./unanimity.js";
export { weightedAverage } from "./weightedAverage.js";
export type { WeightedAverageOptions } from "./weightedAverage.js";
