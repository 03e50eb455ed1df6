/**
 * The live dashboard: {@link startDashboard} and what its page receives.
 *
 * @module
 */
export { startDashboard } from "./startDashboard.js";
export type { Dashboard } from "./startDashboard.js";
export { DASHBOARD_DEFAULTS } from "./dashboardOptions.js";
export type { DashboardOptions, DashboardSource } from "./dashboardOptions.js";
export { fabricSnapshot, nodeThroughput } from "./DashboardSnapshot.js";
export type { DashboardNegotiation, DashboardNode, DashboardSharedBreaker, DashboardSnapshot } from "./DashboardSnapshot.js";
