/**
 * The state store: interface, in-memory implementation, and the base class and key layout that
 * backend implementations (such as `RedisStateStore`) build on.
 *
 * @module
 */
export type {
  ClaimOptions,
  ClaimedItem,
  KeyValueStore,
  Lock,
  LockOptions,
  MessageHandler,
  PushOptions,
  QueueReceipt,
  QueueStats,
  SetOptions,
  WriteOptions,
  StateQueue,
  StateStore,
  StateStoreOptions,
  Unsubscribe,
} from "./StateStore.js";
export { InMemoryStateBackend, InMemoryStateStore } from "./InMemoryStateStore.js";
export type { InMemoryStateBackendOptions, InMemoryStateStoreOptions } from "./InMemoryStateStore.js";
export { STATE_STORE_DEFAULTS, StateStoreCore, decodeJson, encodeJson, positiveInteger } from "./StateStoreCore.js";
export type { RawClaim, RawStateOps } from "./StateStoreCore.js";
export { StateKeys, encodeKeyPart, validateStateKeyPrefix } from "./stateKeys.js";
export type { QueueKeys } from "./stateKeys.js";
