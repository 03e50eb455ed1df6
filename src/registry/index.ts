/**
 * The replica registry: interface, the store-backed implementation and the process load sampler.
 *
 * @module
 */
export type {
  LoadProvider,
  RegistrationHandle,
  Registry,
  RegistryEvent,
  RegistryListener,
  RegistryTimers,
  ReplicaInfo,
  ReplicaLoad,
  ReplicaQuery,
  ReplicaRegistration,
  ReplicaStatus,
  ReplicaUpdate,
} from "./Registry.js";
export { realTimers } from "./Registry.js";
export { STORE_REGISTRY_DEFAULTS, StoreRegistry } from "./StoreRegistry.js";
export type { StoreRegistryOptions } from "./StoreRegistry.js";
export { processLoad } from "./processLoad.js";
export type { ProcessLoadOptions, ProcessLoadSample } from "./processLoad.js";
