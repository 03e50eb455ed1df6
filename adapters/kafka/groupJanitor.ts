/**
 * Removes the private consumer groups of callers and notice subscribers that are gone.
 *
 * Those groups never commit offsets, but Kafka still keeps an empty group's metadata until its
 * periodic cleanup (`offsets.retention.check.interval.ms`, 10 minutes by default). A clean stop
 * deletes its own groups at once; a process that crashed leaves an empty group behind once its
 * session times out, which the next transport to start removes.
 *
 * @module
 */
import type { Admin } from "kafkajs";
import type { Logger } from "../../src/observability/logger.js";

/** Deletes groups, ignoring the ones that are already gone or not empty; returns those deleted. */
export async function deleteGroups(admin: Admin, groupIds: readonly string[], logger: Logger): Promise<string[]> {
  if (groupIds.length === 0) return [];
  try {
    const results = await admin.deleteGroups([...groupIds]);
    return results.filter((r) => !r.error).map((r) => r.groupId);
  } catch (error) {
    // kafkajs throws when any group fails (not empty, not found), listing only those; the others were deleted.
    const failed = (error as { groups?: { groupId: string }[] }).groups;
    logger.debug("some groups could not be deleted", { groupIds, error });
    if (!failed) return [];
    const failedIds = new Set(failed.map((g) => g.groupId));
    return groupIds.filter((id) => !failedIds.has(id));
  }
}

/**
 * Deletes every empty group whose id starts with one of `prefixes`, except `keep`. A group being
 * created this very moment may look empty; its member then simply joins again.
 */
export async function sweepEmptyGroups(
  admin: Admin,
  prefixes: readonly string[],
  keep: ReadonlySet<string>,
  logger: Logger,
): Promise<string[]> {
  const { groups } = await admin.listGroups();
  const candidates = groups.map((g) => g.groupId).filter((id) => !keep.has(id) && prefixes.some((p) => id.startsWith(p)));
  if (candidates.length === 0) return [];
  const described = await admin.describeGroups(candidates);
  const empty = described.groups.filter((g) => g.state === "Empty" && g.members.length === 0).map((g) => g.groupId);
  const deleted = await deleteGroups(admin, empty, logger);
  if (deleted.length > 0) logger.debug("deleted consumer groups left by stopped processes", { groups: deleted });
  return deleted;
}
