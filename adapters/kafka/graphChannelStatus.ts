/**
 * What `GraphChannel#status()` reports.
 *
 * @module
 */

/** Per-partition part of `GraphChannelStatus`. */
export interface GraphChannelPartitionStatus {
  partition: number;
  /** Messages fetched and waiting for their turn. */
  queued: number;
  /** Runs of this partition in flight here. */
  running: number;
  /** Whether fetching from it is paused (queue full, all slots busy, or stopping). */
  paused: boolean;
  /** Offset last committed by this runner (the next message to process), if any. */
  committedOffset?: string;
  /** End of the partition as of the last fetch, if known. */
  highWatermark?: string;
  /** `highWatermark - committedOffset`: messages not yet finished and committed. */
  lag?: number;
}

/** A snapshot of a `GraphChannel`; counters are since `start()`. */
export interface GraphChannelStatus {
  state: "created" | "starting" | "running" | "stopping" | "stopped";
  /** Runs in flight. */
  inFlight: number;
  /** Messages waiting for their turn. */
  queued: number;
  /** Messages that ended with a `result` record (runs, resumes and re-publications). */
  processed: number;
  /** Of those, crashed attempts continued from their last checkpoint. */
  resumed: number;
  /** Of those, finished runs whose result was published again (redelivered messages). */
  republished: number;
  /** Redelivered messages that had finished before a later message of their thread ran: committed, nothing published. */
  skipped: number;
  /** Messages that ended with an `error` record. */
  failed: number;
  /** Messages sent to the dead-letter topic. */
  deadLettered: number;
  /** Runs stopped by `stop()` or a rebalance: left uncommitted for the partition's next owner. */
  aborted: number;
  /** Attempts whose final record could not be produced: left uncommitted and tried again after a pause. */
  unpublished: number;
  /** Event records that could not be produced (the run's result still was). */
  lostEvents: number;
  /** Times this runner joined its group, the first join included: more than one means rebalances. */
  groupJoins: number;
  /** Partitions assigned to this runner. */
  partitions: GraphChannelPartitionStatus[];
}

/** The counters of {@link GraphChannelStatus}. */
export type GraphChannelCounters = Omit<GraphChannelStatus, "state" | "inFlight" | "queued" | "partitions">;

/** Counters at zero. */
export function newCounters(): GraphChannelCounters {
  return {
    processed: 0,
    resumed: 0,
    republished: 0,
    skipped: 0,
    failed: 0,
    deadLettered: 0,
    aborted: 0,
    unpublished: 0,
    lostEvents: 0,
    groupJoins: 0,
  };
}
